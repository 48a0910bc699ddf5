import Foundation
import Testing

/// Issue 29: a pass of `dcprod run` costs what changed, not the size of the production. While one
/// processCcd job is held back and everything else is done, the run's passes have nothing new: they
/// must read no outcome or result file, ask nothing of the sky map (wcslib), plan nothing (read no step
/// definition) and write no report — shown here by taking those files away during such passes, which a
/// pass that read them would stumble on.
@Suite(.serialized) struct QuietPass {
    @Test func aPassWithNothingNewReadsNoOutcomeFileAsksWcslibNothingAndRewritesNoReport() throws {
        let work = try Workspace()
        try SeedPatch.prepare(work, filters: "r", frames: 12, seed: 3, defects: 0, extra: """
            EVENTSPERJOB processCcd 1
            EVENTSPERJOB forcedPhot 1
            """, region: SeedPatch.neighbourhood)
        let tree = work.url.appendingPathComponent("lsstprod/DC_2013")
        let store = tree.appendingPathComponent("state.sqlite").path
        func query(_ sql: String) throws -> String {
            try storeQuery(store, sql)
        }
        // The first frame's processCcd waits while the hold file exists; every other command runs at once.
        let held = URL(fileURLWithPath: try query("SELECT path FROM frame ORDER BY path LIMIT 1")).lastPathComponent
        let hold = work.url.appendingPathComponent("hold"), waiting = work.url.appendingPathComponent("hold.waiting")
        try work.write("""
            case "$*" in *\(held)*) touch '\(waiting.path)'; while [ -e '\(hold.path)' ]; do sleep 0.05; done ;; esac
            exec "$@"

            """, to: "hold.sh")
        try work.write("", to: "hold")
        try runThrough("hold.sh", step: "processCcd", in: work, tree: tree)

        let (manager, log) = try startRun(in: work)
        defer { if manager.isRunning { kill(manager.processIdentifier, SIGKILL) } }
        try waitUntilOnlyTheHeldJobIsLeft(query: query, manager: manager, waiting: waiting, tree: tree)

        // What a pass with nothing new must not touch: every report, the sky map, the steps' definitions
        // (planning reads them), the verified attempts' outcome files and the loaded results, taken away
        // (and the reports' inodes kept).
        let reports = try reportStamps(tree)
        #expect(!reports.isEmpty)
        let away = work.url.appendingPathComponent("away")
        try FileManager.default.createDirectory(at: away, withIntermediateDirectories: true)
        let outcomes = try query("SELECT outcomes FROM attempt WHERE verified = 1").split(separator: "\n").map(String.init)
        let results = try query("""
            SELECT o.outputs FROM event e JOIN outcome o ON o.eventId = e.id AND o.attemptId = e.attemptId WHERE e.loadedRows IS NOT NULL
            """).split(separator: "\n").map(String.init).filter { $0.hasSuffix(".csv") }
        let skymap = tree.appendingPathComponent("templates/skymap/dc2013.skymap").path
        let definitions = ["processCcd", "coadd", "forcedPhot"].map { tree.appendingPathComponent("templates/steps/\($0).step").path }
        let taken = [skymap] + definitions + outcomes + results
        #expect(outcomes.count > 10 && results.count > 10, "\(outcomes.count) outcome files, \(results.count) results")
        for (index, path) in taken.enumerated() { try FileManager.default.moveItem(atPath: path, toPath: away.path + "/\(index)") }
        Thread.sleep(forTimeInterval: 6)  // passes of 0.2 s and more apart, growing ×1.5 while nothing changes
        #expect(isAlive(manager), "the run stopped while a job was held: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
        let written = try reportStamps(tree).filter { reports[$0.key] != $0.value }.keys.sorted()
        #expect(written.isEmpty, "a pass with nothing new wrote \(written)")
        #expect(try query("SELECT COUNT(*) FROM load_rejection") == "0", "a pass with nothing new opened a loaded result")
        for (index, path) in taken.enumerated() { try FileManager.default.moveItem(atPath: away.path + "/\(index)", toPath: path) }

        // Let the held job go: the run plans what it made ready and ends with every event ok.
        try FileManager.default.removeItem(at: hold)
        manager.waitUntilExit()
        let said = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(manager.terminationStatus == 0, "\(said)")
        #expect(try query("SELECT COUNT(*) FROM event WHERE state != 'ok'") == "0")
        #expect(try query("SELECT COUNT(*) > 0 FROM event WHERE step = 'forcedPhot'") == "1")
    }

