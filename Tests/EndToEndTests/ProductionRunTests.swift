import Foundation
import Testing

/// A whole production on the local backend, as a user runs it: simulate → inventory → plan →
/// submit → verify, checked against the simulation's truth file.
@Suite(.serialized) struct ProductionRun {
    static let region = "5.9 7.1 -0.45 0.25"

    func prepare(_ work: Workspace, eventsPerJob: Int, frames: Int, defects: Double, catalog: String = "") throws -> String {
        try work.write(work.seedConfig.replacingOccurrences(of: "DBHOST 127.0.0.1\nDBUSER lsst_prod", with: catalog) + """

            REGION \(Self.region)
            FILTERS g r i
            EVENTSPERJOB processCcd \(eventsPerJob)
            MAXRUNNING 2
            """, to: "fichconfig.txt")
        let prepared = try DCProd.run(["prepare", "fichconfig.txt"], in: work.url)
        try #require(prepared.status == 0, "\(prepared.stderr)")
        let input = "\(work.url.path)/lsstprod-data/DC_2013/input"
        let simulated = try DCProd.run(["pipe", "simulate", "--frames", String(frames), "--seed", "7", "--defects", String(defects),
                                        "--size", "1024x744", "--pixel-scale", "0.8", "--filters", "gri",
                                        "--region", Self.region, input], in: work.url)
        try #require(simulated.status == 0, "\(simulated.stderr)")
        let inventory = try DCProd.run(["inventory"], in: work.url)
        try #require(inventory.status == 0, "\(inventory.stderr)")
        let plan = try DCProd.run(["plan", "processCcd"], in: work.url)
        try #require(plan.status == 0, "\(plan.stderr)")
        return input
    }

    struct Report: Decodable {
        struct Line: Decodable { var name: String; var count: Int }
        var events: Int
        var processed: Int
        var classes: [Line]
        var notRun: Int
        var crashed: Int
        func count(_ name: String) -> Int { classes.first { $0.name == name }?.count ?? -1 }
    }

    func report(_ work: Workspace, _ filter: String) throws -> Report {
        let url = work.url.appendingPathComponent("lsstprod/DC_2013/reports/processCcd-\(filter).json")
        return try JSONDecoder().decode(Report.self, from: Data(contentsOf: url))
    }

    /// truth.csv rows: file, filter, defect.
    func truth(_ input: String) throws -> [(file: String, filter: String, defect: String)] {
        let text = try String(contentsOfFile: "\(input)/truth.csv", encoding: .utf8)
        return text.split(separator: "\n").dropFirst().map { line in
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            return (f[0], f[4], f[5])
        }
    }

