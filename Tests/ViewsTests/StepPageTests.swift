import Foundation
import Testing
@testable import Verification
@testable import Views

/// The repository's templates/ directory.
private let templatesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("templates", isDirectory: true)

@Suite("Step page")
struct StepPageTests {
    @Test("The step's page has every filter's counts, and payload messages escaped")
    func page() throws {
        let classes = try FailureClasses(contentsOf: templatesDirectory.appendingPathComponent("rules/classes").path)
        let r = VerificationReport(step: .processCcd, filter: .r, total: 200,
                                   counts: ["ok": 190, "astrometry": 5, "other": 5], inProgress: 0, classes: classes,
                                   retry: ["94-r1-0031"],
                                   another: [VerificationReport.Message(event: "94-r1-0031", message: "<script>alert(1)</script> & co")],
                                   requeued: ["memory": 2])
        let g = VerificationReport(step: .processCcd, filter: .g, total: 10, counts: ["ok": 10], inProgress: 0, classes: classes,
                                   retry: [], another: [])
        let context: [String: Any] = ["production": "DC_2013", "step": "processCcd", "generated": "2026-12-06T00:00:00Z", "root": "",
                                      "steps": [["name": "processCcd"]], "filters": [g, r].map(StepPage.reportContext)]
        let page = try ReportTemplates(templates: templatesDirectory).render("step.html", context)
        #expect(page.hasPrefix("<!DOCTYPE html>") && page.contains("<title>DC_2013 — processCcd verification</title>"))
        #expect(page.contains("<h2 id=\"g\">Filter g: 10 of 10 events processed</h2>"))
        #expect(page.contains("<h2 id=\"r\">Filter r: 200 of 200 events processed</h2>"))
        #expect(page.contains("<tr><td>ok</td><td class=\"count\">190</td><td class=\"percent\">95.0</td>"))
        #expect(page.contains("<tr><td>astrometry problem</td><td class=\"count\">5</td><td class=\"percent\">2.5</td>"))
        #expect(page.contains("Jobs submitted again by dcprod: memory doubled 2, walltime doubled 0, node lost 0"))
        #expect(page.contains("94-r1-0031: &lt;script&gt;alert(1)&lt;/script&gt; &amp; co"))
        #expect(!page.contains("<script>"))
        // Filter g has no failures and no messages: no "Another problem" block of its own.
        #expect(page.components(separatedBy: "Another problem, first messages").count == 2)
    }

    @Test("Each page of the site has one path, and no other path is a page")
    func paths() {
        let pages: [ReportSite.Page] = [.summary, .step(.coadd), .logbook, .accounting, .forecast,
                                        .events(step: .forcedPhot, filter: .z, column: "failed.bad-record", page: 3),
                                        .events(step: .processCcd, filter: .u, column: "not-run", page: 1)]
        for page in pages { #expect(ReportSite.Page(path: page.path) == page, "\(page.path)") }
        for path in ["../state.sqlite", "%2e%2e/state.sqlite", "/etc/passwd", "events/../../state.sqlite", "events/processCcd-r-ok-0.html",
                     "events/processCcd-r-ok/../x-1.html", "processCcd-r.txt", "coadd", "events/processCcd-r-a b-1.html", "state.sqlite"] {
            #expect(ReportSite.Page(path: path) == nil, "\(path)")
        }
    }
}
