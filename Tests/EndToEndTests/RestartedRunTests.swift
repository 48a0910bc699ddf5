import Foundation
import Testing

/// Issue 29: a restarted `dcprod run` goes on from where the last one was: its planning derives only
/// from what was verified since (`plan_cursor`, schema v24), so after a run that planned everything its
/// first pass derives nothing again and reads no outcome file. (The run's end still draws the coadd's
/// page, which reads the sky map.)
@Suite(.serialized) struct RestartedRun {
    @Test func aRunStartedAgainAfterEverythingWasPlannedDerivesNothingAgainAndReadsNoOutcomeFile() throws {
        let production = try Self.runOnce()
        #expect(try production.query("SELECT COUNT(DISTINCT step || filter) FROM plan_cursor") == "2", "the coadd's and forcedPhot's cursors")
        // What a restarted run must not read: the verified attempts' outcome files, taken away.
        let away = production.work.url.appendingPathComponent("away")
        try FileManager.default.createDirectory(at: away, withIntermediateDirectories: true)
        let outcomes = try production.query("SELECT outcomes FROM attempt WHERE verified != 0").split(separator: "\n").map(String.init)
        #expect(outcomes.count > 5)
        for (index, path) in outcomes.enumerated() { try FileManager.default.moveItem(atPath: path, toPath: away.path + "/\(index)") }
        try production.expectARunDerivesNothing()
    }

    /// A production planned with `dcprod plan` (its cursors as the verbs leave them: none until now):
    /// `dcprod plan coadd` and `plan forcedPhot` derive everything and move the cursors, so the run after
    /// them derives nothing again (at DC2013's size that first pass had taken 400 s of CPU).
    @Test func aRunAfterDcprodPlanDerivesNothingAgain() throws {
        let production = try Self.runOnce()
        _ = try production.query("DELETE FROM plan_cursor")
        for step in ["coadd", "forcedPhot"] {
            let plan = try DCProd.run(["plan", step], in: production.work.url)
            #expect(plan.status == 0, "\(plan.stdout)\(plan.stderr)")
        }
        #expect(try production.query("SELECT COUNT(*) FROM plan_cursor WHERE sequence = (SELECT MAX(sequence) FROM verified_attempt)") == "2")
        try production.expectARunDerivesNothing()
    }

    /// A production of one filter whose `dcprod run` planned and ran every step.
    struct Production {
        let work: Workspace
        let store: String
        let jobs: String

        func query(_ sql: String) throws -> String { try storeQuery(store, sql) }

        /// Runs `dcprod run` again and expects it to record no event and no input list (every event or
        /// input list a derivation writes is counted) and to plan no job.
        func expectARunDerivesNothing() throws {
            _ = try query("""
                CREATE TABLE probe (what TEXT);
                CREATE TRIGGER probe_event BEFORE INSERT ON event BEGIN INSERT INTO probe VALUES ('event'); END;
                CREATE TRIGGER probe_list BEFORE INSERT ON input_list BEGIN INSERT INTO probe VALUES ('input list'); END;
                CREATE TRIGGER probe_inputs BEFORE UPDATE OF inputs ON input_list BEGIN INSERT INTO probe VALUES ('inputs'); END;
                """)
            let again = try DCProd.run(["run"], in: work.url)
            #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
            #expect(again.stdout.contains("run coadd: plan 0 jobs for 0 events; submit 0 jobs submitted"), "\(again.stdout)")
            let derived = try query("SELECT what || ' ' || COUNT(*) FROM probe GROUP BY what")
            #expect(derived.isEmpty, "the run derived again: \(derived)")
            #expect(try query("SELECT COUNT(*) FROM job") == jobs)
        }
    }

    static func runOnce() throws -> Production {
        let work = try Workspace()
        try SeedPatch.prepare(work, filters: "r", frames: 12, seed: 5, defects: 0, extra: """
            EVENTSPERJOB processCcd 2
            EVENTSPERJOB coadd 1
            EVENTSPERJOB forcedPhot 2
            """, region: SeedPatch.neighbourhood)
        let store = work.url.appendingPathComponent("lsstprod/DC_2013/state.sqlite").path
        let first = try DCProd.run(["run"], in: work.url)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(try storeQuery(store, "SELECT COUNT(*) > 0 FROM event WHERE step = 'forcedPhot'") == "1")
        return Production(work: work, store: store, jobs: try storeQuery(store, "SELECT COUNT(*) FROM job"))
    }
}
