import Foundation
import Testing
@testable import Catalog

/// A copy of the repository's templates/ whose schema files fail half-way: after the big tables and
/// the views, before the ledger and the version row.
func templatesFailingHalfWay(in directory: URL) throws -> URL {
    let copy = directory.appendingPathComponent("templates-failing")
    try FileManager.default.copyItem(at: repositoryTemplates, to: copy)
    for dialect in ["sqlite", "mysql"] {
        let file = copy.appendingPathComponent("schema/\(dialect).sql")
        let text = try String(contentsOf: file, encoding: .utf8)
            .replacingOccurrences(of: "-- dcprod: bookkeeping\n", with: "INSERT INTO NoSuchTable VALUES (1);\n-- dcprod: bookkeeping\n")
        try Data(text.utf8).write(to: file)
    }
    return copy
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
        #expect(try scratch.catalog.columns(of: "DeepSource").count == 18)
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
