import Foundation
import Testing

/// `dcprod provenance` and the catalog's `dcprod_provenance`: after `dcprod run`, a DeepSource row is
/// traced to its coadd's file, job and attempt, the calexps it was made of and the frames they came
/// from, and the texts its job was planned with; a Source row to its frame; the same in plain SQL.
@Suite(.serialized) struct ProvenanceRun {
    @Test func aDeepSourceRowNamesItsCoaddJobItsCalexpsAndTheirFrames() throws {
        let work = try Workspace()
        try SeedPatch.prepare(work, filters: "r", frames: 4, seed: 3, defects: 0, extra: "EVENTSPERJOB processCcd 2")
        let run = try DCProd.run(["run"], in: work.url)
        try #require(run.status == 0, "\(run.stdout.suffix(2000))\(run.stderr)")
        let query = try DCProd.run(["sql", "--csv", "SELECT deepSourceId, deepCoaddId FROM DeepSource WHERE isPrimary = 1 AND patch = '380,5' LIMIT 1"], in: work.url)
        let ids = try #require(query.stdout.split(separator: "\n").last?.split(separator: ","))
        let traced = try DCProd.run(["provenance", "--deep-source", String(ids[0])], in: work.url)
        try #require(traced.status == 0, "\(traced.stderr)")
        let lines = traced.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasSuffix("/coadd/r/deepsrc-0-380,5-r.csv") == true, "\(traced.stdout)")
        #expect(lines.contains("event: coadd r 0-380,5"), "\(traced.stdout)")
        #expect(lines.contains { $0.hasPrefix("job: coadd-r-") && $0.contains("attempt 1") && $0.hasSuffix("exit 0") }, "\(traced.stdout)")
        #expect(lines.contains { $0.hasPrefix("planned with: dcprod 0.") }, "\(traced.stdout)")
        #expect(lines.contains { $0.hasPrefix("  config ") && $0.hasSuffix("bytes, kept in the state store)") }, "\(traced.stdout)")
        let calexps = lines.filter { $0.contains("/processCcd/r/calexp-") }
        #expect(calexps.count == 4 && calexps.allSatisfy { $0.contains("(from ") && $0.contains("/input/") && $0.hasSuffix(".fit)") },
                "every calexp and its frame: \(traced.stdout)")
        // The same by the coadd, with the texts as they were.
        let coadd = try DCProd.run(["provenance", "--coadd", String(ids[1]), "--texts"], in: work.url)
        #expect(coadd.status == 0 && coadd.stdout.contains("--- config ") && coadd.stdout.contains("REGION "), "\(coadd.stdout)\(coadd.stderr)")
        // A Source row: its calexp's sources file, its frame.
        let source = try DCProd.run(["sql", "--csv", "SELECT sourceId FROM Source LIMIT 1"], in: work.url)
        let sourceId = try #require(source.stdout.split(separator: "\n").last.map(String.init))
        let single = try DCProd.run(["provenance", "--source", sourceId], in: work.url)
        #expect(single.stdout.contains("event: processCcd r ") && single.stdout.contains("inputs: 1\n  ") && single.stdout.contains("/fpC-"),
                "\(single.stdout)\(single.stderr)")
        // In SQL, as docs/catalog.md says.
        let sql = try DCProd.run(["sql", "--csv", "SELECT p.jobName, COUNT(i.input) FROM dcprod_provenance p JOIN dcprod_provenance_input i ON i.pathHash = p.pathHash "
                                  + "WHERE p.tableName = 'RunDeepSource' AND p.firstKey <= \(ids[0]) AND p.lastKey >= \(ids[0]) GROUP BY p.jobName"], in: work.url)
        #expect(sql.stdout.split(separator: "\n").last?.hasSuffix(",4") == true, "\(sql.stdout)\(sql.stderr)")
        // What is not there is said.
        let missing = try DCProd.run(["provenance", "--source", "1"], in: work.url)
        #expect(missing.status == 1 && missing.stderr.contains("the catalog has no Source row with sourceId 1"), "\(missing.stderr)")
    }
}
