import Catalog
import Foundation
import Testing

/// The private MariaDB server of Tests/run, as its DIR/env describes it.
private enum MariaDBTestServer {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }
    static var defaultsFile: String? { environment["DCPROD_TEST_MARIADB_DEFAULTS"].flatMap { $0.isEmpty ? nil : $0 } }
    static var inCI: Bool { environment["CI"] == "true" }
}

/// MariaDBCatalog against the private MariaDB server of Tests/run (scripts/mariadb-test-server.sh):
/// DCPROD_TEST_MARIADB_DEFAULTS names its client option file (user, password, host, port). Without
/// it the tests are skipped, except under CI=true, where they fail saying the server did not start.
@Suite(.enabled(if: MariaDBTestServer.defaultsFile != nil || MariaDBTestServer.inCI,
                "no private MariaDB: DCPROD_TEST_MARIADB_DEFAULTS is not set (scripts/mariadb-test-server.sh start DIR; . DIR/env)"))
struct MariaDBCatalogTests {
    static var environment: [String: String] { MariaDBTestServer.environment }
    static var defaultsFile: String? { MariaDBTestServer.defaultsFile }

    static let schema = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("templates/schema/mysql.sql")

    static let header = "sourceId,run,camcol,field,filterId,ra,decl,raVar,declVar,x,y,psfFlux,psfFluxSigma,"
        + "apFlux,apFluxSigma,modelFlux,modelFluxSigma"

    /// The option file, or a failure naming the cause (only reached when it is missing under CI).
    static func requireDefaults() throws -> String {
        try #require(defaultsFile, "the private MariaDB of Tests/run did not start: DCPROD_TEST_MARIADB_DEFAULTS is not set")
    }

    /// `user@host:port` of the test server, as DIR/env gives it.
    static func serverTarget() throws -> String {
        let user = try #require(environment["DCPROD_TEST_MARIADB_USER"])
        let host = try #require(environment["DCPROD_TEST_MARIADB_HOST"])
        let port = try #require(environment["DCPROD_TEST_MARIADB_PORT"])
        return "\(user)@\(host):\(port)"
    }

    /// A fresh database `dcprod_test_<random>` holding the schema, and a directory for files;
    /// both removed afterwards.
    static func withScratch(schema installSchema: Bool = true,
                            _ body: (MariaDBCatalog, _ database: String, _ directory: URL) throws -> Void) throws {
        let defaults = try requireDefaults()
        let name = "dcprod_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        // A quote and a space in the directory: the path must be escaped in LOAD DATA.
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("dcprod-mariadb it's-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // Host, port and user all from the option file.
        let catalog = try MariaDBCatalog(host: "", port: 0, user: "", database: name, defaultsFile: defaults,
                                         readOnly: false, createDatabase: true)
        defer {
            do { try catalog.execute("DROP DATABASE IF EXISTS `\(name)`") } catch {
                Issue.record("cannot drop the test database \(name): \(error)")
            }
        }
        if installSchema { try catalog.run(script: String(contentsOf: schema, encoding: .utf8)) }
        try body(catalog, name, directory)
    }

    static func write(_ text: String, _ name: String, in directory: URL) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    static func sources(_ ids: ClosedRange<Int>) -> String {
        ids.map { id in
            "\(id),94,1,11,2,\(6.3 + Double(id) * 0.001),-0.1,1e-10,2e-10,10.5,20.5,1000.5,10.1,990,11,1010,12"
        }.joined(separator: "\n") + "\n"
    }

    static func numbers(_ result: QueryResult) -> [[Double?]] {
        result.rows.map { row in row.map { $0.flatMap { Double($0) } } }
    }

    static func count(_ catalog: MariaDBCatalog, _ table: String) throws -> Int {
        Int(try catalog.scalar("SELECT COUNT(*) FROM \(table)") ?? "") ?? -1
    }

    // MARK: - Tests

    @Test func connectsIntoItsOwnDatabaseAndRunsTheSchema() throws {
        try Self.withScratch { catalog, name, _ in
            #expect(catalog.dialect == .mysql)
            #expect(catalog.location == "\(try Self.serverTarget())/\(name)")
            #expect(try catalog.scalar("SELECT DATABASE()") == name)
            #expect(try catalog.scalar("SELECT @@character_set_client") == "utf8mb4")
            #expect(try catalog.scalar("SELECT version FROM dcprod_schema") == String(CatalogSchema.version))
            #expect(try catalog.query("SELECT filterName FROM Filter ORDER BY filterId").rows == [["u"], ["g"], ["r"], ["i"], ["z"]])
            // A statement without rows through query(): no columns, no rows.
            #expect(try catalog.query("SET @x = 1") == QueryResult(columns: [], rows: []))
            // NULL is nil, text keeps its bytes (multi-byte UTF-8 included).
            let result = try catalog.query("SELECT NULL AS n, 'Grüße ✓' AS t, 2.5e-3 AS d, X'00ff' AS b")
            #expect(result.columns == ["n", "t", "d", "b"])
            #expect(result.rows == [[nil, "Grüße ✓", "0.0025", "00ff"]])
        }
    }

    @Test func columnsOfSourceComeFromInformationSchemaInOrder() throws {
        try Self.withScratch { catalog, _, _ in
            let columns = try catalog.columns(of: "Source")
            #expect(columns.map(\.name) == Self.header.split(separator: ",").map(String.init)
                    + ["scienceCcdExposureId", "extendedness", "flagPixEdge", "flagPixSaturCen", "flagBlended", "flagBadCentroid", "flagBadPsfFlux"])
            #expect(columns.filter { !$0.isNumeric }.isEmpty)
            let ledger = try catalog.columns(of: "dcprod_load")
            #expect(ledger.map(\.name) == ["pathHash", "path", "size", "checksum", "tableName", "rowCount", "loadedAt", "firstKey", "lastKey"])
            #expect(ledger.map(\.isNumeric) == [false, false, true, false, false, true, false, true, true])
            #expect(ledger.map(\.isNullable) == [false, false, false, false, false, false, false, true, true])
            // A view has columns too; a missing table has none.
            #expect(try catalog.columns(of: "DeepSource").count == 24)
            #expect(try catalog.columns(of: "NoSuchTable").isEmpty)
            #expect(try catalog.columns(of: "x' OR '1'='1").isEmpty)
        }
    }

