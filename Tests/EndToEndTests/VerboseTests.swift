import Foundation
import Testing

/// `--verbose`: each verb says on standard error what it does — the jobs it writes, the batch jobs
/// it hands over, the outcome files it reads, the CSV files it loads, the query it runs — and without
/// the flag says none of it.
@Suite struct VerboseLogging {
    @Test func verboseVerbsSayWhatTheyDoAndQuietOnesDoNot() throws {
        let work = try Workspace()
        try SeedPatch.prepare(work, filters: "r", frames: 4, seed: 13, defects: 0, extra: "EVENTSPERJOB processCcd 2")
        let planned = try DCProd.run(["plan", "processCcd", "--verbose"], in: work.url)
        try #require(planned.status == 0, "\(planned.stderr)")
        let jobs = planned.stderr.split(separator: "\n").filter { $0.contains("debug dcprod.planning: [Planning] wrote job processCcd-r-00000") }
        #expect(jobs.count == 2 && jobs.allSatisfy { $0.contains(": 2 events, ") && $0.hasSuffix(".json") }, "\(planned.stderr)")

        let submitted = try DCProd.run(["submit", "processCcd", "--wait"], in: work.url)
        try #require(submitted.status == 0, "\(submitted.stderr)")
        #expect(!submitted.stderr.contains("debug"), "\(submitted.stderr)")

        let verified = try DCProd.run(["verify", "processCcd", "-v"], in: work.url)
        try #require(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        let outcomes = verified.stderr.split(separator: "\n").filter { $0.contains("debug dcprod.verification: [Verification] read ") && $0.contains("/outcomes/processCcd-r-") }
        #expect(outcomes.count == 2 && outcomes.allSatisfy { $0.contains(": 2 records for 2 events, 0 missing, 0 damaged lines") },
                "\(verified.stderr)")

        let initialized = try DCProd.run(["load", "--init"], in: work.url)
        try #require(initialized.status == 0, "\(initialized.stderr)")
        let loaded = try DCProd.run(["load", "processCcd", "-v"], in: work.url)
        try #require(loaded.status == 0, "\(loaded.stderr)")
        let files = loaded.stderr.split(separator: "\n").filter { $0.contains("debug dcprod.catalog: [Catalog] loaded ") && $0.contains(" into Source: ") }
        #expect(files.count == 4, "\(loaded.stderr)")

        let query = try DCProd.run(["sql", "-v", "SELECT COUNT(*) FROM Source"], in: work.url)
        try #require(query.status == 0, "\(query.stderr)")
        #expect(query.stderr.contains("debug dcprod.sql: [dcprod] on ") && query.stderr.contains(": SELECT COUNT(*) FROM Source"), "\(query.stderr)")
        #expect(!query.stdout.contains("debug"))
    }
}
