import Foundation
import Testing
@testable import Batch

/// The Grid Engine backend against the single-node cell of scripts/sge-test-cluster.sh (Tests/run
/// starts it and sets DCPROD_TEST_SGE, SGE_ROOT and its ports). Skipped without it, except under
/// CI=true, where the tests fail saying the cell did not start.
@Suite(.serialized) struct GridEngineCell {
    static var started: Bool { ProcessInfo.processInfo.environment["DCPROD_TEST_SGE"] != nil }
    static var inCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// The repository's templates/ (the array task wrapper).
    static let templates = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("templates")

    func requireCell() throws {
        try #require(Self.started, "the test Grid Engine cell of Tests/run did not start (DCPROD_TEST_SGE is not set)")
    }

    /// Someone else's held array counts as one job against max_jobs, as Grid Engine counts it.
    @Test(.enabled(if: started || inCI, "no test Grid Engine cell (Tests/run starts one)"), .usingCluster("DCPROD_TEST_SGE_DIR", exclusive: true))
    func capacityCountsEveryJobOfTheCell() throws {
        try requireCell()
        let before = try GridEngineBatch(templates: Self.templates).capacity()
        let answer = try Command.run("qsub", ["-terse", "-h", "-t", "1-5", "-b", "y", "-q", "test", "-o", "/dev/null", "-j", "y", "/bin/true"])
        let other = try #require(answer.split(separator: ".").first.map(String.init))
        defer { _ = try? Command.run("qdel", [other]) }
        #expect(try GridEngineBatch(templates: Self.templates).capacity() == before - 1)
    }

    /// qacct's maxvmem is kept as the attempt's virtual memory, and no resident set size is made up.
    @Test(.enabled(if: started || inCI, "no test Grid Engine cell (Tests/run starts one)"), .usingCluster("DCPROD_TEST_SGE_DIR"))
    func maxvmemIsRecordedAsVirtualMemory() throws {
        try requireCell()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dcprod-sge-\(UUID().uuidString)/jobs")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let script = directory.appendingPathComponent("processCcd-r-000001.sge.sh")
        try Data("#!/bin/sh\n#$ -q test\ntrue\n".utf8).write(to: script)
        let job = BatchJob(name: "processCcd-r-000001", script: script.path, attempt: 1, token: "t-\(UUID().uuidString)",
                           output: directory.appendingPathComponent("processCcd-r-000001.out").path)
        let batch = GridEngineBatch(templates: Self.templates)
        let id = try #require(try batch.submit([job], throttle: 1, hold: false)[job.token])
        // Polled until qacct has the task (accounting_flush_time), at most three minutes: nothing is timed.
        var status: BatchStatus?
        for _ in 0..<360 {
            status = try batch.status([id])[id]
            if let status, status.state.isFinished { break }
            usleep(500_000)
        }
        let ended = try #require(status, "no status of \(id)")
        #expect(ended.state == .done, "\(ended)")
        #expect(ended.accounting?.maxVMem != nil, "\(ended)")
        #expect(ended.accounting?.maxRSS == nil)
    }
}
