import Foundation

/// The SQL dialect of a catalog engine, which picks its schema file under `templates/schema/`.
public enum SQLDialect: String, Sendable {
    /// The embedded SQLite catalog: `templates/schema/sqlite.sql`.
    case sqlite
    /// A MariaDB or MySQL server: `templates/schema/mysql.sql`. String literals escape backslashes too.
    case mysql
}

/// What a query returned: column names, then rows of values as text (nil for NULL).
///
/// Every value comes as text whatever its type, so that `dcprod sql` prints either engine's results
/// alike: numbers as the engine writes them (SQLite `1.0`, MariaDB `1` for the same DOUBLE), text as
/// stored, byte strings (BLOB, BINARY) as lowercase hex in both.
public struct QueryResult: Sendable, Equatable {
    /// The result's column names, in the order of the select list; empty for a statement without a result set.
    public var columns: [String]
    /// The rows, each with one value per column, in the order the engine returned them; nil for NULL.
    public var rows: [[String?]]

    /// Makes a result from its column names and rows.
    ///
    /// - Parameters:
    ///   - columns: The column names.
    ///   - rows: The rows, each as long as `columns`; nil for NULL.
    public init(columns: [String], rows: [[String?]]) {
        self.columns = columns
        self.rows = rows
    }
}

/// One value of a row, as a query hands it over (`CatalogDatabase.query(_:columns:row:)`).
///
/// Numbers come as the engine writes them (SQLite `1.0`, MariaDB `1` for the same DOUBLE); text as
/// stored; byte strings (BLOB, BINARY) as their bytes, which `text` and `dcprod sql` write as lowercase
/// hex. The bytes are kept as they are so that a value of 16 MiB is printed in pieces as it is turned
/// into hex, never held a second time as a string twice its size.
public enum QueryValue: Sendable, Equatable {
    /// SQL NULL.
    case null
    /// A number or a text value, as text.
    case text(String)
    /// A byte string.
    case bytes([UInt8])

    /// The value as `QueryResult` holds it: nil for NULL, a byte string as lowercase hex.
    public var text: String? {
        switch self {
        case .null: nil
        case .text(let text): text
        case .bytes(let bytes):
            String(unsafeUninitializedCapacity: bytes.count * 2) { out in
                for (index, byte) in bytes.enumerated() {
                    out[2 * index] = Self.hexDigits[Int(byte >> 4)]
                    out[2 * index + 1] = Self.hexDigits[Int(byte & 0x0F)]
                }
                return bytes.count * 2
            }
        }
    }

    /// Appends `bytes` as lowercase hex (two digits a byte) to `out`.
    ///
    /// - Parameters:
    ///   - bytes: The bytes, or a piece of them.
    ///   - out: UTF-8 text to append to.
    public static func appendHex(_ bytes: ArraySlice<UInt8>, to out: inout [UInt8]) {
        out.reserveCapacity(out.count + bytes.count * 2)
        for byte in bytes {
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0x0F)])
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}

/// A column of a catalog table, as the engine describes it, with what `ValidatedCSV` checks of its
/// values before a file is loaded (so that a bad value is refused at its file and line, never by the
/// engine far from it).
public struct CatalogColumn: Sendable, Equatable {
    /// The column's name, as the engine spells it.
    public var name: String
    /// True for an integer, floating-point or decimal column: `ValidatedCSV` requires its non-empty
    /// values to be numbers.
    public var isNumeric: Bool
    /// For an integer column, the integers its type holds (SQLite's INTEGER, MariaDB's TINYINT …
    /// BIGINT, signed or not); nil for any other type.
    public var integers: ClosedRange<Int64>?
    /// False for a column that refuses NULL (NOT NULL, or part of the primary key).
    public var isNullable: Bool
    /// True for a column of the primary key (which the engine names in a duplicate key's error).
    public var isPrimaryKey: Bool
    /// What its values must be beyond their type, when the catalog says more (`CatalogLoader` sets it).
    public var domain: Domain?

    /// The values a column takes beyond its type.
    public enum Domain: Sendable, Equatable, CustomStringConvertible {
        /// A number from `lower` to `upper`, `upper` itself included or not (an angle).
        case interval(lower: Double, upper: Double, upperIncluded: Bool)
        /// One of these integers, the ids of another table (`filterId` in `Filter`).
        case oneOf([Int64], table: String)

