import Foundation
import GRDB
@testable import Production
import Testing

/// Schema v24: the attempts verify has read, in the order it read them, and where each later step's
/// planning is among them. A store of before it is migrated in place with its verified attempts
/// taken in order; an attempt verified afterwards comes after them; a cursor moved past them reads nothing.
@Suite struct PlanCursor {
    /// A store at the schema before v24: two processCcd r jobs of two events each, the first's attempt
    /// verified, the second's ended but not yet read.
    static func storeBeforeV25(at path: String) throws {
        let pool = try DatabasePool(path: path)
        try StateStore.migrator(before: "v24:").migrate(pool)
        try pool.write { db in
            for job in 1...2 {
                try db.execute(sql: """
                    INSERT INTO job (name, step, filter, manifest, events, createdAt) VALUES (?, 'processCcd', 'r', '/m', 2, '');
                    INSERT INTO attempt (jobId, number, backend, token, state, outcomes, log, verified) VALUES (?, 1, 'local', ?, 'done', '/o', '/l', ?);
                    """, arguments: ["processCcd-r-00000\(job)", job, "t\(job)", job == 1 ? 1 : 0])
                for position in 1...2 {
                    let event = 2 * (job - 1) + position
                    try db.execute(sql: """
                        INSERT INTO event (id, step, filter, key, state, jobId) VALUES (?, 'processCcd', 'r', ?, 'planned', ?);
                        INSERT INTO job_event (jobId, position, eventId) VALUES (?, ?, ?);
                        """, arguments: [event, "000094-1-000\(event)", job, job, position, event])
                }
            }
        }
    }

    @Test func aStoreOfBeforeV25TakesItsVerifiedAttemptsAndAPlanningGoesOnFromItsCursor() throws {
        try withStorePath { path in
            try Self.storeBeforeV25(at: path)
            let store = try StateStore(path: path)  // a writer: migrated
            #expect(try store.schemaVersion() == StateStore.latestSchemaVersion)
            #expect(try store.planCursor(step: .coadd, filter: .r) == 0)
            var last = try store.lastVerifiedSequence()
            #expect(try store.eventsVerified(steps: [.processCcd], filter: .r, after: 0, through: last, attempts: 10)
                    == StateStore.VerifiedEvents(through: last, eventIds: [1, 2]))
            #expect(try store.eventsVerified(steps: [.processCcd], filter: .g, after: 0, through: last, attempts: 10) == nil)
            try store.setPlanCursor(step: .coadd, filter: .r, sequence: last)
            #expect(try store.eventsVerified(steps: [.processCcd], filter: .r, after: last, through: last, attempts: 10) == nil)

            // Verify reads the second attempt: it comes after the cursor, alone.
            try store.write { db in try db.execute(sql: "UPDATE attempt SET verified = 1 WHERE id = 2") }
            let cursor = last
            last = try store.lastVerifiedSequence()
            #expect(last > cursor)
            #expect(try store.eventsVerified(steps: [.processCcd], filter: .r, after: cursor, through: last, attempts: 10)?.eventIds == [3, 4])
            // A step other than the ones asked for gives no event, though its attempt is read.
            #expect(try store.eventsVerified(steps: [.coadd], filter: .r, after: cursor, through: last, attempts: 10)?.eventIds == [])
            #expect(try store.planCursor(step: .coadd, filter: .r) == cursor)
        }
    }
}