    @Test func bulkInsertLoadsACSVWithAnEmptyFieldAsNULL() throws {
        try Self.withScratch { catalog, _, directory in
            let text = Self.header + "\n"
                + "1,94,1,11,2,6.3,-0.1,,2e-10,10.5,20.5,1000.5,10.1,990,11,1010,12\n"
                + Self.sources(2...3)
            let path = try Self.write(text, "sources.csv", in: directory)
            let csv = try ValidatedCSV.read(path, tableColumns: try catalog.columns(of: "Source"))
            try catalog.begin()
            #expect(try catalog.bulkInsert(csv, into: "Source") == 3)
            try catalog.commit()
            let result = try catalog.query("SELECT sourceId, raVar, declVar, ra, filterId FROM Source ORDER BY sourceId")
            #expect(result.columns == ["sourceId", "raVar", "declVar", "ra", "filterId"])
            // Numbers as the server writes them (1e-10 as 0.0000000001): compared as numbers.
            #expect(Self.numbers(result) == [[1, nil, 2e-10, 6.3, 2], [2, 1e-10, 2e-10, 6.302, 2], [3, 1e-10, 2e-10, 6.303, 2]])
            #expect(try catalog.scalar("SELECT COUNT(*) FROM Source WHERE raVar IS NULL") == "1")

            // A file with no empty field is read straight into the columns (no NULLIF): the same values.
            let full = try Self.write(Self.header + "\n" + Self.sources(4...5), "full.csv", in: directory)
            try catalog.begin()
            #expect(try catalog.bulkInsert(try ValidatedCSV.read(full, tableColumns: try catalog.columns(of: "Source")), into: "Source") == 2)
            try catalog.commit()
            let straight = try catalog.query("SELECT sourceId, raVar, declVar, ra, filterId FROM Source WHERE sourceId >= 4 ORDER BY sourceId")
            #expect(Self.numbers(straight) == [[4, 1e-10, 2e-10, 6.3 + 4 * 0.001, 2], [5, 1e-10, 2e-10, 6.3 + 5 * 0.001, 2]])
        }
    }

    @Test func bulkInsertKeepsQuotedTextAsWritten() throws {
        try Self.withScratch { catalog, _, directory in
            // Quoted commas, doubled quotes and backslashes (no escape character, as in RFC 4180).
            let text = "pathHash,path,size,checksum,tableName,rowCount,loadedAt\n"
                + "a,\"/d/a,b \"\"q\"\" C:\\x\\n.csv\",10,c1,Source,3,2024-01-01\n"
                + "b,plain,0,c2,Source,0,2024-01-02\n"
            let path = try Self.write(text, "ledger.csv", in: directory)
            let csv = try ValidatedCSV.read(path, tableColumns: try catalog.columns(of: "dcprod_load"))
            try catalog.begin()
            #expect(try catalog.bulkInsert(csv, into: "dcprod_load") == 2)
            try catalog.commit()
            let rows = try catalog.query("SELECT pathHash, path, size, loadedAt FROM dcprod_load ORDER BY pathHash").rows
            #expect(rows == [["a", "/d/a,b \"q\" C:\\x\\n.csv", "10", "2024-01-01"], ["b", "plain", "0", "2024-01-02"]])
        }
    }