    @Test func theReportCountsEqualTheInjectedDefects() throws {
        let work = try Workspace()
        let input = try prepare(work, eventsPerJob: 7, frames: 60, defects: 0.2)
        let submit = try DCProd.run(["submit", "processCcd"], in: work.url)
        #expect(submit.status == 0, "\(submit.stderr)")
        let verify = try DCProd.run(["verify", "processCcd"], in: work.url)
        #expect(verify.status == 1, "some events failed, none was left unrun: \(verify.stdout)\(verify.stderr)")
        #expect(verify.stdout.contains("Step processCcd, filter r\nEvents processed: "))

        let rows = try truth(input)
        #expect(Set(rows.map(\.defect)) == ["none", "missing-file", "broken-wcs", "few-stars", "corrupted-header"])
        for filter in ["g", "r", "i"] {
            let mine = rows.filter { $0.filter == filter }
            func injected(_ defect: String) -> Int { mine.filter { $0.defect == defect }.count }
            let report = try report(work, filter)
            // Corrupted headers never become events: inventory records them as failures.
            #expect(report.events == mine.count - injected("corrupted-header"), "filter \(filter)")
            #expect(report.processed == report.events, "filter \(filter)")
            #expect(report.count("ok") == injected("none"), "filter \(filter): ok")
            #expect(report.count("missing-files") == injected("missing-file"), "filter \(filter): missing files")
            #expect(report.count("astrometry") == injected("broken-wcs"), "filter \(filter): astrometry")
            #expect(report.count("matches") == injected("few-stars"), "filter \(filter): matches")
            #expect(report.count("other") == 0 && report.crashed == 0 && report.notRun == 0, "filter \(filter)")
        }
        // The step's page: every filter, with the same counts.
        let page = try String(contentsOf: work.url.appendingPathComponent("lsstprod/DC_2013/reports/processCcd.html"), encoding: .utf8)
        for filter in ["g", "r", "i"] {
            let report = try report(work, filter)
            #expect(page.contains("<h2 id=\"\(filter)\">Filter \(filter): \(report.processed) of \(report.events) events processed</h2>"), "\(page)")
            #expect(page.contains("<tr><td>ok</td><td class=\"count\">\(report.count("ok"))</td>"), "filter \(filter)")
        }
        // Nothing to retry by policy: these classes are not retried without --class/--force.
        let resubmit = try DCProd.run(["resubmit", "processCcd"], in: work.url)
        #expect(resubmit.stdout.contains("nothing to resubmit"), "\(resubmit.stdout)\(resubmit.stderr)")
        let forced = try DCProd.run(["resubmit", "processCcd", "--class", "missing-files"], in: work.url)
        #expect(forced.status != 0 && forced.stderr.contains("--force"))
    }

    @Test func aManagerKilledMidSubmissionLosesAndDoublesNothing() throws {
        let work = try Workspace()
        _ = try prepare(work, eventsPerJob: 2, frames: 24, defects: 0)
        let tree = work.url.appendingPathComponent("lsstprod/DC_2013")
        func outcomeFiles() -> [URL] {
            ["g", "r", "i"].flatMap { filter -> [URL] in
                let dir = tree.appendingPathComponent("steps/processCcd/\(filter)/outcomes")
                return ((try? FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)) ?? [])
                    .filter { $0.pathExtension == "jsonl" }
            }
        }

        let manager = Process()
        manager.executableURL = DCProd.executable
        manager.arguments = ["submit", "processCcd"]
        manager.currentDirectoryURL = work.url
        manager.standardOutput = FileHandle.nullDevice
        manager.standardError = FileHandle.nullDevice
        try manager.run()
        let deadline = Date().addingTimeInterval(120)
        while outcomeFiles().count < 3 && manager.isRunning && Date() < deadline { usleep(20_000) }
        #expect(manager.isRunning, "the submission ended before it could be killed")
        kill(manager.processIdentifier, SIGKILL)
        manager.waitUntilExit()

