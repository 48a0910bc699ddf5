import Foundation
import Testing
@testable import Catalog

/// A copy of the repository's templates/ (in `directory`, as `name`) whose schema files, of both
/// dialects, are what `edit` makes of them.
func templatesWithEditedSchemas(in directory: URL, named name: String, _ edit: (String) throws -> String) throws -> URL {
    let copy = directory.appendingPathComponent(name)
    try FileManager.default.copyItem(at: repositoryTemplates, to: copy)
    for dialect in ["sqlite", "mysql"] {
        let file = copy.appendingPathComponent("schema/\(dialect).sql")
        try Data(try edit(try String(contentsOf: file, encoding: .utf8)).utf8).write(to: file)
    }
    return copy
}

/// A copy of the repository's templates/ whose schema files fail half-way: after the big tables and
/// the views, before the ledger and the version row.
func templatesFailingHalfWay(in directory: URL) throws -> URL {
    try templatesWithEditedSchemas(in: directory, named: "templates-failing") {
        $0.replacingOccurrences(of: "-- dcprod: bookkeeping\n", with: "INSERT INTO NoSuchTable VALUES (1);\n-- dcprod: bookkeeping\n")
    }
}

extension SharedCatalog {
    /// `load --init` is all or nothing on SQLite (one transaction), and completed by the next one on
    /// MariaDB (whose DDL commits statement by statement): never a half schema that loads.
    @Test(arguments: Engine.available)
    func aSchemaThatFailsHalfWayIsNoneOrCompletedByTheNextInit(_ engine: Engine) throws {
        let scratch = try ScratchCatalog(engine)
        let failing = try templatesFailingHalfWay(in: scratch.directory)
        #expect(throws: CatalogError.self) { try CatalogSchema.initialize(scratch.catalog, templates: failing) }
        #expect(try CatalogSchema.installedVersion(scratch.catalog) == nil)
        #expect(performing: { try CatalogSchema.require(scratch.catalog) },
                throws: { "\($0)".contains("no catalog schema; run `dcprod load --init`") })
        if engine == .sqlite {
            #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM sqlite_master") == "0", "a half schema was left")
        } else {
            #expect(!(try scratch.catalog.columns(of: "Source")).isEmpty, "MariaDB keeps what its DDL committed")
        }
        // The next init makes (or completes) the whole schema, once.
        #expect(try CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates))
        #expect(try CatalogSchema.installedVersion(scratch.catalog) == CatalogSchema.version)
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM Filter") == "5")
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM dcprod_schema") == "1")
        #expect(try scratch.catalog.columns(of: "DeepSource").count == 24)
        let loader = try CatalogLoader(catalog: scratch.catalog, templates: repositoryTemplates)
        let file = try scratch.write("src-000094-r1-0011.csv", sourceHeader + "\n" + sourceRows(1, 10))
        #expect(try loader.load([file]).loaded == 1)
    }

    /// The same with DBSPLIT filter: per-filter stores made, then the main part failing.
    @Test(arguments: Engine.available)
    func aSplitSchemaThatFailsHalfWayIsCompletedByTheNextInit(_ engine: Engine) throws {
        let scratch = try ScratchCatalog(engine)
        let failing = try templatesFailingHalfWay(in: scratch.directory)
        // The per-filter block is whole; the main part (Filter, ..., the ledger) fails at the bad line.
        let main = failing.appendingPathComponent("schema/\(scratch.catalog.dialect.rawValue).sql")
        let text = try String(contentsOf: main, encoding: .utf8).replacingOccurrences(of: "INSERT INTO NoSuchTable VALUES (1);\n", with: "")
            .replacingOccurrences(of: "\nCREATE TABLE IF NOT EXISTS dcprod_schema", with: "\nINSERT INTO NoSuchTable VALUES (1);\nCREATE TABLE IF NOT EXISTS dcprod_schema")
        try Data(text.utf8).write(to: main)
        #expect(throws: CatalogError.self) { try CatalogSchema.initialize(scratch.catalog, templates: failing, splits: ["g", "r"]) }
        #expect(try CatalogSchema.installedVersion(scratch.catalog) == nil)
        if engine == .sqlite {
            #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM main.sqlite_master") == "0", "a half schema was left")
        }
        let again = try scratch.connection(readOnly: false)
        #expect(try CatalogSchema.initialize(again, templates: repositoryTemplates, splits: ["g", "r"]))
        let loader = try CatalogLoader(catalog: again, templates: repositoryTemplates, splits: ["g", "r"])
        let file = try scratch.write("src-000094-g1-0011.csv", sourceHeader + "\n" + sourceRows(1, 10, filterId: 1))
        #expect(try loader.load([file]).loaded == 1)
        #expect(try again.scalar("SELECT COUNT(*) FROM DeepSource") == "0")
        #expect(try again.scalar("SELECT COUNT(*) FROM Source") == "10")
    }
}

