import Foundation
import Testing

/// `dcprod run`: the whole chain on the local backend, killed with SIGKILL while its coadds run and
/// run again: it goes on where it was, every step verified and loaded, no job run twice.
@Suite(.serialized) struct ChainRun {
    @Test(arguments: [false, true])
    func aChainKilledMidCoaddAndRunAgainRunsNoJobTwice(byPatch: Bool) throws {
        let run = ["run"] + (byPatch ? ["--by-patch"] : [])
        let work = try Workspace()
        try SeedPatch.prepare(work, filters: "g r", frames: 12, seed: 9, defects: 0, extra: """
            EVENTSPERJOB processCcd 2
            EVENTSPERJOB coadd 1
            EVENTSPERJOB forcedPhot 2
            MAXRUNNING 2
            """)
        let tree = work.url.appendingPathComponent("lsstprod/DC_2013")
        func outcomeFiles(_ step: String) -> [URL] {
            ["g", "r"].flatMap { filter -> [URL] in
                let dir = tree.appendingPathComponent("steps/\(step)/\(filter)/outcomes")
                return ((try? FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)) ?? [])
                    .filter { $0.pathExtension == "jsonl" }
            }
        }

        let manager = Process()
        manager.executableURL = DCProd.executable
        manager.arguments = run
        manager.currentDirectoryURL = work.url
        manager.standardOutput = FileHandle.nullDevice
        manager.standardError = FileHandle.nullDevice
        try manager.run()
        let deadline = Date().addingTimeInterval(300)
        while outcomeFiles("coadd").isEmpty && manager.isRunning && Date() < deadline { usleep(20_000) }
        #expect(manager.isRunning, "the run ended before it could be killed")
        kill(manager.processIdentifier, SIGKILL)
        manager.waitUntilExit()

