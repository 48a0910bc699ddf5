import Foundation
import Testing

/// `dcprod sql` prints rows as the engine gives them: CSV, JSON and the aligned table, whose widths
/// come from its first rows and whose wide values are cut.
@Suite struct SqlOutput {
    func production() throws -> Workspace {
        let work = try Workspace()
        try work.write(work.seedConfig.replacingOccurrences(of: "DBHOST 127.0.0.1\nDBUSER lsst_prod", with: "DBHOST sqlite")
                       + "\nREGION \(SeedPatch.region)\n", to: "fichconfig.txt")
        for arguments in [["prepare", "fichconfig.txt"], ["load", "--init"]] {
            let result = try DCProd.run(arguments, in: work.url)
            try #require(result.status == 0, "\(arguments): \(result.stderr)")
        }
        return work
    }

    @Test func csvJsonAndTheTable() throws {
        let work = try production()
        let query = "SELECT 1 AS n, 'a,b' AS t, NULL AS z, 2.5 AS x UNION ALL SELECT 2, 'quote\"d', 'é', -1e-7"
        let csv = try DCProd.run(["sql", "--csv", query], in: work.url)
        #expect(csv.stdout == "n,t,z,x\n1,\"a,b\",,2.5\n2,\"quote\"\"d\",é,-1e-07\n", "\(csv.stdout)\(csv.stderr)")
        let json = try DCProd.run(["sql", "--json", query], in: work.url)
        #expect(json.stdout == """
            [
              {
                "n" : 1,
                "t" : "a,b",
                "x" : 2.5,
                "z" : null
              },
              {
                "n" : 2,
                "t" : "quote\\"d",
                "x" : -1e-07,
                "z" : "é"
              }
            ]

            """, "\(json.stdout)\(json.stderr)")
        let empty = try DCProd.run(["sql", "--json", "SELECT 1 AS n WHERE 0"], in: work.url)
        #expect(empty.stdout == "[]\n")
        let table = try DCProd.run(["sql", "--max-width", "6", "SELECT 1 AS n, 'abcdefghij' AS long, NULL AS z"], in: work.url)
        #expect(table.stdout == "n  long    z\n-  ------  ----\n1  abcde…  NULL\n(1 row)\n", "\(table.stdout)")
    }

    /// Past the first 1,000 rows the widths are kept: a wider value shifts only its own row.
    @Test func theTableMeasuresItsFirstRows() throws {
        let work = try production()
        let result = try DCProd.run(["sql", """
            WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n LIMIT 1200) SELECT k, CASE WHEN k = 1200 THEN 'wide value' ELSE 'w' END AS v FROM n
            """], in: work.url)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 1203 && lines[1] == "----  -" && lines[2] == "1     w", "\(lines.prefix(3))")
        #expect(lines[1201] == "1200  wide value" && lines[1202] == "(1200 rows)", "\(lines.suffix(2))")
    }

    /// A 16 MiB blob and a long text full of quotes come out whole in every format (the time they
    /// take is `Benchmarks/sql-values`'s business).
    @Test func largeValuesComeOutWholeInEveryFormat() throws {
        let work = try production()
        let size = (16 << 20) - 1
        let blob = "SELECT zeroblob(\(size)) AS b"
        let hex = String(repeating: "00", count: size)
        let csv = try DCProd.run(["sql", "--csv", blob], in: work.url)
        #expect(csv.status == 0 && csv.stdout == "b\n" + hex + "\n", "\(csv.stdout.prefix(100))\(csv.stderr)")
        let json = try DCProd.run(["sql", "--json", blob], in: work.url)
        #expect(json.stdout == "[\n  {\n    \"b\" : \"" + hex + "\"\n  }\n]\n", "\(json.stdout.prefix(100))\(json.stderr)")
        let table = try DCProd.run(["sql", "--max-width", "9", blob], in: work.url)
        #expect(table.stdout == "b\n---------\n00000000…\n(1 row)\n", "\(table.stdout.prefix(100))\(table.stderr)")

        let quotes = "SELECT replace(printf('%.*c', 1000000, 'x'), 'x', 'a\"') AS t"
        let quotedCSV = try DCProd.run(["sql", "--csv", quotes], in: work.url)
        #expect(quotedCSV.stdout == "t\n\"" + String(repeating: "a\"\"", count: 1_000_000) + "\"\n", "\(quotedCSV.stdout.prefix(100))")
        let quotedJSON = try DCProd.run(["sql", "--json", quotes], in: work.url)
        #expect(quotedJSON.stdout == "[\n  {\n    \"t\" : \"" + String(repeating: "a\\\"", count: 1_000_000) + "\"\n  }\n]\n",
                "\(quotedJSON.stdout.prefix(100))")
        let quotedTable = try DCProd.run(["sql", "--max-width", "5", quotes], in: work.url)
        #expect(quotedTable.stdout == "t\n-----\na\"a\"…\n(1 row)\n", "\(quotedTable.stdout.prefix(100))")
    }

    /// Without --write no file but the catalog is opened or written: ATTACH and VACUUM INTO are refused.
    @Test func noFileIsReadOrWrittenWithoutWrite() throws {
        let work = try production()
        let copy = work.url.appendingPathComponent("copy.sqlite").path
        let state = work.url.appendingPathComponent("state.sqlite").path
        for statement in ["VACUUM INTO '\(copy)'", "ATTACH '\(state)' AS s"] {
            let refused = try DCProd.run(["sql", statement], in: work.url)
            #expect(refused.status != 0 && refused.stderr.contains("refused: ATTACH and VACUUM INTO") && refused.stderr.contains("--write"),
                    "\(refused.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: copy))
        let written = try DCProd.run(["sql", "--write", "VACUUM INTO '\(copy)'"], in: work.url)
        #expect(written.status == 0 && FileManager.default.fileExists(atPath: copy), "\(written.stderr)")
    }

    /// A second statement, or a PRAGMA that writes, is refused in dcprod's words: neither GRDB's advice
    /// to its programmers nor SQLite's `disk I/O error`.
    @Test func twoStatementsOrAWritingPragmaAreRefusedInTheUsersWords() throws {
        let work = try production()
        let two = try DCProd.run(["sql", "SELECT 1; DELETE FROM Filter"], in: work.url)
        #expect(two.status == 1 && two.stderr == "dcprod: error: one statement at a time: the text holds more than one, and none was run\n",
                "\(two.stderr)")
        for pragma in ["PRAGMA journal_mode=DELETE", "PRAGMA user_version = 3"] {
            let refused = try DCProd.run(["sql", pragma], in: work.url)
            #expect(refused.status == 1 && refused.stderr == """
                dcprod: error: refused: this statement writes, and `dcprod sql` is read-only without --write; `dcprod sql --write` runs it

                """, "\(pragma): \(refused.stderr)")
        }
        let filters = try DCProd.run(["sql", "--csv", "SELECT COUNT(*) AS n FROM Filter"], in: work.url)
        #expect(filters.stdout == "n\n5\n", "\(filters.stdout)\(filters.stderr)")
        let mode = try DCProd.run(["sql", "--csv", "PRAGMA journal_mode"], in: work.url)
        #expect(mode.stdout == "journal_mode\nwal\n", "\(mode.stdout)\(mode.stderr)")
    }

    @Test func aWriteIsRefusedByTheEngine() throws {
        let work = try production()
        let refused = try DCProd.run(["sql", "DELETE FROM Source"], in: work.url)
        #expect(refused.status != 0 && refused.stderr.contains("read-only without --write"), "\(refused.stderr)")
        let written = try DCProd.run(["sql", "--write", "DELETE FROM Source"], in: work.url)
        #expect(written.status == 0 && written.stdout == "ok\n", "\(written.stdout)\(written.stderr)")
    }
}
