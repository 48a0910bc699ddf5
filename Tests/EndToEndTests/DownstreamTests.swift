import Foundation
import Testing

/// Downstream work follows its inputs: a coadd or forced photometry planned on inputs that have
/// another outcome since is stale, planned again and run again, its old rows replaced in the
/// catalog. A production repaired as dcprod advises ends with the catalog of an undisturbed twin,
/// row for row.
@Suite(.serialized) struct DownstreamFollowsItsInputs {
    static let extra = """
        EVENTSPERJOB processCcd 2
        EVENTSPERJOB coadd 1
        EVENTSPERJOB forcedPhot 2
        """

    /// Every row of the catalog's tables, in key order: what the twin is compared on.
    static func catalog(_ work: Workspace) throws -> [String: String] {
        var tables: [String: String] = [:]
        for (table, key) in [("Science_Ccd_Exposure", "run, camcol, field, filterId"), ("Source", "sourceId"), ("DeepCoadd", "deepCoaddId"),
                             ("RunDeepSource", "deepSourceId"), ("RunDeepForcedSource", "deepForcedSourceId")] {
            let result = try DCProd.run(["sql", "--csv", "SELECT * FROM \(table) ORDER BY \(key)"], in: work.url)
            try #require(result.status == 0, "\(table): \(result.stderr)")
            tables[table] = result.stdout.replacingOccurrences(of: work.url.path, with: "$WORK")  // DeepCoadd's paths
        }
        return tables
    }

    /// The twin: the same sky, run once, undisturbed.
    static func twin(byPatch: Bool) throws -> [String: String] {
        let work = try Workspace()
        try SeedPatch.prepare(work, filters: "r", frames: 8, seed: 21, defects: 0, extra: extra)
        let run = try DCProd.run(["run"] + (byPatch ? ["--by-patch"] : []), in: work.url)
        try #require(run.status == 0, "\(run.stdout)\(run.stderr)")
        return try catalog(work)
    }

    func expectSameCatalog(_ work: Workspace, as twin: [String: String], _ what: String) throws {
        let repaired = try Self.catalog(work)
        for (table, rows) in twin.sorted(by: { $0.key < $1.key }) {
            let count = rows.split(separator: "\n").count - 1
            #expect(repaired[table] == rows, "\(what): \(table) has \((repaired[table] ?? "").split(separator: "\n").count - 1) rows, the twin \(count)")
        }
    }

    /// A frame missing when processCcd ran, put back, and `resubmit processCcd --force` (as the
    /// report advises for missing files): the coadds it touches and their forced photometry are
    /// made again with it.
    @Test(arguments: [false, true])
    func aFrameFixedAfterItsCoaddsWereMadeRemakesThem(byPatch: Bool) throws {
        let twin = try Self.twin(byPatch: byPatch)
        let run = ["run"] + (byPatch ? ["--by-patch"] : [])
        let work = try Workspace()
        try SeedPatch.prepare(work, filters: "r", frames: 8, seed: 21, defects: 0, extra: Self.extra)
        let input = work.url.appendingPathComponent("lsstprod-data/DC_2013/input")
        let frame = try #require(FileManager.default.enumerator(atPath: input.path)?.compactMap { $0 as? String }
            .filter { $0.hasSuffix(".fit") && $0.contains("fpC-") }.sorted().first)
        let path = input.appendingPathComponent(frame).path
        try FileManager.default.moveItem(atPath: path, toPath: path + ".away")
        let broken = try DCProd.run(run, in: work.url)
        #expect(broken.status != 0, "a frame is missing: \(broken.stdout)")
        try FileManager.default.moveItem(atPath: path + ".away", toPath: path)

        let resubmit = try DCProd.run(["resubmit", "processCcd", "--force"], in: work.url)
        try #require(resubmit.status == 0, "\(resubmit.stdout)\(resubmit.stderr)")
        let repaired = try DCProd.run(run, in: work.url)
        #expect(repaired.status == 0, "\(repaired.stdout)\(repaired.stderr)")
        try expectSameCatalog(work, as: twin, "frame fixed\(byPatch ? ", by patch" : "")")
        // Made again once, after the last of its inputs, not once per input redone.
        let store = work.url.appendingPathComponent("lsstprod/DC_2013/state.sqlite").path
        let most = try output(of: ["sqlite3", store, """
            SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM outcome o JOIN event e ON e.id = o.eventId WHERE e.step != 'processCcd' GROUP BY e.id)
            """]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(most == "2", "outcomes of the most redone coadd or forced photometry: \(most)")
        // Nothing is left stale, and a run more does nothing.
        let again = try DCProd.run(run, in: work.url)
        #expect(again.status == 0 && !again.stdout.contains("Stale"), "\(again.stdout)")
    }

