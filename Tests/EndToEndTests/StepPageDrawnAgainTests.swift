import Foundation
import Testing

/// A step's page drawn again by the same site (`dcprod serve` at the next request, `run` after a pass)
/// reads again only the filters that changed since it was last drawn, and is the page a site drawing
/// it from nothing makes.
@Suite(.serialized) struct StepPageDrawnAgain {
    /// The page without the line that says when it was made.
    static func undated(_ page: String) -> String {
        page.replacingOccurrences(of: #"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"#, with: "(time)", options: .regularExpression)
    }

    @Test func afterOneFilterChangedServeDrawsTheStepPagesAsReportDoesFromNothing() throws {
        let work = try Workspace()
        try SeedPatch.prepare(work, filters: "g r", frames: 3, seed: 23, defects: 0.1, extra: "EVENTSPERJOB processCcd 2")
        let first = try DCProd.run(["run", "--filter", "g"], in: work.url)
        // 1: some events failed (the frames' defects), as they are to.
        try #require(first.status <= 1, "\(first.stderr)")
        let server = try Server(work)
        let steps = ["processCcd", "coadd", "forcedPhot"]
        var before: [String: String] = [:]
        for step in steps {
            let (status, page) = try server.get("/\(step).html")
            try #require(status == 200, "\(step): \(page)")
            before[step] = Self.undated(page)
        }
        // Filter r runs: its parts change, g's are the served site's own from the first drawing.
        let second = try DCProd.run(["run", "--filter", "r"], in: work.url)
        try #require(second.status <= 1, "\(second.stderr)")
        var served: [String: String] = [:]
        for step in steps {
            let (status, page) = try server.get("/\(step).html")
            try #require(status == 200, "\(step): \(page)")
            served[step] = Self.undated(page)
        }
        #expect(try DCProd.run(["report"], in: work.url).status == 0)
        let reports = work.url.appendingPathComponent("lsstprod/DC_2013/reports")
        for step in steps {
            let written = Self.undated(try String(contentsOf: reports.appendingPathComponent("\(step).html"), encoding: .utf8))
            #expect(served[step] != before[step], "\(step): filter r's run shows")
            #expect(written.contains("<h2 id=\"r\">Filter r: ") && !written.contains("Filter r: 0 of"), "\(step): r ran: \(second.stdout)")
            #expect(served[step] == written, "\(step): the page drawn again is the page drawn from nothing")
        }
    }
}
