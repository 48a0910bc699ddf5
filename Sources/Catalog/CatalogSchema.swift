import Basics
import Foundation
import Production

/// The catalog's schema: `templates/schema/DIALECT.sql`, versioned in `dcprod_schema`.
///
/// The schema file is cut into marked blocks (`-- dcprod: NAME` … `-- dcprod: end`): `per-filter`
/// (the big tables), `views` (the DC2013 views over them) and `bookkeeping` (the load ledger and the
/// deferred indexes), which DBSPLIT filter places in each per-filter store as well as in the main catalog.
public enum CatalogSchema {
    /// The schema version this dcprod creates and accepts; a catalog of any other is refused, but one
    /// of `upgradable` is upgraded by a writer (`upgrade(_:splits:templates:)`).
    /// Version 2 gave DeepCoadd its fluxMag0 and path, and RunDeepSource its deepCoaddId and isPrimary;
    /// version 3 gave the ledger (`dcprod_load`) each file's key range, `firstKey` and `lastKey`;
    /// version 4 gave the tables DC2013's `scienceCcdExposureId`, `fluxMag0Sigma`, `filterName` and
    /// `objectId`, the sources their `extendedness` and flags, and the catalog `dcprod_column`;
    /// version 5 gave the catalog the provenance of its files, `dcprod_provenance` and `dcprod_provenance_input`.
    public static let version = 5

    /// The versions `upgrade(_:splits:templates:)` brings to `version`.
    public static let upgradable = 2..<version

    /// The installed version, or nil when the catalog has no dcprod schema yet.
    ///
    /// - Parameter catalog: An open catalog.
    /// - Returns: The highest version in `dcprod_schema`; nil when that table does not exist.
    /// - Throws: `CatalogError` when the catalog cannot be queried.
    public static func installedVersion(_ catalog: CatalogDatabase) throws -> Int? {
        guard !(try catalog.columns(of: "dcprod_schema")).isEmpty else { return nil }
        return try catalog.scalar("SELECT MAX(version) FROM dcprod_schema").flatMap { Int($0) }
    }

    /// Creates the schema if absent; true if it did. A catalog of an `upgradable` version is upgraded
    /// (`upgrade(_:splits:templates:)`), one of another version refused.
    /// With `splits` (DBSPLIT filter), the per-filter tables go into a store per filter and the
    /// main catalog gets views of their union.
    ///
    /// All or nothing, the way each engine allows:
    ///
    /// - SQLite's DDL is transactional: the main catalog's schema is made in one transaction (and each
    ///   per-filter file's in one of its own, before it), so a failure or a crash part-way leaves no
    ///   table behind.
    /// - MariaDB commits every DDL statement by itself, so no transaction can hold a schema. Making the
    ///   tables under other names and renaming them would need a rewrite of every name in the schema
    ///   file and still could not move views; instead every statement of the schema files is
    ///   idempotent (`CREATE … IF NOT EXISTS`, `INSERT IGNORE`, `CREATE OR REPLACE VIEW`) and the
    ///   `dcprod_schema` row, which says the schema is whole, is written last. A catalog left without
    ///   it by a failure part-way is refused by `require(_:)` (“run `dcprod load --init`”), and
    ///   `initialize` run again completes it: the tables it made already are this dcprod's own, since a
    ///   catalog with any version row is never created over (only upgraded).
    ///
    /// - Parameters:
    ///   - catalog: A writable catalog.
    ///   - templates: The production's `templates/` directory, holding `schema/DIALECT.sql`.
    ///   - splits: The filters that get a per-filter store (`CatalogConnection.splits(_:)`); empty for one catalog.
    /// - Returns: True when the schema was created, false when the catalog had one (now of this version).
    /// - Throws: `CatalogError` when the catalog has a schema version it cannot upgrade, the schema file
    ///   cannot be read, or a statement fails.
    @discardableResult
    public static func initialize(_ catalog: CatalogDatabase, templates: URL, splits: [String] = []) throws -> Bool {
        if try installedVersion(catalog) != nil {
            if try upgrade(catalog, splits: splits, templates: templates) == nil { try describeColumns(catalog, templates: templates) }
            try require(catalog)
            return false
        }
        let script = try SchemaScript(templates: templates, dialect: catalog.dialect)
        if splits.isEmpty {
            try allOrNothing(catalog) { try catalog.run(script: script.text) }
        } else {
            for split in splits {
                try catalog.createSplit(split, script: script.block("per-filter") + "\n" + script.block("bookkeeping"))
            }
            // SQLite attaches the stores, which it cannot do inside a transaction; its views are TEMP ones.
            try catalog.joinSplits(splits, tables: script.perFilterTables, views: script.block("views"))
            // The main part last: its dcprod_schema row says the whole catalog is there.
            try allOrNothing(catalog) { try catalog.run(script: script.withoutBlocks(["per-filter", "views"])) }
        }
        // A production's templates/ is its own copy, made when it was prepared: one of an older
        // dcprod makes the schema of its version, brought to this one here.
        if try upgrade(catalog, splits: splits, templates: templates) == nil { try describeColumns(catalog, templates: templates) }
        return true
    }

