import Foundation
import Testing
@testable import Catalog

/// The repository's templates/, from this file.
let repositoryTemplates = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("templates")

/// A catalog engine to run the shared suite on, made fresh for each test.
enum Engine: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case mariadb

    var testDescription: String { rawValue }

    /// The private MariaDB of Tests/run, if it started.
    static var mariadbDefaults: String? { ProcessInfo.processInfo.environment["DCPROD_TEST_MARIADB_DEFAULTS"] }
    static var inCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// The engines to run: SQLite always; MariaDB when Tests/run started it, and always under CI,
    /// where a server that did not start makes the MariaDB cases fail rather than vanish.
    static var available: [Engine] { mariadbDefaults != nil || inCI ? [.sqlite, .mariadb] : [.sqlite] }
}

/// A fresh, empty catalog of one engine, removed when released.
final class ScratchCatalog {
    let catalog: CatalogDatabase
    let directory: URL
    private let database: String?

    private let engine: Engine

    init(_ engine: Engine) throws {
        self.engine = engine
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dcprod-catalog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        database = engine == .mariadb ? "dcprod_test_\(UUID().uuidString.prefix(8).lowercased())" : nil
        catalog = try Self.open(engine, directory: directory, database: database, readOnly: false)
    }

    /// Another connection to the same catalog; read-only as `dcprod sql` opens it. On MariaDB,
    /// `asFileUser` connects as the test server's second user, who has the FILE privilege.
    func connection(readOnly: Bool, asFileUser: Bool = false) throws -> CatalogDatabase {
        try Self.open(engine, directory: directory, database: database, readOnly: readOnly, asFileUser: asFileUser)
    }

    private static func open(_ engine: Engine, directory: URL, database: String?, readOnly: Bool,
                             asFileUser: Bool = false) throws -> CatalogDatabase {
        switch engine {
        case .sqlite:
            return try SQLiteCatalog(path: directory.appendingPathComponent("catalog.sqlite").path, readOnly: readOnly)
        case .mariadb:
            let env = ProcessInfo.processInfo.environment
            let variable = asFileUser ? "DCPROD_TEST_MARIADB_FILE_DEFAULTS" : "DCPROD_TEST_MARIADB_DEFAULTS"
            guard let defaults = env[variable] else {
                throw CatalogError("the private MariaDB of Tests/run did not start (\(variable) is not set)")
            }
            let user = env[asFileUser ? "DCPROD_TEST_MARIADB_FILE_USER" : "DCPROD_TEST_MARIADB_USER"] ?? ""
            return try MariaDBCatalog(host: env["DCPROD_TEST_MARIADB_HOST"] ?? "127.0.0.1",
                                      port: Int(env["DCPROD_TEST_MARIADB_PORT"] ?? "") ?? 3306,
                                      user: user, database: database ?? "",
                                      defaultsFile: defaults, readOnly: readOnly, createDatabase: !readOnly)
        }
    }

    deinit {
        if let database {
            for suffix in ["", "_u", "_g", "_r", "_i", "_z"] { try? catalog.execute("DROP DATABASE IF EXISTS `\(database)\(suffix)`") }
        }
        try? FileManager.default.removeItem(at: directory)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }
}

let sourceHeader = "sourceId,run,camcol,field,filterId,ra,decl,raVar,declVar,x,y,psfFlux,psfFluxSigma,apFlux,apFluxSigma,modelFlux,modelFluxSigma"

func sourceRows(_ first: Int, _ count: Int, filterId: Int = 2) -> String {
    (first..<(first + count)).map { id in
        let ra = 6.3 + Double(id % 100) * 0.001, decl = -0.1 + Double(id % 50) * 0.001
        return "\(id),94,1,11,\(filterId),\(ra),\(decl),1e-10,1e-10,10.5,20.5,1000.5,10.1,990.0,11.0,1010.0,12.0"
    }.joined(separator: "\n") + "\n"
}