    /// A coadd that failed while the forced photometry of its frames was planned (their positions
    /// lacked its sources), then resubmitted: the forced photometry is made again on its sources.
    @Test func aCoaddRedoneAfterItsForcedPhotometryRemakesIt() throws {
        let twin = try Self.twin(byPatch: false)
        let work = try Workspace()
        try SeedPatch.prepare(work, filters: "r", frames: 8, seed: 21, defects: 0, extra: Self.extra)
        func dcprod(_ arguments: [String], allowFailure: Bool = false) throws {
            let result = try DCProd.run(arguments, in: work.url)
            try #require(allowFailure || result.status == 0, "\(arguments): \(result.stdout)\(result.stderr)")
        }
        try dcprod(["load", "--init"])
        for verb in [["plan"], ["submit", "--wait"], ["verify"], ["load"]] { try dcprod(verb + ["processCcd"]) }
        try dcprod(["plan", "coadd"])
        // One patch's list of calexps emptied: its coadd fails.
        let inputs = work.url.appendingPathComponent("lsstprod/DC_2013/steps/coadd/r/jobs/inputs")
        let list = try #require(try FileManager.default.contentsOfDirectory(atPath: inputs.path).filter { $0.hasSuffix(".txt") }.sorted().first)
        try Data().write(to: inputs.appendingPathComponent(list))
        try dcprod(["submit", "coadd", "--wait"])
        try dcprod(["verify", "coadd"], allowFailure: true)
        try dcprod(["load", "coadd"])
        for verb in [["plan"], ["submit", "--wait"], ["verify"], ["load"]] { try dcprod(verb + ["forcedPhot"], allowFailure: true) }

        // Its list made again by the resubmission (class no-input, named).
        let resubmit = try DCProd.run(["resubmit", "coadd", "--class", "no-input"], in: work.url)
        try #require(resubmit.status == 0, "\(resubmit.stdout)\(resubmit.stderr)")
        try dcprod(["verify", "coadd"])
        // The forced photometry of the frames on that patch is stale, and says so.
        let status = try DCProd.run(["status"], in: work.url)
        #expect(status.stdout.contains("Stale: planned on inputs redone since") && status.stdout.contains("  forcedPhot r: "), "\(status.stdout)")
        let report = try DCProd.run(["verify", "forcedPhot"], in: work.url)
        #expect(report.stdout.contains("Stale, their inputs redone since they were planned: "), "\(report.stdout)")
        let repaired = try DCProd.run(["run"], in: work.url)
        #expect(repaired.status == 0, "\(repaired.stdout)\(repaired.stderr)")
        try expectSameCatalog(work, as: twin, "coadd redone")
    }

    /// A node crash: the manager and every job of its production killed while the coadds run, the run
    /// started again (it reports what the crash left failed), then `resubmit coadd` as the report
    /// advises, then `run`: the coadds made again and the forced photometry planned on them follow.
    @Test func aNodeCrashDuringTheCoaddsRepairedAsAdvisedEndsAsItsTwin() throws {
        let twin = try Self.twin(byPatch: false)
        let work = try Workspace()
        try SeedPatch.prepare(work, filters: "r", frames: 8, seed: 21, defects: 0, extra: Self.extra + "\nMAXRUNNING 1")
        let outcomes = work.url.appendingPathComponent("lsstprod/DC_2013/steps/coadd/r/outcomes")
        let manager = Process()
        manager.executableURL = DCProd.executable
        manager.arguments = ["run"]
        manager.currentDirectoryURL = work.url
        manager.standardOutput = FileHandle.nullDevice
        manager.standardError = FileHandle.nullDevice
        try manager.run()
        let deadline = Date().addingTimeInterval(300)
        while ((try? FileManager.default.contentsOfDirectory(atPath: outcomes.path)) ?? []).isEmpty && manager.isRunning && Date() < deadline {
            usleep(20_000)
        }
        // Everything of this production's dies at once, as on a node that fails.
        _ = try output(of: ["pkill", "-KILL", "-f", work.url.path])
        manager.waitUntilExit()

        let after = try DCProd.run(["run"], in: work.url)
        #expect(after.status != 0, "the crash left a coadd not run: \(after.stdout)")
        let resubmit = try DCProd.run(["resubmit", "coadd"], in: work.url)
        #expect(resubmit.status == 0, "\(resubmit.stdout)\(resubmit.stderr)")
        let repaired = try DCProd.run(["run"], in: work.url)
        #expect(repaired.status == 0, "\(repaired.stdout)\(repaired.stderr)")
        try expectSameCatalog(work, as: twin, "after a node crash")
    }
}
