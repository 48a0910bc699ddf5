import Basics
import Foundation
import Testing

/// A test batch system that Tests/run starts (scripts/slurm-test-cluster.sh,
/// scripts/sge-test-cluster.sh), and what its part of dcprod's output looks like.
struct TestCluster: Sendable {
    var backend: String
    /// Set by the cluster's env file when it started.
    var startedVariable: String
    var directoryVariable: String
    var script: String
    /// What the batch script of a job with `MEMORY processCcd 300M` and `QUEUE test` says.
    var scriptSuffix: String
    var directives: [String]
    /// The raw state of a task that ended well, in `status --jobs`.
    var completed: String
    /// The submission command.
    var submitCommand: String
    /// In the raw state of a held job.
    var heldState: String
    /// Between an array's id and a task's number in the backend ids.
    var taskSeparator: Character
    /// In the one line of a command run while the controller is down.
    var downMessage: String

    static let slurm = TestCluster(backend: "slurm", startedVariable: "DCPROD_TEST_SLURM", directoryVariable: "DCPROD_TEST_SLURM_DIR",
                                   script: "slurm-test-cluster.sh", scriptSuffix: "slurm.sh",
                                   directives: ["#SBATCH --mem=300M", "#SBATCH --partition=test"], completed: "COMPLETED", submitCommand: "sbatch", heldState: "PENDING",
                                   taskSeparator: "_", downMessage: "Unable to contact slurm controller")
    static let gridEngine = TestCluster(backend: "sge", startedVariable: "DCPROD_TEST_SGE", directoryVariable: "DCPROD_TEST_SGE_DIR",
                                        script: "sge-test-cluster.sh", scriptSuffix: "sge.sh",
                                        directives: ["#$ -l h_vmem=300M", "#$ -q test"], completed: "exit 0", submitCommand: "qsub", heldState: "hqw",
                                        taskSeparator: ".", downMessage: "unable to send message to qmaster")

