import Foundation
import GRDB
import Testing
@testable import Production

/// The queries of an incremental load's pages (issue 29) keep to `event_unloaded`: a page costs the
/// events waiting to load, never a search of every event by id.
@Suite struct UnloadedEventPages {
    @Test func aPagesQueriesUseTheIndexOfUnloadedEvents() throws {
        try withStorePath { path in
            let store = try StateStore(path: path, access: .create)
            let page = "SELECT e.id FROM event e WHERE e.step = ? AND \(StateStore.unloaded) AND +e.id > ? ORDER BY e.id LIMIT ?"
            let queries: [(String, StatementArguments)] = [
                (page, ["processCcd", 0, 10]),
                (StateStore.unloadedEventsQuery(everyEvent: false) + StateStore.idRange(1...2), StateStore.arguments(.processCcd, 1...2)),
                (StateStore.loadMarksQuery(everyEvent: false) + StateStore.idRange(1...2), StateStore.arguments(.processCcd, 1...2)),
            ]
            for (query, arguments) in queries {
                let plan = try store.pool.read { db in
                    try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + query, arguments: arguments).map { $0["detail"] as String }
                }
                #expect(plan.contains { $0.hasPrefix("SEARCH e USING INDEX event_unloaded (step=?)") }, "\(plan)")
            }
            #expect(try store.unloadedEventPage(step: .processCcd, after: .min, size: 10) == nil)
        }
    }
}