        /// Whether a number (already checked to be one, and an integer for an integer column) is in it.
        func contains(_ text: String) -> Bool {
            switch self {
            case .interval(let lower, let upper, let upperIncluded):
                guard let value = Double(text) else { return false }
                return value >= lower && (upperIncluded ? value <= upper : value < upper)
            case .oneOf(let ids, _):
                return Int64(text).map(ids.contains) ?? false
            }
        }

        /// `from 0 to 360 (360 excluded)`, `one of 0, 1, 2, 3, 4 (the Filter table)`.
        public var description: String {
            switch self {
            case .interval(let lower, let upper, let upperIncluded):
                "from \(Self.text(lower)) to \(Self.text(upper))\(upperIncluded ? "" : " (\(Self.text(upper)) excluded)")"
            case .oneOf(let ids, let table):
                "one of \(ids.map(String.init).joined(separator: ", ")) (the \(table) table)"
            }
        }

        private static func text(_ value: Double) -> String { Int(exactly: value).map(String.init) ?? "\(value)" }
    }

    /// Makes a column description.
    ///
    /// - Parameters:
    ///   - name: The column's name.
    ///   - isNumeric: Whether the column's type is numeric.
    ///   - integers: For an integer column, the range of its type.
    ///   - isNullable: Whether it takes NULL.
    ///   - domain: What its values must be beyond their type.
    ///   - isPrimaryKey: Whether it is a column of the primary key.
    public init(name: String, isNumeric: Bool, integers: ClosedRange<Int64>? = nil, isNullable: Bool = true,
                isPrimaryKey: Bool = false, domain: Domain? = nil) {
        self.name = name
        self.isNumeric = isNumeric
        self.integers = integers
        self.isNullable = isNullable
        self.isPrimaryKey = isPrimaryKey
        self.domain = domain
    }
}

/// An error of a catalog engine, in one line: what was asked and the engine's own message.
public struct CatalogError: Error, CustomStringConvertible, Sendable {
    /// The row of a file the engine refused (from 0), when it said or could be made to say which:
    /// the loader names its line.
    public var row: Int?

    /// What failed: the loader rejects a file only for what is the file's fault.
    public enum Kind: String, Sendable {
        /// The server cannot be reached, or the connection was lost.
        case connection
        /// A lock not had in time, or a deadlock: the same work may succeed later.
        case lock
        /// A write on a read-only connection.
        case readOnly
        /// A table or column the statement names does not exist.
        case schema
        /// A row whose key the table holds already (SQLite's PRIMARY KEY or UNIQUE constraint, MariaDB's
        /// error 1062): the loader names the row and the file that has the key.
        case duplicateKey
        /// Anything else the engine refused: the statement, or the data it carries.
        case statement
        /// A statement that would read or write a file other than the catalog's (SQLite `ATTACH`,
        /// `VACUUM INTO`; MariaDB `INTO OUTFILE`, `LOAD_FILE`, `LOAD DATA`), refused on a read-only
        /// connection before it runs.
        case fileAccess
        /// The catalog's file system is full or read-only (`FileSystemProblem`): not a file's fault,
        /// the load stops and leaves the files pending.
        case fileSystem
    }

    /// The whole message, usually prefixed with the catalog's location or the file concerned.
    public var message: String
    public var kind: Kind
    /// The engine's own code (MariaDB's error number, SQLite's result code), when it gave one.
    public var code: Int?

    /// Makes an error from its one-line message.
    ///
    /// - Parameters:
    ///   - message: What was asked and why it failed.
    ///   - kind: What failed.
    ///   - code: The engine's code.
    ///   - row: The row of a file it is about, from 0.
    public init(_ message: String, kind: Kind = .statement, code: Int? = nil, row: Int? = nil) {
        self.message = message
        self.kind = kind
        self.code = code
        self.row = row
    }

    /// The same error, its message prefixed (`FILE into TABLE: …`).
    public func prefixed(_ prefix: String) -> CatalogError { CatalogError(prefix + message, kind: kind, code: code, row: row) }

    /// True when the server, not what was sent to it, failed: the work may be tried again.
    public var isTransient: Bool { kind == .connection || kind == .lock }

    /// The message, as printed to the user.
    public var description: String { message }
}