@Suite(.serialized) struct SharedCatalog {
    @Test(arguments: Engine.available)
    func theSchemaIsCreatedOnceAndHoldsTheDC2013Names(_ engine: Engine) throws {
        let scratch = try ScratchCatalog(engine)
        let catalog = scratch.catalog
        #expect(try CatalogSchema.installedVersion(catalog) == nil)
        #expect(try CatalogSchema.initialize(catalog, templates: repositoryTemplates))
        #expect(try !CatalogSchema.initialize(catalog, templates: repositoryTemplates))
        #expect(try CatalogSchema.installedVersion(catalog) == CatalogSchema.version)
        #expect(try catalog.scalar("SELECT COUNT(*) FROM Filter") == "5")
        #expect(try catalog.scalar("SELECT filterName FROM Filter WHERE filterId = 4") == "z")
        let deepCoadd = try catalog.columns(of: "DeepCoadd").map(\.name)
        for name in ["tract", "patch", "filterId", "corner1Ra", "corner1Decl", "corner2Decl", "corner3Ra", "corner4Decl"] {
            #expect(deepCoadd.contains(name), "DeepCoadd.\(name)")
        }
        let deepSource = try catalog.columns(of: "DeepSource").map { $0.name.lowercased() }
        for name in ["ra", "decl", "ravar", "declvar", "psfflux", "psffluxsigma", "modelflux", "modelfluxsigma", "filterid"] {
            #expect(deepSource.contains(name), "DeepSource.\(name)")
        }
        #expect(try !catalog.columns(of: "DeepForcedSource").isEmpty)
    }

