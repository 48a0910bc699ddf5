import Foundation
import Testing

/// A running `dcprod serve` on the production of `ReportOfAProduction`.
final class Server: Sendable {
    let process: Process
    /// `http://127.0.0.1:PORT`.
    let base: String

    /// Starts `dcprod serve --port 0` and waits for the line that says where it listens.
    init(_ work: Workspace) throws {
        let process = Process()
        process.executableURL = DCProd.executable
        process.arguments = ["serve", "--port", "0"]
        process.currentDirectoryURL = work.url
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "DCPROD_PRODUCTION")
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        let deadline = Date().addingTimeInterval(30)
        while !text.contains("\n"), Date() < deadline, process.isRunning {
            text += String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        }
        self.process = process
        let url = text.split(separator: " ").first { $0.hasPrefix("http://127.0.0.1:") }
        base = url.map { String($0.dropLast()) } ?? ""
        try #require(!base.isEmpty, "serve said: \(text)")
    }

    deinit { if process.isRunning { process.terminate(); process.waitUntilExit() } }

    /// The status and body of `GET base+path`, the path sent as it is (no `..` resolved by the client).
    func get(_ path: String) throws -> (status: Int, body: String) {
        let result = try output(of: ["curl", "-s", "--path-as-is", "-o", "-", "-w", "\n%{http_code}", base + path])
        var lines = result.stdout.components(separatedBy: "\n")
        let status = Int(lines.removeLast()) ?? 0
        return (status, lines.joined(separator: "\n"))
    }

    /// The JSON document at a path.
    func json<T: Decodable>(_ type: T.Type, _ path: String) throws -> T {
        let (status, body) = try get(path)
        try #require(status == 200, "\(path): \(status) \(body)")
        return try JSONDecoder().decode(T.self, from: Data(body.utf8))
    }
}

