import Foundation
import GRDB
import Testing
@testable import Production

/// The ok events not loaded into the catalog yet are found in `event_unloaded` (schema v17), so that a
/// load of `dcprod run`'s pass costs what changed, not the size of the production (issue 29).
@Suite struct UnloadedEvents {
    /// A store of v16 with loaded, unloaded, redone and failed events gets the index when a writer
    /// opens it; the loads' queries use it, and find exactly the ok events not marked loaded.
    @Test func aStoreOfV16GetsTheIndexAndTheLoadsQueriesUseIt() throws {
        try withStorePath { path in
            let v16 = try #require(StateStore.migrations.first { $0.name.hasPrefix("v16:") }).name
            let ids = try makeStore(at: path, upTo: v16)

            let store = try StateStore(path: path, access: .write)
            #expect(try store.schemaVersion() == StateStore.latestSchemaVersion)
            let index = try store.pool.read { db in try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = 'event_unloaded'") }
            #expect(index == "CREATE INDEX event_unloaded ON event(step, filter) WHERE state = 'ok' AND loadedRows IS NULL")
            for query in [StateStore.unloadedEventsQuery(everyEvent: false), StateStore.loadMarksQuery(everyEvent: false)] {
                let plan = try store.pool.read { db in
                    try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + query, arguments: ["processCcd"]).map { $0["detail"] as String }
                }
                #expect(plan.contains("SEARCH e USING INDEX event_unloaded (step=?)"), "\(plan)")
            }
            #expect(try store.unloadedEvents(step: .processCcd) == [
                UnloadedEvent(id: ids.unloaded, files: ["/d/src-1.csv"], isRedone: false),
                UnloadedEvent(id: ids.redone, files: ["/d/src-4.csv"], isRedone: true),
            ])
            #expect(try store.unloadedEvents(step: .coadd).map(\.id) == [ids.coadd])

            // Marked loaded, they leave it; forgotten (a catalog made anew), every ok event is back.
            #expect(try store.recordLoaded(step: .processCcd) { $0 == "/d/src-1.csv" ? 5 : 7 } == 2)
            #expect(try store.unloadedEvents(step: .processCcd).isEmpty)
            try store.forgetLoaded()
            #expect(try store.unloadedEvents(step: .processCcd).map(\.id).sorted() == [ids.unloaded, ids.loaded, ids.redone].sorted())
            // Every event's mark set to what the ledger says, then again once one file has left it.
            #expect(try store.recordLoaded(step: .processCcd, everyEvent: true) { _ in 3 } == 3)
            #expect(try store.recordLoaded(step: .processCcd, everyEvent: true) { $0 == "/d/src-1.csv" ? nil : 3 } == 0)
            #expect(try store.unloadedEvents(step: .processCcd).map(\.id) == [ids.unloaded])
            #expect(try store.eventTallies(step: .processCcd).map(\.loadedRows).reduce(0, +) == 6)
        }
    }

    /// A store migrated up to `last`, with a job of two attempts and its processCcd events: one ok and
    /// not loaded, one ok and loaded, one failed, one ok in both attempts (redone); and a coadd ok.
    private func makeStore(at path: String, upTo last: String) throws -> (unloaded: Int64, loaded: Int64, redone: Int64, coadd: Int64) {
        let pool = try DatabasePool(path: path)
        try StateStore.migrator.migrate(pool, upTo: last)
        return try pool.write { db in
            try db.execute(sql: "INSERT INTO job (id, name, step, filter, manifest, events, createdAt) VALUES (1, 'j', 'processCcd', 'r', 'm', 4, 'now')")
            for attempt in [1, 2] {
                try db.execute(sql: "INSERT INTO attempt (id, jobId, number, backend, token, state, outcomes, log) VALUES (?, 1, ?, 'local', ?, 'done', 'o', 'l')",
                               arguments: [attempt, attempt, "t\(attempt)"])
            }
            func event(_ step: String, _ key: String, _ state: String, attempt: Int, loadedRows: Int? = nil) throws -> Int64 {
                try db.execute(sql: "INSERT INTO event (step, filter, key, state, jobId, attemptId, loadedRows) VALUES (?, 'r', ?, ?, 1, ?, ?)",
                               arguments: [step, key, state, attempt, loadedRows])
                return db.lastInsertedRowID
            }
            func outcome(_ event: Int64, attempt: Int, _ status: String, _ outputs: String?) throws {
                try db.execute(sql: "INSERT INTO outcome (eventId, attemptId, status, class, message, outputs) VALUES (?, ?, ?, ?, '', ?)",
                               arguments: [event, attempt, status, status == "ok" ? "ok" : "other", outputs])
            }
            let unloaded = try event("processCcd", "k1", "ok", attempt: 1)
            try outcome(unloaded, attempt: 1, "ok", "/d/calexp-1.fits\n/d/src-1.csv")
            let loaded = try event("processCcd", "k2", "ok", attempt: 1, loadedRows: 10)
            try outcome(loaded, attempt: 1, "ok", "/d/src-2.csv")
            let failed = try event("processCcd", "k3", "failed", attempt: 1)
            try outcome(failed, attempt: 1, "failed", nil)
            let redone = try event("processCcd", "k4", "ok", attempt: 2)
            try outcome(redone, attempt: 1, "ok", "/d/src-4.csv")
            try outcome(redone, attempt: 2, "ok", "/d/src-4.csv")
            let coadd = try event("coadd", "c1", "ok", attempt: 1)
            try outcome(coadd, attempt: 1, "ok", "/d/deepCoadd-1.csv")
            return (unloaded, loaded, redone, coadd)
        }
    }
}
