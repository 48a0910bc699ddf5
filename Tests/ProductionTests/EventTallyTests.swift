import Foundation
import GRDB
import Production
import Testing

/// The state store keeps its events counted by step, filter, state and class in the transaction that
/// changes them (`event_count`, schema v14): whatever a verb does to events, the tallies equal what
/// counting the events themselves gives.
@Suite struct EventTallies {
    /// The tallies as counting every event gives them.
    static func counted(_ store: StateStore) throws -> [EventTally] {
        try store.pool.read { db in
            try EventTally.fetchAll(db, sql: """
                SELECT step, filter, state, class AS className, COUNT(*) AS events, COUNT(loadedRows) AS loaded,
                       COALESCE(SUM(loadedRows), 0) AS loadedRows
                FROM event GROUP BY step, filter, state, COALESCE(class, '') ORDER BY step, filter, state, COALESCE(class, '')
                """)
        }
    }

    @Test func talliesFollowEveryInsertUpdateAndDelete() throws {
        try withStorePath { path in
            let store = try StateStore(path: path, access: .create)

            let steps = [("processCcd", 60), ("coadd", 12), ("forcedPhot", 30)]
            try store.pool.write { db in
                for (step, count) in steps {
                    for index in 0..<count {
                        try db.execute(sql: "INSERT INTO event (step, filter, key) VALUES (?, ?, ?)",
                                       arguments: [step, ["g", "r", "i"][index % 3], "\(step)-\(index)"])
                    }
                }
            }
            #expect(try store.eventTallies() == Self.counted(store))
            #expect(try store.eventTallies().map(\.events).reduce(0, +) == 102)

            // Verify, a resubmission, a load, a withdrawal, an update that changes nothing counted, deletes.
            try store.pool.write { db in
                try db.execute(sql: "UPDATE event SET state = 'planned' WHERE id % 2 = 0")
                try db.execute(sql: "UPDATE event SET state = 'ok', class = 'ok' WHERE id % 4 = 0")
                try db.execute(sql: "UPDATE event SET state = 'failed', class = CASE WHEN id % 3 = 0 THEN 'astrometry' ELSE 'timeout' END WHERE id % 4 = 2")
                try db.execute(sql: "UPDATE event SET loadedRows = id * 10 WHERE state = 'ok'")
                try db.execute(sql: "UPDATE event SET loadedRows = NULL, state = 'planned', class = NULL WHERE id % 8 = 0")
                try db.execute(sql: "UPDATE event SET state = 'withdrawn' WHERE id % 7 = 1")
                try db.execute(sql: "UPDATE event SET message = 'seen' WHERE id % 5 = 0")
                try db.execute(sql: "UPDATE event SET step = 'coadd', filter = 'z' WHERE id = 3")
                try db.execute(sql: "DELETE FROM event WHERE id % 11 = 0")
            }
            let tallies = try store.eventTallies()
            #expect(tallies == (try Self.counted(store)))
            #expect(tallies.contains { $0.state == "failed" && $0.className == "astrometry" })
            #expect(tallies.contains { $0.loaded > 0 && $0.loadedRows > 0 })
            #expect(try store.eventTallies(step: .coadd, filter: .z).map(\.events) == [1])
            #expect(try store.eventCounts(step: .processCcd, filter: .g).allSatisfy { $0.state != .withdrawn })

            // A rolled-back transaction leaves the tallies as they were.
            struct Abandoned: Error {}
            _ = try? store.pool.write { db in
                try db.execute(sql: "UPDATE event SET state = 'ok', class = 'ok'")
                throw Abandoned()
            }
            #expect(try store.eventTallies() == tallies)
        }
    }
}