        let rerun = try DCProd.run(["submit", "processCcd"], in: work.url)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        let verify = try DCProd.run(["verify", "processCcd"], in: work.url)
        #expect(verify.status == 0, "every event ok after the rerun: \(verify.stdout)")
        for filter in ["g", "r", "i"] {
            let report = try report(work, filter)
            #expect(report.events == 8 && report.processed == 8 && report.count("ok") == 8, "filter \(filter): \(report)")
        }
        // Twelve jobs, each run exactly once: one attempt file, one start line, one record per event.
        let files = outcomeFiles()
        #expect(files.count == 12, "\(files.map(\.lastPathComponent))")
        #expect(files.allSatisfy { $0.lastPathComponent.hasSuffix(".a1.jsonl") })
        for file in files {
            let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n")
            #expect(lines.filter { $0.contains("\"type\":\"start\"") }.count == 1, "\(file.lastPathComponent)")
            #expect(lines.filter { $0.contains("\"type\":\"event\"") }.count == 2, "\(file.lastPathComponent)")
            #expect(lines.last?.contains("\"type\":\"end\"") == true, "\(file.lastPathComponent)")
        }
    }

    @Test func missingFilesAreResubmittedOnlyWithForceAndThenSucceed() throws {
        let work = try Workspace()
        let input = try prepare(work, eventsPerJob: 4, frames: 12, defects: 0)
        let refcat = URL(fileURLWithPath: "\(input)/refcat.csv"), away = URL(fileURLWithPath: "\(input)/refcat.csv.away")
        try FileManager.default.moveItem(at: refcat, to: away)
        #expect(try DCProd.run(["submit", "processCcd"], in: work.url).status == 0)
        let first = try DCProd.run(["verify", "processCcd", "--filter", "r"], in: work.url)
        #expect(first.status == 1)
        #expect(first.stdout.contains("missing files: 4 - 100.0 %"), "\(first.stdout)")
        // The report lists the first events with their message, and the command that takes them.
        let advice = "missing files: 4 - `dcprod resubmit processCcd --filter r --class missing-files --force` takes them once their files are back"
        #expect(first.stdout.contains("Failures, first events and what to do:\n  " + advice), "\(first.stdout)")
        #expect(first.stdout.contains("refcat.csv"), "the event lines name the missing file: \(first.stdout)")
        let page = try String(contentsOfFile: "\(work.url.path)/lsstprod/DC_2013/reports/processCcd.html", encoding: .utf8)
        #expect(page.contains("--class missing-files --force"), "the step's page gives the command too")

        try FileManager.default.moveItem(at: away, to: refcat)
        let refused = try DCProd.run(["resubmit", "processCcd"], in: work.url)
        #expect(refused.stdout.contains("nothing to resubmit"), "missing files need --force: \(refused.stdout)")
        let advised = try DCProd.run(["resubmit", "processCcd", "--filter", "r", "--class", "missing-files", "--force"], in: work.url)
        #expect(advised.status == 0 && advised.stdout.contains("4 events in 1 new jobs"), "\(advised.stdout)\(advised.stderr)")
        let forced = try DCProd.run(["resubmit", "processCcd", "--force"], in: work.url)
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(forced.stdout.contains("8 events in 2 new jobs"), "\(forced.stdout)")
        let second = try DCProd.run(["verify", "processCcd"], in: work.url)
        #expect(second.status == 0, "\(second.stdout)")
        for filter in ["g", "r", "i"] {
            let report = try report(work, filter)
            #expect(report.events == 4 && report.count("ok") == 4 && report.count("missing-files") == 0, "filter \(filter)")
        }
        // The first attempts stay as history: their outcome files and the jobs that wrote them.
        let jobs = try FileManager.default.contentsOfDirectory(atPath: "\(work.url.path)/lsstprod/DC_2013/steps/processCcd/r/outcomes")
        #expect(jobs.sorted() == ["processCcd-r-000001.a1.jsonl", "processCcd-r-000002.a1.jsonl"])
        let status = try DCProd.run(["status"], in: work.url)
        #expect(status.stdout.contains("Jobs (latest attempt)"), "\(status.stdout)")
    }

    /// The catalog lines of a config for an engine: the embedded SQLite file, or a fresh database on
    /// the private MariaDB of Tests/run (its password only in the 0600 defaults file).
    static func catalogConfig(_ engine: String) throws -> (lines: String, arguments: [String]) {
        guard engine == "mariadb" else { return ("DBHOST sqlite\nDBUSER lsst_prod", []) }
        let env = ProcessInfo.processInfo.environment
        guard let defaults = env["DCPROD_TEST_MARIADB_DEFAULTS"] else {
            throw TestFailure("the private MariaDB of Tests/run did not start (DCPROD_TEST_MARIADB_DEFAULTS is not set)")
        }
        let name = "dcprod_e2e_\(UUID().uuidString.prefix(8).lowercased())"
        return ("DBHOST \(env["DCPROD_TEST_MARIADB_HOST"] ?? "127.0.0.1")\nDBPORT \(env["DCPROD_TEST_MARIADB_PORT"] ?? "3306")\n"
                + "DBUSER \(env["DCPROD_TEST_MARIADB_USER"] ?? "dcprod_test")\nDBNAME \(name)", ["--defaults-file", defaults])
    }

    /// The `password=` of a client option file.
    static func password(inDefaultsFile path: String) throws -> String? {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            .first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("password") }
            .flatMap { $0.split(separator: "=", maxSplits: 1).last }
            .map { $0.trimmingCharacters(in: .whitespaces) }
    }

    static func anyProcessArguments(contain secret: String) -> Bool {
        let needle = Data(secret.utf8)
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).contains { entry in
            guard Int(entry) != nil, let cmdline = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return false }
            return cmdline.range(of: needle) != nil
        }
    }

    static func anyFile(under directory: URL, contains secret: String) throws -> Bool {
        let needle = Data(secret.utf8)
        let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = walker?.nextObject() as? URL {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true,
                  let data = FileManager.default.contents(atPath: url.path) else { continue }
            if data.range(of: needle) != nil { return true }
        }
        return false
    }

    static var engines: [String] {
        let env = ProcessInfo.processInfo.environment
        return env["DCPROD_TEST_MARIADB_DEFAULTS"] != nil || env["CI"] == "true" ? ["sqlite", "mariadb"] : ["sqlite"]
    }

    @Test(arguments: engines)
    func aLoaderKilledAtAnyPointStillLoadsEveryFileOnce(_ engine: String) throws {
        let work = try Workspace()
        let catalog = try Self.catalogConfig(engine)
        _ = try prepare(work, eventsPerJob: 8, frames: 24, defects: 0, catalog: catalog.lines)
        #expect(try DCProd.run(["submit", "processCcd"], in: work.url).status == 0)
        #expect(try DCProd.run(["verify", "processCcd"], in: work.url).status == 0)
        let initialized = try DCProd.run(["load", "--init"] + catalog.arguments, in: work.url)
        #expect(initialized.status == 0, "\(initialized.stderr)")

        // Kill the loader again and again at random moments, then let one run finish.
        let password = try catalog.arguments.last.map(Self.password(inDefaultsFile:)) ?? nil
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<8 {
            let loader = Process()
            loader.executableURL = DCProd.executable
            loader.arguments = ["load", "processCcd"] + catalog.arguments
            loader.currentDirectoryURL = work.url
            loader.standardOutput = FileHandle.nullDevice
            loader.standardError = FileHandle.nullDevice
            try loader.run()
            usleep(UInt32.random(in: 5_000...120_000, using: &generator))
            if let password { #expect(!Self.anyProcessArguments(contain: password), "a process shows the password in its arguments") }
            kill(loader.processIdentifier, SIGKILL)
            loader.waitUntilExit()
        }
        let final = try DCProd.run(["load", "processCcd"] + catalog.arguments, in: work.url)
        #expect(final.status == 0, "\(final.stdout)\(final.stderr)")

        // 24 events, each with a src- and a ccd- CSV: 48 files, each once; rows = the files' lines.
        let data = work.url.appendingPathComponent("lsstprod-data/DC_2013/processCcd")
        var expectedRows = ["Source": 0, "Science_Ccd_Exposure": 0]
        var files = 0
        for filter in ["g", "r", "i"] {
            for name in try FileManager.default.contentsOfDirectory(atPath: data.appendingPathComponent(filter).path) where name.hasSuffix(".csv") {
                let lines = try String(contentsOf: data.appendingPathComponent("\(filter)/\(name)"), encoding: .utf8).split(separator: "\n").count - 1
                expectedRows[name.hasPrefix("src-") ? "Source" : "Science_Ccd_Exposure", default: 0] += lines
                files += 1
            }
        }
        #expect(files == 48)
        func value(_ sql: String) throws -> String {
            let result = try DCProd.run(["sql", "--csv", sql] + catalog.arguments, in: work.url)
            return String(result.stdout.split(separator: "\n").dropFirst().first ?? "")
        }
        #expect(try value("SELECT COUNT(*) FROM dcprod_load") == "48")
        #expect(try value("SELECT COUNT(*) FROM Source") == String(expectedRows["Source"]!))
        #expect(try value("SELECT COUNT(DISTINCT sourceId) FROM Source") == String(expectedRows["Source"]!))
        #expect(try value("SELECT COUNT(*) FROM Science_Ccd_Exposure") == "24")
        #expect(try value("SELECT SUM(rowCount) FROM dcprod_load") == String(expectedRows["Source"]! + 24))

        let status = try DCProd.run(["load", "--status"] + catalog.arguments, in: work.url)
        #expect(status.stdout.contains("Files: 48 loaded, 0 pending, 0 rejected"), "\(status.stdout)\(status.stderr)")
        // The seed's query, on processCcd's sources; read-only unless --write.
        let seed = try DCProd.run(["sql", "SELECT ra, decl, ravar, declvar, psfFlux, psfFluxSigma, modelFlux, modelFluxSigma, filterId FROM Source WHERE ra > 6.27664 AND ra < 6.50324 AND decl > -0.21301 AND decl < 0.00335 LIMIT 100000"] + catalog.arguments, in: work.url)
        #expect(seed.status == 0 && seed.stdout.contains(" rows)"), "\(seed.stderr)")
        let refused = try DCProd.run(["sql", "DELETE FROM Source"] + catalog.arguments, in: work.url)
        #expect(refused.status != 0 && refused.stderr.contains("read-only without --write"))
        let syntax = try DCProd.run(["sql", "SELECT FROM WHERE"] + catalog.arguments, in: work.url)
        #expect(syntax.status != 0 && syntax.stderr.contains("syntax"), "\(syntax.stderr)")
        let json = try DCProd.run(["sql", "--json", "SELECT filterId, filterName FROM Filter ORDER BY filterId"] + catalog.arguments, in: work.url)
        #expect(json.stdout.contains("\"filterName\" : \"u\""), "\(json.stdout)")
        if let password {
            #expect(try !Self.anyFile(under: work.url, contains: password), "the password is written somewhere in the production")
        }
        if engine == "mariadb" {
            #expect(try DCProd.run(["sql", "--write", "DROP DATABASE \(catalog.lines.split(separator: " ").last!)"] + catalog.arguments, in: work.url).status == 0)
        }
    }
}