    @Test(arguments: Engine.available)
    func theSeedQueriesRunAsWritten(_ engine: Engine) throws {
        let scratch = try ScratchCatalog(engine)
        try CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates)
        let seed = [
            "SELECT tract, patch FROM DeepCoadd WHERE ra > 6.0 and ra < 7.0 and decl > -0.2 and decl < 0.0",
            "SELECT corner1Ra, corner1Decl, corner3Ra, corner2Decl FROM DeepCoadd WHERE tract = 0 AND patch = '380,5'",
            "SELECT ra, decl, ravar, declvar, psfFlux, psfFluxSigma, modelFlux, modelFluxSigma, filterId FROM DeepSource WHERE ra > 6.27664 AND ra < 6.50324 AND decl > -0.21301 AND decl < 0.00335 LIMIT 100000",
        ]
        for query in seed {
            #expect(try scratch.catalog.query(query).rows.isEmpty, "\(query)")
        }
        let columns = try scratch.catalog.query(seed[2]).columns.map { $0.lowercased() }
        #expect(columns == ["ra", "decl", "ravar", "declvar", "psfflux", "psffluxsigma", "modelflux", "modelfluxsigma", "filterid"])
    }

    @Test(arguments: Engine.available)
    func eachFileIsLoadedExactlyOnce(_ engine: Engine) throws {
        let scratch = try ScratchCatalog(engine)
        try CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates)
        let files = [
            try scratch.write("src-000094-r1-0011.csv", sourceHeader + "\n" + sourceRows(1, 120)),
            try scratch.write("src-000094-r1-0012.csv", sourceHeader + "\n" + sourceRows(1000, 80)),
            try scratch.write("ccd-000094-r1-0011.csv", """
                run,camcol,field,filterId,ra,decl,corner1Ra,corner1Decl,corner2Ra,corner2Decl,corner3Ra,corner3Decl,corner4Ra,corner4Decl,zeroPoint,fwhm,nSources,nMatches,astromRms
                94,1,11,2,6.3,-0.1,6.2,-0.2,6.4,-0.2,6.4,0.0,6.2,0.0,27.4,1.4,120,100,0.15

                """),
        ]
        let loader = try CatalogLoader(catalog: scratch.catalog, templates: repositoryTemplates)
        let first = try loader.load(files)
        #expect(first.loaded == 3 && first.skipped == 0 && first.rejected.isEmpty, "\(first.rejected)")
        #expect(first.rows == ["Source": 200, "Science_Ccd_Exposure": 1])
        let again = try loader.load(files)
        #expect(again.loaded == 0 && again.skipped == 3)
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM Source") == "200")
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM dcprod_load") == "3")
        #expect(try scratch.catalog.scalar("SELECT SUM(rowCount) FROM dcprod_load") == "201")
        // An empty field is NULL, not 0.
        let withNull = try scratch.write("src-000094-r1-0013.csv", sourceHeader + "\n5000,94,1,13,2,6.4,-0.1,,,1,1,5,1,5,1,5,1\n")
        #expect(try loader.load([withNull]).loaded == 1)
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM Source WHERE raVar IS NULL") == "1")
        // The DeepSource-style query on processCcd's sources.
        let answer = try scratch.catalog.query("SELECT ra, decl, ravar, declvar, psfFlux, psfFluxSigma, modelFlux, modelFluxSigma, filterId FROM Source WHERE ra > 6.27664 AND ra < 6.50324 AND decl > -0.21301 AND decl < 0.00335 LIMIT 100000")
        #expect(answer.rows.count == 201)
    }

    @Test(arguments: Engine.available)
    func malformedFilesAreRefusedWithFileAndLineAndLoadNothing(_ engine: Engine) throws {
        let scratch = try ScratchCatalog(engine)
        try CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates)
        let good = try scratch.write("src-000094-g1-0011.csv", sourceHeader + "\n" + sourceRows(1, 10, filterId: 1))
        let bad: [(name: String, text: String, line: Int, words: String)] = [
            ("src-bad-columns.csv", sourceHeader + "\n" + sourceRows(100, 2) + "102,94,1,11,2,6.3\n", 4, "6 fields where the header has 17"),
            ("src-bad-number.csv", sourceHeader + "\n" + sourceRows(200, 1) + sourceRows(201, 1).replacingOccurrences(of: ",94,", with: ",ninety-four,"), 3, "'ninety-four' is not a finite decimal number"),
            // Numbers that Double would take but no numeric column should: NaN, infinity, hexadecimal, overlong.
            ("src-bad-nan.csv", sourceHeader + "\n" + sourceRows(210, 1).replacingOccurrences(of: ",94,", with: ",nan,"), 2, "'nan' is not a finite decimal number"),
            ("src-bad-inf.csv", sourceHeader + "\n" + sourceRows(220, 1).replacingOccurrences(of: ",94,", with: ",-inf,"), 2, "'-inf' is not a finite decimal number"),
            ("src-bad-hex.csv", sourceHeader + "\n" + sourceRows(230, 1).replacingOccurrences(of: ",94,", with: ",0x1p3,"), 2, "'0x1p3' is not a finite decimal number"),
            ("src-bad-huge.csv", sourceHeader + "\n" + sourceRows(240, 1).replacingOccurrences(of: ",94,", with: ",1e400,"), 2, "'1e400' is not a finite decimal number"),
            ("src-bad-long.csv", sourceHeader + "\n" + sourceRows(250, 1).replacingOccurrences(of: ",94,", with: "," + String(repeating: "9", count: 100_000) + ","), 2, "is not a finite decimal number"),
            ("src-bad-quote.csv", sourceHeader + "\n" + sourceRows(300, 1) + "301,94,1,\"11,2,6.3,0,0,0,0,0,0,0,0,0,0,0\n", 3, "never closed"),
            ("src-bad-stray-quote.csv", sourceHeader + "\n30\"1,94,1,11,2,6.3,0,0,0,0,0,0,0,0,0,0,0\n", 2, "quote inside an unquoted field"),
            ("src-truncated.csv", sourceHeader + "\n" + sourceRows(400, 3) + "403,94,1,1", 5, "truncated"),
            ("src-truncated-crlf.csv", sourceHeader + "\r\n410,94\r\n411,9", 3, "truncated"),
            // A misplaced quote anywhere is what is reported, before a short row above it.
            ("src-bad-late-quote.csv", sourceHeader + "\n420,94\n" + sourceRows(421, 1) + "4\"22,94,1,11,2,6.3,0,0,0,0,0,0,0,0,0,0,0\n", 4, "quote inside an unquoted field"),
            ("src-bad-header.csv", "sourceId,run,colour\n1,2,3\n", 1, "column 3: 'colour' is not a column of Source"),
        ]
        let loader = try CatalogLoader(catalog: scratch.catalog, templates: repositoryTemplates)
        let summary = try loader.load([good] + (try bad.map { try scratch.write($0.name, $0.text) }))
        #expect(summary.loaded == 1)
        #expect(summary.rejected.count == bad.count)
        for case let (rejection, expected) in zip(summary.rejected, bad) {
            #expect(rejection.path.hasSuffix(expected.name))
            #expect(rejection.line == expected.line, "\(expected.name): \(rejection)")
            #expect(rejection.message.contains(expected.words), "\(expected.name): \(rejection.message)")
        }
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM Source") == "10")
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM dcprod_load") == "1")
    }

    @Test(arguments: Engine.available)
    func aFileThatFailsInTheEngineIsRolledBackWhole(_ engine: Engine) throws {
        let scratch = try ScratchCatalog(engine)
        try CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates)
        let loader = try CatalogLoader(catalog: scratch.catalog, templates: repositoryTemplates)
        let first = try scratch.write("src-000094-i1-0011.csv", sourceHeader + "\n" + sourceRows(1, 50, filterId: 3))
        // Rows 40..89: ids 40-50 collide with the first file's, at the end of the file's first part.
        let clash = try scratch.write("src-000094-i1-0012.csv", sourceHeader + "\n" + sourceRows(60, 30, filterId: 3) + sourceRows(40, 5, filterId: 3))
        // A file after it: in SQLite the three share a transaction, the clash rolled back to its savepoint.
        let after = try scratch.write("src-000094-i1-0013.csv", sourceHeader + "\n" + sourceRows(200, 7, filterId: 3))
        let summary = try loader.load([first, clash, after])
        #expect(summary.loaded == 2 && summary.rejected.map(\.path) == [clash])
        #expect(summary.loadedPaths == [first, after])
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM Source") == "57")
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM dcprod_load") == "2")
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM Source WHERE sourceId BETWEEN 60 AND 89") == "0")
    }
}