    /// Fills `dcprod_column` from the templates' column descriptions (dcprod's own for a production
    /// prepared before its templates had them), in one transaction.
    static func describeColumns(_ catalog: CatalogDatabase, templates: URL?) throws {
        let descriptions = try templates.map { try ColumnDescriptions.of(templates: $0) } ?? ColumnDescriptions(templates: Templates.source())
        try transaction(catalog) { try descriptions.store(in: catalog) }
    }

    /// A column a version added to a table, in each dialect's type.
    struct AddedColumn {
        var version: Int
        var table: String
        var name: String
        var sqlite: String
        var mysql: String

        func type(_ dialect: SQLDialect) -> String { dialect == .sqlite ? sqlite : mysql }
    }

    /// The columns each version added, which `upgrade(_:splits:templates:)` adds to an older catalog.
    static let addedColumns: [AddedColumn] = {
        var out = ["firstKey", "lastKey"].map { AddedColumn(version: 3, table: "dcprod_load", name: $0, sqlite: "INTEGER", mysql: "BIGINT NULL") }
        func add(_ table: String, _ columns: [(String, String, String)]) {
            out += columns.map { AddedColumn(version: 4, table: table, name: $0.0, sqlite: $0.1, mysql: $0.2) }
        }
        let real = ("REAL", "DOUBLE"), id = ("INTEGER", "BIGINT"), flag = ("INTEGER", "TINYINT")
        let flags = ["flagPixEdge", "flagPixSaturCen", "flagBlended", "flagBadCentroid", "flagBadPsfFlux"].map { ($0, flag.0, flag.1) }
        add("Science_Ccd_Exposure", [("scienceCcdExposureId", id.0, id.1), ("fluxMag0", real.0, real.1), ("fluxMag0Sigma", real.0, real.1)])
        add("DeepCoadd", [("filterName", "TEXT", "CHAR(1)")])
        add("Source", [("scienceCcdExposureId", id.0, id.1), ("extendedness", real.0, real.1)] + flags)
        add("RunDeepSource", [("extendedness", real.0, real.1)] + flags)
        add("RunDeepForcedSource", [("objectId", id.0, id.1), ("scienceCcdExposureId", id.0, id.1)]
            + flags.filter { ["flagPixEdge", "flagPixSaturCen", "flagBadPsfFlux"].contains($0.0) })
        return out
    }()

    /// The tables of the main catalog that versions after 2 added, which `upgrade(_:splits:templates:)`
    /// makes in an older catalog.
    static let addedTables = ["dcprod_column", "dcprod_provenance", "dcprod_provenance_input"]

    /// The tables each store of the catalog holds that a version added columns to: with DBSPLIT filter
    /// the big tables and a ledger in each filter's store, the rest in the main catalog.
    private static func tables(in split: String?, splitting: Bool) -> Set<String> {
        let perFilter: Set = ["Source", "RunDeepSource", "RunDeepForcedSource"]
        let all = Set(addedColumns.map(\.table))
        guard splitting else { return all }
        return split == nil ? all.subtracting(perFilter) : perFilter.union(["dcprod_load"])
    }