/// A catalog database: the embedded SQLite file or a MariaDB/MySQL server. One connection;
/// the loader and `dcprod sql` use nothing else, so both engines behave the same for them.
///
/// An engine honours these rules, which the loader relies on:
///
/// - Every call runs on the one connection the engine opened, from one thread at a time; parallel
///   loads open a connection each (`CatalogLoader.loadInParallel`).
/// - Outside `begin()`…`commit()` each statement commits by itself. Between them, `execute(_:)`,
///   `query(_:)` and `bulkInsert(_:into:)` run inside the transaction, and nothing of it is kept
///   unless `commit()` succeeds.
/// - A connection opened read-only refuses every statement that writes with a `CatalogError`
///   (`dcprod sql` without `--write`, `dcprod load --status`); reading, and the SQLite engine's
///   per-connection `joinSplits` (TEMP views), still work.
/// - Every failure is thrown as a `CatalogError` carrying the engine's message, never as the
///   engine's own error type.
public protocol CatalogDatabase: AnyObject {
    /// The engine's SQL dialect: which schema file it runs and how string literals are escaped.
    var dialect: SQLDialect { get }
    /// Where it is, for messages: a file path, or `user@host:port/database`.
    var location: String { get }

    /// Runs one statement that returns no rows.
    ///
    /// Exactly one statement, without a trailing `;` list: MariaDB refuses several in one call, so
    /// a script goes through `run(script:)`. A result set the statement returns anyway is read and
    /// dropped. Inside an open transaction the statement is part of it (but DDL on MariaDB commits
    /// implicitly); otherwise it commits on its own.
    ///
    /// - Parameter sql: The statement, with its values already written in as literals.
    /// - Throws: `CatalogError` with the engine's message when the statement fails, including a
    ///   write on a read-only connection.
    func execute(_ sql: String) throws
    /// Runs one statement that returns no rows, its values bound to its `?` placeholders, never
    /// written into its text: what the manager records in the catalog (the ledger, deferred indexes).
    ///
    /// - Parameters:
    ///   - sql: The statement, with one `?` per value.
    ///   - arguments: The values, as text (the engine converts them to the columns' types); nil for NULL.
    /// - Returns: The number of rows the statement inserted, changed or deleted, as the engine counts them.
    /// - Throws: `CatalogError` with the engine's message.
    @discardableResult
    func execute(_ sql: String, arguments: [String?]) throws -> Int
    /// Runs one statement and hands its rows over one by one as the engine gives them, keeping none:
    /// a result of any size goes through in bounded memory (`dcprod sql`). A statement that has no
    /// result set gives no columns and no rows.
    ///
    /// - Parameters:
    ///   - sql: The statement, with its values already written in as literals.
    ///   - columns: Called once, before any row, with the column names.
    ///   - row: Called with each row, one `QueryValue` a column.
    /// - Throws: `CatalogError` with the engine's message when the statement fails or a row cannot be
    ///   read; `CatalogError` of kind `fileAccess`, before anything is run, when the connection is
    ///   read-only and the statement would read or write a file of its own choosing; what `columns`
    ///   or `row` throws, which stops the query.
    func query(_ sql: String, columns: ([String]) throws -> Void, row: ([QueryValue]) throws -> Void) throws

    /// Starts a transaction that lasts across calls until `commit()` or `rollback()`.
    ///
    /// Transactions do not nest: the loader begins one per file, around its rows and its ledger
    /// row. SQLite begins `IMMEDIATE`, taking the single writer's lock at once (waiting up to 30 s
    /// for another writer) rather than failing at the first insert.
    ///
    /// - Throws: `CatalogError` when the engine cannot start one (a transaction already open, the
    ///   database locked past the timeout).
    func begin() throws
    /// Makes the open transaction's changes permanent.
    ///
    /// - Throws: `CatalogError` when the commit fails; the changes are then not in the catalog, and
    ///   the caller calls `rollback()` to end the transaction.
    func commit() throws
    /// Discards the open transaction's changes.
    ///
    /// The loader calls it after any failure inside a file's transaction and ignores its own
    /// failure (the engine may already have ended the transaction).
    ///
    /// - Throws: `CatalogError` when no transaction is open or the engine fails to roll back.
    func rollback() throws

    /// The columns of a table (or view) of the main catalog or of a per-filter store, in order;
    /// empty if it does not exist.
    ///
    /// - Parameters:
    ///   - table: The table's bare name (not quoted, not qualified).
    ///   - split: The filter whose per-filter store holds the table (DBSPLIT filter), or nil for the main catalog.
    /// - Returns: The columns in their order in the table; an empty array, not an error, for a
    ///   table that does not exist.
    /// - Throws: `CatalogError` when the engine cannot be asked (connection lost, no database selected).
    func columns(of table: String, split: String?) throws -> [CatalogColumn]