extension SharedCatalog {
    @Test(arguments: Engine.available)
    func deferredIndexesAreRebuiltEvenAfterAnInterruptedLoad(_ engine: Engine) throws {
        let scratch = try ScratchCatalog(engine)
        try CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates)
        let loader = try CatalogLoader(catalog: scratch.catalog, templates: repositoryTemplates)
        let before = try loader.baseTables.flatMap { try scratch.catalog.secondaryIndexes(of: $0) }.map(\.name).sorted()
        #expect(before.contains("Source_radec") && before.contains("RunDeepSource_radec"))
        #expect(try loader.deferIndexes() == before.count)
        #expect(try loader.baseTables.flatMap { try scratch.catalog.secondaryIndexes(of: $0) }.isEmpty)
        // The load that dropped them dies here; its files still load, and the next load rebuilds them.
        let file = try scratch.write("src-000094-z1-0011.csv", sourceHeader + "\n" + sourceRows(1, 30, filterId: 4))
        #expect(try loader.load([file]).loaded == 1)
        let next = try CatalogLoader(catalog: scratch.catalog, templates: repositoryTemplates)
        #expect(try next.rebuildDeferredIndexes() == before.count)
        let after = try loader.baseTables.flatMap { try scratch.catalog.secondaryIndexes(of: $0) }.map(\.name).sorted()
        #expect(after == before)
        #expect(try next.rebuildDeferredIndexes() == 0)
        // Views keep theirs: DeepSource is a view and has none to drop.
        #expect(try scratch.catalog.secondaryIndexes(of: "DeepSource").isEmpty)
    }
}

