import Foundation
import Testing

/// Speed work must not change what dcprod records or writes. A synthetic production is planned and
/// verified, and every row of its state store, every manifest and every batch script is compared
/// with `Fixtures/plan-verify.txt`, written by the code before that work (commit 9f5851e).
///
/// The input has what the fast paths must get right: paths with `"`, `\`, a tab and `é` (JSON
/// escapes in manifests), events ok, failed in several classes, missing from their outcome file,
/// a damaged line, a job whose attempt left no outcome file, and a job never run.
/// `DCPROD_WRITE_FIXTURE=1` writes the fixture instead of comparing (only to record a deliberate change).
@Suite struct StateStoreContent {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/plan-verify.txt")

    @Test func planningAndVerifyingASyntheticProductionRecordTheSameContentAsBefore() throws {
        let (work, store) = try plannedAndVerified(eventsPerJob: 7)

        let content = try dump(store: store, tree: work.url.appendingPathComponent("lsstprod/DC_2013"))
            .replacingOccurrences(of: DCProd.executable.resolvingSymlinksInPath().path, with: "$DCPROD")
            .replacingOccurrences(of: DCProd.executable.path, with: "$DCPROD")
            .replacingOccurrences(of: work.url.path, with: "$WORK")
        if ProcessInfo.processInfo.environment["DCPROD_WRITE_FIXTURE"] == "1" {
            try Data(content.utf8).write(to: Self.fixture)
            return
        }
        let expected = try String(contentsOf: Self.fixture, encoding: .utf8)
        let (got, want) = (content.split(separator: "\n", omittingEmptySubsequences: false),
                           expected.split(separator: "\n", omittingEmptySubsequences: false))
        let first = zip(got, want).enumerated().first { $0.element.0 != $0.element.1 }
        #expect(content == expected, """
            first difference at line \((first?.offset ?? min(got.count, want.count)) + 1):
            now:    \(first.map { String($0.element.0) } ?? "(\(got.count) lines)")
            before: \(first.map { String($0.element.1) } ?? "(\(want.count) lines)")
            """)
    }

    /// Verify records 32 attempts at a time while it reads the next 32: with one event a job, the
    /// 58 ended attempts take two transactions, and every event gets its own outcome.
    @Test func moreAttemptsThanOneTransactionHoldAreEachRecorded() throws {
        let (work, store) = try plannedAndVerified(eventsPerJob: 1)
        defer { withExtendedLifetime(work) {} }  // its directory goes with it

        // What writeOutcomes wrote for the job of each index: its one event's state and class.
        let expected = (0..<58).map { index -> String in
            if index == 1 || index == 2 { return "not-run|not-run" }  // its line damaged; no outcome file
            switch (index * 7) % 11 {
            case 3: return "failed|astrometry"
            case 5: return "failed|timeout"
            case 9: return "not-run|not-run"
            default: return "ok|ok"
            }
        }
        let recorded = try sqlite(store, """
            SELECT e.state, e.class FROM job j JOIN job_event je ON je.jobId = j.id JOIN event e ON e.id = je.eventId
            WHERE j.id NOT IN (SELECT MAX(id) FROM job GROUP BY filter) ORDER BY j.id
            """).split(separator: "\n").map(String.init)
        #expect(recorded == expected)
        #expect(try sqlite(store, "SELECT COUNT(*), SUM(verified) FROM attempt") == "58|58\n")
        #expect(try sqlite(store, "SELECT COUNT(*) FROM outcome") == "58\n")
        #expect(try sqlite(store, "SELECT COUNT(*) FROM event WHERE state = 'planned'") == "2\n")
    }

    /// The synthetic production prepared, planned with `eventsPerJob`, given its outcome files
    /// (`writeOutcomes`) and verified; its workspace and state store.
    func plannedAndVerified(eventsPerJob: Int) throws -> (Workspace, String) {
        let work = try Workspace()
        try work.write(work.seedConfig + "\nFILTERS g r\nEVENTSPERJOB processCcd \(eventsPerJob)\n", to: "fichconfig.txt")
        try #require(try DCProd.run(["prepare", "fichconfig.txt"], in: work.url).status == 0)
        let store = work.url.appendingPathComponent("lsstprod/DC_2013/state.sqlite").path
        try sqlite(store, Self.syntheticInventory(data: "\(work.url.path)/lsstprod-data"))

        let plan = try DCProd.run(["plan", "processCcd"], in: work.url)
        try #require(plan.status == 0, "\(plan.stderr)")
        try writeOutcomes(store: store)
        let verify = try DCProd.run(["verify", "processCcd"], in: work.url)
        try #require([0, 1, 2].contains(verify.status), "\(verify.stderr)")
        return (work, store)
    }

    /// 2 filters × 30 frames with their processCcd events, as inventory records them; some paths
    /// carry characters JSON must escape.
    static func syntheticInventory(data: String) -> String {
        """
        WITH RECURSIVE k(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM k WHERE n < 59)
        INSERT INTO frame (path, run, camcol, field, filter, width, height, corner1Ra, corner1Decl, corner2Ra, corner2Decl,
            corner3Ra, corner3Decl, corner4Ra, corner4Decl, centerRa, centerDecl, size, mtime, recordedAt)
        SELECT printf('%s/DC_2013/input/%s/%d/fpC-%06d-%s%d-%04d.fit', '\(data)',
                      CASE n % 10 WHEN 3 THEN 'quote"d' WHEN 5 THEN 'back\\slash' WHEN 7 THEN 'tab' || char(9) || 'bed' WHEN 8 THEN 'é' ELSE 'plain' END,
                      n % 3 + 1, 94 + 1000 * (n / 40), CASE WHEN n < 30 THEN 'g' ELSE 'r' END, n % 3 + 1, 11 + n % 30),
               94 + 1000 * (n / 40), n % 3 + 1, 11 + n % 30, CASE WHEN n < 30 THEN 'g' ELSE 'r' END, 2048, 1489,
               6 + n * 0.01, -0.4, 6.2 + n * 0.01, -0.4, 6.2 + n * 0.01, -0.2, 6 + n * 0.01, -0.2, 6.1 + n * 0.01, -0.3,
               12000000, 0, '2026-12-01T00:00:00Z' FROM k;
        INSERT INTO event (step, filter, key, frameId)
            SELECT 'processCcd', filter, printf('%06d-%d-%04d', run, camcol, field), id FROM frame ORDER BY id;
        """
    }

    /// One ended attempt per job but the last of each filter (never run), with outcome records:
    /// mostly ok, failures in several classes, an event missing, a damaged line, and one attempt
    /// whose outcome file is not there.
    func writeOutcomes(store: String) throws {
        // Each job with its events' keys in the order of their ids (group_concat's order is SQLite's choice).
        var rows: [[String]] = []
        for line in try sqlite(store, """
            SELECT j.id, j.name, j.filter, e.key, j.manifest FROM job j JOIN job_event je ON je.jobId = j.id
            JOIN event e ON e.id = je.eventId WHERE j.id NOT IN (SELECT MAX(id) FROM job GROUP BY filter)
            ORDER BY j.id, e.id
            """).split(separator: "\n") {
            let row = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            if rows.last?[0] == row[0] { rows[rows.count - 1][3] += " " + row[3] } else { rows.append(row) }
        }
        var inserts = ""
        for (index, row) in rows.enumerated() {
            let (id, name, filter, keys) = (row[0], row[1], row[2], row[3].split(separator: " ").map(String.init))
            let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: row[4]))) as? [String: Any]
            let expected = Dictionary(uniqueKeysWithValues: ((manifest?["events"] as? [[String: Any]]) ?? []).map {
                ($0["key"] as? String ?? "", $0["outputs"] as? [String] ?? [])
            })
            let directory = (store as NSString).deletingLastPathComponent + "/steps/processCcd/\(filter)"
            let outcomes = "\(directory)/outcomes/\(name).a1.jsonl", log = "\(directory)/logs/\(name).a1.log"
            inserts += "INSERT INTO attempt (jobId, number, backend, token, backendId, state, outcomes, log, exitCode) "
                + "VALUES (\(id), 1, 'local', 'synthetic-\(id)', '\(id)', 'done', '\(outcomes)', '\(log)', 0);\n"
            if index == 2 { continue }  // the attempt's outcome file never appeared
            var lines = [#"{"type":"start","version":1,"job":"\#(name)","attempt":1,"host":"ccwsge0042","pid":4242,"time":"2026-12-01T00:00:00Z"}"#]
            for (position, key) in keys.enumerated() {
                switch (index * 7 + position) % 11 {
                case 3:
                    lines.append(#"{"type":"event","event":"\#(key)","status":"failed","class":"astrometry","exit":1,"seconds":80.5,"message":"processCcd: \#(key): astrometry problem: no solution \"quoted\""}"#)
                case 5:
                    lines.append(#"{"type":"event","event":"\#(key)","status":"failed","class":"timeout","signal":9,"seconds":600,"message":"killed after 600 s"}"#)
                case 7 where index == 1:
                    lines.append(#"{"type":"event","event":"\#(key)","status":"#)  // damaged: cut mid-line
                case 9:
                    continue  // the runner never wrote this event
                default:
                    // The outputs the manifest expects, made as the payload would (verify checks them).
                    let outputs = expected[key] ?? []
                    for output in outputs {
                        try FileManager.default.createDirectory(atPath: (output as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                        try Data("synthetic \(key)\n".utf8).write(to: URL(fileURLWithPath: output))
                    }
                    let list = String(decoding: try JSONSerialization.data(withJSONObject: outputs, options: [.withoutEscapingSlashes]), as: UTF8.self)
                    lines.append(#"{"type":"event","event":"\#(key)","status":"ok","class":"ok","message":"","seconds":151.2,"exit":0,"outputs":\#(list)}"#)
                }
            }
            if index != 3 { lines.append(#"{"type":"end","exit":0,"events":\#(keys.count),"time":"2026-12-01T01:00:00Z"}"#) }
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: outcomes))
        }
        try sqlite(store, inserts)
    }

    /// Every row of the state store's tables and views but the times it was written at, then every file under the
    /// tree's steps/ and reports/, each after its name.
    func dump(store: String, tree: URL) throws -> String {
        var out = ""
        let tables = try sqlite(store, "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite%' AND name NOT LIKE 'grdb%' ORDER BY name")
            .split(separator: "\n").map(String.init)
        for table in tables {
            let columns = try sqlite(store, "SELECT name FROM pragma_table_info('\(table)') ORDER BY cid").split(separator: "\n")
                // Times vary from run to run, and so do the hashes of texts that hold the workspace's path.
                .map(String.init).filter { !$0.hasSuffix("At") && $0 != "mtime" && !$0.hasSuffix("Hash") && $0 != "hash" }
            out += "== \(table): \(columns.joined(separator: ", "))\n"
            out += try sqlite(store, "SELECT \(columns.map { "quote(\($0))" }.joined(separator: ", ")) FROM \(table) ORDER BY "
                + (1...columns.count).map(String.init).joined(separator: ", "))
        }
        for directory in ["steps", "reports"] {
            let root = tree.appendingPathComponent(directory)
            let files = FileManager.default.enumerator(atPath: root.path)?.compactMap { $0 as? String }.sorted() ?? []
            for file in files {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: root.appendingPathComponent(file).path, isDirectory: &isDirectory),
                      !isDirectory.boolValue, !file.hasSuffix(".jsonl"), !file.hasSuffix(".html") else { continue }
                let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
                out += "== \(directory)/\(file)\n" + text + (text.hasSuffix("\n") ? "" : "\n")
            }
        }
        return out
    }

    @discardableResult
    func sqlite(_ store: String, _ sql: String) throws -> String {
        let result = try output(of: ["sqlite3", store, sql])
        try #require(result.status == 0, "sqlite3 failed on: \(sql)")
        return result.stdout
    }
}