    @Test func rollbackUndoesALoad() throws {
        try Self.withScratch { catalog, _, directory in
            let columns = try catalog.columns(of: "Source")
            let first = try ValidatedCSV.read(try Self.write(Self.header + "\n" + Self.sources(1...2), "a.csv", in: directory),
                                              tableColumns: columns)
            let second = try ValidatedCSV.read(try Self.write(Self.header + "\n" + Self.sources(3...7), "b.csv", in: directory),
                                               tableColumns: columns)
            try catalog.begin()
            #expect(try catalog.bulkInsert(first, into: "Source") == 2)
            try catalog.commit()
            try catalog.begin()
            #expect(try catalog.bulkInsert(second, into: "Source") == 5)
            #expect(try Self.count(catalog, "Source") == 7)
            try catalog.rollback()
            #expect(try Self.count(catalog, "Source") == 2)
        }
    }

    @Test func warningsOfALoadAreErrors() throws {
        try Self.withScratch { catalog, _, directory in
            let columns = try catalog.columns(of: "Source")
            // "nan" is refused by the CSV check already.
            #expect(throws: CSVError.self) {
                try ValidatedCSV.read(try Self.write(Self.header + "\n1,94,1,11,2,6.3,-0.1,nan,1,1,1,1,1,1,1,1,1\n", "nan.csv", in: directory),
                                      tableColumns: columns)
            }
            // A number too large for the INT column `run` is refused by the CSV check, at its line.
            let range = try Self.write(Self.header + "\n1,99999999999,1,11,2,6.3,-0.1,1,1,1,1,1,1,1,1,1,1\n", "range.csv", in: directory)
            let refused = #expect(throws: CSVError.self) { try ValidatedCSV.read(range, tableColumns: columns) }
            #expect(refused?.line == 2 && refused?.message == "column 2 (run): '99999999999' is not an integer from -2147483648 to 2147483647")
            // A patch too long for its VARCHAR(16) passes the CSV check but not MariaDB: a warning, so
            // an error, about the row it names.
            let long = try ValidatedCSV.read(
                try Self.write("deepCoaddId,tract,patch,filterId\n1,0,\"1,1\",2\n2,0,\(String(repeating: "9", count: 20)),2\n", "long.csv", in: directory),
                tableColumns: try catalog.columns(of: "DeepCoadd"))
            try catalog.begin()
            let error = #expect(throws: CatalogError.self) { try catalog.bulkInsert(long, into: "DeepCoadd") }
            try catalog.rollback()
            #expect(error?.message == "Data truncated for column 'patch' at row 2" && error?.code == 1265 && error?.row == 1,
                    "\(error?.message ?? "")")
            #expect(try Self.count(catalog, "DeepCoadd") == 0)