extension SharedCatalog {
    /// DBSPLIT filter: each filter's sources in a store of their own, one view over their union.
    @Test(arguments: Engine.available)
    func aSplitCatalogKeepsEachFilterApartBehindOneView(_ engine: Engine) throws {
        let scratch = try ScratchCatalog(engine)
        let splits = ["g", "r"]
        #expect(try CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates, splits: splits))
        let loader = try CatalogLoader(catalog: scratch.catalog, templates: repositoryTemplates, splits: splits)
        let g = try scratch.write("src-000094-g1-0011.csv", sourceHeader + "\n" + sourceRows(1, 40, filterId: 1))
        let r = try scratch.write("src-000094-r1-0011.csv", sourceHeader + "\n" + sourceRows(1000, 60, filterId: 2))
        let u = try scratch.write("src-000094-u1-0011.csv", sourceHeader + "\n" + sourceRows(5000, 5, filterId: 0))
        let summary = try loader.load([g, r, u])
        #expect(summary.loaded == 2 && summary.rows == ["Source": 100], "\(summary)")
        #expect(summary.rejected.map(\.message) == ["filter u is not one of this catalog's FILTERS"])
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM \(scratch.catalog.qualified("Source", split: "g"))") == "40")
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM \(scratch.catalog.qualified("Source", split: "r"))") == "60")
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM Source") == "100")
        #expect(try scratch.catalog.query("SELECT ra, decl, ravar, declvar, psfFlux, psfFluxSigma, modelFlux, modelFluxSigma, filterId FROM DeepSource WHERE ra > 6.27664 AND ra < 6.50324 AND decl > -0.21301 AND decl < 0.00335 LIMIT 100000").rows.isEmpty)
        #expect(try loader.load([g, r]).skipped == 2)
        // Indexes live in the stores; deferring and rebuilding reaches them there.
        let before = try scratch.catalog.secondaryIndexes(of: "Source", split: "r").map(\.name)
        #expect(before.contains("Source_radec"))
        #expect(try loader.deferIndexes() > 0)
        #expect(try scratch.catalog.secondaryIndexes(of: "Source", split: "r").isEmpty)
        #expect(try loader.rebuildDeferredIndexes() > 0)
        #expect(try scratch.catalog.secondaryIndexes(of: "Source", split: "r").map(\.name) == before)
        if engine == .sqlite {
            // A new connection joins the stores again (attached files, TEMP views).
            let again = try SQLiteCatalog(path: scratch.directory.appendingPathComponent("catalog.sqlite").path, readOnly: true)
            try CatalogSchema.join(again, templates: repositoryTemplates, splits: splits)
            #expect(try again.scalar("SELECT COUNT(*) FROM DeepSource") == "0")
            #expect(try again.scalar("SELECT COUNT(*) FROM Source") == "100")
        }
    }
}

/// `dcprod sql` without --write: the engine itself says what writes, on its read-only connection;
/// no text scan decides, so a `;` inside a string, a quoted name or a comment separates nothing.
@Suite struct ReadOnlyStatements {
    @Test(arguments: Engine.available)
    func readingStatementsRunAndTheEngineRefusesWrites(_ engine: Engine) throws {
        let scratch = try ScratchCatalog(engine)
        try CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates)
        let reader = try scratch.connection(readOnly: true)
        let backtick = engine == .mariadb ? "`c;d`" : "\"c;d\""
        for sql in ["SELECT 1", "  select * from Source", "WITH a AS (SELECT 1 AS x) SELECT * FROM a", "-- why\nSELECT 1",
                    "/* c */ SELECT 1", "SELECT 'a;b'", "SELECT 'it''s; fine'", "SELECT 2 AS \(backtick)", "SELECT 1 -- ; DELETE\n",
                    "SELECT /* ; */ 1"] {
            #expect(throws: Never.self, "\(sql)") { try reader.query(sql) }
        }
        for sql in ["DELETE FROM Source", "INSERT INTO Filter VALUES (5, 'y')", "UPDATE Source SET ra = 0", "CREATE TABLE t (a INT)",
                    "DROP TABLE Source"] {
            #expect("\(sql)", performing: { try reader.query(sql) }, throws: { ($0 as? CatalogError)?.kind == .readOnly })
        }
        // A second statement is never run: an error, and Source keeps its table.
        #expect(performing: { try reader.query("SELECT 1; DROP TABLE Source") },
                throws: { engine != .sqlite || "\($0)".contains("one statement at a time") })
        #expect(try scratch.catalog.query("SELECT COUNT(*) FROM Source").rows == [["0"]])
    }
}

/// How a CSV file is read, without a catalog.
@Suite struct CSVReading {
    @Test func whatANumericColumnTakes() {
        for good in ["0", "-1", "+2", "3.", ".5", "-0.25", "1e10", "6.02E+23", "1.5e-300", "000123"] {
            #expect(isDecimal(good), "\(good)")
        }
        for bad in ["", "-", ".", "e5", "1e", "1e+", "nan", "NaN", "inf", "-Infinity", "0x1p3", "1,5", " 1", "1 ", "1e400", "--1",
                    String(repeating: "1", count: 41)] {
            #expect(!isDecimal(bad), "\(bad)")
        }
    }

