import Basics
import Foundation
import GRDB
import GRDBSQLite
import Production

/// The embedded catalog: one SQLite file in the production's data tree (WAL mode).
///
/// One `DatabaseQueue` holds the connection. With DBSPLIT filter each filter's big tables are in a file
/// of their own beside it (`catalog_u.sqlite`, ...), attached as schema `f_u`, ..., with TEMP views over
/// their union made on every connection (`joinSplits(_:tables:views:)`).
public final class SQLiteCatalog: CatalogDatabase {
    /// Always `.sqlite`.
    public var dialect: SQLDialect { .sqlite }
    /// The path of the catalog file.
    public let location: String
    private let queue: DatabaseQueue
    /// True for a connection opened read-only (`dcprod sql` without --write, `load --status`).
    private let readOnly: Bool
    /// The device and inode of the file opened, to tell it from one put in its place (`requireFile()`).
    private let identity: (device: UInt, inode: UInt)?

    /// Opens the catalog file, creating it when it is absent and `readOnly` is false.
    ///
    /// A writable connection switches the file to WAL mode, so that readers (`dcprod sql`) never block
    /// the loader. Both wait up to 30 s for a lock held by another connection before failing.
    ///
    /// - Parameters:
    ///   - path: The catalog file, normally `CatalogConnection.sqlitePath(_:)`.
    ///   - readOnly: True to open it read-only: every write then fails.
    ///   - create: Make the file when it is absent (`dcprod load --init`, `dcprod run`); otherwise, and
    ///     always when `readOnly`, a missing file is an error rather than an empty catalog.
    /// - Throws: `CatalogError` when the file does not exist and is not to be made (`missingFile(_:)`), or
    ///   when SQLite cannot open the file or set WAL mode.
    public init(path: String, readOnly: Bool = false, create: Bool = true) throws {
        var configuration = Configuration()
        configuration.readonly = readOnly
        configuration.busyMode = .timeout(30)
        // The loader's transactions span several calls (begin, insert, ledger row, commit).
        configuration.allowsUnsafeTransactions = true
        if readOnly || !create, !FileManager.default.fileExists(atPath: path) { throw Self.missingFile(path) }
        do {
            // No value longer than `maximumValueLength`: `SELECT zeroblob(1000000000)` is an error,
            // not a gigabyte in memory.
            configuration.prepareDatabase { db in
                sqlite3_limit(db.sqliteConnection, SQLITE_LIMIT_LENGTH, Int32(Self.maximumValueLength))
                // A read-only connection opens no other file: see `refusesOtherFiles`.
                if readOnly { sqlite3_limit(db.sqliteConnection, SQLITE_LIMIT_ATTACHED, 0) }
                if !readOnly { try db.execute(sql: "PRAGMA cache_size = -\(Self.pageCacheKiB)") }
            }
            queue = try DatabaseQueue(path: readOnly ? SQLiteReadOnly.path(path) : path, configuration: configuration)
            if !readOnly { try queue.writeWithoutTransaction { try $0.execute(sql: "PRAGMA journal_mode = WAL") } }
        } catch {
            throw Self.catalogError(error, prefix: "\(path): ", location: path, readOnly: readOnly)
        }
        location = path
        self.readOnly = readOnly
        identity = Self.identity(of: path)
    }

    /// The refusal to open a catalog file that is not there, with how to make it.
    static func missingFile(_ path: String) -> CatalogError {
        CatalogError("""
            the catalog file \(path) does not exist; run `dcprod load --init` to make it, then `dcprod load STEP` \
            for each step: the results are loaded from their files
            """, kind: .connection)
    }

