import Foundation
import Testing
@testable import Batch

/// The Slurm backend against the single-node cluster of scripts/slurm-test-cluster.sh (Tests/run
/// starts it and sets DCPROD_TEST_SLURM and SLURM_CONF). Skipped without it, except under CI=true,
/// where the tests fail saying the cluster did not start.
@Suite(.serialized) struct SlurmCluster {
    static var started: Bool { ProcessInfo.processInfo.environment["DCPROD_TEST_SLURM"] != nil }
    static var inCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// The repository's templates/ (the array task wrapper).
    static let templates = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("templates")

    func requireCluster() throws {
        try #require(Self.started, "the test Slurm cluster of Tests/run did not start (DCPROD_TEST_SLURM is not set)")
    }

    /// `count` jobs of one step in `directories` script directories (one array each), under `root`.
    func makeJobs(_ count: Int, directories: Int, under root: URL) throws -> [BatchJob] {
        try (0..<count).map { index in
            let directory = root.appendingPathComponent("d\(index % directories)/jobs")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let script = directory.appendingPathComponent("processCcd-r-\(index).slurm.sh")
            try Data("#!/bin/sh\n#SBATCH --partition=test\n#SBATCH --mem=10M\ntrue\n".utf8).write(to: script)
            return BatchJob(name: "processCcd-r-\(index)", script: script.path, attempt: 1, token: "t\(index)-\(UUID().uuidString)",
                            output: directory.appendingPathComponent("processCcd-r-\(index).out").path)
        }
    }

    func withDirectory(_ body: (URL) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dcprod-slurm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try body(directory)
    }

    /// What `scontrol show job ID` says of one key (`ArrayTaskThrottle`, `Dependency`) of an array's first record.
    func scontrol(_ id: String, _ key: String) throws -> String? {
        let text = try Command.run("scontrol", ["show", "job", id])
        let field = text.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix(key + "=") }
        return field.map { String($0.dropFirst(key.count + 1)) }
    }

    /// Jobs that are not dcprod's count against MaxJobCount as much as its own, and so do the user's
    /// against the MaxSubmitJobs of the user's association.
    @Test(.enabled(if: started || inCI, "no test Slurm cluster (Tests/run starts one)"), .usingCluster("DCPROD_TEST_SLURM_DIR", exclusive: true))
    func capacityCountsEveryJobOfTheCluster() throws {
        try requireCluster()
        let config = try Command.run("scontrol", ["show", "config"])
        let maxJobCount = try #require(ClusterLimits.value("MaxJobCount", in: config))
        let before = try SlurmBatch(templates: Self.templates).capacity()
        let queued = try Command.run("squeue", ["--noheader", "--array", "--format=%i"]).split(separator: "\n").count
        #expect(before == maxJobCount - queued)

        // Someone else's held array of 5 tasks, submitted without dcprod.
        let other = try Command.run("sbatch", ["--parsable", "--hold", "--array=0-4", "--partition=test", "--output=/dev/null",
                                               "--wrap", "true"]).trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? Command.run("scancel", [other]) }
        #expect(try SlurmBatch(templates: Self.templates).capacity() == before - 5)

        // The user's association allows 7 jobs: 2 more.
        let user = ClusterLimits.userName
        _ = try Command.run("sacctmgr", ["-i", "modify", "user", "where", "name=\(user)", "set", "MaxSubmitJobs=\(queued + 7)"])
        defer { _ = try? Command.run("sacctmgr", ["-i", "modify", "user", "where", "name=\(user)", "set", "MaxSubmitJobs=-1"]) }
        #expect(try SlurmBatch(templates: Self.templates).capacity() == 2)
    }

    /// More arrays than MAXRUNNING: one task at a time each, and the arrays beyond MAXRUNNING wait
    /// for an earlier one (`--dependency=afterany`), so that no more than MAXRUNNING tasks run at once.
    @Test(.enabled(if: started || inCI, "no test Slurm cluster (Tests/run starts one)"), .usingCluster("DCPROD_TEST_SLURM_DIR"))
    func moreArraysThanMaxRunningWaitForEachOther() throws {
        try requireCluster()
        try withDirectory { root in
            let batch = SlurmBatch(templates: Self.templates)
            let jobs = try makeJobs(6, directories: 3, under: root)
            let ids = try batch.submit(jobs, throttle: 2, hold: true)
            defer { try? batch.cancel(Array(ids.values)) }
            let arrays = JobArrays.arrayIds(of: jobs.compactMap { ids[$0.token] }.sorted { $0 < $1 }, separator: "_")
            try #require(arrays.count == 3, "\(ids)")
            let sorted = arrays.sorted { Int($0)! < Int($1)! }
            #expect(try scontrol(sorted[0], "ArrayTaskThrottle") == "1")
            #expect(try scontrol(sorted[1], "ArrayTaskThrottle") == "1")
            #expect(try scontrol(sorted[2], "ArrayTaskThrottle") == "1")
            #expect(try scontrol(sorted[0], "Dependency") == "(null)")
            #expect(try scontrol(sorted[1], "Dependency") == "(null)")
            #expect(try scontrol(sorted[2], "Dependency")?.hasPrefix("afterany:\(sorted[0])") == true)

            // Fewer arrays than MAXRUNNING share all of it.
            let more = try makeJobs(8, directories: 2, under: root.appendingPathComponent("more"))
            let moreIds = try batch.submit(more, throttle: 5, hold: true)
            defer { try? batch.cancel(Array(moreIds.values)) }
            let throttles = try JobArrays.arrayIds(of: Array(moreIds.values), separator: "_")
                .sorted { Int($0)! < Int($1)! }.map { try scontrol($0, "ArrayTaskThrottle") }
            #expect(throttles == ["3", "2"])
        }
    }
}