extension ReportOfAProduction {
    @Test func theAPIAndTheMetricsHaveTheNumbersOfStatusAndVerify() throws {
        let work = try Self.work()
        let summary = try Self.status(work)
        let server = try Server(work)
        #expect(try server.json(Summary.self, "/api/summary") == summary)
        // The summary page, served, has the same counts as the written one.
        let (status, page) = try server.get("/")
        #expect(status == 200)
        Self.expectSameCounts(Self.summaryCells(of: page), as: summary, "/")
        // The events behind each count, paged.
        struct Events: Decodable { var count: Int; var pages: Int; var entries: [Entry]; struct Entry: Decodable { var key: String } }
        for row in summary.rows {
            for (column, count) in zip(summary.columns, row.counts) where count > 0 {
                let events = try server.json(Events.self, "/api/events?step=\(row.step)&filter=\(row.filter)&state=\(column.key)")
                #expect(events.count == count && events.entries.count == min(count, 200), "\(row.step) \(row.filter) \(column.key)")
            }
        }
        // A step's reports, as verify wrote them.
        struct Report: Decodable, Equatable { var filter: String; var events: Int; var processed: Int }
        let reports = try server.json([Report].self, "/api/steps/processCcd")
        for report in reports {
            let written = try JSONDecoder().decode(Report.self, from: Data(contentsOf: work.url.appendingPathComponent(
                "lsstprod/DC_2013/reports/processCcd-\(report.filter).json")))
            #expect(report == written)
        }
        struct Accounting: Decodable, Equatable { struct Line: Decodable, Equatable { var step: String; var filter: String; var jobs: Int; var coreHours: Double }; var lines: [Line] }
        let accounting = try JSONDecoder().decode(Accounting.self, from: Data(try DCProd.run(["accounting", "--json"], in: work.url).stdout.utf8))
        #expect(try server.json(Accounting.self, "/api/accounting") == accounting)
        #expect(try server.get("/api/forecast").status == 200)
        // Prometheus: a gauge per step, filter and state.
        let (metricsStatus, metrics) = try server.get("/metrics")
        #expect(metricsStatus == 200)
        for row in summary.rows {
            for (column, count) in zip(summary.columns, row.counts) {
                let labels = [("step", row.step), ("filter", row.filter), ("state", column.key)]
                #expect(metrics.split(separator: "\n").contains { line in
                    line.hasPrefix("dcprod_events{") && labels.allSatisfy { line.contains("\($0)=\"\($1)\"") } && line.hasSuffix(" \(count).0")
                }, "\(row.step) \(row.filter) \(column.key) \(count)")
            }
        }
        #expect(metrics.contains("dcprod_jobs{") && metrics.contains("dcprod_core_hours{"))
    }

    @Test func aPathOutsideTheSiteIsA404AndNeverAFile() throws {
        let work = try Self.work()
        let reports = work.url.appendingPathComponent("lsstprod/DC_2013/reports")
        // A symbolic link in the reports directory, to a file outside the production.
        try? FileManager.default.createSymbolicLink(atPath: reports.appendingPathComponent("passwd.html").path, withDestinationPath: "/etc/passwd")
        let server = try Server(work)
        for path in ["/../state.sqlite", "/%2e%2e/state.sqlite", "/%2E%2E/%2E%2E/etc/passwd", "/events/../../state.sqlite",
                     "/events/..%2f..%2fstate.sqlite", "//etc/passwd", "/etc/passwd", "/passwd.html", "/state.sqlite",
                     "/processCcd-r.json", "/api/steps/..%2fstate.sqlite", "/templates/reports/index.html.mustache",
                     "/events/processCcd-r-ok-0.html", "/api/events?step=processCcd&filter=r&state=..%2f.."] {
            let (status, body) = try server.get(path)
            #expect(status == 404 || status == 400, "\(path): \(status)")
            #expect(!body.contains("root:") && !body.contains("SQLite format"), "\(path)")
        }
        #expect(try server.get("/index.html").status == 200)
    }

    @Test func itKeepsServingWhileAWriterWritesAndStopsOnASignal() throws {
        let work = try Self.work()
        let server = try Server(work)
        // A writer (verify and load of every step, twice) while pages and the API are asked for.
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/bin/sh")
        let dcprod = DCProd.executable.path
        writer.arguments = ["-c", "for i in 1 2; do for s in processCcd coadd forcedPhot; do \"$0\" verify $s; \"$0\" load $s; done; done >/dev/null 2>&1", dcprod]
        writer.currentDirectoryURL = work.url
        try writer.run()
        var answered = 0
        while writer.isRunning || answered < 20 {
            for path in ["/", "/api/summary", "/metrics", "/processCcd.html"] {
                let (status, _) = try server.get(path)
                #expect(status == 200, "\(path) while a writer writes")
                answered += 1
            }
        }
        writer.waitUntilExit()
        // SIGTERM: it stops, cleanly.
        server.process.terminate()
        let deadline = Date().addingTimeInterval(15)
        while server.process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        #expect(!server.process.isRunning && server.process.terminationStatus == 0, "stopped by SIGTERM")
        // SIGINT (Ctrl-C) as well.
        let again = try Server(work)
        kill(again.process.processIdentifier, SIGINT)
        let later = Date().addingTimeInterval(15)
        while again.process.isRunning && Date() < later { Thread.sleep(forTimeInterval: 0.1) }
        #expect(!again.process.isRunning && again.process.terminationStatus == 0, "stopped by SIGINT")
    }

    /// Debian's chromium, which Tests/run installs (DCPROD_TEST_CHROMIUM); with CI=true its absence fails.
    static func chromium() throws -> String? {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["DCPROD_TEST_CHROMIUM"], !path.isEmpty { return path }
        for path in ["/usr/bin/chromium"] where FileManager.default.isExecutableFile(atPath: path) { return path }
        if environment["CI"] == "true" { Issue.record("chromium is missing: Tests/run installs it (CI=true)") }
        return nil
    }

    /// Where a test keeps what it made for people to look at: `.build/test-artefacts/`.
    static let artefacts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/test-artefacts")

    /// The DOM of a page as headless Chromium builds it, and a screenshot of it in `artefacts`.
    static func browse(_ url: String, chromium: String, screenshot: String) throws -> String {
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("dcprod-chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        let common = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                      "--user-data-dir=\(profile.path)", "--window-size=1400,1000"]
        try FileManager.default.createDirectory(at: artefacts, withIntermediateDirectories: true)
        _ = try output(of: [chromium] + common + ["--screenshot=\(artefacts.appendingPathComponent(screenshot).path)", url])
        let dom = try output(of: [chromium] + common + ["--dump-dom", url])
        try #require(dom.status == 0, "chromium --dump-dom \(url)")
        return dom.stdout
    }

    @Test func aRealBrowserShowsTheNumbersOfTheStateStore() throws {
        guard let chromium = try Self.chromium() else { return }
        let work = try Self.work()
        let summary = try Self.status(work)
        let server = try Server(work)
        let dom = try Self.browse(server.base + "/", chromium: chromium, screenshot: "summary.png")
        Self.expectSameCounts(Self.summaryCells(of: dom), as: summary, "the DOM of /")
        // The counts in the DOM are those of the state store itself.
        let store = work.url.appendingPathComponent("lsstprod/DC_2013/state.sqlite").path
        let ok = try output(of: ["sqlite3", store, "SELECT COUNT(*) FROM event WHERE step = 'processCcd' AND filter = 'r' AND state = 'ok'"])
        #expect(Self.summaryCells(of: dom)["processCcd/r/ok"]?.count == Int(ok.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        let step = try Self.browse(server.base + "/processCcd.html", chromium: chromium, screenshot: "step.png")
        #expect(step.components(separatedBy: "<svg").count - 1 == 5 && step.contains("Filter r: "))
        let logbook = try Self.browse(server.base + "/logbook.html", chromium: chromium, screenshot: "logbook.png")
        #expect(logbook.contains("<table id=\"logbook\">") && logbook.contains("dcprod run"))
        for name in ["summary.png", "step.png"] {
            let size = try FileManager.default.attributesOfItem(atPath: Self.artefacts.appendingPathComponent(name).path)[.size] as? Int
            #expect((size ?? 0) > 10_000, "\(name) is a real screenshot")
        }
    }
}
