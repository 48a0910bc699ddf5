import Foundation
import Testing

/// Readers never write: `status`, `logbook`, `sql`, `load --status`, `accounting`, `forecast` (and
/// `report`, but for its pages) open the state store and the
/// catalog read-only (no migration, no adoption, no deletion), so that they can never undo what a
/// writer does under the lock, and work for a colleague who may not write.
@Suite(.serialized) struct ReadersNeverWrite {
    /// Every reading verb, as a person on shift types them.
    static let readers: [[String]] = [
        ["status"], ["status", "--json"], ["status", "--jobs"], ["status", "--failures"], ["logbook"],
        ["sql", "SELECT COUNT(*) FROM Source"], ["load", "--status"], ["accounting"], ["forecast", "--json"],
    ]

    /// A small production run to its end on the local backend with the embedded catalog.
    func finishedProduction() throws -> Workspace {
        let work = try Workspace()
        try SeedPatch.prepare(work, filters: "r", frames: 2, seed: 5, defects: 0, extra: "")
        let run = try DCProd.run(["run"], in: work.url)
        try #require(run.status == 0, "\(run.stdout)\(run.stderr)")
        return work
    }

    func store(_ work: Workspace) -> URL { work.url.appendingPathComponent("lsstprod/DC_2013/state.sqlite") }

    @Test func everyReaderLeavesTheStateStoreAndTheCatalogByteForByte() throws {
        let work = try finishedProduction()
        let catalog = work.url.appendingPathComponent("lsstprod-data/DC_2013/catalog.sqlite")
        let before = try [Data(contentsOf: store(work)), Data(contentsOf: catalog)]
        // `report` writes its pages, and only them.
        for reader in Self.readers + [["report"]] {
            let result = try DCProd.run(reader, in: work.url)
            #expect(result.status == 0, "\(reader): \(result.stderr)")
            #expect(try [Data(contentsOf: store(work)), Data(contentsOf: catalog)] == before, "\(reader) changed a file")
        }
    }

    /// The whole workspace made read-only in place (a read-only bind mount of itself, as root), as a
    /// colleague without write permission or a snapshot sees it.
    @Test func everyReaderWorksOnAReadOnlyFileSystem() throws {
        let work = try finishedProduction()
        try #require(try output(of: ["mount", "--bind", work.url.path, work.url.path]).status == 0, "bind mount (needs root)")
        defer { _ = try? output(of: ["umount", work.url.path]) }
        try #require(try output(of: ["mount", "-o", "remount,bind,ro", work.url.path]).status == 0)
        #expect(!FileManager.default.isWritableFile(atPath: work.url.path) || (try? Data("x".utf8).write(to: work.url.appendingPathComponent("probe"))) == nil,
                "the workspace is read-only")
        for reader in Self.readers {
            let result = try DCProd.run(reader, in: work.url)
            #expect(result.status == 0, "\(reader): \(result.stderr)")
        }
        let status = try DCProd.run(["status"], in: work.url)
        #expect(status.stdout.contains("processCcd"), "\(status.stdout)")
        // A writer says why it cannot work, in one line.
        let writer = try DCProd.run(["plan", "processCcd"], in: work.url)
        #expect(writer.status == 1 && writer.stderr.hasPrefix("dcprod: error: "), "\(writer.stderr)")
    }

    @Test func aReaderOfAnOlderStoreSaysWhichVerbUpgradesItAndChangesNothing() throws {
        let work = try Workspace()
        try SeedPatch.prepare(work, filters: "r", frames: 2, seed: 5, defects: 0, extra: "")
        // As if v8 (an index, made again as it was) had not been applied.
        let older = try output(of: ["sqlite3", store(work).path, "DELETE FROM grdb_migrations WHERE identifier LIKE 'v8:%'"])
        try #require(older.status == 0)
        let before = try Data(contentsOf: store(work))
        let status = try DCProd.run(["status"], in: work.url)
        #expect(status.status == 1)
        #expect(status.stderr.contains("this dcprod reads v") && status.stderr.contains("`dcprod status --refresh`"), "\(status.stderr)")
        #expect(try Data(contentsOf: store(work)) == before)
        let upgraded = try DCProd.run(["status", "--refresh"], in: work.url)
        #expect(upgraded.status == 0, "\(upgraded.stderr)")
        let after = try DCProd.run(["status"], in: work.url)
        #expect(after.status == 0 && after.stdout.contains("state schema v"), "\(after.stderr)")
    }
}

/// A reader during a writer's slow batch call: nothing handed over twice.
@Suite(.serialized) struct ReaderDuringASlowSubmission {
    /// `sbatch` (or `qsub`) behind a wrapper that records each call, then waits `delay` seconds
    /// before it hands the call on: the directory to put first on PATH, and the call log.
    func slowSubmission(_ command: String, delay: Int, in work: Workspace) throws -> (path: String, log: URL) {
        let bin = work.url.appendingPathComponent("slow-bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let real = try output(of: ["/bin/sh", "-c", "command -v \(command)"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(!real.isEmpty, "\(command) is not on PATH")
        let log = work.url.appendingPathComponent("\(command).calls")
        let wrapper = bin.appendingPathComponent(command)
        try Data("#!/bin/sh\necho call >> '\(log.path)'\nsleep \(delay)\nexec '\(real)' \"$@\"\n".utf8).write(to: wrapper)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: wrapper.path)
        return (bin.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"), log)
    }

    @Test(.usingCluster("DCPROD_TEST_SLURM_DIR", "DCPROD_TEST_SGE_DIR"), arguments: [TestCluster.slurm, TestCluster.gridEngine])
    func statusDuringASlowSubmitHandsNothingOverTwice(cluster: TestCluster) throws {
        let work = try Workspace()
        _ = try cluster.prepare(work, filters: "g r", eventsPerJob: 1, frames: 4, embeddedCatalog: true)
        let (path, log) = try slowSubmission(cluster.submitCommand, delay: 4, in: work)
        let submit = Process()
        submit.executableURL = DCProd.executable
        submit.arguments = ["submit", "processCcd"]
        submit.currentDirectoryURL = work.url
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = path
        submit.environment = environment
        let out = Pipe()
        submit.standardOutput = out
        submit.standardError = FileHandle.nullDevice
        try submit.run()
        // Readers while the submission call waits.
        for _ in 0..<3 {
            sleep(1)
            let status = try DCProd.run(["status", "--jobs"], in: work.url, environment: ["PATH": path])
            #expect(status.status == 0, "\(status.stderr)")
        }
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        submit.waitUntilExit()
        #expect(submit.terminationStatus == 0, "\(printed)")
        let calls = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").count
        #expect(calls == 2, "one array per filter, each handed over once: \(calls) calls; \(printed)")
        #expect(printed.contains(": 4 jobs submitted,"), "\(printed)")
        let store = work.url.appendingPathComponent("lsstprod/DC_2013/state.sqlite").path
        let attempts = try output(of: ["sqlite3", store, "SELECT COUNT(*) FROM attempt"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(attempts == "4", "one attempt per job")
        _ = try DCProd.run(["cancel", "processCcd"], in: work.url)
    }
}