extension ProductionRun {
    /// A runner killed in the middle of its job: the event it was running and those after it have no
    /// record, verify counts them as not run, and resubmit (not-run is retried by policy) finishes them.
    /// The payload is changed in the production's own copy of the templates, as a site would.
    @Test func eventsAfterARunnerDiesAreNotRunAndResubmitted() throws {
        let work = try Workspace()
        _ = try prepare(work, eventsPerJob: 4, frames: 12, defects: 0)
        let tree = work.url.appendingPathComponent("lsstprod/DC_2013")
        let step = tree.appendingPathComponent("templates/steps/processCcd.step")
        try Data("rules reference\ntimeout 60\ncommand /bin/sleep 0.4\n".utf8).write(to: step)
        // Plan again from scratch: the jobs planned by prepare() used the reference payload.
        let store = tree.appendingPathComponent("state.sqlite").path
        for sql in ["DELETE FROM job_event", "DELETE FROM job", "UPDATE event SET jobId = NULL, state = 'new'"] {
            _ = try output(of: ["sqlite3", store, sql])
        }
        #expect(try DCProd.run(["plan", "processCcd", "--filter", "r"], in: work.url).stdout.contains("1 jobs for 4 events"))

        let manager = Process()
        manager.executableURL = DCProd.executable
        manager.arguments = ["submit", "processCcd", "--filter", "r"]
        manager.currentDirectoryURL = work.url
        manager.standardOutput = FileHandle.nullDevice
        manager.standardError = FileHandle.nullDevice
        try manager.run()
        // Wait for the first event's record, then kill the runner (its pid is on the start line).
        let outcomes = tree.appendingPathComponent("steps/processCcd/r/outcomes/processCcd-r-000001.a1.jsonl")
        let deadline = Date().addingTimeInterval(60)
        var lines: [Substring] = []
        while Date() < deadline {
            lines = ((try? String(contentsOf: outcomes, encoding: .utf8)) ?? "").split(separator: "\n")
            if lines.count >= 2 { break }
            usleep(10_000)
        }
        let start = try #require(lines.first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        let pid = try #require(start["pid"] as? Int)
        kill(pid_t(pid), SIGKILL)
        manager.waitUntilExit()

        let verify = try DCProd.run(["verify", "processCcd", "--filter", "r"], in: work.url)
        #expect(verify.status == 2, "some events never ran: \(verify.stdout)")
        #expect(verify.stdout.contains("Events processed: 1 out of 4:"), "\(verify.stdout)")
        #expect(verify.stdout.contains("Not run: 3"), "\(verify.stdout)")
        #expect(verify.stdout.contains("To resubmit: 3"), "\(verify.stdout)")

        let resubmit = try DCProd.run(["resubmit", "processCcd", "--filter", "r"], in: work.url)
        #expect(resubmit.stdout.contains("3 events in 1 new jobs"), "\(resubmit.stdout)\(resubmit.stderr)")
        let again = try DCProd.run(["verify", "processCcd", "--filter", "r"], in: work.url)
        #expect(again.status == 0, "\(again.stdout)")
        #expect(again.stdout.contains("ok: 4 - 100.0 %"))
    }
}