    private static func identity(of path: String) -> (device: UInt, inode: UInt)? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return (UInt(status.st_dev), UInt(status.st_ino))
    }

    /// Checks that the file opened is still at `location`: one deleted under an open connection lives
    /// on for it alone, and is lost, with every row loaded into it since, when the connection closes.
    ///
    /// - Throws: `CatalogError` naming the file and how to make the catalog again when it was deleted,
    ///   or that another file is in its place.
    public func requireFile() throws {
        guard let identity, let now = Self.identity(of: location) else {
            guard identity != nil else { return }
            throw CatalogError("""
                the catalog file \(location) was deleted while dcprod had it open, and what was loaded into it went \
                with it; run `dcprod run` again, which makes it anew and loads every step's results from their files \
                (as `dcprod load --init` then `dcprod load STEP` for each step do)
                """, kind: .connection)
        }
        guard now == identity else {
            throw CatalogError("the catalog file \(location) was replaced by another while dcprod had it open; run the command again to use it",
                               kind: .connection)
        }
    }

    // A read-only connection reads the catalog and its per-filter files, and no other file: `ATTACH`
    // would open any SQLite file (another production's catalog or state store), and `VACUUM INTO`
    // writes a copy of the catalog anywhere, read-only connection or not. SQLite checks both at one
    // place: `VACUUM INTO` attaches its output file (the authorizer sees it as SQLITE_ATTACH, with the
    // file's name), and every attach counts against SQLITE_LIMIT_ATTACHED. The authorizer cannot be
    // used here: a connection has one, and GRDB's own (statement regions, transaction tracking) is it.
    // So a read-only connection's limit is 0 once its per-filter files are attached
    // (`joinSplits(_:tables:views:)`), and SQLite refuses either statement before it touches a file.
    private static let attachRefused = "too many attached databases"

    /// SQLite's refusal of an attach on a read-only connection, said as what it is.
    private func fileAccessError(_ error: CatalogError) -> CatalogError {
        guard readOnly, error.message.hasPrefix(Self.attachRefused) else { return error }
        return CatalogError("refused: ATTACH and VACUUM INTO open or write a file other than the catalog, which a read-only "
                            + "connection never does (SQLite: \(error.message)); `dcprod sql --write` allows them",
                            kind: .fileAccess, code: error.code)
    }

    /// SQLite's page cache per connection, in KiB. Its default (2 MiB) holds the secondary indexes of a
    /// few hundred thousand rows; past that, every insert reads index pages back from the file and the
    /// load slows down as the table grows. 64 MiB keeps the indexes of several million rows in memory.
    /// Only a writable connection takes it: a reader (`dcprod sql`) goes through its rows once, and
    /// with it a query of a few large values kept all their pages, 64 MiB more for nothing.
    static let pageCacheKiB = 64 << 10

    /// The longest string or blob the catalog holds or a query returns (SQLite's SQLITE_LIMIT_LENGTH).
    public static let maximumValueLength = 16 << 20

    /// An error of SQLite's as a `CatalogError`, its kind from the result code: SQLITE_BUSY and
    /// SQLITE_LOCKED a lock, SQLITE_READONLY a read-only connection, SQLITE_CANTOPEN a catalog that
    /// cannot be reached; "no such table/column" the schema.
    ///
    /// With the catalog's `location`, a full or read-only file system is said as such, naming the file
    /// (`FileSystemProblem`, kind `fileSystem`) — except the SQLITE_READONLY of a `readOnly` connection,
    /// which is its own refusal to write.
    static func catalogError(_ error: Error, prefix: String = "", location: String? = nil, readOnly: Bool = false) -> CatalogError {
        if let error = error as? CatalogError { return error.prefixed(prefix) }
        guard let error = error as? DatabaseError else { return CatalogError(prefix + "\(error)") }
        if let location, !(readOnly && error.resultCode == .SQLITE_READONLY),
           let problem = FileSystemProblem(sqliteResultCode: error.resultCode.rawValue, path: location) {
            return CatalogError("\(problem); the catalog keeps what was committed before: \(problem.remedy)",
                                kind: .fileSystem, code: Int(error.extendedResultCode.rawValue))
        }
        // GRDB's advice to its programmers when a text holds several statements means nothing to a user.
        let message = error.message.map {
            $0.hasPrefix("Multiple statements found") ? MariaDBCatalog.severalStatements : $0
        } ?? "\(error)"
        let kind: CatalogError.Kind = switch error.resultCode {
        case .SQLITE_CONSTRAINT where [.SQLITE_CONSTRAINT_PRIMARYKEY, .SQLITE_CONSTRAINT_UNIQUE].contains(error.extendedResultCode): .duplicateKey
        case .SQLITE_BUSY, .SQLITE_LOCKED: .lock
        case .SQLITE_READONLY: .readOnly
        case .SQLITE_CANTOPEN: .connection
        case _ where message.hasPrefix("no such table") || message.hasPrefix("no such column"): .schema
        default: .statement
        }
        return CatalogError(prefix + message, kind: kind, code: Int(error.extendedResultCode.rawValue))
    }

    private func perform<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try queue.inDatabase(body)
        } catch {
            throw fileAccessError(Self.catalogError(error, location: location, readOnly: readOnly))
        }
    }

    /// Runs one statement that returns no rows.
    ///
    /// - Parameter sql: The statement.
    /// - Throws: `CatalogError` with SQLite's message (a constraint, a syntax error, a read-only database).
    public func execute(_ sql: String) throws {
        try perform { try $0.execute(sql: sql) }
    }

    /// Runs one statement with its values bound (`sqlite3_bind_text`).
    ///
    /// - Parameters:
    ///   - sql: The statement, with one `?` per value.
    ///   - arguments: The values; nil for NULL.
    /// - Returns: The rows it inserted, changed or deleted (`sqlite3_changes`).
    /// - Throws: `CatalogError` with SQLite's message.
    @discardableResult
    public func execute(_ sql: String, arguments: [String?]) throws -> Int {
        try perform { db in
            try db.execute(sql: sql, arguments: StatementArguments(arguments))
            return db.changesCount
        }
    }

    /// Runs one statement and hands its rows over as SQLite steps through them: integers and reals as
    /// text (reals as Swift prints a `Double`), text as it is, blobs as their bytes, each read once from
    /// SQLite's own buffer (`sqlite3_column_*`).
    ///
    /// - Parameters:
    ///   - sql: The statement.
    ///   - columns: Called once with its column names.
    ///   - row: Called with each row.
    /// - Throws: `CatalogError` with SQLite's message (a value over `maximumValueLength` included); of
    ///   kind `fileAccess` for `ATTACH` or `VACUUM INTO` on a read-only connection; what `columns` or `row` throws.
    public func query(_ sql: String, columns: ([String]) throws -> Void, row: ([QueryValue]) throws -> Void) throws {
        try perform { db in
            let statement = try db.makeStatement(sql: sql)
            try columns(statement.columnNames)
            let handle = statement.sqliteStatement
            let count = Int32(statement.columnCount)
            do {
                let cursor = try Row.fetchCursor(statement)
                while try cursor.next() != nil {
                    try row((0..<count).map { Self.value(handle, column: $0) })
                }
            } catch let error as DatabaseError where readOnly && !statement.isReadonly
                                                     && [.SQLITE_IOERR, .SQLITE_READONLY].contains(error.resultCode) {
                // A statement SQLite says writes, failing on a read-only connection: `PRAGMA journal_mode
                // = DELETE` fails as a disk I/O error, which it is not.
                throw CatalogError("this statement writes, and the connection is read-only", kind: .readOnly,
                                   code: Int(error.extendedResultCode.rawValue))
            }
        }
    }

    /// The value of a column of the statement's current row.
    private static func value(_ statement: SQLiteStatement, column: Int32) -> QueryValue {
        switch sqlite3_column_type(statement, column) {
        case SQLITE_NULL: return .null
        case SQLITE_INTEGER: return .text(String(sqlite3_column_int64(statement, column)))
        case SQLITE_FLOAT: return .text(String(sqlite3_column_double(statement, column)))
        case SQLITE_BLOB:
            // The pointer first, then its length (SQLite's advice); an empty blob has no pointer.
            let start = sqlite3_column_blob(statement, column)
            return .bytes(Array(UnsafeRawBufferPointer(start: start, count: Int(sqlite3_column_bytes(statement, column)))))
        default:
            let start = sqlite3_column_text(statement, column)
            return .text(String(decoding: UnsafeRawBufferPointer(start: start, count: Int(sqlite3_column_bytes(statement, column))),
                                as: UTF8.self))
        }
    }

    /// Begins a transaction with `BEGIN IMMEDIATE`: the write lock is taken now, waiting up to 30 s for
    /// another writer, rather than at the first insert, where a busy database can fail without waiting.
    ///
    /// - Throws: `CatalogError` when a transaction is already open or the lock is not had in time.
    public func begin() throws { try execute("BEGIN IMMEDIATE") }
    /// Commits the open transaction.
    ///
    /// - Throws: `CatalogError` when none is open or the commit fails.
    public func commit() throws { try execute("COMMIT") }
    /// Rolls the open transaction back.
    ///
    /// - Throws: `CatalogError` when none is open.
    public func rollback() throws { try execute("ROLLBACK") }

    /// The columns of a table or view, from `pragma_table_info`; empty if it does not exist.
    ///
    /// A column is numeric when its declared type contains `INT`, `REAL`, `FLOA`, `DOUB` or `NUM`, as in
    /// SQLite's own type-affinity rules, and an integer one (64 bits) when it contains `INT`; it takes
    /// NULL unless NOT NULL or in the primary key.
    ///
    /// - Parameters:
    ///   - table: The table's bare name.
    ///   - split: The filter whose attached file holds it (schema `f_u`), or nil for the main file.
    /// - Returns: The columns in order.
    /// - Throws: `CatalogError` with SQLite's message.
    public func columns(of table: String, split: String?) throws -> [CatalogColumn] {
        try perform { db in
            try Row.fetchAll(db, sql: "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?, ?)",
                             arguments: [table, split.map(Self.schema) ?? "main"]).map { row in
                let type = (row["type"] as String? ?? "").uppercased()
                // An INTEGER PRIMARY KEY takes NULL as "make one up": a file's row without its id is refused instead.
                return CatalogColumn(name: row["name"], isNumeric: ["INT", "REAL", "FLOA", "DOUB", "NUM"].contains { type.contains($0) },
                                     integers: type.contains("INT") ? Int64.min...Int64.max : nil,
                                     isNullable: row["notnull"] as Int == 0 && row["pk"] as Int == 0, isPrimaryKey: row["pk"] as Int > 0)
            }
        }
    }

    /// Multi-row INSERTs, prepared once per size, inside the caller's transaction.
    ///
    /// Up to 500 rows per statement and about 30,000 bound values at most, below SQLite's limit of
    /// 32,766 parameters. Values are bound as text and stored by the columns' affinity (numbers as
    /// numbers); an empty field, quoted or not, is bound as NULL.
    ///
    /// - Parameters:
    ///   - csv: The validated file; its rows are inserted from memory, the file is not read again.
    ///   - table: The destination, as `qualified(_:split:)` gives it.
    /// - Returns: The number of rows inserted, summed from SQLite's change counts.
    /// - Throws: `CatalogError` with SQLite's message, e.g. a duplicate primary key, and the row it
    ///   refused (`CatalogError.row`); the rows inserted before it stay in the open transaction for the
    ///   caller to roll back.
    public func bulkInsert(_ csv: ValidatedCSV, into table: String) throws -> Int {
        let width = csv.columns.count
        let perStatement = max(1, min(500, 30_000 / max(width, 1)))
        let head = "INSERT INTO \(table) (\(csv.columns.joined(separator: ", "))) VALUES "
        let tuple = "(" + Array(repeating: "?", count: width).joined(separator: ", ") + ")"
        return try perform { db in
            try csv.text.withUnsafeBufferPointer { text in
                var inserted = 0
                for first in stride(from: 0, to: csv.rowCount, by: perStatement) {
                    let rows = min(perStatement, csv.rowCount - first)
                    let statement = try db.cachedStatement(sql: head + Array(repeating: tuple, count: rows).joined(separator: ", "))
                    do {
                        try Self.run(statement, binding: first * width..<(first + rows) * width, of: csv, text: text, in: db)
                    } catch let error as DatabaseError where ![.SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_FULL, .SQLITE_IOERR].contains(error.resultCode) {
                        // SQLite does not say which row of the statement it refused, and undid only that
                        // statement: its rows one by one find it.
                        let single = try db.cachedStatement(sql: head + tuple)
                        for row in first..<(first + rows) {
                            do {
                                try Self.run(single, binding: row * width..<(row + 1) * width, of: csv, text: text, in: db)
                            } catch {
                                var refused = Self.catalogError(error)
                                refused.row = row
                                throw refused
                            }
                        }
                        throw error
                    }
                    inserted += db.changesCount
                }
                return inserted
            }
        }
    }

    /// Binds the fields' values as text (NULL: nothing bound) with `sqlite3_bind_text`, straight from
    /// the file's bytes, and steps the statement once (`Statement.stepOnce`). `text` outlives the step,
    /// so SQLite need not copy each value (`SQLITE_STATIC`).
    private static func run(_ statement: Statement, binding fields: Range<Int>, of csv: ValidatedCSV,
                            text: UnsafeBufferPointer<UInt8>, in db: Database) throws {
        try text.withMemoryRebound(to: CChar.self) { text in
            try statement.stepOnce(in: db) { handle in
                for (parameter, field) in fields.enumerated() {
                    guard let span = csv.span(field) else { continue }  // NULL: nothing bound
                    // A value over SQLITE_LIMIT_LENGTH is refused here (SQLITE_TOOBIG), not left NULL.
                    let bound = sqlite3_bind_text(handle, Int32(parameter + 1), text.baseAddress! + span.lowerBound, Int32(span.count), nil)
                    guard bound == SQLITE_OK else { return bound }
                }
                return SQLITE_OK
            }
        }
    }

    /// The indexes of a base table with a `CREATE INDEX` statement in `sqlite_master`.
    ///
    /// Indexes without a statement are the automatic ones of primary keys and `UNIQUE` constraints, which
    /// cannot be dropped: they are left out. For a per-filter table the index name in `create` is
    /// qualified (`CREATE INDEX f_u.Source_radec ON Source ...`), SQLite's way to build it in the attached file.
    ///
    /// - Parameters:
    ///   - table: The table's bare name.
    ///   - split: The filter whose attached file holds it, or nil for the main file.
    /// - Returns: The indexes, by name.
    /// - Throws: `CatalogError` with SQLite's message (e.g. the store is not attached).
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

    /// `DROP INDEX IF EXISTS`, qualified with the index's attached schema for a per-filter table.
    ///
    /// - Parameter index: An index from `secondaryIndexes(of:split:)`.
    /// - Returns: The statement; it does nothing for an index that is already gone.
    public func dropIndexStatement(_ index: IndexDefinition) -> String {
        "DROP INDEX IF EXISTS \(index.split.map(Self.schema).map { $0 + "." } ?? "")\(index.name)"
    }

    // MARK: - Per-filter stores: attached files `catalog_f.sqlite`, schema `f_f`.

    static func schema(_ split: String) -> String { "f_\(split)" }

    func splitPath(_ split: String) -> String {
        URL(fileURLWithPath: location).deletingLastPathComponent().appendingPathComponent("catalog_\(split).sqlite").path
    }

    /// The table in its attached per-filter file (`f_u.Source`), or its bare name for the main file.
    ///
    /// - Parameters:
    ///   - table: The table's bare name.
    ///   - split: The filter, or nil.
    /// - Returns: The name to write in SQL on this connection.
    public func qualified(_ table: String, split: String?) -> String {
        split.map { "\(Self.schema($0)).\(table)" } ?? table
    }

    /// Creates the per-filter file `catalog_f.sqlite` beside the catalog file (WAL mode) and runs
    /// `script` in it, in one transaction, through a connection of its own, closed afterwards;
    /// `joinSplits` attaches it.
    ///
    /// - Parameters:
    ///   - split: The filter.
    ///   - script: The per-filter and bookkeeping blocks of `templates/schema/sqlite.sql`.
    /// - Throws: `CatalogError` prefixed with the store's path when it cannot be created or a statement fails.
    public func createSplit(_ split: String, script: String) throws {
        do {
            let store = try DatabaseQueue(path: splitPath(split))
            try store.writeWithoutTransaction { try $0.execute(sql: "PRAGMA journal_mode = WAL") }
            // One transaction: the file gets all of its tables or none.
            try store.write { db in
                for statement in SQLiteCatalog.statements(of: script) { try db.execute(sql: statement) }
            }
            try store.close()
        } catch {
            throw Self.catalogError(error, prefix: "\(splitPath(split)): ")
        }
    }

    /// Attaches the per-filter files and makes the TEMP views of this connection.
    ///
    /// Files already attached are not attached again. The views must be TEMP: a view of the main schema
    /// may not refer to an attached database. The DC2013 views of `views` are therefore made TEMP too, over
    /// the union views. Attached files and TEMP views last as long as the connection, which is why
    /// `CatalogConnection.open(_:readOnly:defaultsFile:createDatabase:)` calls this on every one.
    ///
    /// - Parameters:
    ///   - splits: The filters, each with a file `catalog_f.sqlite` beside the catalog.
    ///   - tables: The per-filter tables, each of which gets a TEMP union view of its name.
    ///   - views: The schema's `views` block.
    /// - Throws: `CatalogError` when a file cannot be attached or a view already exists or cannot be made.
    public func joinSplits(_ splits: [String], tables: [String], views: String) throws {
        let attached = Set(try query("SELECT name FROM pragma_database_list").rows.compactMap { $0.first ?? nil })
        // Read-only: room for the per-filter files, and no more (`fileAccessError`).
        if readOnly { _ = try perform { sqlite3_limit($0.sqliteConnection, SQLITE_LIMIT_ATTACHED, Int32(splits.count)) } }
        for split in splits where !attached.contains(Self.schema(split)) {
            try execute("ATTACH DATABASE ? AS \(Self.schema(split))", arguments: [splitPath(split)])
            // Each filter's file holds a share of the rows: a share of the page cache, so that all of
            // them together use no more than the main file does.
            if !readOnly { try execute("PRAGMA \(Self.schema(split)).cache_size = -\(Self.pageCacheKiB / splits.count)") }
        }
        for statement in unionViewStatements(splits, tables: tables, temporary: true)
            + Self.statements(of: views).map({ $0.replacingOccurrences(of: "CREATE VIEW", with: "CREATE TEMP VIEW") }) {
            try execute(statement)
        }
    }
}