    /// Brings a catalog of an `upgradable` version to `version`, in place; nothing for one of `version`
    /// or without a schema. Only a writer calls it, under the production's lock (`ProductionCatalog.open`).
    ///
    /// - 2 → 3 adds the ledger's `firstKey` and `lastKey`, NULL for the files already loaded: those cannot
    ///   be replaced by a rerun's file (`CatalogLoader.load(_:redone:progress:)` refuses them, as it refused
    ///   every changed file before).
    /// - 3 → 4 adds DC2013's columns, the sources' extendedness and flags (`addedColumns`), NULL in the
    ///   rows already loaded, and `dcprod_column`; MariaDB's views, whose `*` was expanded when they were
    ///   made, are made again to show the new columns.
    /// - 4 → 5 adds `dcprod_provenance` and `dcprod_provenance_input`, which the next load fills for the
    ///   files it loads (the files loaded before have no provenance: their jobs' setups were not kept).
    ///
    /// With DBSPLIT filter every per-filter store's tables get them too. Each column is added only if
    /// absent and the version row is written last, so an upgrade cut short (MariaDB commits each
    /// `ALTER TABLE` by itself; SQLite's attached stores in WAL mode commit file by file) is completed
    /// by the next one. On SQLite the schema's part is one transaction.
    ///
    /// - Parameters:
    ///   - catalog: A writable catalog, its per-filter stores joined.
    ///   - splits: The filters that have a store (`CatalogConnection.splits(_:)`); empty for one catalog.
    ///   - templates: The production's `templates/`, for the column descriptions; nil: dcprod's own.
    /// - Returns: The version the catalog had when it was upgraded; nil when nothing was done.
    /// - Throws: `CatalogError` when a statement fails; the catalog keeps its old version row then.
    @discardableResult
    public static func upgrade(_ catalog: CatalogDatabase, splits: [String] = [], templates: URL? = nil) throws -> Int? {
        guard let installed = try installedVersion(catalog), upgradable.contains(installed) else { return nil }
        let own = try SchemaScript(templates: Templates.source(), dialect: catalog.dialect)
        try allOrNothing(catalog) {
            for split in [nil] + splits.map(Optional.some) {
                for table in tables(in: split, splitting: !splits.isEmpty) {
                    let present = Set(try catalog.columns(of: table, split: split).map { $0.name.lowercased() })
                    for column in addedColumns where column.table == table && !present.contains(column.name.lowercased()) {
                        try catalog.execute("ALTER TABLE \(catalog.qualified(table, split: split)) ADD COLUMN \(column.name) \(column.type(catalog.dialect))")
                    }
                }
            }
            for table in addedTables { try catalog.run(script: own.statements(creating: table).joined(separator: "\n")) }
        }
        if catalog.dialect == .mysql {
            let views = own.block("views").replacingOccurrences(of: "CREATE VIEW IF NOT EXISTS", with: "CREATE OR REPLACE VIEW")
            if splits.isEmpty { try catalog.run(script: views) } else { try catalog.joinSplits(splits, tables: own.perFilterTables, views: views) }
        }
        try describeColumns(catalog, templates: templates)
        try catalog.execute("INSERT INTO dcprod_schema (version) VALUES (?)", arguments: [String(version)])
        return installed
    }

    /// Runs `body` in one transaction where DDL can be part of one (SQLite), else as it is (MariaDB,
    /// whose schema statements are idempotent instead: see `initialize`).
    private static func allOrNothing(_ catalog: CatalogDatabase, _ body: () throws -> Void) throws {
        guard catalog.dialect == .sqlite else { return try body() }
        try transaction(catalog, body)
    }

    /// Runs `body` in one transaction, on either engine (rows, not schema: MariaDB commits DDL by itself).
    static func transaction(_ catalog: CatalogDatabase, _ body: () throws -> Void) throws {
        try catalog.begin()
        do {
            try body()
            try catalog.commit()
        } catch {
            try? catalog.rollback()
            throw error
        }
    }

    /// Joins the per-filter stores of an existing split catalog on this connection.
    ///
    /// Nothing is done without splits or on a catalog without a schema yet (`initialize` joins them itself).
    ///
    /// - Parameters:
    ///   - catalog: An open catalog, read-only or not.
    ///   - templates: The production's `templates/` directory, for the schema's per-filter tables and views.
    ///   - splits: The filters that have a store.
    /// - Throws: `CatalogError` when the schema file cannot be read or `joinSplits(_:tables:views:)` fails.
    public static func join(_ catalog: CatalogDatabase, templates: URL, splits: [String]) throws {
        guard !splits.isEmpty, try installedVersion(catalog) != nil else { return }
        let script = try SchemaScript(templates: templates, dialect: catalog.dialect)
        try catalog.joinSplits(splits, tables: script.perFilterTables, views: script.block("views"))
    }

