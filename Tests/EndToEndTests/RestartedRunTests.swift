import Foundation
import Testing

/// Issue 29: a restarted `dcprod run` goes on from where the last one was: its planning derives only
/// from what was verified since (`plan_cursor`, schema v24), so after a run that planned everything its
/// first pass derives nothing again and reads no outcome file. (The run's end still draws the coadd's
/// page, which reads the sky map.)
@Suite(.serialized) struct RestartedRun {
    @Test func aRunStartedAgainAfterEverythingWasPlannedDerivesNothingAgainAndReadsNoOutcomeFile() throws {
        let work = try Workspace()
        try SeedPatch.prepare(work, filters: "r", frames: 12, seed: 5, defects: 0, extra: """
            EVENTSPERJOB processCcd 2
            EVENTSPERJOB coadd 1
            EVENTSPERJOB forcedPhot 2
            """, region: SeedPatch.neighbourhood)
        let tree = work.url.appendingPathComponent("lsstprod/DC_2013")
        let store = tree.appendingPathComponent("state.sqlite").path
        func query(_ sql: String) throws -> String {
            try storeQuery(store, sql)
        }
        let first = try DCProd.run(["run"], in: work.url)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        let jobs = try query("SELECT COUNT(*) FROM job")
        #expect(try query("SELECT COUNT(*) > 0 FROM event WHERE step = 'forcedPhot'") == "1")
        #expect(try query("SELECT COUNT(DISTINCT step || filter) FROM plan_cursor") == "2", "the coadd's and forcedPhot's cursors")

        // Every event or input a derivation records is counted, even one already there (INSERT OR IGNORE).
        _ = try query("""
            CREATE TABLE probe (what TEXT);
            CREATE TRIGGER probe_event BEFORE INSERT ON event BEGIN INSERT INTO probe VALUES ('event'); END;
            CREATE TRIGGER probe_input INSTEAD OF INSERT ON event_input BEGIN INSERT INTO probe VALUES ('input'); END;
            """)
        // What a restarted run must not read: the verified attempts' outcome files, taken away.
        let away = work.url.appendingPathComponent("away")
        try FileManager.default.createDirectory(at: away, withIntermediateDirectories: true)
        let outcomes = try query("SELECT outcomes FROM attempt WHERE verified != 0").split(separator: "\n").map(String.init)
        let taken = outcomes
        #expect(outcomes.count > 5)
        for (index, path) in taken.enumerated() { try FileManager.default.moveItem(atPath: path, toPath: away.path + "/\(index)") }

        let again = try DCProd.run(["run"], in: work.url)
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        #expect(again.stdout.contains("run coadd: plan 0 jobs for 0 events; submit 0 jobs submitted"), "\(again.stdout)")
        let derived = try query("SELECT what || ' ' || COUNT(*) FROM probe GROUP BY what")
        #expect(derived.isEmpty, "the restarted run derived again: \(derived)")
        #expect(try query("SELECT COUNT(*) FROM job") == jobs)
    }
}