    @Test func aFileIsReadAsItsValuesWithoutQuotes() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dcprod-csv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let columns = [CatalogColumn(name: "id", isNumeric: true), CatalogColumn(name: "path", isNumeric: false)]
        let file = directory.appendingPathComponent("a.csv")
        // A byte-order mark, CRLF, a blank line, quotes with a comma, a doubled quote and a newline.
        let text = "\u{FEFF}ID,path\r\n1,\"a,\"\"b\"\"\nc\"\r\n\r\n2,plain\n3,\"\"\n,é\n"
        try Data(text.utf8).write(to: file)
        let csv = try ValidatedCSV.read(file.path, tableColumns: columns)
        #expect(csv.columns == ["ID", "path"])
        #expect(csv.rowCount == 4)
        let values = (0..<csv.rowCount).map { row in (0..<2).map { csv.value(row: row, column: $0) } }
        // `""` is an empty field like any other: NULL.
        #expect(values == [["1", "a,\"b\"\nc"], ["2", "plain"], ["3", nil], [nil, "é"]])
        #expect(csv.hasEmptyField && csv.size == text.utf8.count)

        try Data("id,path\n1,x\n2,\"y\"\n".utf8).write(to: file)
        #expect(try !ValidatedCSV.read(file.path, tableColumns: columns).hasEmptyField)
    }

    private func isDecimal(_ value: String) -> Bool {
        var value = value
        return value.withUTF8 { ValidatedCSV.isDecimal($0) }
    }
}