    /// A pass after one job ended makes again only the reports of what changed: the ended job's step
    /// and filter, and what its outcome made ready. Shown with two filters: while one r processCcd job is
    /// held back, the reports are taken away; once it ends, the pass that verifies it and plans the coadds
    /// it made ready (held in turn) writes r's reports, and g's, whose stamp did not change, are not made
    /// at all. processCcd's definition is taken away too: that pass plans processCcd, of which no filter has
    /// an event left to plan, so it must not read it. The run's end writes every report again.
    @Test func aPassAfterOneJobEndedMakesOnlyTheReportsOfTheStepAndFilterThatChanged() throws {
        let work = try Workspace()
        try SeedPatch.prepare(work, filters: "g r", frames: 6, seed: 5, defects: 0, extra: """
            EVENTSPERJOB processCcd 1
            EVENTSPERJOB forcedPhot 2
            """, region: SeedPatch.neighbourhood)
        let tree = work.url.appendingPathComponent("lsstprod/DC_2013")
        let store = tree.appendingPathComponent("state.sqlite").path
        func query(_ sql: String) throws -> String {
            try storeQuery(store, sql)
        }
        // The first r frame's processCcd waits while `hold` exists, and every coadd started while `coadd-hold` exists.
        let held = URL(fileURLWithPath: try query("""
            SELECT f.path FROM frame f JOIN event e ON e.frameId = f.id WHERE e.step = 'processCcd' AND e.filter = 'r' ORDER BY f.path LIMIT 1
            """)).lastPathComponent
        let hold = work.url.appendingPathComponent("hold"), waiting = work.url.appendingPathComponent("hold.waiting")
        let coaddHold = work.url.appendingPathComponent("coadd-hold"), coaddWaiting = work.url.appendingPathComponent("coadd-hold.waiting")
        try work.write("""
            case "$*" in *\(held)*) touch '\(waiting.path)'; while [ -e '\(hold.path)' ]; do sleep 0.05; done ;; esac
            exec "$@"

            """, to: "hold.sh")
        try work.write("""
            if [ -e '\(coaddHold.path)' ]; then touch '\(coaddWaiting.path)'; while [ -e '\(coaddHold.path)' ]; do sleep 0.05; done; fi
            exec "$@"

            """, to: "coadd-hold.sh")
        try work.write("", to: "hold")
        for (name, script) in [("processCcd", "hold.sh"), ("coadd", "coadd-hold.sh")] {
            try runThrough(script, step: name, in: work, tree: tree)
        }

        let (manager, log) = try startRun(in: work)
        defer { if manager.isRunning { kill(manager.processIdentifier, SIGKILL) } }
        try waitUntilOnlyTheHeldJobIsLeft(query: query, manager: manager, waiting: waiting, tree: tree)
        let reportsDirectory = tree.appendingPathComponent("reports")
        let reports = { try FileManager.default.contentsOfDirectory(atPath: reportsDirectory.path)
            .filter { $0.hasSuffix(".txt") || $0.hasSuffix(".json") }.sorted() }
        let all = try reports()
        #expect(all.count == 12, "\(all)")
        for name in all { try FileManager.default.removeItem(at: reportsDirectory.appendingPathComponent(name)) }

        // The held job ends: its pass verifies it, derives and submits the r coadds it made ready, which wait.
        let processCcd = tree.appendingPathComponent("templates/steps/processCcd.step"), away = work.url.appendingPathComponent("processCcd.step")
        try FileManager.default.moveItem(at: processCcd, to: away)
        try work.write("", to: "coadd-hold")
        try FileManager.default.removeItem(at: hold)
        let deadline = Date().addingTimeInterval(300)
        var last = "", since = Date()
        while Date() < deadline {
            try #require(isAlive(manager), "the run ended while a coadd was held: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
            let now = try query("SELECT COUNT(*), SUM(verified) FROM attempt") + " \(try reports())"
            if now != last { (last, since) = (now, Date()) }
            if FileManager.default.fileExists(atPath: coaddWaiting.path), Date().timeIntervalSince(since) > 3 { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        let made = try reports()
        #expect(made.contains("processCcd-r.txt") && made.contains("processCcd-r.json") && made.contains("coadd-r.txt"), "\(made)")
        #expect(made.allSatisfy { $0.contains("-r.") }, "after an r job ended, a pass made \(made)")

        try FileManager.default.moveItem(at: away, to: processCcd)
        try FileManager.default.removeItem(at: coaddHold)
        manager.waitUntilExit()
        #expect(manager.terminationStatus == 0, "\((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
        #expect(try reports() == all)
        #expect(try query("SELECT COUNT(*) FROM event WHERE state != 'ok'") == "0")
    }

    /// Waits until the held processCcd job is the only one not verified, every ok event's results
    /// are loaded, and neither the store nor a report has changed for longer than a step's page waits
    /// to be written again after a change (`Chain.pageInterval`, 10 s): its passes have nothing new.
    /// Makes a step's jobs run their command through the workspace's `script` (a hold).
    private func runThrough(_ script: String, step: String, in work: Workspace, tree: URL) throws {
        let file = tree.appendingPathComponent("templates/steps/\(step).step")
        let definition = try String(contentsOf: file, encoding: .utf8)
        try definition.replacingOccurrences(of: "command {{dcprod}}", with: "command /bin/sh \(work.url.path)/\(script) {{dcprod}}")
            .write(to: file, atomically: true, encoding: .utf8)
    }

    /// Starts `dcprod run` in the workspace, its output in `run.log`.
    private func startRun(in work: Workspace) throws -> (manager: Process, log: URL) {
        let manager = DCProd.process(["run"], in: work.url)
        let log = work.url.appendingPathComponent("run.log")
        try Data().write(to: log)
        let handle = try FileHandle(forWritingTo: log)
        manager.standardOutput = handle
        manager.standardError = handle
        try manager.run()
        return (manager, log)
    }

    private func waitUntilOnlyTheHeldJobIsLeft(query: (String) throws -> String, manager: Process, waiting: URL, tree: URL) throws {
        let deadline = Date().addingTimeInterval(600)
        var last = "", since = Date()
        while Date() < deadline {
            try #require(isAlive(manager), "the run ended while a job was held")
            let now = try query("""
                SELECT (SELECT COUNT(*) FROM attempt WHERE verified = 0), (SELECT COUNT(*) FROM job),
                (SELECT COUNT(*) FROM event WHERE state = 'ok' AND loadedRows IS NULL)
                """) + "\n" + reportStamps(tree).sorted { $0.key < $1.key }.description
            if now != last { (last, since) = (now, Date()) }
            if FileManager.default.fileExists(atPath: waiting.path), now.hasPrefix("1|"), now.contains("|0\n"),
               Date().timeIntervalSince(since) > 12 { return }
            Thread.sleep(forTimeInterval: 0.2)
        }
        Issue.record("the run did not settle with only the held job left: \(last)")
    }

    /// Whether the process still runs: not ended, nor ended and not yet waited for (a zombie), which
    /// `Process.isRunning` may not have seen yet.
    private func isAlive(_ process: Process) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return !stat[close...].dropFirst(2).hasPrefix("Z")
    }

    /// Each file under `reports/` with its inode and modification time.
    private func reportStamps(_ tree: URL) throws -> [String: String] {
        let reports = tree.appendingPathComponent("reports")
        var stamps: [String: String] = [:]
        for case let name as String in FileManager.default.enumerator(atPath: reports.path)! {
            var info = stat()
            guard stat(reports.path + "/" + name, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            stamps[name] = "\(info.st_ino) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
        }
        return stamps
    }
}
