import Foundation
import GRDB

/// The embedded catalog: one SQLite file in the production's data tree (WAL mode).
public final class SQLiteCatalog: CatalogDatabase {
    public var dialect: SQLDialect { .sqlite }
    public let location: String
    private let queue: DatabaseQueue

    public init(path: String, readOnly: Bool = false) throws {
        var configuration = Configuration()
        configuration.readonly = readOnly
        configuration.busyMode = .timeout(30)
        // The loader's transactions span several calls (begin, insert, ledger row, commit).
        configuration.allowsUnsafeTransactions = true
        if readOnly && !FileManager.default.fileExists(atPath: path) {
            throw CatalogError("\(path): no catalog yet; run `dcprod load --init`")
        }
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            if !readOnly { try queue.writeWithoutTransaction { try $0.execute(sql: "PRAGMA journal_mode = WAL") } }
        } catch {
            throw CatalogError("\(path): \(Self.message(error))")
        }
        location = path
    }

    static func message(_ error: Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? "\(error)" }
        return "\(error)"
    }

    private func perform<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try queue.inDatabase(body)
        } catch let error as CatalogError {
            throw error
        } catch {
            throw CatalogError(Self.message(error))
        }
    }

    public func execute(_ sql: String) throws {
        try perform { try $0.execute(sql: sql) }
    }

    public func query(_ sql: String) throws -> QueryResult {
        try perform { db in
            let statement = try db.makeStatement(sql: sql)
            let columns = statement.columnNames
            var rows: [[String?]] = []
            let cursor = try Row.fetchCursor(statement)
            while let row = try cursor.next() {
                rows.append(row.databaseValues.map { value in
                    switch value.storage {
                    case .null: nil
                    case .int64(let n): String(n)
                    case .double(let d): String(d)
                    case .string(let s): s
                    case .blob(let b): b.map { String(format: "%02x", $0) }.joined()
                    }
                })
            }
            return QueryResult(columns: columns, rows: rows)
        }
    }

    public func begin() throws { try execute("BEGIN IMMEDIATE") }
    public func commit() throws { try execute("COMMIT") }
    public func rollback() throws { try execute("ROLLBACK") }

    public func columns(of table: String, split: String?) throws -> [CatalogColumn] {
        try perform { db in
            try Row.fetchAll(db, sql: "SELECT name, type FROM pragma_table_info(?, ?)", arguments: [table, split.map(Self.schema) ?? "main"]).map { row in
                let type = (row["type"] as String? ?? "").uppercased()
                return CatalogColumn(name: row["name"], isNumeric: ["INT", "REAL", "FLOA", "DOUB", "NUM"].contains { type.contains($0) })
            }
        }
    }

    /// Multi-row INSERTs, prepared once per size, inside the caller's transaction.
    public func bulkInsert(_ csv: ValidatedCSV, into table: String) throws -> Int {
        let width = csv.columns.count
        let perStatement = max(1, min(500, 30_000 / max(width, 1)))
        let head = "INSERT INTO \(table) (\(csv.columns.joined(separator: ", "))) VALUES "
        let tuple = "(" + Array(repeating: "?", count: width).joined(separator: ", ") + ")"
        return try perform { db in
            var inserted = 0
            for start in stride(from: 0, to: csv.rows.count, by: perStatement) {
                let chunk = csv.rows[start..<min(start + perStatement, csv.rows.count)]
                let statement = try db.cachedStatement(sql: head + Array(repeating: tuple, count: chunk.count).joined(separator: ", "))
                let values: [(any DatabaseValueConvertible)?] = chunk.flatMap { $0 }
                try statement.execute(arguments: StatementArguments(values))
                inserted += db.changesCount
            }
            return inserted
        }
    }

    public func secondaryIndexes(of table: String, split: String?) throws -> [IndexDefinition] {
        let schema = split.map(Self.schema) ?? "main"
        return try query("""
            SELECT m.name, m.sql FROM \(schema).sqlite_master m JOIN \(schema).sqlite_master t ON t.name = m.tbl_name AND t.type = 'table'
            WHERE m.type = 'index' AND m.sql IS NOT NULL AND m.tbl_name = '\(table)' ORDER BY m.name
            """).rows.compactMap { row in
            guard let name = row[0], var create = row[1] else { return nil }
            if split != nil, let range = create.range(of: "INDEX \(name)") {
                create.replaceSubrange(range, with: "INDEX \(schema).\(name)")
            }
            return IndexDefinition(name: name, table: table, split: split, create: create)
        }
    }

    public func dropIndexStatement(_ index: IndexDefinition) -> String {
        "DROP INDEX IF EXISTS \(index.split.map(Self.schema).map { $0 + "." } ?? "")\(index.name)"
    }

    // MARK: - Per-filter stores: attached files `catalog_f.sqlite`, schema `f_f`.

    static func schema(_ split: String) -> String { "f_\(split)" }

    func splitPath(_ split: String) -> String {
        URL(fileURLWithPath: location).deletingLastPathComponent().appendingPathComponent("catalog_\(split).sqlite").path
    }

    public func qualified(_ table: String, split: String?) -> String {
        split.map { "\(Self.schema($0)).\(table)" } ?? table
    }

    public func createSplit(_ split: String, script: String) throws {
        do {
            let store = try DatabaseQueue(path: splitPath(split))
            try store.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = WAL")
                for statement in SQLiteCatalog.statements(of: script) { try db.execute(sql: statement) }
            }
            try store.close()
        } catch {
            throw CatalogError("\(splitPath(split)): \(Self.message(error))")
        }
    }

    /// Attaches the per-filter files and makes the TEMP views of this connection.
    public func joinSplits(_ splits: [String], tables: [String], views: String) throws {
        let attached = Set(try query("SELECT name FROM pragma_database_list").rows.compactMap { $0.first ?? nil })
        for split in splits where !attached.contains(Self.schema(split)) {
            try execute("ATTACH DATABASE \(CatalogLoader.literal(splitPath(split), .sqlite)) AS \(Self.schema(split))")
        }
        for statement in unionViewStatements(splits, tables: tables, temporary: true)
            + Self.statements(of: views).map({ $0.replacingOccurrences(of: "CREATE VIEW", with: "CREATE TEMP VIEW") }) {
            try execute(statement)
        }
    }
}