/// Catalog errors carry what failed, so that the loader rejects a file only for the file's fault
/// and stops (leaving it pending) when the server fails.
@Suite struct CatalogErrorKinds {
    @Test func mariaDBErrorNumbersSayWhatFailed() {
        for code in [2002, 2003, 2006, 2013] { #expect(MariaDBCatalog.kind(ofError: code) == .connection, "\(code)") }
        for code in [1205, 1213] { #expect(MariaDBCatalog.kind(ofError: code) == .lock, "\(code)") }
        #expect(MariaDBCatalog.kind(ofError: 1792) == .readOnly)
        #expect(MariaDBCatalog.kind(ofError: 1146) == .schema && MariaDBCatalog.kind(ofError: 1054) == .schema)
        #expect(MariaDBCatalog.kind(ofError: 1064) == .statement && MariaDBCatalog.kind(ofError: 1062) == .duplicateKey)
        #expect(CatalogError("x", kind: .lock).isTransient && CatalogError("x", kind: .connection).isTransient)
        #expect(!CatalogError("x", kind: .statement).isTransient && !CatalogError("x", kind: .schema).isTransient)
    }

    @Test(arguments: Engine.available)
    func anEngineSaysWhatFailed(_ engine: Engine) throws {
        let scratch = try ScratchCatalog(engine)
        #expect(performing: { try scratch.catalog.query("SELECT * FROM NoSuchTable") },
                throws: { ($0 as? CatalogError)?.kind == .schema && ($0 as? CatalogError)?.code != nil })
        #expect(performing: { try scratch.catalog.query("SELEC 1") }, throws: { ($0 as? CatalogError)?.kind == .statement })
    }

    /// A row lock another connection holds is the server's problem, not the file's: the loader
    /// tries again after 1, 2 and 4 s, then stops with the file pending, never rejected; once the
    /// lock is gone the file loads.
    @Test(.enabled(if: Engine.available.contains(.mariadb), "no private MariaDB (Tests/run starts one)"))
    func aLockIsNotTheFilesFaultTheFileStaysPending() throws {
        let scratch = try ScratchCatalog(.mariadb)
        try CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates)
        let file = try scratch.write("src-000094-r1-0011.csv", sourceHeader + "\n" + sourceRows(1, 20))
        let holder = try scratch.connection(readOnly: false)
        try holder.begin()
        try holder.execute("INSERT INTO Source (sourceId, run, camcol, field, filterId, ra, decl) VALUES (5, 94, 1, 11, 2, 6.3, -0.1)")
        try scratch.catalog.execute("SET SESSION innodb_lock_wait_timeout = 1")
        let loader = try CatalogLoader(catalog: scratch.catalog, templates: repositoryTemplates)
        let started = Date()
        #expect(performing: { try loader.load([file]) }, throws: { error in
            guard let error = (error as? CatalogLoader.PartialLoad)?.error as? CatalogError else { return false }
            return error.kind == .lock && error.message.contains(scratch.catalog.location) && error.message.contains("\(file) is left pending")
        })
        #expect(Date().timeIntervalSince(started) > 7, "tried again after 1, 2 and 4 s")
        try holder.rollback()
        let summary = try loader.load([file])
        #expect(summary.loaded == 1 && summary.rejected.isEmpty && summary.rows["Source"] == 20)
    }

    /// A connection the server dropped (here killed) is made again at the next call, and never by
    /// sending a statement twice: the call that found it lost fails (`connection`), the next one
    /// works; a read that failed before its first row is read again at once.
    @Test(.enabled(if: Engine.available.contains(.mariadb), "no private MariaDB (Tests/run starts one)"))
    func aLostConnectionIsMadeAgain() throws {
        let scratch = try ScratchCatalog(.mariadb)
        try CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates)
        let killer = try scratch.connection(readOnly: false)
        func kill() throws { try killer.execute("KILL CONNECTION \(try scratch.catalog.query("SELECT CONNECTION_ID()").rows[0][0]!)") }

        try kill()
        let file = try scratch.write("src-000094-r1-0011.csv", sourceHeader + "\n" + sourceRows(1, 20))
        let summary = try CatalogLoader(catalog: scratch.catalog, templates: repositoryTemplates).load([file])
        #expect(summary.loaded == 1 && summary.rejected.isEmpty, "the ledger read again, then the file loaded")

        try scratch.catalog.begin()
        try kill()
        #expect(performing: { try scratch.catalog.execute("DELETE FROM Source") },
                throws: { ($0 as? CatalogError)?.kind == .connection })
        try scratch.catalog.begin()
        try scratch.catalog.rollback()
        #expect(try scratch.catalog.query("SELECT COUNT(*) FROM Source").rows == [["20"]], "the lost transaction did nothing")
    }

    /// A value longer than the catalog holds is an error, not its bytes in memory.
    @Test func anSQLiteValueIsBounded() throws {
        let scratch = try ScratchCatalog(.sqlite)
        #expect(throws: CatalogError.self) { try scratch.catalog.query("SELECT zeroblob(1000000000)") }
        #expect(try scratch.catalog.query("SELECT length(zeroblob(1000))").rows == [["1000"]])
        // A CSV value over the bound refuses its file; it is not loaded as NULL.
        try CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates)
        let loader = try CatalogLoader(catalog: scratch.catalog, templates: repositoryTemplates)
        let huge = String(repeating: "x", count: SQLiteCatalog.maximumValueLength + 1)
        let file = try scratch.write("coadd-0-380,5-r.csv", "deepCoaddId,tract,patch,filterId,path\n1,0,\"380,5\",2,\(huge)\n")
        let summary = try loader.load([file])
        #expect(summary.loaded == 0 && summary.rejected.count == 1 && summary.rejected.first?.message == "DeepCoadd refused the row: string or blob too big",
                "\(summary.rejected.map { String($0.message.prefix(200)) })")
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM DeepCoadd") == "0")
    }
}

/// The ledger's values are bound, not written into its SQL: a path with quotes and backslashes is
/// recorded as it is, and the file is skipped the next time.
@Suite struct BoundValues {
    @Test(arguments: Engine.available)
    func aPathWithQuotesAndBackslashesIsRecordedAsItIs(_ engine: Engine) throws {
        let scratch = try ScratchCatalog(engine)
        try CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates)
        let directory = scratch.directory.appendingPathComponent("it's a \\ \"dir\"")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("src-000094-r1-0011.csv").path
        try Data((sourceHeader + "\n" + sourceRows(1, 5)).utf8).write(to: URL(fileURLWithPath: file))
        let loader = try CatalogLoader(catalog: scratch.catalog, templates: repositoryTemplates)
        #expect(try loader.load([file]).loaded == 1)
        #expect(try scratch.catalog.query("SELECT path FROM dcprod_load").rows == [[file]])
        #expect(try loader.load([file]).skipped == 1)
    }
}
