import Foundation
import Testing

/// `status --jobs` as a user on shift reads it: every attempt's accounting, Grid Engine's maxvmem in
/// a column of its own after maxrss (a virtual memory peak is not a resident set), and the exit
/// status of a cancelled job, which `dcprod help job run` explains.
@Suite struct StatusJobs {
    /// A production of a few tiny frames, inventoried and planned: jobs, no attempt yet.
    func planned() throws -> Workspace {
        let work = try Workspace()
        try work.write(work.seedConfig.replacingOccurrences(of: "DBHOST 127.0.0.1\nDBUSER lsst_prod", with: "") + "\nREGION 6 7 -0.4 0.2\nFILTERS r\n",
                       to: "fichconfig.txt")
        for arguments in [["prepare", "fichconfig.txt"],
                          ["pipe", "simulate", "--frames", "2", "--seed", "7", "--defects", "0", "--size", "128x93", "--pixel-scale", "1.6",
                           "--filters", "r", "--region", "6 7 -0.4 0.2", "\(work.url.path)/lsstprod-data/DC_2013/input"],
                          ["inventory"], ["plan", "processCcd"]] {
            let result = try DCProd.run(arguments, in: work.url)
            try #require(result.status == 0, "\(arguments): \(result.stderr)")
        }
        return work
    }

    /// The `status --jobs` table as rows of cells by column name (columns are 2 or more spaces apart).
    func table(_ text: String) throws -> (header: [String], rows: [[String: String]]) {
        let lines = text.split(separator: "\n").map(String.init)
        let start = try #require(lines.firstIndex { $0.hasPrefix("job ") }, "no attempt table in \(text)")
        let split = { (line: String) in line.split(separator: #/ {2,}/#).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        let header = split(lines[start])
        let rows = lines[(start + 1)...].map(split).filter { $0.count == header.count }.map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
        return (header, rows)
    }

    @Test func maxvmemIsShownAfterMaxrssAndA143IsExplainedByTheHelp() throws {
        let work = try planned()
        let store = work.url.appendingPathComponent("lsstprod/DC_2013/state.sqlite").path
        let job = try output(of: ["sqlite3", store, "SELECT name FROM job ORDER BY id LIMIT 1"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(!job.isEmpty, "no job planned")
        // A Grid Engine attempt cancelled by `dcprod cancel` (qacct's maxvmem, no resident set), then a
        // Slurm one that ended well (sacct's MaxRSS, no virtual memory peak).
        let inserted = try output(of: ["sqlite3", store, """
            INSERT INTO attempt (jobId, number, backend, token, backendId, state, rawState, host, submittedAt, endedAt,
                                 exitCode, outcomes, log, node, elapsed, cpuTime, maxRSS, maxVMem)
            SELECT id, 1, 'sge', 'token-1', '4242', 'cancelled', 'dr', 'node07', '2024-05-02T10:00:00Z', '2024-05-02T10:05:00Z',
                   143, 'outcomes-1', 'log-1', 'node07', '300', '12.5', NULL, '3.434MB' FROM job WHERE name = '\(job)';
            INSERT INTO attempt (jobId, number, backend, token, backendId, state, rawState, host, submittedAt, endedAt,
                                 exitCode, outcomes, log, node, elapsed, cpuTime, maxRSS, maxVMem)
            SELECT id, 2, 'slurm', 'token-2', '77', 'done', 'COMPLETED', 'node08', '2024-05-02T11:00:00Z', '2024-05-02T11:04:00Z',
                   0, 'outcomes-2', 'log-2', 'node08', '00:04:00', '00:03:50', '812345K', NULL FROM job WHERE name = '\(job)';
            """])
        try #require(inserted.status == 0, "sqlite3 could not insert the attempts")

        let status = try DCProd.run(["status", "--jobs"], in: work.url)
        #expect(status.status == 0, "\(status.stderr)")
        let (header, rows) = try table(status.stdout)
        let maxrss = try #require(header.firstIndex(of: "maxrss"), "\(header)")
        #expect(header.firstIndex(of: "maxvmem") == maxrss + 1, "maxvmem right after maxrss: \(header)")
        let mine = rows.filter { $0["job"] == job }
        try #require(mine.count == 2, "\(status.stdout)")
        #expect(mine[0]["attempt"] == "1" && mine[0]["maxvmem"] == "3.434MB" && mine[0]["maxrss"] == "-", "\(mine[0])")
        #expect(mine[0]["state"] == "cancelled" && mine[0]["exit"] == "143", "\(mine[0])")
        #expect(mine[1]["attempt"] == "2" && mine[1]["maxrss"] == "812345K" && mine[1]["maxvmem"] == "-", "\(mine[1])")

        // What 143 means, where a user looks it up (however the help is wrapped).
        let help = try DCProd.run(["help", "job", "run"], in: work.url)
        let words = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(words.contains("Exit status 143 (128 + SIGTERM) when it was ended by SIGTERM"), "\(help.stdout)")
        #expect(words.contains("the job no `end` line"), "\(help.stdout)")
    }
}