    /// Checks that the catalog's file is still there (`CatalogDatabase.requireFile()`) and that the
    /// schema is, with a clear word if not.
    ///
    /// - Parameter catalog: An open catalog.
    /// - Throws: `CatalogError` naming the file when it was deleted or replaced; telling to run `dcprod load --init` when there is no schema or one of an
    ///   `upgradable` version (which `init` upgrades), or naming both versions when the catalog's is another.
    public static func require(_ catalog: CatalogDatabase) throws {
        try catalog.requireFile()
        guard let installed = try installedVersion(catalog) else {
            throw CatalogError("\(catalog.location): no catalog schema; run `dcprod load --init`")
        }
        if upgradable.contains(installed) {
            throw CatalogError("\(catalog.location): catalog schema version \(installed), older than this dcprod's \(version); "
                               + "run `dcprod load --init` to upgrade it")
        }
        guard installed == version else {
            throw CatalogError("\(catalog.location): catalog schema version \(installed), this dcprod knows \(version)")
        }
    }

    /// Which table a CSV goes into, from `templates/schema/csv-tables` (file-name prefix → table).
    ///
    /// - Parameter templates: The production's `templates/` directory.
    /// - Returns: The `PREFIX TABLE` lines in file order (blank and `#` lines left out); the loader takes
    ///   the first prefix a file name starts with.
    /// - Throws: `TemplateError` when the file cannot be read or a line is not two words.
    public static func tables(templates: URL) throws -> [(prefix: String, table: String)] {
        let lines = try TemplateLines(path: templates.appendingPathComponent("schema/csv-tables").path, what: "the CSV table map")
        return try lines.map { line in
            let words = line.text.split(whereSeparator: \.isWhitespace)
            guard words.count == 2 else { throw lines.error(line.number, "expected `PREFIX TABLE`") }
            return (String(words[0]), String(words[1]))
        }
    }
}

/// A schema file cut into its marked blocks (`-- dcprod: NAME` … `-- dcprod: end`).
struct SchemaScript {
    let text: String
    /// The schema file it was read from.
    let path: String
    private let lines: [Substring]

    init(templates: URL, dialect: SQLDialect) throws {
        let file = templates.appendingPathComponent("schema/\(dialect.rawValue).sql")
        guard let text = try? String(contentsOf: file, encoding: .utf8) else {
            throw CatalogError("\(file.path): the catalog schema cannot be read")
        }
        self.text = text
        path = file.path
        lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// The lines of each block, by name; lines outside blocks under "".
    private var blocks: [(name: String, line: Substring)] {
        var current = ""
        return lines.map { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("-- dcprod: ") {
                let name = String(trimmed.dropFirst("-- dcprod: ".count))
                current = name == "end" ? "" : name
            }
            return (current, line)
        }
    }

    func block(_ name: String) -> String {
        blocks.filter { $0.name == name }.map(\.line).joined(separator: "\n")
    }

    func withoutBlocks(_ names: Set<String>) -> String {
        blocks.filter { !names.contains($0.name) }.map(\.line).joined(separator: "\n")
    }

    /// The statement of the script that creates `table` (`CREATE TABLE IF NOT EXISTS TABLE (` … `;`).
    func statement(creating table: String) throws -> String {
        guard let start = text.range(of: "CREATE TABLE IF NOT EXISTS \(table) ("),
              let end = text.range(of: ";", range: start.upperBound..<text.endIndex) else {
            throw CatalogError("\(path): the catalog schema has no table \(table); restore dcprod's templates/schema")
        }
        return String(text[start.lowerBound..<end.upperBound])
    }

    /// The statements of the script that create `table` and its indexes.
    func statements(creating table: String) throws -> [String] {
        var out = [try statement(creating: table)]
        var rest = text[...]
        while let start = rest.range(of: "CREATE INDEX IF NOT EXISTS "), let end = rest.range(of: ";", range: start.upperBound..<rest.endIndex) {
            let statement = rest[start.lowerBound..<end.upperBound]
            if statement.contains(" ON \(table) (") { out.append(String(statement)) }
            rest = rest[end.upperBound...]
        }
        return out
    }

    /// The tables the per-filter block creates (`CREATE TABLE [IF NOT EXISTS] NAME`).
    var perFilterTables: [String] {
        block("per-filter").split(separator: "\n").compactMap { line in
            var words = line.split(separator: " ")[...]
            guard words.starts(with: ["CREATE", "TABLE"]) else { return nil }
            words = words.dropFirst(2)
            if words.starts(with: ["IF", "NOT", "EXISTS"]) { words = words.dropFirst(3) }
            return words.first.map(String.init)
        }
    }
}