            // A duplicate key: LOCAL skips the row with a warning; that too is an error.
            let one = try ValidatedCSV.read(try Self.write(Self.header + "\n" + Self.sources(1...1), "one.csv", in: directory),
                                            tableColumns: columns)
            try catalog.begin()
            _ = try catalog.bulkInsert(one, into: "Source")
            try catalog.commit()
            try catalog.begin()
            let duplicate = #expect(throws: CatalogError.self) { try catalog.bulkInsert(one, into: "Source") }
            try catalog.rollback()
            #expect(duplicate?.message.contains("Duplicate entry") == true && duplicate?.row == 0)
            #expect(try Self.count(catalog, "Source") == 1)
        }
    }

    @Test func aWrongPasswordIsOneClearLine() throws {
        let defaults = try Self.requireDefaults()
        let target = try Self.serverTarget()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dcprod-mariadb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let badPassword = "not-the-password-\(UUID().uuidString.prefix(8))"
        let original = try String(contentsOfFile: defaults, encoding: .utf8)
        let bad = original.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("password") ? "password=\(badPassword)" : String($0) }.joined(separator: "\n")
        let badFile = directory.appendingPathComponent("bad.cnf")
        try Data(bad.utf8).write(to: badFile)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: badFile.path)

        let env = Self.environment
        let explicit = (host: env["DCPROD_TEST_MARIADB_HOST"] ?? "", port: Int(env["DCPROD_TEST_MARIADB_PORT"] ?? "") ?? 0,
                        user: env["DCPROD_TEST_MARIADB_USER"] ?? "")
        // Explicit host, port, user; and all of them from the option file: the same line.
        for (host, port, user) in [explicit, ("", 0, "")] {
            let error = #expect(throws: CatalogError.self) {
                _ = try MariaDBCatalog(host: host, port: port, user: user, database: nil, defaultsFile: badFile.path,
                                       readOnly: false)
            }
            let message = error?.description ?? ""
            #expect(message.hasPrefix("cannot connect to \(target): Access denied for user"), "\(message)")
            #expect(!message.contains("\n"))
            #expect(!message.contains(badPassword))
        }

        // An unknown database and a server that is not there: also one line naming the target.
        let unknown = #expect(throws: CatalogError.self) {
            _ = try MariaDBCatalog(host: "", port: 0, user: "", database: "dcprod_test_no_such_database",
                                   defaultsFile: defaults, readOnly: false)
        }
        #expect(unknown?.description.hasPrefix("cannot connect to \(target): ") == true, "\(unknown?.description ?? "")")
        #expect(unknown?.description.contains("dcprod_test_no_such_database") == true)
        let user = env["DCPROD_TEST_MARIADB_USER"] ?? ""
        let closed = #expect(throws: CatalogError.self) {
            _ = try MariaDBCatalog(host: "127.0.0.1", port: 1, user: user, database: nil, defaultsFile: defaults,
                                   readOnly: false)
        }
        #expect(closed?.description.hasPrefix("cannot connect to \(user)@127.0.0.1:1: ") == true, "\(closed?.description ?? "")")
        #expect(closed?.description.contains("\n") == false)
        // An option file that is not there.
        #expect(throws: CatalogError.self) {
            _ = try MariaDBCatalog(host: "", port: 0, user: "", database: nil,
                                   defaultsFile: directory.appendingPathComponent("missing.cnf").path, readOnly: false)
        }
    }

    @Test func readOnlyRefusesWritesWithMariaDBsMessage() throws {
        let defaults = try Self.requireDefaults()
        try Self.withScratch { _, name, _ in
            let reader = try MariaDBCatalog(host: "", port: 0, user: "", database: name, defaultsFile: defaults, readOnly: true)
            #expect(try reader.scalar("SELECT COUNT(*) FROM Filter") == "5")
            let error = #expect(throws: CatalogError.self) {
                try reader.execute("INSERT INTO Filter (filterId, filterName) VALUES (9, 'y')")
            }
            #expect(error?.message.contains("READ ONLY") == true, "\(error?.message ?? "")")
            #expect(try reader.scalar("SELECT COUNT(*) FROM Filter") == "5")
        }
    }

    @Test func aSyntaxErrorShowsMariaDBsMessage() throws {
        try Self.withScratch(schema: false) { catalog, _, _ in
            let error = #expect(throws: CatalogError.self) { try catalog.execute("SELEC 1") }
            #expect(error?.message.contains("You have an error in your SQL syntax") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("'SELEC 1'") == true)
            let missing = #expect(throws: CatalogError.self) { _ = try catalog.query("SELECT * FROM NoSuchTable") }
            #expect(missing?.message.contains("doesn't exist") == true, "\(missing?.message ?? "")")
            // The connection is still usable.
            let sum = try catalog.scalar("SELECT 1 + 1")
            #expect(sum == "2")
        }
    }

    @Test func theSeedQueryRuns() throws {
        try Self.withScratch { catalog, _, _ in
            try catalog.execute("""
                INSERT INTO RunDeepSource (deepSourceId, deepCoaddId, tract, patch, filterId, ra, decl, raVar, declVar, \
                psfFlux, psfFluxSigma, modelFlux, modelFluxSigma, isPrimary) VALUES \
                (1, 74, 0, '1,1', 2, 6.3, -0.1, 1e-10, 2e-10, 100, 1, 110, 1.5, 1), \
                (2, 74, 0, '1,1', 2, 6.6, -0.1, 1e-10, 2e-10, 100, 1, 110, 1.5, 1), \
                (3, 73, 0, '1,1', 1, 6.4, 0.002, NULL, NULL, 50, 2, NULL, NULL, 1)
                """)
            let result = try catalog.query("""
                SELECT ra, decl, ravar, declvar, psfFlux, psfFluxSigma, modelFlux, modelFluxSigma, filterId \
                FROM DeepSource WHERE ra > 6.27664 AND ra < 6.50324 AND decl > -0.21301 AND decl < 0.00335 LIMIT 100000
                """)
            // MariaDB names a plain column as the table does (raVar), whatever the case in the query.
            #expect(result.columns.map { $0.lowercased() } == ["ra", "decl", "ravar", "declvar", "psfflux", "psffluxsigma",
                                                              "modelflux", "modelfluxsigma", "filterid"])
            #expect(Self.numbers(result).sorted { ($0[0] ?? 0) < ($1[0] ?? 0) } == [
                [6.3, -0.1, 1e-10, 2e-10, 100, 1, 110, 1.5, 2],
                [6.4, 0.002, nil, nil, 50, 2, nil, nil, 1],
            ])
        }
    }
}
