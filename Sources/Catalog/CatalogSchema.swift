import Basics
import Foundation

/// The catalog's schema: `templates/schema/DIALECT.sql`, versioned in `dcprod_schema`.
///
/// The schema file is cut into marked blocks (`-- dcprod: NAME` … `-- dcprod: end`): `per-filter`
/// (the big tables), `views` (the DC2013 views over them) and `bookkeeping` (the load ledger and the
/// deferred indexes), which DBSPLIT filter places in each per-filter store as well as in the main catalog.
public enum CatalogSchema {
    /// The schema version this dcprod creates and accepts; a catalog of any other is refused, but one
    /// of `upgradable` is upgraded by a writer (`upgrade(_:splits:)`).
    /// Version 2 gave DeepCoadd its fluxMag0 and path, and RunDeepSource its deepCoaddId and isPrimary;
    /// version 3 gave the ledger (`dcprod_load`) each file's key range, `firstKey` and `lastKey`.
    public static let version = 3

    /// The versions `upgrade(_:splits:)` brings to `version`.
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
    /// (`upgrade(_:splits:)`), one of another version refused.
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
            try upgrade(catalog, splits: splits)
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
        try upgrade(catalog, splits: splits)
        return true
    }

    /// The ledger columns each version added, in the dialect's types: what `upgrade(_:splits:)` adds.
    private static func ledgerColumns(_ dialect: SQLDialect) -> [(name: String, type: String)] {
        let integer = dialect == .sqlite ? "INTEGER" : "BIGINT NULL"
        return [("firstKey", integer), ("lastKey", integer)]
    }

    /// Brings a catalog of an `upgradable` version to `version`, in place; nothing for one of `version`
    /// or without a schema. Only a writer calls it, under the production's lock (`ProductionCatalog.open`).
    ///
    /// 2 → 3 adds the ledger's `firstKey` and `lastKey`, NULL for the files already loaded: those cannot
    /// be replaced by a rerun's file (`CatalogLoader.load(_:redone:progress:)` refuses them, as it refused
    /// every changed file before). With DBSPLIT filter every per-filter store's ledger gets them too.
    ///
    /// Each column is added only if absent and the version row is written last, so an upgrade cut
    /// short (MariaDB commits each `ALTER TABLE` by itself; SQLite's attached stores in WAL mode commit
    /// file by file) is completed by the next one. On SQLite the rest is one transaction.
    ///
    /// - Parameters:
    ///   - catalog: A writable catalog, its per-filter stores joined.
    ///   - splits: The filters that have a store (`CatalogConnection.splits(_:)`); empty for one catalog.
    /// - Returns: The version the catalog had when it was upgraded; nil when nothing was done.
    /// - Throws: `CatalogError` when a statement fails; the catalog keeps its old version row then.
    @discardableResult
    public static func upgrade(_ catalog: CatalogDatabase, splits: [String] = []) throws -> Int? {
        guard let installed = try installedVersion(catalog), upgradable.contains(installed) else { return nil }
        try allOrNothing(catalog) {
            for split in [nil] + splits.map(Optional.some) {
                let present = Set(try catalog.columns(of: "dcprod_load", split: split).map { $0.name.lowercased() })
                for column in ledgerColumns(catalog.dialect) where !present.contains(column.name.lowercased()) {
                    try catalog.execute("ALTER TABLE \(catalog.qualified("dcprod_load", split: split)) ADD COLUMN \(column.name) \(column.type)")
                }
            }
            try catalog.execute("INSERT INTO dcprod_schema (version) VALUES (?)", arguments: [String(version)])
        }
        return installed
    }

    /// Runs `body` in one transaction where DDL can be part of one (SQLite), else as it is (MariaDB,
    /// whose schema statements are idempotent instead: see `initialize`).
    private static func allOrNothing(_ catalog: CatalogDatabase, _ body: () throws -> Void) throws {
        guard catalog.dialect == .sqlite else { return try body() }
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

    /// Checks that the schema is there, with a clear word if not.
    ///
    /// - Parameter catalog: An open catalog.
    /// - Throws: `CatalogError` telling to run `dcprod load --init` when there is no schema or one of an
    ///   `upgradable` version (which `init` upgrades), or naming both versions when the catalog's is another.
    public static func require(_ catalog: CatalogDatabase) throws {
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
    private let lines: [Substring]

    init(templates: URL, dialect: SQLDialect) throws {
        let file = templates.appendingPathComponent("schema/\(dialect.rawValue).sql")
        guard let text = try? String(contentsOf: file, encoding: .utf8) else {
            throw CatalogError("\(file.path): the catalog schema cannot be read")
        }
        self.text = text
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