        let rerun = try DCProd.run(run, in: work.url)
        #expect(rerun.status == 0, "every event of every step ok: \(rerun.stdout)\(rerun.stderr)")
        for step in ["processCcd", "coadd", "forcedPhot"] {
            #expect(rerun.stdout.contains("Step \(step), filter r\nEvents processed: "), "\(step): \(rerun.stdout)")
            // Each job run exactly once: one attempt file, one start line, its end line.
            let files = outcomeFiles(step)
            #expect(!files.isEmpty && files.allSatisfy { $0.lastPathComponent.hasSuffix(".a1.jsonl") }, "\(step): \(files.map(\.lastPathComponent))")
            for file in files {
                let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n")
                #expect(lines.filter { $0.contains("\"type\":\"start\"") }.count == 1, "\(file.lastPathComponent)")
                #expect(lines.last?.contains("\"type\":\"end\"") == true, "\(file.lastPathComponent)")
            }
        }
        let loaded = try DCProd.run(["sql", "--csv", "SELECT (SELECT COUNT(*) FROM Source) > 0, (SELECT COUNT(*) FROM DeepCoadd) > 0, (SELECT COUNT(*) FROM DeepForcedSource) > 0"], in: work.url)
        #expect(loaded.stdout.split(separator: "\n").last == "1,1,1", "\(loaded.stdout)\(loaded.stderr)")
        // Run again: nothing left to do, nothing done twice.
        let again = try DCProd.run(run, in: work.url)
        #expect(again.status == 0 && again.stdout.contains("run coadd: plan 0 jobs for 0 events; submit 0 jobs submitted"), "\(again.stdout)")
    }

    /// `run --by-patch` on the demo's nine patches, with broken frames: one batch job per patch and
    /// filter runs its three steps, yet every step's report and the catalog are those of a
    /// step-by-step run of the same sky, and every frame is processed and measured once.
    @Test func aRunByPatchGivesTheReportsAndCatalogOfAStepByStepRun() throws {
        var runs: [(reports: String, catalog: String, store: String)] = []
        let workspaces = try [Workspace(), Workspace()]
        for (work, byPatch) in zip(workspaces, [false, true]) {
            try SeedPatch.prepare(work, filters: "r", frames: 30, seed: 5, defects: 0.1, extra: "MAXRUNNING 4", region: SeedPatch.neighbourhood)
            let result = try DCProd.run(["run"] + (byPatch ? ["--by-patch"] : []), in: work.url)
            #expect(result.status == 1, "some frames are broken: \(result.stdout)\(result.stderr)")
            let tree = work.url.appendingPathComponent("lsstprod/DC_2013")
            let reports = try ["processCcd", "coadd", "forcedPhot"].map {
                try String(contentsOf: tree.appendingPathComponent("reports/\($0)-r.txt"), encoding: .utf8)
            }.joined().replacingOccurrences(of: work.url.path, with: "$WORK")  // failures' messages name their frames
            let catalog = try DCProd.run(["sql", "--csv", """
                SELECT (SELECT COUNT(*) FROM Source), (SELECT COUNT(*) FROM DeepCoadd), (SELECT COUNT(*) FROM DeepSource),
                (SELECT COUNT(*) FROM DeepForcedSource), (SELECT ROUND(SUM(psfFlux), 3) FROM DeepForcedSource)
                """], in: work.url).stdout
            runs.append((reports, catalog, tree.appendingPathComponent("state.sqlite").path))
        }
        #expect(runs[0].reports == runs[1].reports, "\(runs[0].reports)\n---\n\(runs[1].reports)")
        #expect(runs[0].reports.contains("Step coadd, filter r\nEvents processed: 9 out of 9"), "\(runs[0].reports)")
        #expect(runs[0].catalog == runs[1].catalog && runs[1].catalog.contains(",9,"), "\(runs[0].catalog) \(runs[1].catalog)")

        func query(_ sql: String) throws -> String {
            try storeQuery(runs[1].store, sql)
        }
        // One batch job per patch: as many as coadd events, each follower's attempt in its lead's.
        #expect(try query("SELECT COUNT(DISTINCT backendId) = (SELECT COUNT(*) FROM event WHERE step = 'coadd') FROM attempt") == "1")
        #expect(try query("""
            SELECT COUNT(*) FROM job f JOIN attempt fa ON fa.jobId = f.id JOIN attempt la ON la.jobId = f.leadId AND la.number = fa.number
            WHERE fa.backendId != la.backendId OR fa.token NOT LIKE la.token || '+%'
            """) == "0")
        #expect(try query("SELECT COUNT(*) > 3 FROM job WHERE leadId IS NOT NULL") == "1")
        // Each frame processed once, each patch coadded once, each frame measured once.
        #expect(try query("SELECT COUNT(*) FROM outcome o JOIN event e ON e.id = o.eventId GROUP BY e.id HAVING COUNT(*) > 1") == "")
        // Patches that share a frame ran one after the other: a frame's coadds were all made
        // before its forced photometry started.
        #expect(try query("""
            SELECT COUNT(*) FROM event fp JOIN event_input fi ON fi.eventId = fp.id
            JOIN event_input ci ON ci.inputId = fi.inputId JOIN event c ON c.id = ci.eventId AND c.step = 'coadd'
            JOIN attempt ca ON ca.id = c.attemptId JOIN attempt fa ON fa.id = fp.attemptId
            WHERE fp.step = 'forcedPhot' AND ca.backendId != fa.backendId AND ca.endedAt > fa.submittedAt
            """) == "0")
        withExtendedLifetime(workspaces) {}
    }

    /// A patch's coadd starts as soon as the calexps that touch it are verified, not when the whole
    /// step is: g's coadds are handed over while r's processCcd jobs still wait for room (MAXRUNNING 2),
    /// and no patch is planned without its inputs.
    @Test func aPatchIsCoaddedAsSoonAsItsOwnCalexpsAreVerified() throws {
        let work = try Workspace()
        try SeedPatch.prepare(work, filters: "g r", frames: 12, seed: 9, defects: 0, extra: """
            EVENTSPERJOB processCcd 1
            EVENTSPERJOB coadd 1
            MAXRUNNING 2
            """)
        let result = try DCProd.run(["run"], in: work.url)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let store = work.url.appendingPathComponent("lsstprod/DC_2013/state.sqlite").path
        let attempts = "FROM attempt a JOIN job j ON j.id = a.jobId"
        let order = try output(of: ["sqlite3", store, """
            SELECT (SELECT MIN(a.id) \(attempts) WHERE j.step = 'coadd') < (SELECT MAX(a.id) \(attempts) WHERE j.step = 'processCcd')
            """])
        #expect(order.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1",
                "no coadd was handed over before the last processCcd job: \(order.stdout)")
        // Each patch planned once its frames were settled: its inputs are the same as a patch of the
        // whole-step order would have, i.e. every frame the coadd report counted in it.
        let missing = try output(of: ["sqlite3", store, """
            SELECT COUNT(*) FROM event e WHERE e.step = 'coadd' AND NOT EXISTS (SELECT 1 FROM event_input ei WHERE ei.eventId = e.id)
            """])
        #expect(missing.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "coadd events without inputs")
    }
}