    /// Checks that the catalog is still where it was opened: an SQLite file deleted or replaced while
    /// a long `dcprod run` holds it open would take the rows loaded into it with it, unseen. Nothing
    /// to check on a server.
    ///
    /// - Throws: `CatalogError` naming the file, and how to make the catalog again, when it is gone.
    func requireFile() throws

    /// Inserts the rows of a validated CSV file into `table`, inside the open transaction, the
    /// engine's fast way; returns the number of rows the engine says it inserted.
    ///
    /// An empty field is NULL. The engine never commits. A row it refuses (a constraint, a duplicate
    /// key) is an error, and so is one it would only warn about and keep changed or skip (MariaDB's
    /// `LOAD DATA LOCAL` warnings), so that the caller rolls the whole file back. The count returned
    /// is the engine's own, which the loader compares with the file's line count. An engine may read
    /// the file again at `csv.path` (MariaDB's `LOAD DATA LOCAL INFILE`), so the file must not
    /// change after it was validated.
    ///
    /// - Parameters:
    ///   - csv: The file, already checked against the table's columns.
    ///   - table: The destination as `qualified(_:split:)` gives it.
    /// - Returns: The number of rows inserted.
    /// - Throws: `CatalogError` naming the file and table when the engine refuses a row or warns;
    ///   the rows inserted so far stay in the open transaction until the caller rolls back.
    func bulkInsert(_ csv: ValidatedCSV, into table: String) throws -> Int

    /// The secondary indexes of a base table (not its primary key), as statements that create them.
    ///
    /// Views have none. The primary key is left out, and so are the indexes SQLite makes by itself
    /// for `UNIQUE` constraints, which cannot be dropped; MariaDB lists those as ordinary unique indexes.
    ///
    /// - Parameters:
    ///   - table: The table's bare name.
    ///   - split: The filter whose per-filter store holds the table, or nil for the main catalog.
    /// - Returns: Each index with a `create` statement that rebuilds it as it is, runnable on this
    ///   connection (qualified with its store when `split` is given); empty for a view or a table without any.
    /// - Throws: `CatalogError` when the engine's catalog of indexes cannot be read.
    func secondaryIndexes(of table: String, split: String?) throws -> [IndexDefinition]
    /// The statement that drops an index of a table.
    ///
    /// - Parameter index: An index as `secondaryIndexes(of:split:)` returned it.
    /// - Returns: A statement, runnable on this connection, that drops the index from its table and store.
    func dropIndexStatement(_ index: IndexDefinition) -> String

    // DBSPLIT filter: a store per filter (MariaDB: database DBNAME_f; SQLite: file catalog_f.sqlite)
    // holding the big tables, and views of the same names over their union in the main catalog.

    /// A table's name as the main connection reaches it in a per-filter store (or the main catalog).
    ///
    /// - Parameters:
    ///   - table: The table's bare name.
    ///   - split: The filter whose store holds it, or nil for the main catalog.
    /// - Returns: The name to write in SQL on this connection (SQLite `f_u.Source`, MariaDB
    ///   `` `dc_u`.`Source` ``; the bare or quoted name when `split` is nil).
    func qualified(_ table: String, split: String?) -> String
    /// Creates a per-filter store and runs its part of the schema in it.
    ///
    /// The store is made if it is absent; the connection's current database is the main one again
    /// afterwards. The script runs statement by statement, outside any transaction.
    ///
    /// - Parameters:
    ///   - split: The filter (`u`, `g`, `r`, `i` or `z`) whose store to create.
    ///   - script: The schema's per-filter and bookkeeping blocks for this dialect.
    /// - Throws: `CatalogError` when the store cannot be created or a statement of the script fails.
    func createSplit(_ split: String, script: String) throws
    /// Makes the per-filter stores one catalog: union views named after their tables, then the DC2013
    /// views over those. (SQLite: attached files and TEMP views, done at every connection.)
    ///
    /// MariaDB's views are persistent, made once when the schema is created; SQLite's live as long as
    /// the connection and are made by every `CatalogConnection.open`, read-only ones included. Called
    /// once per connection: the views it creates already exist on a second call.
    ///
    /// - Parameters:
    ///   - splits: The filters that have a store, in the order their rows appear in the union views.
    ///   - tables: The per-filter tables, each of which gets a union view of its name in the main catalog.
    ///   - views: The schema's `views` block (the DC2013 views over those tables).
    /// - Throws: `CatalogError` when a store cannot be attached or a view cannot be created.
    func joinSplits(_ splits: [String], tables: [String], views: String) throws
}

