import Foundation
import Testing

/// A whole production on the local backend, as a user runs it: simulate → inventory → plan →
/// submit → verify, checked against the simulation's truth file.
@Suite(.serialized) struct ProductionRun {
    static let region = "5.9 7.1 -0.45 0.25"

    func prepare(_ work: Workspace, eventsPerJob: Int, frames: Int, defects: Double) throws -> String {
        try work.write(work.seedConfig + """

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

        try FileManager.default.moveItem(at: away, to: refcat)
        let refused = try DCProd.run(["resubmit", "processCcd"], in: work.url)
        #expect(refused.stdout.contains("nothing to resubmit"), "missing files need --force: \(refused.stdout)")
        let forced = try DCProd.run(["resubmit", "processCcd", "--force"], in: work.url)
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(forced.stdout.contains("12 events in 3 new jobs"), "\(forced.stdout)")
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
}
