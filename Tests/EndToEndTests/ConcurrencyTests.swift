import Foundation
import Testing

/// One writer per production: two verbs that change it, started at the same moment, take turns
/// on its lock; nothing is submitted or loaded twice, and no load is recorded as a false rejection.
@Suite(.serialized) struct OneWriterPerProduction {
    /// Runs two dcprod commands at the same moment; their results in order.
    func together(_ a: [String], _ b: [String], in directory: URL) -> [DCProd.Result?] {
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            results.set(i, try? DCProd.run(i == 0 ? a : b, in: directory))
        }
        return results.values
    }

    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: [DCProd.Result?] = [nil, nil]
        func set(_ i: Int, _ value: DCProd.Result?) { lock.withLock { stored[i] = value } }
        var values: [DCProd.Result?] { lock.withLock { stored } }
    }

    func sqlite(_ store: URL, _ sql: String) throws -> String {
        try storeQuery(store.path, sql)
    }

    @Test func twentyTrialsOfTwoWritersAtOnceNeverRunOrLoadAnythingTwice() throws {
        for trial in 0..<20 {
            let work = try Workspace()
            try SeedPatch.prepare(work, filters: "r", frames: 4, seed: 40 + trial, defects: 0, extra: "EVENTSPERJOB processCcd 1")
            try #require(try DCProd.run(["plan", "processCcd"], in: work.url).status == 0)
            // submit + submit, or submit + resubmit (which must find nothing to take).
            let second = trial % 2 == 0 ? ["submit", "processCcd", "--wait"] : ["resubmit", "processCcd"]
            let submitted = together(["submit", "processCcd", "--wait"], second, in: work.url)
            for result in submitted {
                #expect(result?.status == 0, "trial \(trial): \(result?.stdout ?? "")\(result?.stderr ?? "")")
            }
            let store = work.url.appendingPathComponent("lsstprod/DC_2013/state.sqlite")
            #expect(try sqlite(store, "SELECT COUNT(*) FROM attempt") == "4", "trial \(trial): one attempt per job")
            #expect(try sqlite(store, "SELECT COUNT(*) FROM (SELECT jobId FROM attempt GROUP BY jobId HAVING COUNT(*) > 1)") == "0")
            // Whichever came second waited for the first, then submitted what was left: nothing.
            _ = try DCProd.run(["submit", "processCcd", "--wait"], in: work.url)
            try #require(try DCProd.run(["verify", "processCcd"], in: work.url).status == 0)
            try #require(try DCProd.run(["load", "--init"], in: work.url).status == 0)
            let loads = together(["load", "processCcd"], ["load", "processCcd"], in: work.url)
            for result in loads {
                #expect(result?.status == 0, "trial \(trial): \(result?.stdout ?? "")\(result?.stderr ?? "")")
            }
            let status = try DCProd.run(["load", "--status"], in: work.url)
            #expect(!status.stdout.contains("rejected") || status.stdout.contains("0 rejected"), "trial \(trial): \(status.stdout)")
            let catalog = work.url.appendingPathComponent("lsstprod-data/DC_2013/catalog.sqlite")
            #expect(try sqlite(catalog, "SELECT COUNT(*) FROM dcprod_load") == "8", "trial \(trial): each file loaded once")
            #expect(try sqlite(store, "SELECT COUNT(*) FROM load_rejection") == "0", "trial \(trial): no false rejection")
        }
    }

    /// Two writers started in the same instant: the one refused always names the holder (user@host,
    /// pid, command line, since when), though the holder writes its line just after it takes the lock.
    @Test func aRefusedWriterAlwaysNamesTheHolder() throws {
        let work = try Workspace()
        try SeedPatch.prepare(work, filters: "r", frames: 2, seed: 5, defects: 0, extra: "")
        var refused = 0
        for trial in 0..<20 {
            for result in together(["inventory", "--no-wait"], ["inventory", "--no-wait"], in: work.url) where result?.status == 1 {
                refused += 1
                let words = result?.stderr ?? ""
                #expect(words.contains("the production is busy") && words.contains(" pid ") && words.contains("(dcprod inventory --no-wait) since "),
                        "trial \(trial): \(words)")
            }
        }
        print("\(refused) of 20 trials refused a writer")
    }

    @Test func aWriterWithNoWaitExitsAtOnceAndAReaderNeverWaits() throws {
        let work = try Workspace()
        try SeedPatch.prepare(work, filters: "r", frames: 2, seed: 3, defects: 0, extra: "")
        let lock = work.url.appendingPathComponent("lsstprod/DC_2013/production.lock").path
        // Another holder of the lock: flock(1) on the same file, for three seconds.
        let holder = try Self.holding(lock, seconds: 3)
        defer { holder.terminate(); holder.waitUntilExit() }
        let start = Date()
        let busy = try DCProd.run(["plan", "processCcd", "--no-wait"], in: work.url)
        #expect(busy.status == 1 && busy.stderr.contains("the production is busy"), "\(busy.stderr)")
        let status = try DCProd.run(["status"], in: work.url)
        #expect(status.status == 0)
        #expect(Date().timeIntervalSince(start) < 2.5, "neither waited for the holder")
        // Without --no-wait, a writer says who it waits for and goes on once the holder is gone (a holder of its
        // own: on a loaded machine the first may be gone before this writer starts).
        holder.waitUntilExit()
        let second = try Self.holding(lock, seconds: 5)
        defer { second.terminate(); second.waitUntilExit() }
        let waited = try DCProd.run(["plan", "processCcd"], in: work.url)
        #expect(waited.status == 0 && waited.stderr.contains("waiting for the production"), "\(waited.stderr)")
    }

    /// flock(1) holding `lock` for `seconds`, returned once it holds it (a `flock -n` of ours then fails).
    static func holding(_ lock: String, seconds: Int) throws -> Process {
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = [lock, "sleep", String(seconds)]
        try holder.run()
        while true {
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
            probe.arguments = ["-n", lock, "true"]
            try probe.run()
            probe.waitUntilExit()
            if probe.terminationStatus != 0 || !holder.isRunning { return holder }
            usleep(20_000)
        }
    }
}
