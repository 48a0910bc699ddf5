import Foundation
import Testing
@testable import Planning
import Production
import Sky

/// `plan` reads a step's events a page of whole jobs at a time, so that its memory does not grow
/// with the production; the jobs must be those one read of every event makes.
@Suite struct PlanningInPages {
    /// A prepared production with `frames` processCcd events in r, 3 events a job; removed with its directory.
    final class Synthetic {
        let directory: URL
        let production: Production

        init(frames: Int) throws {
            (directory, production) = try preparedProduction("paging", """
                FILTERS r
                EVENTSPERJOB processCcd 3
                """)
            let config = production.config
            // Recorded in an order other than the keys', which planning sorts by.
            let records = (0..<frames).reversed().map { k in
                let (run, camcol, field) = (94 + 1000 * (k % 2), 1 + k % 6, 11 + k)
                let corners = [(ra: 6.0, dec: -0.4), (ra: 6.2, dec: -0.4), (ra: 6.2, dec: -0.2), (ra: 6.0, dec: -0.2)]
                return FrameRecord(path: "\(config.input)/fpC-\(FrameName(run: run, filter: .r, camcol: camcol, field: field).stem).fit",
                                   run: run, camcol: camcol, field: field, filter: .r,
                                   eventKey: FrameName(run: run, filter: .r, camcol: camcol, field: field).eventKey,
                                   width: 2048, height: 1489, corners: corners, center: (ra: 6.1, dec: -0.3), size: 1, mtime: 0)
            }
            try production.store.recordInventory(frames: records, rejections: [])
        }

        deinit { try? FileManager.default.removeItem(at: directory) }

        /// Each job's name, its events' keys in order, and its manifest with the production's paths made relative.
        func jobs() throws -> [String] {
            try production.store.pool.read { db in
                try String.fetchAll(db, sql: """
                    SELECT j.name || ': ' || group_concat(e.key, ' ') FROM job j JOIN job_event je ON je.jobId = j.id
                    JOIN event e ON e.id = je.eventId GROUP BY j.id ORDER BY j.id
                    """)
            }.map { line in
                let name = String(line.prefix { $0 != ":" })
                let manifest = production.tree.jobsDirectory(.processCcd, .r).appendingPathComponent("\(name).json")
                return line + "\n" + (try String(contentsOf: manifest, encoding: .utf8)).replacingOccurrences(of: directory.path, with: "$WORK")
            }
        }
    }

    @Test func pagesOfWholeJobsMakeTheJobsOfOneRead() throws {
        let whole = try Synthetic(frames: 50), paged = try Synthetic(frames: 50)
        let one = Planner(production: whole.production, dcprod: "/opt/dcprod")
        var pages = Planner(production: paged.production, dcprod: "/opt/dcprod")
        pages.transactionSize = 2  // pages of 6 events: 9 pages, the last of 2
        let summaries = (try one.plan(step: .processCcd, filters: [.r]), try pages.plan(step: .processCcd, filters: [.r]))
        #expect(summaries.0 == summaries.1)
        #expect(summaries.1.jobs[.r] == 17 && summaries.1.events[.r] == 50)
        let (a, b) = (try whole.jobs(), try paged.jobs())
        #expect(a.count == 17)
        #expect(a == b)
        // Planning again finds nothing new, in pages or not.
        #expect(try pages.plan(step: .processCcd, filters: [.r]) == Planner.Summary())
    }
}