extension SharedCatalog {
    /// A file rewritten after it was loaded is refused with both checksums and what to do; the
    /// catalog keeps the rows of the file as it was. An unchanged file is skipped, touched or not.
    @Test(arguments: Engine.available)
    func aFileChangedSinceItWasLoadedIsRefusedWithBothChecksums(_ engine: Engine) throws {
        let scratch = try ScratchCatalog(engine)
        try CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates)
        let loader = try CatalogLoader(catalog: scratch.catalog, templates: repositoryTemplates)
        let file = try scratch.write("src-000094-r1-0011.csv", sourceHeader + "\n" + sourceRows(1, 10))
        #expect(try loader.load([file]).loaded == 1)
        let loaded = try #require(try scratch.catalog.scalar("SELECT checksum FROM dcprod_load"))
        // Touched, not changed: still the file that was loaded.
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(5)], ofItemAtPath: file)
        #expect(try loader.load([file]).skipped == 1)
        // Rewritten with other rows, same size.
        _ = try scratch.write("src-000094-r1-0011.csv", sourceHeader + "\n" + sourceRows(1, 10).replacingOccurrences(of: "1000.5", with: "2000.5"))
        let summary = try loader.load([file])
        #expect(summary.loaded == 0 && summary.skipped == 0 && summary.rejected.count == 1)
        let message = try #require(summary.rejected.first?.message)
        let now = try ValidatedCSV.read(file, tableColumns: try scratch.catalog.columns(of: "Source")).checksum
        #expect(loaded != now)
        #expect(message.contains("changed since it was loaded") && message.contains(loaded) && message.contains(now)
                && message.contains("Source holds the rows of the file as it was") && message.contains("load again"), "\(message)")
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM Source WHERE psfFlux = 1000.5") == "10")
    }

    /// An empty field is NULL in both engines, quoted (`""`) or not; a NOT NULL column refuses both.
    @Test(arguments: Engine.available)
    func aQuotedEmptyFieldIsNULLInBothEngines(_ engine: Engine) throws {
        let scratch = try ScratchCatalog(engine)
        try CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates)
        let loader = try CatalogLoader(catalog: scratch.catalog, templates: repositoryTemplates)
        let header = "deepCoaddId,tract,patch,filterId,path,zeroPoint\n"
        let good = try scratch.write("coadd-0-1,1-r.csv", header + "1,0,\"1,1\",2,\"\",\n2,0,\"1,2\",2,,\"\"\n")
        let summary = try loader.load([good])
        #expect(summary.loaded == 1, "\(summary.rejected)")
        #expect(try scratch.catalog.query("SELECT deepCoaddId, path, zeroPoint FROM DeepCoadd ORDER BY 1").rows
                == [["1", nil, nil], ["2", nil, nil]])
        let noPatch = try scratch.write("coadd-0-1,3-r.csv", header + "3,0,\"\",2,p,1\n")
        let refused = try loader.load([noPatch])
        #expect(refused.loaded == 0 && refused.rejected.count == 1, "\(refused)")
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM DeepCoadd") == "2")
    }

    /// A parallel load whose worker cannot connect still reports what the others loaded, with the error.
    @Test(.enabled(if: Engine.available.contains(.mariadb), "no private MariaDB (Tests/run starts one)"))
    func aFailingWorkerKeepsTheOthersSummaries() throws {
        let scratch = try ScratchCatalog(.mariadb)
        try CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates)
        let files = try (0..<4).map { try scratch.write("src-000094-r1-00\($0)1.csv", sourceHeader + "\n" + sourceRows($0 * 100 + 1, 10)) }
        let opened = OpenCount()
        let env = ProcessInfo.processInfo.environment
        let database = try scratch.catalog.scalar("SELECT DATABASE()")
        let connect = { @Sendable () throws -> CatalogDatabase in
            // The second worker's connection goes to a port where no server listens.
            try MariaDBCatalog(host: "127.0.0.1", port: opened.next() == 1 ? 1 : Int(env["DCPROD_TEST_MARIADB_PORT"] ?? "") ?? 3306,
                               user: env["DCPROD_TEST_MARIADB_USER"] ?? "",
                               database: database,
                               defaultsFile: Engine.mariadbDefaults, readOnly: false)
        }
        #expect(performing: {
            try CatalogLoader.loadInParallel(files, connections: 2, dialect: .mysql, templates: repositoryTemplates, open: connect)
        }, throws: { error in
            guard let partial = error as? CatalogLoader.PartialLoad else { return false }
            return partial.summary.loaded == 2 && partial.summary.rows == ["Source": 20] && partial.summary.loadedPaths.count == 2
                && "\(partial)".contains("cannot connect") && "\(partial)".contains("2 files were loaded before it")
        })
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM dcprod_load") == "2")
    }
}