extension CatalogDatabase {
    /// A server's catalog has no file of dcprod's to lose.
    public func requireFile() throws {}

    /// The columns of a table (or view) of the main catalog, in order; empty if it does not exist.
    ///
    /// - Parameter table: The table's bare name.
    /// - Returns: Its columns, as `columns(of:split:)` gives them for the main catalog.
    /// - Throws: `CatalogError` when the engine cannot be asked.
    public func columns(of table: String) throws -> [CatalogColumn] { try columns(of: table, split: nil) }
    /// The secondary indexes of a base table of the main catalog.
    ///
    /// - Parameter table: The table's bare name.
    /// - Returns: Its indexes, as `secondaryIndexes(of:split:)` gives them for the main catalog.
    /// - Throws: `CatalogError` when the engine's catalog of indexes cannot be read.
    public func secondaryIndexes(of table: String) throws -> [IndexDefinition] { try secondaryIndexes(of: table, split: nil) }

    /// `CREATE VIEW T AS SELECT * FROM split1.T UNION ALL ...` for each per-filter table: TEMP views
    /// (SQLite, made on every connection), or persistent ones made again if they are there
    /// (`CREATE OR REPLACE`, MariaDB: a schema whose creation was interrupted is completed by the next one).
    func unionViewStatements(_ splits: [String], tables: [String], temporary: Bool) -> [String] {
        tables.map { table in
            "CREATE \(temporary ? "TEMP " : "OR REPLACE ")VIEW \(table) AS "
                + splits.map { "SELECT * FROM \(qualified(table, split: $0))" }.joined(separator: " UNION ALL ")
        }
    }
}

/// A secondary index: its name, its table (in the main catalog or a per-filter store) and the
/// statement that builds it.
public struct IndexDefinition: Sendable, Equatable {
    /// The index's name, unqualified.
    public var name: String
    /// The bare name of the table it indexes.
    public var table: String
    /// The filter whose per-filter store holds the table, or nil for the main catalog.
    public var split: String?
    /// The complete `CREATE [UNIQUE] INDEX` statement that rebuilds the index on the same connection.
    public var create: String

    /// Makes an index description.
    ///
    /// - Parameters:
    ///   - name: The index's name.
    ///   - table: The table it indexes.
    ///   - split: The filter whose store holds the table, or nil for the main catalog.
    ///   - create: The statement that creates it, qualified with its store where needed.
    public init(name: String, table: String, split: String? = nil, create: String) {
        self.name = name
        self.table = table
        self.split = split
        self.create = create
    }
}

extension CatalogDatabase {
    /// A single value of a query, as text.
    ///
    /// - Parameter sql: A statement whose first column of its first row is wanted (`SELECT COUNT(*) ...`).
    /// - Returns: That value; nil when it is NULL or the query returned no row.
    /// - Throws: `CatalogError` when the query fails.
    public func scalar(_ sql: String) throws -> String? {
        try query(sql).rows.first?.first ?? nil
    }

    /// Runs the statements of a schema file one after another.
    ///
    /// The statements of a schema file, split at `;` ending a line, comments dropped: a `;` inside
    /// a line (in a string literal, say) does not split. There is no transaction around them (DDL
    /// commits on MariaDB anyway), so a failure leaves the statements before it done.
    ///
    /// - Parameter script: The text of the script; whole-line `--` comments are left out.
    /// - Throws: `CatalogError` from the first statement that fails; the rest are not run.
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

extension CatalogDatabase {
    /// Runs one statement and returns its rows, all read into memory before the call returns: for
    /// the manager's own small queries; what a person asks goes through `query(_:columns:row:)`.
    ///
    /// - Parameter sql: The statement, with its values already written in as literals.
    /// - Returns: The column names and every row, values as text as `QueryResult` describes.
    /// - Throws: `CatalogError` with the engine's message when the statement fails or a row cannot be read.
    public func query(_ sql: String) throws -> QueryResult {
        var result = QueryResult(columns: [], rows: [])
        try query(sql, columns: { result.columns = $0 }, row: { result.rows.append($0.map(\.text)) })
        return result
    }
}
