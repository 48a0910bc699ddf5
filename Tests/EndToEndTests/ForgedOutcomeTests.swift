import Foundation
import Testing

/// An outcome file is written by the job, so a payload can rewrite it: verify believes a record only
/// for an event of the file's own job and attempt, with the outputs its manifest expects, under
/// DATAMAIN/DCNAME, there and not empty. Anything else is a failure of class `bad-record`, or a line
/// the report names; load never takes a file verify did not check.
@Suite struct ForgedOutcomeRecords {
    func lines(of file: URL) throws -> [[String: Any]] {
        try String(contentsOf: file, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    func write(_ lines: [[String: Any]], extra: [String] = [], to file: URL) throws {
        let text = try lines.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self) } + extra
        try Data((text.joined(separator: "\n") + "\n").utf8).write(to: file)
    }

    @Test func forgedRecordsAreBadRecordsDamagedLinesAreNamedAndNothingForeignIsLoaded() throws {
        let work = try Workspace()
        try SeedPatch.prepare(work, filters: "r", frames: 4, seed: 11, defects: 0, extra: "EVENTSPERJOB processCcd 2")
        for verb in [["plan", "processCcd"], ["submit", "processCcd", "--wait"]] {
            let result = try DCProd.run(verb, in: work.url)
            try #require(result.status == 0, "\(verb): \(result.stderr)")
        }
        let outcomes = work.url.appendingPathComponent("lsstprod/DC_2013/steps/processCcd/r/outcomes")
        let first = outcomes.appendingPathComponent("processCcd-r-000001.a1.jsonl")
        let second = outcomes.appendingPathComponent("processCcd-r-000002.a1.jsonl")

        // The first job's file: an event claims a file outside the data tree, another had an output
        // deleted, a line of the second job's event, and a garbage line.
        var one = try lines(of: first)
        let events = one.indices.filter { one[$0]["type"] as? String == "event" }
        try #require(events.count == 2 && one.allSatisfy { ($0["status"] as? String ?? "ok") == "ok" })
        one[events[0]]["outputs"] = ["/etc/passwd"]
        let deleted = try #require((one[events[1]]["outputs"] as? [String])?.first { $0.hasSuffix(".csv") })
        try FileManager.default.removeItem(atPath: deleted)
        var two = try lines(of: second)
        var stray = try #require(two.first { $0["type"] as? String == "event" })
        stray["message"] = "of another job"
        try write(one, extra: [String(decoding: try JSONSerialization.data(withJSONObject: stray, options: [.sortedKeys]), as: UTF8.self), "not json"],
                  to: first)
        // The second job's file claims to be the first job's.
        two[0]["job"] = "processCcd-r-000001"
        try write(two, to: second)

        let verify = try DCProd.run(["verify", "processCcd"], in: work.url)
        #expect(verify.status == 1, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.stdout.contains("bad outcome record: 4 - 100.0 %"), "\(verify.stdout)")
        #expect(verify.stdout.contains("Damaged outcome lines: 2"), "\(verify.stdout)")
        #expect(verify.stdout.contains("processCcd-r-000001.a1.jsonl:5: event \(stray["event"] as? String ?? "?") is not in job processCcd-r-000001"),
                "\(verify.stdout)")
        #expect(verify.stdout.contains("processCcd-r-000001.a1.jsonl:6: not an outcome record"), "\(verify.stdout)")
        let store = work.url.appendingPathComponent("lsstprod/DC_2013/state.sqlite").path
        let messages = try output(of: ["sqlite3", store, "SELECT message FROM event ORDER BY key"]).stdout
        #expect(messages.contains("output /etc/passwd is not one the job's manifest expects"), "\(messages)")
        #expect(messages.contains("output \(deleted) does not exist"), "\(messages)")
        #expect(messages.contains("names job processCcd-r-000001 attempt 1, not processCcd-r-000002 attempt 1"), "\(messages)")

        // Nothing verify refused is loaded; /etc/passwd least of all.
        try #require(try DCProd.run(["load", "--init"], in: work.url).status == 0)
        let load = try DCProd.run(["load", "processCcd"], in: work.url)
        #expect(load.status == 0 && load.stdout.contains("0 files loaded"), "\(load.stdout)\(load.stderr)")

        // bad-record is resubmitted like a crash: the repaired production is whole.
        for verb in [["resubmit", "processCcd"], ["submit", "processCcd", "--wait"]] {
            let result = try DCProd.run(verb, in: work.url)
            try #require(result.status == 0, "\(verb): \(result.stdout)\(result.stderr)")
        }
        let again = try DCProd.run(["verify", "processCcd"], in: work.url)
        #expect(again.status == 0 && again.stdout.contains("ok: 4 - 100.0 %"), "\(again.stdout)")
    }
}