/// Which connection a parallel load opens, counted across its workers' threads.
final class OpenCount: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    /// The number of connections opened before this one.
    func next() -> Int { lock.withLock { defer { count += 1 }; return count } }
}

extension SharedCatalog {
    /// Hostile files are refused at their file and line with what is wrong, on both engines, in the
    /// same words (the table of `LoaderMessages`); what the engine alone can see (a key already in the
    /// table) names the row's line too, and a link to /etc/passwd is never read.
    @Test(arguments: Engine.available)
    func hostileFilesAreRefusedAtTheirLineWithWhatIsWrong(_ engine: Engine) throws {
        let scratch = try ScratchCatalog(engine)
        try CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates)
        let loader = try CatalogLoader(catalog: scratch.catalog, templates: repositoryTemplates)
        let first = try scratch.write("src-000094-r1-0010.csv", sourceHeader + "\n" + sourceRows(1, 5))
        #expect(try loader.load([first]).loaded == 1)
        let passwd = scratch.directory.appendingPathComponent("src-000094-r1-0099.csv").path
        try FileManager.default.createSymbolicLink(atPath: passwd, withDestinationPath: "/etc/passwd")
        let bad = LoaderMessages.hostile + [("src-key-in-table.csv", sourceHeader + "\n" + LoaderMessages.row("160") + LoaderMessages.row("3"), 3,
                                             "column 1 (sourceId): '3' is already in Source, loaded from \(first)")]
        let summary = try loader.load(try bad.map { try scratch.write($0.name, $0.text) } + [passwd])
        #expect(summary.loaded == 0 && summary.rejected.count == bad.count + 1)
        for case let (rejection, expected) in zip(summary.rejected, bad) {
            #expect(rejection.path.hasSuffix(expected.name) && rejection.line == expected.line && rejection.message == expected.message,
                    "\(expected.name): \(rejection)")
        }
        let link = try #require(summary.rejected.last)
        #expect(link.path == passwd && link.line == 0 && link.message.hasPrefix("a symbolic link to /etc/passwd, not read")
                && !link.message.contains("root"), "\(link.message)")
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM Source") == "5")
    }
}

/// docs/catalog.md shows `templates/schema/columns` as it is: every column, its unit, UCD and meaning.
@Suite struct ColumnDocumentation {
    @Test func theManualsTableIsTheTemplate() throws {
        let manual = repositoryTemplates.deletingLastPathComponent().appendingPathComponent("docs/catalog.md")
        let text = try String(contentsOf: manual, encoding: .utf8)
        let start = try #require(text.range(of: "<!-- templates/schema/columns: start -->"))
        let end = try #require(text.range(of: "<!-- templates/schema/columns: end -->"))
        var table = "", documented: [String] = []
        for line in text[start.upperBound..<end.lowerBound].split(separator: "\n") {
            if line.hasPrefix("**") { table = line.trimmingCharacters(in: CharacterSet(charactersIn: "*")); continue }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 6, cells[1] != "column", !cells[1].hasPrefix("---") else { continue }
            documented.append([table, cells[1], cells[2].isEmpty ? "-" : cells[2], cells[3], cells[4]].joined(separator: " "))
        }
        let columns = try ColumnDescriptions(templates: repositoryTemplates).columns
        #expect(documented == columns.map { [$0.table, $0.name, $0.unit ?? "-", $0.ucd, $0.description].joined(separator: " ") })
    }
}
