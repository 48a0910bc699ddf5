import Foundation
import GRDB
import Production

/// Runs `body` with the path of a state store in a directory of its own, removed when it returns.
func withStorePath(_ body: (_ path: String) throws -> Void) throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dcprod-store-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    try body(directory.appendingPathComponent("state.sqlite").path)
}

/// The stale events (`step/key`) found by testing every event of the store against its inputs: what
/// `StateStore.staleEvents`, which looks only at the events whose inputs changed, must find.
func staleByTestingEveryEvent(_ store: StateStore) throws -> Set<String> {
    try staleByTestingEveryEvent(store.pool)
}

/// `staleByTestingEveryEvent` of a store's database, at any schema since v15.
func staleByTestingEveryEvent(_ pool: DatabasePool) throws -> Set<String> {
    try pool.read { db in
        Set(try String.fetchAll(db, sql: """
            SELECT e.step || '/' || e.key FROM event e WHERE e.jobId IS NOT NULL AND e.state IN ('ok', 'failed', 'not-run', 'withdrawn')
            AND EXISTS (SELECT 1 FROM event_input ei JOIN event i ON i.id = ei.inputId WHERE ei.eventId = e.id AND ei.state IS NOT NULL
                        AND i.state IN ('ok', 'failed', 'not-run') AND (ei.state != i.state OR ei.attemptId IS NOT i.attemptId))
            AND NOT EXISTS (SELECT 1 FROM event_input ei JOIN event i ON i.id = ei.inputId
                            WHERE ei.eventId = e.id AND i.state NOT IN ('ok', 'failed', 'not-run', 'withdrawn'))
            """))
    }
}