    static var inCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }
    var started: Bool { ProcessInfo.processInfo.environment[startedVariable] != nil }

    /// A production on this cluster, prepared, simulated and inventoried (and planned unless told
    /// not to): its input directory.
    func prepare(_ work: Workspace, filters: String, eventsPerJob: Int, frames: Int, defects: Double = 0,
                 size: String = "1024x744", extra: String = "", plan: Bool = true, embeddedCatalog: Bool = false) throws -> String {
        try #require(started, "the test \(backend) cluster of Tests/run did not start (\(startedVariable) is not set)")
        let seed = embeddedCatalog ? work.seedConfig.replacingOccurrences(of: "DBHOST 127.0.0.1\nDBUSER lsst_prod", with: "") : work.seedConfig
        try work.write(seed + """

            REGION \(ProductionRun.region)
            FILTERS \(filters)
            EVENTSPERJOB processCcd \(eventsPerJob)
            BACKEND \(backend)
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

    /// Runs the cluster's script (`stop-controller`, `start-controller`) on the cluster of Tests/run.
    func control(_ command: String) throws {
        let directory = try #require(ProcessInfo.processInfo.environment[directoryVariable], "\(directoryVariable) is not set")
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/\(script)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [path.path, command, directory]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "\(script) \(command) failed")
    }
}

extension TestCluster {
    /// A wrapped submission command (`sbatch`, `qsub`) in `work`: the directory to put first on PATH.
    /// `body` is shell; `real "$@"` in it runs the real command.
    func submissionWrapper(in work: Workspace, _ body: String) throws -> String {
        let bin = work.url.appendingPathComponent("wrapped-bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let wrapper = bin.appendingPathComponent(submitCommand)
        try Data("""
            #!/bin/sh
            real() { PATH='\(Self.path)' \(submitCommand) "$@"; }
            \(body)

            """.utf8).write(to: wrapper)
        chmod(wrapper.path, 0o755)
        return bin.path + ":" + Self.path
    }

    static var path: String { ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin" }
}

/// Standard output of a command run as an argument vector (found on PATH), and its exit status.
func output(of arguments: [String]) throws -> (status: Int32, stdout: String) {
    let run = try ProgramRun.run(arguments)
    return (run.status, run.stdout)
}

/// What the sqlite3 shell prints for a statement on a state store, without the trailing newline.
func storeQuery(_ store: String, _ sql: String) throws -> String {
    try output(of: ["sqlite3", store, sql]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// The scenarios every batch backend passes, on its test cluster.
enum BatchScenarios {
    /// The production of the local-backend tests gives the same report; one array per filter.
    static func productionGivesTheSameReport(on cluster: TestCluster) throws {
        let work = try Workspace()
        let input = try cluster.prepare(work, filters: "g r i", eventsPerJob: 3, frames: 30, defects: 0.2,
                                        extra: "WALLTIME processCcd 00:10:00\nMAXRUNNING 4")
        let script = try String(contentsOfFile: "\(work.url.path)/lsstprod/DC_2013/steps/processCcd/r/jobs/processCcd-r-000001.\(cluster.scriptSuffix)",
                                encoding: .utf8)
        #expect(cluster.directives.allSatisfy(script.contains), "\(script)")

        let submit = try DCProd.run(["submit", "processCcd", "--wait"], in: work.url)
        #expect(submit.status == 0, "\(submit.stderr)")
        #expect(submit.stdout.contains("(\(cluster.backend))"), "\(submit.stdout)")
        try expectTheReportOfTheTruth(work, input: input, filters: ["g", "r", "i"])
        let jobs = try DCProd.run(["status", "--refresh", "--jobs"], in: work.url)
        #expect(jobs.stdout.contains(cluster.backend) && jobs.stdout.contains(cluster.completed), "\(jobs.stdout)")
        // One job array per filter, one task per job: three submission calls for the whole production.
        let ids = jobs.stdout.split(separator: "\n").filter { $0.hasPrefix("processCcd-") }
            .compactMap { $0.split(separator: " ").dropFirst(3).first }
        #expect(!ids.isEmpty && ids.allSatisfy { $0.contains(cluster.taskSeparator) }, "\(ids)")
        #expect(Set(ids.map { $0.split(separator: cluster.taskSeparator)[0] }).count == 3, "\(ids)")
        // The accounting of each attempt: its node and elapsed time.
        let row = try #require(jobs.stdout.split(separator: "\n").first { $0.hasPrefix("processCcd-r-000001") })
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? ""
        #expect(row.contains(" \(host) "), "\(row)")
    }

    /// `verify processCcd` (exit 1: some frames are broken) counts the simulator's defects as they are.
    static func expectTheReportOfTheTruth(_ work: Workspace, input: String, filters: [String]) throws {
        let verify = try DCProd.run(["verify", "processCcd"], in: work.url)
        #expect(verify.status == 1, "\(verify.stdout)\(verify.stderr)")

        // The same accounting of defects as on the local backend.
        let truth = try String(contentsOfFile: "\(input)/truth.csv", encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        for filter in filters {
            let mine = truth.filter { $0[4] == filter }
            let report = try JSONDecoder().decode(ProductionRun.Report.self, from: Data(contentsOf: work.url
                .appendingPathComponent("lsstprod/DC_2013/reports/processCcd-\(filter).json")))
            #expect(report.count("ok") == mine.filter { $0[5] == "none" }.count, "filter \(filter)")
            #expect(report.count("missing-files") == mine.filter { $0[5] == "missing-file" }.count, "filter \(filter)")
            #expect(report.count("astrometry") == mine.filter { $0[5] == "broken-wcs" }.count, "filter \(filter)")
            #expect(report.count("matches") == mine.filter { $0[5] == "few-stars" }.count, "filter \(filter)")
            #expect(report.notRun == 0 && report.crashed == 0, "filter \(filter)")
        }
    }

    /// The controller stopped: one line naming the command and its error, nothing marked submitted;
    /// restarted, the next submit carries on (held); stopped again under a `status` that has jobs to
    /// follow: one line, nothing changed; restarted, the jobs are released and `status` follows them.
    static func controllerDownChangesNothing(on cluster: TestCluster) throws {
        let work = try Workspace()
        _ = try cluster.prepare(work, filters: "r", eventsPerJob: 2, frames: 4)

        try cluster.control("stop-controller")
        var restarted = false
        defer { if !restarted { try? cluster.control("start-controller") } }
        let down = try DCProd.run(["submit", "processCcd", "--wait"], in: work.url)
        #expect(down.status != 0)
        let lines = down.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains(cluster.downMessage), "\(down.stderr)")
        let jobs = try DCProd.run(["status", "--refresh", "--jobs"], in: work.url)
        #expect(jobs.stdout.contains("No job has been submitted."), "nothing may be marked submitted: \(jobs.stdout)")

        try cluster.control("start-controller")
        restarted = true
        // Without --wait, submit hands the jobs over and returns; held, they wait for `release`; status
        // follows them.
        let again = try DCProd.run(["submit", "processCcd", "--hold"], in: work.url)
        #expect(again.status == 0 && again.stdout.contains("2 jobs submitted"), "\(again.stdout)\(again.stderr)")
        usleep(1_500_000)
        let held = try DCProd.run(["status", "--refresh", "--jobs"], in: work.url)
        let rows = held.stdout.split(separator: "\n").filter { $0.hasPrefix("processCcd-r-") }
        #expect(rows.count == 2 && rows.allSatisfy { $0.contains(" queued ") && $0.contains(cluster.heldState) }, "\(held.stdout)")

        // The controller stopped under a `status` that has jobs to follow: one line, no state change.
        let attempts = try Self.attemptRows(work)
        try cluster.control("stop-controller")
        restarted = false
        let blind = try DCProd.run(["status", "--refresh"], in: work.url)
        #expect(blind.status != 0)
        let blindLines = blind.stderr.split(separator: "\n")
        #expect(blindLines.count == 1 && blindLines[0].contains(cluster.downMessage), "\(blind.stderr)")
        #expect(try Self.attemptRows(work) == attempts)
        try cluster.control("start-controller")
        restarted = true
        let released = try DCProd.run(["release", "processCcd"], in: work.url)
        #expect(released.status == 0 && released.stdout.contains("release processCcd: 2 queued jobs released"), "\(released.stdout)\(released.stderr)")
        struct Jobs: Decodable { struct Count: Decodable { var state: String; var count: Int }; var jobs: [Count] }
        var states: [String] = []
        let deadline = Date().addingTimeInterval(90)
        repeat {
            usleep(500_000)
            let status = try DCProd.run(["status", "--refresh", "--json"], in: work.url)
            states = try JSONDecoder().decode(Jobs.self, from: Data(status.stdout.utf8)).jobs.map(\.state)
        } while states != ["done"] && Date() < deadline
        #expect(states == ["done"], "\(states)")
        let verify = try DCProd.run(["verify", "processCcd"], in: work.url)
        #expect(verify.status == 0 && verify.stdout.contains("ok: 4 - 100.0 %"), "\(verify.stdout)")
    }

    /// The attempts of the production's state store as sqlite3 lists them: what must not change.
    static func attemptRows(_ work: Workspace) throws -> String {
        let rows = try output(of: ["sqlite3", work.url.appendingPathComponent("lsstprod/DC_2013/state.sqlite").path,
                                   "SELECT id, state, rawState, backendId, endedAt, exitCode FROM attempt ORDER BY id"])
        try #require(rows.status == 0 && !rows.stdout.isEmpty, "sqlite3 could not read the state store")
        return rows.stdout
    }

    /// The manager SIGKILLed between its submission call and recording the ids: the batch system
    /// accepted the first array, the manager never heard back (the submission command, wrapped, holds
    /// its answer). The rerun finds those jobs by their tokens and adopts them; none runs twice.
    static func killedManagerAdoptsItsJobs(on cluster: TestCluster) throws {
        let work = try Workspace()
        _ = try cluster.prepare(work, filters: "g r", eventsPerJob: 1, frames: 16, extra: "MAXRUNNING 6")

        // A `sbatch`/`qsub` first on PATH: runs the real one, says so, then never answers.
        let marker = work.url.appendingPathComponent("submitted")
        let path = try cluster.submissionWrapper(in: work, """
            real "$@" || exit $?
            echo $$ > '\(marker.path)'
            exec sleep 120
            """)

        let manager = Process()
        manager.executableURL = DCProd.executable
        manager.arguments = ["submit", "processCcd", "--wait"]
        manager.currentDirectoryURL = work.url
        manager.environment = ProcessInfo.processInfo.environment.merging(["PATH": path]) { $1 }
        manager.standardOutput = FileHandle.nullDevice
        manager.standardError = FileHandle.nullDevice
        try manager.run()
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: marker.path) && manager.isRunning && Date() < deadline { usleep(20_000) }
        kill(manager.processIdentifier, SIGKILL)
        manager.waitUntilExit()
        let held = try String(contentsOf: marker, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        if let pid = Int32(held) { kill(pid, SIGKILL) }

        let rerun = try DCProd.run(["submit", "processCcd", "--wait"], in: work.url)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        // The first array (one filter, 8 jobs) was accepted before the kill: adopted, not submitted again.
        #expect(rerun.stdout.contains("8 jobs submitted, 8 adopted after a restart"), "\(rerun.stdout)")
        let verify = try DCProd.run(["verify", "processCcd"], in: work.url)
        #expect(verify.status == 0 && verify.stdout.components(separatedBy: "ok: 8 - 100.0 %").count == 3, "\(verify.stdout)")
        // Sixteen jobs, each submitted once: one attempt, one outcome file.
        let outcomes = ["g", "r"].map { work.url.appendingPathComponent("lsstprod/DC_2013/steps/processCcd/\($0)/outcomes") }
        let files = outcomes.flatMap { (try? FileManager.default.contentsOfDirectory(at: $0, includingPropertiesForKeys: nil)) ?? [] }
        #expect(files.count == 16 && files.allSatisfy { $0.lastPathComponent.hasSuffix(".a1.jsonl") }, "\(files.map(\.lastPathComponent))")
        let jobs = try DCProd.run(["status", "--refresh", "--jobs"], in: work.url)
        #expect(jobs.stdout.split(separator: "\n").filter { $0.hasPrefix("processCcd-") }.count == 16, "\(jobs.stdout)")
    }

    /// The batch system accepts the first array and refuses the second (a wrapped submission command
    /// refuses every call after its first): one line, the first array's jobs recorded and followed, the
    /// others not marked submitted; the next submit hands over only those. No job runs twice.
    static func refusalKeepsWhatWasAccepted(on cluster: TestCluster) throws {
        let work = try Workspace()
        _ = try cluster.prepare(work, filters: "g r", eventsPerJob: 1, frames: 8)
        let calls = work.url.appendingPathComponent("calls")
        let path = try cluster.submissionWrapper(in: work, """
            if [ -e '\(calls.path)' ]; then echo "\(cluster.submitCommand): error: refused by the test" >&2; exit 1; fi
            touch '\(calls.path)'
            real "$@"
            """)

        let refused = try DCProd.run(["submit", "processCcd", "--wait"], in: work.url, environment: ["PATH": path])
        #expect(refused.status != 0)
        #expect(refused.stderr.split(separator: "\n").count == 1 && refused.stderr.contains("refused by the test"), "\(refused.stderr)")
        let after = try DCProd.run(["status", "--refresh", "--jobs"], in: work.url)
        let rows = after.stdout.split(separator: "\n").filter { $0.hasPrefix("processCcd-") }
        #expect(rows.count == 4 && rows.allSatisfy { $0.hasPrefix("processCcd-g-") }, "\(after.stdout)")

        let rerun = try DCProd.run(["submit", "processCcd", "--wait"], in: work.url)
        #expect(rerun.status == 0 && rerun.stdout.contains("4 jobs submitted"), "\(rerun.stdout)\(rerun.stderr)")
        let verify = try DCProd.run(["verify", "processCcd"], in: work.url)
        #expect(verify.status == 0 && verify.stdout.components(separatedBy: "ok: 4 - 100.0 %").count == 3, "\(verify.stdout)")
        let jobs = try DCProd.run(["status", "--refresh", "--jobs"], in: work.url)
        #expect(jobs.stdout.split(separator: "\n").filter { $0.hasPrefix("processCcd-") && $0.contains(" done ") }.count == 8, "\(jobs.stdout)")
    }

    /// Resource learning: a payload of two processes holding 200 MB each, past its job's 300M, is
    /// killed by the batch system (Slurm's OverMemoryKill, Grid Engine's h_vmem), and dcprod submits
    /// the job again with the memory doubled.
    static func jobOverItsMemoryGetsTwiceTheMemory(on cluster: TestCluster) throws {
        let work = try Workspace()
        _ = try cluster.prepare(work, filters: "r", eventsPerJob: 1, frames: 2, size: "128x93", plan: false)
        // Each process under the limit (Grid Engine's h_vmem is also each process's address-space
        // limit), the job over it; held long enough to be sampled. In the production's own step template.
        let payload = work.url.appendingPathComponent("allocate.py")
        try Data("""
            import os, time
            os.fork()
            block = bytearray(200 * 1024 * 1024)
            for i in range(0, len(block), 4096): block[i] = 1
            time.sleep(4)

            """.utf8).write(to: payload)
        try Data("rules reference\ntimeout 120\ncommand python3 \(payload.path)\n".utf8)
            .write(to: work.url.appendingPathComponent("lsstprod/DC_2013/templates/steps/processCcd.step"))
        #expect(try DCProd.run(["plan", "processCcd"], in: work.url).status == 0)

        let submit = try DCProd.run(["submit", "processCcd", "--wait"], in: work.url)
        #expect(submit.status == 0, "\(submit.stderr)")
        #expect(submit.stdout.contains("2 submitted again with more resources"), "\(submit.stdout)")
        let verify = try DCProd.run(["verify", "processCcd"], in: work.url)
        #expect(verify.status == 0 && verify.stdout.contains("ok: 2 - 100.0 %"), "\(verify.stdout)")
        #expect(verify.stdout.contains("Jobs submitted again by dcprod: memory doubled 2, walltime doubled 0, node lost 0"), "\(verify.stdout)")
        let jobs = try DCProd.run(["status", "--refresh", "--jobs"], in: work.url)
        let rows = jobs.stdout.split(separator: "\n").filter { $0.hasPrefix("processCcd-r-") }
        #expect(rows.count == 4 && rows.filter { $0.contains(" requeued ") }.count == 2 && rows.filter { $0.contains(" done ") }.count == 2,
                "\(jobs.stdout)")
    }
}

extension BatchScenarios {
    /// The whole chain (`dcprod run`) on the cluster: each step submitted as arrays, followed to its
    /// end, verified and loaded, as on the local backend.
    static func chainRuns(on cluster: TestCluster, byPatch: Bool = false) throws {
        let work = try Workspace()
        _ = try cluster.prepare(work, filters: "r", eventsPerJob: 2, frames: 6, extra: """
            MEMORY coadd 2G
            MEMORY forcedPhot 1G
            EVENTSPERJOB coadd 4
            EVENTSPERJOB forcedPhot 3
            """, plan: false, embeddedCatalog: true)
        let run = try DCProd.run(["run"] + (byPatch ? ["--by-patch"] : []), in: work.url)
        #expect(run.status == 0, "every event of every step ok: \(run.stdout)\(run.stderr)")
        for step in ["processCcd", "coadd", "forcedPhot"] {
            #expect(run.stdout.contains("Step \(step), filter r\nEvents processed: "), "\(step): \(run.stdout)")
        }
        #expect(run.stdout.contains("run coadd: plan ") && !run.stdout.contains("run coadd: plan 0 jobs"), "\(run.stdout)")
        let loaded = try DCProd.run(["sql", "--csv", "SELECT (SELECT COUNT(*) FROM Source) > 0, (SELECT COUNT(*) FROM DeepCoadd) > 0, (SELECT COUNT(*) FROM DeepForcedSource) > 0"], in: work.url)
        #expect(loaded.stdout.split(separator: "\n").last == "1,1,1", "\(loaded.stdout)\(loaded.stderr)")
        let jobs = try DCProd.run(["status", "--refresh", "--jobs"], in: work.url)
        #expect(jobs.stdout.contains("coadd-r-000001") && jobs.stdout.contains("forcedPhot-r-000001") && jobs.stdout.contains(cluster.completed),
                "\(jobs.stdout)")
        if byPatch {
            // One batch job per patch, each follower's attempt in its lead's, from the bundle script.
            let store = work.url.appendingPathComponent("lsstprod/DC_2013/state.sqlite").path
            let bundles = try output(of: ["sqlite3", store, """
                SELECT COUNT(DISTINCT backendId) = (SELECT COUNT(*) FROM event WHERE step = 'coadd'),
                (SELECT COUNT(*) FROM job f JOIN attempt fa ON fa.jobId = f.id JOIN attempt la ON la.jobId = f.leadId
                 WHERE fa.backendId = la.backendId AND fa.token LIKE la.token || '+%') > 0 FROM attempt
                """]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(bundles == "1|1", "\(bundles)")
        }
    }
}

/// The scenarios on the single-node Slurm that Tests/run starts.
@Suite(.serialized) struct SlurmProduction {
    static let cluster = TestCluster.slurm

    @Test(.enabled(if: cluster.started || TestCluster.inCI, "no test Slurm cluster (Tests/run starts one)"), .usingCluster("DCPROD_TEST_SLURM_DIR"))
    func aProductionRunsOnSlurmAndGivesTheSameReport() throws { try BatchScenarios.productionGivesTheSameReport(on: Self.cluster) }

    @Test(.enabled(if: cluster.started || TestCluster.inCI, "no test Slurm cluster (Tests/run starts one)"),
          .usingCluster("DCPROD_TEST_SLURM_DIR", exclusive: true))
    func aControllerThatIsDownChangesNothingAndTheNextRunCarriesOn() throws { try BatchScenarios.controllerDownChangesNothing(on: Self.cluster) }

    @Test(.enabled(if: cluster.started || TestCluster.inCI, "no test Slurm cluster (Tests/run starts one)"), .usingCluster("DCPROD_TEST_SLURM_DIR"))
    func aManagerKilledMidSubmissionAdoptsItsSlurmJobs() throws { try BatchScenarios.killedManagerAdoptsItsJobs(on: Self.cluster) }

    @Test(.enabled(if: cluster.started || TestCluster.inCI, "no test Slurm cluster (Tests/run starts one)"), .usingCluster("DCPROD_TEST_SLURM_DIR"))
    func aRefusedArrayLeavesTheAcceptedOnesSubmittedAndNothingElse() throws { try BatchScenarios.refusalKeepsWhatWasAccepted(on: Self.cluster) }

    @Test(.enabled(if: cluster.started || TestCluster.inCI, "no test Slurm cluster (Tests/run starts one)"), .usingCluster("DCPROD_TEST_SLURM_DIR"))
    func aJobKilledOverItsMemoryIsSubmittedAgainWithTwiceTheMemory() throws {
        try BatchScenarios.jobOverItsMemoryGetsTwiceTheMemory(on: Self.cluster)
    }

    @Test(.enabled(if: cluster.started || TestCluster.inCI, "no test Slurm cluster (Tests/run starts one)"), .usingCluster("DCPROD_TEST_SLURM_DIR"))
    func theWholeChainRunsOnSlurm() throws { try BatchScenarios.chainRuns(on: Self.cluster) }

    @Test(.enabled(if: cluster.started || TestCluster.inCI, "no test Slurm cluster (Tests/run starts one)"), .usingCluster("DCPROD_TEST_SLURM_DIR"))
    func pathsAShellWouldInterpretAreOnlyPathsOnSlurm() throws {
        try #require(Self.cluster.started, "the test Slurm cluster of Tests/run did not start")
        try HostileInput.runWithPathsAShellWouldInterpret(backend: "slurm", extra: "QUEUE test\nMEMORY processCcd 300M")
    }

    /// A Slurm without accounting (no slurmdbd: sacct says "accounting storage is disabled"): the jobs
    /// are followed with squeue and their outcome records, dcprod says so once, and the report is the
    /// same. The cluster's clients are given a slurm.conf without AccountingStorage*, as such a
    /// cluster's have.
    @Test(.enabled(if: cluster.started || TestCluster.inCI, "no test Slurm cluster (Tests/run starts one)"), .usingCluster("DCPROD_TEST_SLURM_DIR"))
    func aSlurmWithoutAccountingRunsTheProductionToTheSameReport() throws {
        let work = try Workspace()
        let input = try Self.cluster.prepare(work, filters: "r", eventsPerJob: 2, frames: 12, defects: 0.2, extra: "MAXRUNNING 4")
        let conf = try #require(ProcessInfo.processInfo.environment["SLURM_CONF"], "SLURM_CONF is not set")
        let withoutAccounting = try String(contentsOfFile: conf, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("AccountingStorage") }.joined(separator: "\n")
        try work.write(withoutAccounting, to: "slurm.conf")
        let environment = ["SLURM_CONF": work.url.appendingPathComponent("slurm.conf").path]
        #expect(try output(of: ["env", "SLURM_CONF=\(environment["SLURM_CONF"]!)", "sacct", "--noheader"]).status != 0,
                "sacct still has accounting")

        let submit = try DCProd.run(["submit", "processCcd", "--wait"], in: work.url, environment: environment)
        #expect(submit.status == 0, "\(submit.stdout)\(submit.stderr)")
        #expect(submit.stderr.components(separatedBy: "accounting storage is disabled").count == 2, "said once: \(submit.stderr)")
        try BatchScenarios.expectTheReportOfTheTruth(work, input: input, filters: ["r"])
        let jobs = try DCProd.run(["status", "--refresh", "--jobs"], in: work.url, environment: environment)
        let rows = jobs.stdout.split(separator: "\n").filter { $0.hasPrefix("processCcd-") }
        #expect(rows.count == 6 && rows.allSatisfy { $0.contains("(no accounting)") || $0.contains(" gone ") }, "\(jobs.stdout)")
    }

    @Test(.enabled(if: cluster.started || TestCluster.inCI, "no test Slurm cluster (Tests/run starts one)"), .usingCluster("DCPROD_TEST_SLURM_DIR"))
    func theWholeChainRunsByPatchOnSlurm() throws { try BatchScenarios.chainRuns(on: Self.cluster, byPatch: true) }
}

/// The scenarios on the single-node Grid Engine (qmaster + execd) that Tests/run starts.
@Suite(.serialized) struct GridEngineProduction {
    static let cluster = TestCluster.gridEngine

    @Test(.enabled(if: cluster.started || TestCluster.inCI, "no test Grid Engine cell (Tests/run starts one)"), .usingCluster("DCPROD_TEST_SGE_DIR"))
    func aProductionRunsOnGridEngineAndGivesTheSameReport() throws { try BatchScenarios.productionGivesTheSameReport(on: Self.cluster) }

    @Test(.enabled(if: cluster.started || TestCluster.inCI, "no test Grid Engine cell (Tests/run starts one)"),
          .usingCluster("DCPROD_TEST_SGE_DIR", exclusive: true))
    func aQmasterThatIsDownChangesNothingAndTheNextRunCarriesOn() throws { try BatchScenarios.controllerDownChangesNothing(on: Self.cluster) }

    @Test(.enabled(if: cluster.started || TestCluster.inCI, "no test Grid Engine cell (Tests/run starts one)"), .usingCluster("DCPROD_TEST_SGE_DIR"))
    func aManagerKilledMidSubmissionAdoptsItsGridEngineJobs() throws { try BatchScenarios.killedManagerAdoptsItsJobs(on: Self.cluster) }

    @Test(.enabled(if: cluster.started || TestCluster.inCI, "no test Grid Engine cell (Tests/run starts one)"), .usingCluster("DCPROD_TEST_SGE_DIR"))
    func aRefusedArrayLeavesTheAcceptedOnesSubmittedAndNothingElse() throws { try BatchScenarios.refusalKeepsWhatWasAccepted(on: Self.cluster) }

    @Test(.enabled(if: cluster.started || TestCluster.inCI, "no test Grid Engine cell (Tests/run starts one)"), .usingCluster("DCPROD_TEST_SGE_DIR"))
    func aJobKilledOverItsVirtualMemoryIsSubmittedAgainWithTwiceTheMemory() throws {
        try BatchScenarios.jobOverItsMemoryGetsTwiceTheMemory(on: Self.cluster)
    }

    @Test(.enabled(if: cluster.started || TestCluster.inCI, "no test Grid Engine cell (Tests/run starts one)"), .usingCluster("DCPROD_TEST_SGE_DIR"))
    func theWholeChainRunsOnGridEngine() throws { try BatchScenarios.chainRuns(on: Self.cluster) }

    @Test(.enabled(if: cluster.started || TestCluster.inCI, "no test Grid Engine cell (Tests/run starts one)"), .usingCluster("DCPROD_TEST_SGE_DIR"))
    func pathsAShellWouldInterpretAreOnlyPathsOnGridEngine() throws {
        try #require(Self.cluster.started, "the test Grid Engine cell of Tests/run did not start")
        try HostileInput.runWithPathsAShellWouldInterpret(backend: "sge", extra: "QUEUE test\nMEMORY processCcd 300M")
    }

    @Test(.enabled(if: cluster.started || TestCluster.inCI, "no test Grid Engine cell (Tests/run starts one)"), .usingCluster("DCPROD_TEST_SGE_DIR"))
    func theWholeChainRunsByPatchOnGridEngine() throws { try BatchScenarios.chainRuns(on: Self.cluster, byPatch: true) }

    /// A task Grid Engine cannot start (its output directory is gone: `Eqw`) is deleted and reported
    /// failed, not left for an operator's `qmod -cj` to run after dcprod submitted it again.
    @Test(.enabled(if: cluster.started || TestCluster.inCI, "no test Grid Engine cell (Tests/run starts one)"), .usingCluster("DCPROD_TEST_SGE_DIR"))
    func aTaskInErrorStateIsDeletedAndReportedFailed() throws {
        let work = try Workspace()
        _ = try Self.cluster.prepare(work, filters: "r", eventsPerJob: 1, frames: 2, size: "128x93")
        try FileManager.default.removeItem(at: work.url.appendingPathComponent("lsstprod/DC_2013/steps/processCcd/r/logs"))

        let submit = try DCProd.run(["submit", "processCcd", "--wait"], in: work.url)
        #expect(submit.status == 0 && submit.stdout.contains("2 finished (2 failed)"), "\(submit.stdout)\(submit.stderr)")
        let jobs = try DCProd.run(["status", "--refresh", "--jobs"], in: work.url)
        let rows = jobs.stdout.split(separator: "\n").filter { $0.hasPrefix("processCcd-r-") }
        #expect(rows.count == 2 && rows.allSatisfy { $0.contains("Eqw") }, "\(jobs.stdout)")
        let ids = rows.compactMap { $0.split(separator: " ").dropFirst(3).first.map(String.init) }
        let queue = try output(of: ["qstat", "-xml"]).stdout
        let arrays = Set(ids.compactMap { $0.split(separator: ".").first.map(String.init) })
        #expect(arrays.count == 1 && !arrays.contains { queue.contains("<JB_job_number>\($0)</JB_job_number>") }, "\(queue)")
    }

    /// Resource learning of time, where the batch system counts seconds (Slurm counts minutes): a
    /// payload of 7 s under `h_rt` 5 s is killed by Grid Engine (failure 37) and submitted again with
    /// 10 s, where it succeeds.
    @Test(.enabled(if: cluster.started || TestCluster.inCI, "no test Grid Engine cell (Tests/run starts one)"), .usingCluster("DCPROD_TEST_SGE_DIR"))
    func aJobKilledAtItsWalltimeIsSubmittedAgainWithTwiceTheTime() throws {
        let work = try Workspace()
        _ = try Self.cluster.prepare(work, filters: "r", eventsPerJob: 1, frames: 1, size: "128x93",
                                     extra: "WALLTIME processCcd 00:00:05", plan: false)
        try Data("rules reference\ntimeout 120\ncommand sleep 7\n".utf8)
            .write(to: work.url.appendingPathComponent("lsstprod/DC_2013/templates/steps/processCcd.step"))
        #expect(try DCProd.run(["plan", "processCcd"], in: work.url).status == 0)

        let submit = try DCProd.run(["submit", "processCcd", "--wait"], in: work.url)
        #expect(submit.status == 0 && submit.stdout.contains("1 submitted again with more resources"), "\(submit.stdout)\(submit.stderr)")
        let verify = try DCProd.run(["verify", "processCcd"], in: work.url)
        #expect(verify.stdout.contains("Jobs submitted again by dcprod: memory doubled 0, walltime doubled 1, node lost 0"), "\(verify.stdout)")
        #expect(verify.status == 0 && verify.stdout.contains("ok: 1 - 100.0 %"), "\(verify.stdout)")
        let jobs = try DCProd.run(["status", "--refresh", "--jobs"], in: work.url)
        let rows = jobs.stdout.split(separator: "\n").filter { $0.hasPrefix("processCcd-r-") }
        #expect(rows.count == 2 && rows[0].contains(" requeued ") && rows[0].contains("failed 37") && rows[1].contains(" done "),
                "\(jobs.stdout)")
    }
}
