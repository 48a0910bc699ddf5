import Foundation
import GRDB
@testable import Production
import Testing

/// Schema v22's index of events by state holds the events that are not ok: a store of before it is
/// migrated in place, the readers that look for events to plan, planned, failed or not run give the
/// same answers, and find them through the index.
@Suite struct EventStateIndex {
    /// Events of processCcd r as (key, state, class, attempts); the planned one's job has a running attempt.
    static let events: [(key: String, state: String, className: String?, attempts: Int)] = [
        ("000094-1-0011", "ok", "ok", 1), ("000094-1-0012", "failed", "astrometry", 1), ("000094-1-0013", "not-run", "not-run", 1),
        ("000094-1-0014", "planned", nil, 0), ("000094-1-0015", "new", nil, 0), ("000094-1-0016", "ok", "ok", 2),
        ("000094-1-0017", "failed", "astrometry", 4),
    ]

    /// A store at the schema before v22 holding `events`, each with its frame; the planned one in a job
    /// whose attempt runs.
    static func storeBeforeV22(at path: String) throws {
        let pool = try DatabasePool(path: path)
        try StateStore.migrator(before: "v22:").migrate(pool)
        try pool.write { db in
            try db.execute(sql: """
                INSERT INTO job (name, step, filter, manifest, events, createdAt) VALUES ('processCcd-r-000001', 'processCcd', 'r', '/m', 7, '');
                INSERT INTO attempt (jobId, number, backend, token, state, outcomes, log) VALUES (1, 1, 'local', 't', 'running', '/o', '/l');
                """)
            for (k, event) in events.enumerated() {
                try db.execute(sql: """
                    INSERT INTO frame (path, run, camcol, field, filter, width, height, corner1Ra, corner1Decl, corner2Ra, corner2Decl,
                        corner3Ra, corner3Decl, corner4Ra, corner4Decl, centerRa, centerDecl, size, mtime, recordedAt)
                    VALUES (?, 94, 1, ?, 'r', 2048, 1489, 6, -0.4, 6.2, -0.4, 6.2, -0.2, 6, -0.2, 6.1, -0.3, 1, 0, 'then')
                    """, arguments: ["/input/fpC-000094-r1-00\(11 + k).fit", 11 + k])
                try db.execute(sql: """
                    INSERT INTO event (step, filter, key, frameId, state, class, message, jobId, attempts) VALUES ('processCcd', 'r', ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [event.key, k + 1, event.state, event.className, event.className.map { "\($0) of \(event.key)" },
                                     event.state == "new" ? nil : 1, event.attempts])
            }
        }
    }

    @Test func aStoreOfBeforeV22IsMigratedAndTheEventsNotOkAreFoundThroughTheIndex() throws {
        try withStorePath { path in
            try Self.storeBeforeV22(at: path)

            let store = try StateStore(path: path)  // a writer: migrated
            #expect(try store.schemaVersion() == StateStore.latestSchemaVersion)
            let keys = { (states: Set<String>) in Self.events.filter { states.contains($0.state) }.map(\.key) }
            #expect(try store.retryableEvents(step: .processCcd, filter: .r, classes: ["astrometry", "not-run"], maxRetry: 3).map(\.key)
                    == ["000094-1-0012", "000094-1-0013"])
            #expect(try store.events(step: .processCcd, filter: .r, className: "astrometry", limit: 10).map(\.message)
                    == ["astrometry of 000094-1-0012", "astrometry of 000094-1-0017"])
            #expect(try store.events(step: .processCcd, filter: .r, className: "ok", limit: 10).map(\.key) == keys(["ok"]))
            #expect(try store.inProgressEventCount(step: .processCcd, filter: .r) == 1)
            #expect(try store.awaitedFrames(step: .processCcd, filter: .r).map(\.key).sorted() == keys(["planned", "new"]))
            #expect(try store.verifiedKeys(step: .processCcd, filter: .r) == Set(keys(["ok", "failed", "not-run"])))
            let counts = try ["new", "running", "ok", "not-run", "failed.astrometry"].map {
                try store.eventList(step: .processCcd, filter: .r, column: $0, page: 1).map { "\($0.count) \($0.entries.map(\.key))" }
            }
            #expect(counts == ["1 [\"000094-1-0015\"]", "1 [\"000094-1-0014\"]", "2 [\"000094-1-0011\", \"000094-1-0016\"]",
                               "1 [\"000094-1-0013\"]", "2 [\"000094-1-0012\", \"000094-1-0017\"]"])

            // The index holds the events not ok alone, and a query that repeats its condition reads it.
            let indexed = try store.pool.read { db in
                try String.fetchAll(db, sql: """
                    SELECT key FROM event INDEXED BY event_by_state WHERE step = 'processCcd' AND filter = 'r' AND state != 'ok' ORDER BY key
                    """)
            }
            #expect(indexed == keys(["failed", "not-run", "planned", "new"]))
            try store.write { db in try db.execute(sql: "UPDATE event SET state = 'ok', class = 'ok' WHERE key = '000094-1-0012'") }
            #expect(try store.events(step: .processCcd, filter: .r, className: "astrometry", limit: 10).map(\.key) == ["000094-1-0017"])
            #expect(try store.eventList(step: .processCcd, filter: .r, column: "ok", page: 1)?.count == 3)
        }
    }
}
