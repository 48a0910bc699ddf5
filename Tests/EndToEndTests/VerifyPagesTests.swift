import Foundation
import Testing

/// What `verify` writes of the report: every page the first time, then, when it reads new outcomes,
/// the verified step's page, its event lists and the summary — not the accounting and the forecast,
/// which read every outcome of the production and wait for `dcprod report`.
@Suite struct VerifyPages {
    @Test func verifyRewritesItsStepsPagesAndTheSummaryOnly() throws {
        let work = try Workspace()
        try SeedPatch.prepare(work, filters: "r", frames: 4, seed: 13, defects: 0, extra: "EVENTSPERJOB processCcd 2")
        let reports = work.url.appendingPathComponent("lsstprod/DC_2013/reports")
        func page(_ name: String) -> String? { try? String(contentsOf: reports.appendingPathComponent(name), encoding: .utf8) }
        for arguments in [["plan", "processCcd"], ["submit", "processCcd", "--wait"], ["verify", "processCcd"]] {
            let result = try DCProd.run(arguments, in: work.url)
            try #require(result.status == 0, "\(arguments): \(result.stdout)\(result.stderr)")
        }
        // The first verify writes every page.
        let accounting = try #require(page("accounting.html"))
        let forecast = try #require(page("forecast.html"))
        #expect(page("processCcd.html") != nil && page("events/processCcd-r-ok-1.html") != nil)
        #expect(page("coadd.html") == nil)

        for arguments in [["plan", "coadd"], ["submit", "coadd", "--wait"], ["verify", "coadd"]] {
            let result = try DCProd.run(arguments, in: work.url)
            try #require(result.status == 0, "\(arguments): \(result.stdout)\(result.stderr)")
        }
        // Coadd's page, its lists and the summary follow what was read; the production-wide pages wait.
        let coadd = try #require(page("coadd.html"))
        #expect(coadd.contains("Filter r: 3 of 3 events processed"))
        #expect(page("events/coadd-r-ok-1.html") != nil)
        #expect(page("events/processCcd-r-ok-1.html") != nil)
        #expect(try #require(page("index.html")).contains(#"data-step="coadd""#))
        #expect(page("accounting.html") == accounting && page("forecast.html") == forecast)

        // `dcprod report` writes them all.
        let report = try DCProd.run(["report"], in: work.url)
        try #require(report.status == 0, "\(report.stderr)")
        #expect(page("accounting.html") != accounting)
    }
}