extension ProductionRun {
    @Test(arguments: engines)
    func aSplitCatalogAnswersTheSeedQueryOverEveryFilter(_ engine: String) throws {
        let work = try Workspace()
        let catalog = try Self.catalogConfig(engine)
        _ = try prepare(work, eventsPerJob: 8, frames: 12, defects: 0, catalog: catalog.lines + "\nDBSPLIT filter\nDBCONNECTIONS 3")
        #expect(try DCProd.run(["submit", "processCcd"], in: work.url).status == 0)
        #expect(try DCProd.run(["verify", "processCcd"], in: work.url).status == 0)
        #expect(try DCProd.run(["load", "--init"] + catalog.arguments, in: work.url).status == 0)
        let load = try DCProd.run(["load", "processCcd"] + catalog.arguments, in: work.url)
        #expect(load.status == 0 && load.stdout.contains("24 files loaded"), "\(load.stdout)\(load.stderr)")
        let perFilter = try DCProd.run(["sql", "--csv", "SELECT filterId, COUNT(*) FROM Source GROUP BY filterId ORDER BY filterId"] + catalog.arguments, in: work.url)
        #expect(perFilter.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: ",").first ?? "" } == ["1", "2", "3"], "\(perFilter.stdout)\(perFilter.stderr)")
        let seed = try DCProd.run(["sql", "SELECT ra, decl, ravar, declvar, psfFlux, psfFluxSigma, modelFlux, modelFluxSigma, filterId FROM DeepSource WHERE ra > 6.27664 AND ra < 6.50324 AND decl > -0.21301 AND decl < 0.00335 LIMIT 100000"] + catalog.arguments, in: work.url)
        #expect(seed.status == 0 && seed.stdout.contains("(0 rows)"), "\(seed.stdout)\(seed.stderr)")
        if engine == "sqlite" {
            let data = work.url.appendingPathComponent("lsstprod-data/DC_2013")
            for filter in ["g", "r", "i"] { #expect(FileManager.default.fileExists(atPath: data.appendingPathComponent("catalog_\(filter).sqlite").path)) }
        } else {
            let name = catalog.lines.split(separator: " ").last!
            for suffix in ["_g", "_r", "_i", ""] {
                _ = try DCProd.run(["sql", "--write", "DROP DATABASE IF EXISTS \(name)\(suffix)"] + catalog.arguments, in: work.url)
            }
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
