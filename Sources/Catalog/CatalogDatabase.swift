import Foundation

/// The SQL dialect of a catalog engine, which picks its schema file under `templates/schema/`.
public enum SQLDialect: String, Sendable {
    case sqlite
    case mysql
}

/// What a query returned: column names, then rows of values as text (nil for NULL).
public struct QueryResult: Sendable, Equatable {
    public var columns: [String]
    public var rows: [[String?]]

    public init(columns: [String], rows: [[String?]]) {
        self.columns = columns
        self.rows = rows
    }
}

/// A column of a catalog table, as the engine describes it.
public struct CatalogColumn: Sendable, Equatable {
    public var name: String
    public var isNumeric: Bool

    public init(name: String, isNumeric: Bool) {
        self.name = name
        self.isNumeric = isNumeric
    }
}

/// An error of a catalog engine, in one line: what was asked and the engine's own message.
public struct CatalogError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A catalog database: the embedded SQLite file or a MariaDB/MySQL server. One connection;
/// the loader and `dcprod sql` use nothing else, so both engines behave the same for them.
public protocol CatalogDatabase: AnyObject {
    var dialect: SQLDialect { get }
    /// Where it is, for messages: a file path, or `user@host:port/database`.
    var location: String { get }

    /// Runs one statement that returns no rows.
    func execute(_ sql: String) throws
    /// Runs one statement and returns its rows.
    func query(_ sql: String) throws -> QueryResult

    func begin() throws
    func commit() throws
    func rollback() throws

    /// The columns of a table (or view) of the main catalog or of a per-filter store, in order;
    /// empty if it does not exist.
    func columns(of table: String, split: String?) throws -> [CatalogColumn]

    /// Inserts the rows of a validated CSV file into `table`, inside the open transaction, the
    /// engine's fast way; returns the number of rows the engine says it inserted.
    func bulkInsert(_ csv: ValidatedCSV, into table: String) throws -> Int

    /// The secondary indexes of a base table (not its primary key), as statements that create them.
    func secondaryIndexes(of table: String, split: String?) throws -> [IndexDefinition]
    /// The statement that drops an index of a table.
    func dropIndexStatement(_ index: IndexDefinition) -> String

    // DBSPLIT filter: a store per filter (MariaDB: database DBNAME_f; SQLite: file catalog_f.sqlite)
    // holding the big tables, and views of the same names over their union in the main catalog.

    /// A table's name as the main connection reaches it in a per-filter store (or the main catalog).
    func qualified(_ table: String, split: String?) -> String
    /// Creates a per-filter store and runs its part of the schema in it.
    func createSplit(_ split: String, script: String) throws
    /// Makes the per-filter stores one catalog: union views named after their tables, then the DC2013
    /// views over those. (SQLite: attached files and TEMP views, done at every connection.)
    func joinSplits(_ splits: [String], tables: [String], views: String) throws
}

extension CatalogDatabase {
    public func columns(of table: String) throws -> [CatalogColumn] { try columns(of: table, split: nil) }
    public func secondaryIndexes(of table: String) throws -> [IndexDefinition] { try secondaryIndexes(of: table, split: nil) }

    /// `CREATE VIEW T AS SELECT * FROM split1.T UNION ALL ...` for each per-filter table.
    func unionViewStatements(_ splits: [String], tables: [String], temporary: Bool) -> [String] {
        tables.map { table in
            "CREATE \(temporary ? "TEMP " : "")VIEW \(table) AS "
                + splits.map { "SELECT * FROM \(qualified(table, split: $0))" }.joined(separator: " UNION ALL ")
        }
    }
}

/// A secondary index: its name, its table (in the main catalog or a per-filter store) and the
/// statement that builds it.
public struct IndexDefinition: Sendable, Equatable {
    public var name: String
    public var table: String
    public var split: String?
    public var create: String

    public init(name: String, table: String, split: String? = nil, create: String) {
        self.name = name
        self.table = table
        self.split = split
        self.create = create
    }
}

extension CatalogDatabase {
    /// A single value of a query, as text.
    public func scalar(_ sql: String) throws -> String? {
        try query(sql).rows.first?.first ?? nil
    }

    /// The statements of a schema file, split at `;` ending a line, comments dropped.
    public func run(script: String) throws {
        for statement in Self.statements(of: script) { try execute(statement) }
    }

    static func statements(of script: String) -> [String] {
        let lines = script.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("--") }
        return lines.joined(separator: "\n").components(separatedBy: ";\n")
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .map { $0.hasSuffix(";") ? String($0.dropLast()) : $0 }
            .filter { !$0.isEmpty }
    }
}
