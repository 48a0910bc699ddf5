import Foundation
import Testing

/// `dcprod report` and `dcprod serve`: the task summary, the step pages, the logbook, accounting and
/// forecast show the numbers of `status`, `verify` and `accounting`, in the written files, over HTTP,
/// and in a real browser's DOM.
@Suite(.serialized) struct ReportOfAProduction {
    /// The task summary as `status --json` gives it.
    struct Summary: Decodable, Equatable {
        struct Column: Decodable, Equatable { var key: String; var label: String; var isFailure: Bool }
        struct Row: Decodable, Equatable {
            var step: String, filter: String, counts: [Int], total: Int, loaded: Int, stale: Int
        }
        var columns: [Column]
        var rows: [Row]
    }
    struct Status: Decodable { var summary: Summary }

    /// A production run through its three steps with some failures, once for the suite.
    static let production: Workspace? = {
        guard let work = try? Workspace() else { return nil }
        do {
            try SeedPatch.prepare(work, filters: "g r", frames: 5, seed: 17, defects: 0.3, extra: "EVENTSPERJOB processCcd 2")
            _ = try DCProd.run(["run"], in: work.url)
        } catch { return nil }
        return work
    }()

    static func work() throws -> Workspace { try #require(production, "the suite's production could not be made") }

    static func status(_ work: Workspace) throws -> Summary {
        let result = try DCProd.run(["status", "--json"], in: work.url)
        try #require(result.status == 0, "\(result.stderr)")
        return try JSONDecoder().decode(Status.self, from: Data(result.stdout.utf8)).summary
    }

    /// The counts of the summary table of a page: `step/filter/column` → count, with each link.
    static func summaryCells(of html: String) -> [String: (count: Int, href: String?)] {
        var cells: [String: (Int, String?)] = [:]
        let rowPattern = try! NSRegularExpression(pattern: #"<tr data-step="([^"]+)" data-filter="([^"]*)">(.*?)</tr>"#, options: [.dotMatchesLineSeparators])
        let cellPattern = try! NSRegularExpression(pattern: #"<td class="count[^"]*" data-column="([^"]+)">(?:<a href="([^"]+)">)?(\d+)"#)
        let text = html as NSString
        for row in rowPattern.matches(in: html, range: NSRange(location: 0, length: text.length)) {
            let step = text.substring(with: row.range(at: 1)), filter = text.substring(with: row.range(at: 2))
            let body = text.substring(with: row.range(at: 3)) as NSString
            for cell in cellPattern.matches(in: body as String, range: NSRange(location: 0, length: body.length)) {
                let href = cell.range(at: 2).location == NSNotFound ? nil : body.substring(with: cell.range(at: 2))
                cells["\(step)/\(filter)/\(body.substring(with: cell.range(at: 1)))"] = (Int(body.substring(with: cell.range(at: 3)))!, href)
            }
        }
        return cells
    }

    /// Every count of the summary, as the page must show it.
    static func expectSameCounts(_ cells: [String: (count: Int, href: String?)], as summary: Summary, _ where_: String) {
        #expect(!summary.rows.isEmpty)
        for row in summary.rows {
            var expected = Dictionary(uniqueKeysWithValues: zip(summary.columns.map(\.key), row.counts).map { ($0, $1) })
            expected["total"] = row.total
            expected["loaded"] = row.loaded
            expected["stale"] = row.stale
            for (column, count) in expected {
                #expect(cells["\(row.step)/\(row.filter)/\(column)"]?.count == count, "\(where_): \(row.step) \(row.filter) \(column)")
            }
        }
    }

    @Test func theWrittenSummaryIsStatusAndEachCountLeadsToItsEvents() throws {
        let work = try Self.work()
        let summary = try Self.status(work)
        // The production has failures of more than one kind, and events of every step.
        #expect(Set(summary.rows.map(\.step)) == ["processCcd", "coadd", "forcedPhot"])
        #expect(summary.columns.contains { $0.key.hasPrefix("failed.") }, "\(summary.columns)")
        let report = try DCProd.run(["report"], in: work.url)
        try #require(report.status == 0, "\(report.stderr)")
        #expect(report.stdout.contains("dcprod serve"))
        let reports = work.url.appendingPathComponent("lsstprod/DC_2013/reports")
        let index = try String(contentsOf: reports.appendingPathComponent("index.html"), encoding: .utf8)
        let cells = Self.summaryCells(of: index)
        Self.expectSameCounts(cells, as: summary, "index.html")
        // Each non-zero count links to a list of as many events, whose first page is written.
        for (key, cell) in cells where cell.count > 0 && !key.hasSuffix("/total") {
            let href = try #require(cell.href, "\(key) has no link")
            let page = try String(contentsOf: reports.appendingPathComponent(href), encoding: .utf8)
            #expect(page.contains(": \(cell.count) events</h1>"), "\(href)")
            let rows = page.components(separatedBy: "<tr><td class=\"when\">").count - 1
            #expect(rows == min(cell.count, 200), "\(href): \(rows) rows for \(cell.count)")
        }
        // Its events by state, and the store's own count of them.
        struct Counts: Decodable { struct Count: Decodable { var step: String; var filter: String; var state: String; var count: Int }; var events: [Count] }
        let counts = try JSONDecoder().decode(Counts.self, from: Data(try DCProd.run(["status", "--json"], in: work.url).stdout.utf8))
        let store = try output(of: ["sqlite3", work.url.appendingPathComponent("lsstprod/DC_2013/state.sqlite").path,
                                    "SELECT step || '/' || filter || '/' || state || '=' || COUNT(*) FROM event GROUP BY step, filter, state"])
        #expect(Set(counts.events.map { "\($0.step)/\($0.filter)/\($0.state)=\($0.count)" }) == Set(store.stdout.split(separator: "\n").map(String.init)))
        // The text of `status` is the same table.
        let text = try DCProd.run(["status"], in: work.url)
        for row in summary.rows {
            let line = ([row.step, row.filter] + row.counts.map(String.init) + [String(row.total), String(row.loaded), String(row.stale)])
            #expect(text.stdout.split(separator: "\n").contains { $0.split(separator: " ").map(String.init).starts(with: line) },
                    "\(line) in \(text.stdout)")
        }
    }

    @Test func theStepPageHasItsReportAndFiguresAndTheOtherPagesTheirNumbers() throws {
        let work = try Self.work()
        #expect(try DCProd.run(["report"], in: work.url).status == 0)
        let reports = work.url.appendingPathComponent("lsstprod/DC_2013/reports")
        let step = try String(contentsOf: reports.appendingPathComponent("processCcd.html"), encoding: .utf8)
        #expect(step.components(separatedBy: "<svg").count - 1 == 5, "five figures")
        #expect(!step.contains("<script"), "no JavaScript")
        // The local backend keeps no accounting: the runner's own peak memory is the attempt's.
        let store = work.url.appendingPathComponent("lsstprod/DC_2013/state.sqlite").path
        let unmeasured = try output(of: ["sqlite3", store, "SELECT COUNT(*) FROM attempt WHERE verified = 1 AND maxRSS IS NULL"])
        #expect(unmeasured.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        #expect(step.contains("Peak memory of the jobs") && !step.contains("no data"), "the memory figure has data")
        // Each filter's heading has the numbers of its report.
        struct Report: Decodable { var events: Int; var processed: Int }
        for filter in ["g", "r"] {
            let report = try JSONDecoder().decode(Report.self, from: Data(contentsOf: reports.appendingPathComponent("processCcd-\(filter).json")))
            #expect(step.contains("<h2 id=\"\(filter)\">Filter \(filter): \(report.processed) of \(report.events) events processed</h2>"))
        }
        // Logbook: every entry, newest first.
        let logbook = try String(contentsOf: reports.appendingPathComponent("logbook.html"), encoding: .utf8)
        let days = try FileManager.default.contentsOfDirectory(atPath: work.url.appendingPathComponent("lsstprod/DC_2013/logbook").path)
        let entries = try days.map { try String(contentsOf: work.url.appendingPathComponent("lsstprod/DC_2013/logbook/\($0)"), encoding: .utf8) }
            .map { $0.components(separatedBy: "\n### ").count - 1 }.reduce(0, +)
        #expect(logbook.components(separatedBy: "<tr><td>").count - 1 == entries)
        #expect(logbook.contains("<code>dcprod report</code>") || logbook.contains("dcprod run"))
        // Accounting: the core-hours of `accounting`.
        struct Accounting: Decodable { struct Line: Decodable { var step: String; var filter: String; var coreHours: Double; var rowsLoaded: Int }; var lines: [Line] }
        let accounting = try JSONDecoder().decode(Accounting.self, from: Data(try DCProd.run(["accounting", "--json"], in: work.url).stdout.utf8))
        let page = try String(contentsOf: reports.appendingPathComponent("accounting.html"), encoding: .utf8)
        for line in accounting.lines {
            #expect(page.contains("<tr data-step=\"\(line.step)\" data-filter=\"\(line.filter)\">") &&
                    page.contains("<td class=\"count\">\(String(format: "%.3f", line.coreHours))</td>"), "\(line.step) \(line.filter)")
        }
        #expect(FileManager.default.fileExists(atPath: reports.appendingPathComponent("forecast.html").path))
    }
}
