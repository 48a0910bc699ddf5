import Foundation
import Testing

/// The production of the local-backend tests, on the single-node Slurm that Tests/run starts.
@Suite(.serialized) struct SlurmProduction {
    static var slurmStarted: Bool { ProcessInfo.processInfo.environment["DCPROD_TEST_SLURM"] != nil }
    static var inCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// A production on the test Slurm, prepared, simulated and inventoried (and planned unless told
    /// not to): its input directory.
    func prepare(_ work: Workspace, filters: String, eventsPerJob: Int, frames: Int, defects: Double = 0,
                 size: String = "1024x744", extra: String = "", plan: Bool = true) throws -> String {
        try #require(Self.slurmStarted, "the test Slurm cluster of Tests/run did not start (DCPROD_TEST_SLURM is not set)")
        try work.write(work.seedConfig + """

            REGION \(ProductionRun.region)
            FILTERS \(filters)
            EVENTSPERJOB processCcd \(eventsPerJob)
            BACKEND slurm
            QUEUE test
            MEMORY processCcd 300M
            \(extra)
            """, to: "fichconfig.txt")
        try #require(try DCProd.run(["prepare", "fichconfig.txt"], in: work.url).status == 0)
        let input = "\(work.url.path)/lsstprod-data/DC_2013/input"
        let simulated = try DCProd.run(["pipe", "simulate", "--frames", String(frames), "--seed", "7", "--defects", String(defects),
                                        "--filters", filters.replacingOccurrences(of: " ", with: ""), "--size", size,
                                        "--pixel-scale", "0.8", "--region", ProductionRun.region, input], in: work.url)
        try #require(simulated.status == 0, "\(simulated.stderr)")
        try #require(try DCProd.run(["inventory"], in: work.url).status == 0)
        if plan { try #require(try DCProd.run(["plan", "processCcd"], in: work.url).status == 0) }
        return input
    }


    @Test(.enabled(if: slurmStarted || inCI, "no test Slurm cluster (Tests/run starts one)"))
    func aProductionRunsOnSlurmAndGivesTheSameReport() throws {
        let work = try Workspace()
        let input = try prepare(work, filters: "g r i", eventsPerJob: 3, frames: 30, defects: 0.2,
                                extra: "WALLTIME processCcd 00:10:00\nMAXRUNNING 4")
        let script = try String(contentsOfFile: "\(work.url.path)/lsstprod/DC_2013/steps/processCcd/r/jobs/processCcd-r-000001.slurm.sh", encoding: .utf8)
        #expect(script.contains("#SBATCH --mem=300M") && script.contains("#SBATCH --partition=test"))

        let submit = try DCProd.run(["submit", "processCcd", "--wait"], in: work.url)
        #expect(submit.status == 0, "\(submit.stderr)")
        #expect(submit.stdout.contains("(slurm)"), "\(submit.stdout)")
        let verify = try DCProd.run(["verify", "processCcd"], in: work.url)
        #expect(verify.status == 1, "\(verify.stdout)\(verify.stderr)")

        // The same accounting of defects as on the local backend.
        let truth = try String(contentsOfFile: "\(input)/truth.csv", encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        for filter in ["g", "r", "i"] {
            let mine = truth.filter { $0[4] == filter }
            let report = try JSONDecoder().decode(ProductionRun.Report.self, from: Data(contentsOf: work.url
                .appendingPathComponent("lsstprod/DC_2013/reports/processCcd-\(filter).json")))
            #expect(report.count("ok") == mine.filter { $0[5] == "none" }.count, "filter \(filter)")
            #expect(report.count("missing-files") == mine.filter { $0[5] == "missing-file" }.count, "filter \(filter)")
            #expect(report.count("astrometry") == mine.filter { $0[5] == "broken-wcs" }.count, "filter \(filter)")
            #expect(report.count("matches") == mine.filter { $0[5] == "few-stars" }.count, "filter \(filter)")
            #expect(report.notRun == 0 && report.crashed == 0, "filter \(filter)")
        }
        let jobs = try DCProd.run(["status", "--jobs"], in: work.url)
        #expect(jobs.stdout.contains("slurm") && jobs.stdout.contains("COMPLETED"), "\(jobs.stdout)")
        // One job array per filter, one task per job: three sbatch calls for the whole production.
        let ids = jobs.stdout.split(separator: "\n").filter { $0.hasPrefix("processCcd-") }
            .compactMap { $0.split(separator: " ").dropFirst(3).first }
        #expect(!ids.isEmpty && ids.allSatisfy { $0.contains("_") }, "\(ids)")
        #expect(Set(ids.map { $0.split(separator: "_")[0] }).count == 3, "\(ids)")
        // sacct's accounting of each attempt: node and elapsed time (MaxRSS too, when the job lived long
        // enough to be sampled).
        let row = try #require(jobs.stdout.split(separator: "\n").first { $0.hasPrefix("processCcd-r-000001") })
        #expect(row.contains("00:00:"), "\(row)")
    }

    /// Runs scripts/slurm-test-cluster.sh on the cluster of Tests/run.
    static func cluster(_ command: String) throws {
        let env = ProcessInfo.processInfo.environment
        let directory = try #require(env["DCPROD_TEST_SLURM_DIR"], "DCPROD_TEST_SLURM_DIR is not set")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/slurm-test-cluster.sh")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path, command, directory]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "slurm-test-cluster.sh \(command) failed")
    }

    @Test(.enabled(if: slurmStarted || inCI, "no test Slurm cluster (Tests/run starts one)"))
    func aControllerThatIsDownChangesNothingAndTheNextRunCarriesOn() throws {
        let work = try Workspace()
        _ = try prepare(work, filters: "r", eventsPerJob: 2, frames: 4)

        try Self.cluster("stop-controller")
        var restarted = false
        defer { if !restarted { try? Self.cluster("start-controller") } }
        let down = try DCProd.run(["submit", "processCcd", "--wait"], in: work.url)
        #expect(down.status != 0)
        let lines = down.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("Unable to contact slurm controller"), "\(down.stderr)")
        let jobs = try DCProd.run(["status", "--jobs"], in: work.url)
        #expect(jobs.stdout.contains("No job has been submitted."), "nothing may be marked submitted: \(jobs.stdout)")

        try Self.cluster("start-controller")
        restarted = true
        // Without --wait, submit hands the jobs over and returns; status follows them (one squeue, one sacct).
        let again = try DCProd.run(["submit", "processCcd"], in: work.url)
        #expect(again.status == 0, "\(again.stderr)")
        struct Jobs: Decodable { struct Count: Decodable { var state: String; var count: Int }; var jobs: [Count] }
        var states: [String] = []
        let deadline = Date().addingTimeInterval(90)
        repeat {
            usleep(500_000)
            let status = try DCProd.run(["status", "--json"], in: work.url)
            states = try JSONDecoder().decode(Jobs.self, from: Data(status.stdout.utf8)).jobs.map(\.state)
        } while states != ["done"] && Date() < deadline
        #expect(states == ["done"], "\(states)")
        let verify = try DCProd.run(["verify", "processCcd"], in: work.url)
        #expect(verify.status == 0 && verify.stdout.contains("ok: 4 - 100.0 %"), "\(verify.stdout)")
    }

    @Test(.enabled(if: slurmStarted || inCI, "no test Slurm cluster (Tests/run starts one)"))
    func aManagerKilledMidSubmissionAdoptsItsSlurmJobs() throws {
        let work = try Workspace()
        _ = try prepare(work, filters: "g r", eventsPerJob: 1, frames: 16, extra: "MAXRUNNING 6")

        let manager = Process()
        manager.executableURL = DCProd.executable
        manager.arguments = ["submit", "processCcd", "--wait"]
        manager.currentDirectoryURL = work.url
        manager.standardOutput = FileHandle.nullDevice
        manager.standardError = FileHandle.nullDevice
        try manager.run()
        let outcomes = ["g", "r"].map { work.url.appendingPathComponent("lsstprod/DC_2013/steps/processCcd/\($0)/outcomes") }
        func files() -> [URL] {
            outcomes.flatMap { (try? FileManager.default.contentsOfDirectory(at: $0, includingPropertiesForKeys: nil)) ?? [] }
        }
        let deadline = Date().addingTimeInterval(120)
        while files().isEmpty && manager.isRunning && Date() < deadline { usleep(20_000) }
        kill(manager.processIdentifier, SIGKILL)
        manager.waitUntilExit()

        let rerun = try DCProd.run(["submit", "processCcd", "--wait"], in: work.url)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        let verify = try DCProd.run(["verify", "processCcd"], in: work.url)
        #expect(verify.status == 0 && verify.stdout.components(separatedBy: "ok: 8 - 100.0 %").count == 3, "\(verify.stdout)")
        // Sixteen jobs, each submitted once: one attempt, one outcome file.
        #expect(files().count == 16 && files().allSatisfy { $0.lastPathComponent.hasSuffix(".a1.jsonl") }, "\(files().map(\.lastPathComponent))")
        let jobs = try DCProd.run(["status", "--jobs"], in: work.url)
        #expect(jobs.stdout.split(separator: "\n").filter { $0.hasPrefix("processCcd-") }.count == 16, "\(jobs.stdout)")
    }

    /// Resource learning: a payload that allocates past its job's memory is killed by Slurm
    /// (OverMemoryKill on the test cluster), and dcprod submits the job again with the memory doubled.
    @Test(.enabled(if: slurmStarted || inCI, "no test Slurm cluster (Tests/run starts one)"))
    func aJobKilledOverItsMemoryIsSubmittedAgainWithTwiceTheMemory() throws {
        let work = try Workspace()
        _ = try prepare(work, filters: "r", eventsPerJob: 1, frames: 2, size: "128x93", plan: false)
        // The payload: 400 MB, held long enough to be sampled, in the production's own step template.
        let payload = work.url.appendingPathComponent("allocate.py")
        try Data("import time\nblock = bytearray(400 * 1024 * 1024)\nfor i in range(0, len(block), 4096): block[i] = 1\ntime.sleep(4)\n".utf8).write(to: payload)
        try Data("rules reference\ntimeout 120\ncommand python3 \(payload.path)\n".utf8)
            .write(to: work.url.appendingPathComponent("lsstprod/DC_2013/templates/steps/processCcd.step"))
        #expect(try DCProd.run(["plan", "processCcd"], in: work.url).status == 0)

        let submit = try DCProd.run(["submit", "processCcd", "--wait"], in: work.url)
        #expect(submit.status == 0, "\(submit.stderr)")
        #expect(submit.stdout.contains("2 submitted again with more resources"), "\(submit.stdout)")
        let verify = try DCProd.run(["verify", "processCcd"], in: work.url)
        #expect(verify.status == 0 && verify.stdout.contains("ok: 2 - 100.0 %"), "\(verify.stdout)")
        #expect(verify.stdout.contains("Jobs submitted again by dcprod: memory doubled 2, walltime doubled 0, node lost 0"), "\(verify.stdout)")
        let jobs = try DCProd.run(["status", "--jobs"], in: work.url)
        let rows = jobs.stdout.split(separator: "\n").filter { $0.hasPrefix("processCcd-r-") }
        #expect(rows.count == 4 && rows.filter { $0.contains(" requeued ") }.count == 2 && rows.filter { $0.contains(" done ") }.count == 2,
                "\(jobs.stdout)")
    }
}
