import CMariaDB
import Foundation

/// A catalog on a MariaDB (or MySQL) server, through MariaDB Connector/C: one connection.
///
/// The password is never an argument. Connector/C finds it itself: in the `[client]` groups of
/// the option files (`defaultsFile` when given, else `/etc/my.cnf`, `/etc/mysql/my.cnf` and
/// `~/.my.cnf`), else in the `MYSQL_PWD` environment variable (Connector/C reads it when no
/// password is passed to `mysql_real_connect` and the option files name none). Host, port and
/// user given here win over the option file; an empty host or user and port 0 leave them to it.
///
/// The connection is not safe to share between threads; a parallel load opens one per worker. It
/// is closed when the object is released.
public final class MariaDBCatalog: CatalogDatabase {
    /// Always `.mysql`.
    public var dialect: SQLDialect { .mysql }
    /// `user@host:port/database`, as connected.
    public let location: String
    /// The connection; replaced by `live()` once a call found it lost.
    private var handle: UnsafeMutablePointer<MYSQL>
    /// Set when a call met a lost connection (the server restarted, or the connection was killed):
    /// the next call connects again first. No statement is sent twice by this; a read that failed
    /// before its first row is read again once (`query`).
    private var lost = false
    /// Connects again, to the same server and database, with the same session.
    private let reconnect: () throws -> UnsafeMutablePointer<MYSQL>
    /// The database connected to (the main one, with DBSPLIT filter), read once.
    private let database: String?
    /// True for a read-only session, whose statements `MariaDBFileAccess` checks before they are sent.
    private let readOnly: Bool

    /// `mysql_library_init` once per process, before the first `mysql_init`: Connector/C would do
    /// it in `mysql_init` too, but not safely from several threads at once.
    private static let libraryStatus: Int32 = mysql_server_init(0, nil, nil)

    /// Connects to the server and prepares the session: utf8mb4, `LOCAL INFILE` for the loader,
    /// the database, and read-only mode when asked.
    ///
    /// A host that does not answer fails after 10 s (an option file's `connect-timeout` wins). A
    /// read-only session is `SET SESSION TRANSACTION READ ONLY`: the server refuses every write of it.
    ///
    /// - Parameters:
    ///   - host: The server (DBHOST); empty for the option files' host, else `localhost`.
    ///   - port: The TCP port (DBPORT), 0 to 65535; 0 for the option files' port, else 3306.
    ///   - user: The user (DBUSER); empty for the option files' user, else the login name.
    ///   - database: The main catalog database (DBNAME); nil or empty for the option files' one, if any.
    ///   - defaultsFile: An option file to read instead of the usual ones (`--defaults-file`), or nil.
    ///   - readOnly: True for a session that cannot write.
    ///   - createDatabase: True to create `database` if it does not exist (`dcprod load --init`): the
    ///     connection is made without a database, which is then created and used.
    /// - Throws: `CatalogError` for a port out of range, an unreadable `defaultsFile`, a client library
    ///   that cannot start, a refused connection (naming `user@host:port` and the server's reason), or a
    ///   session that cannot be prepared (utf8mb4, creating or using the database, read-only mode).
    public init(host: String, port: Int, user: String, database: String?, defaultsFile: String?,
                readOnly: Bool, createDatabase: Bool = false) throws {
        let database = database.flatMap { $0.isEmpty ? nil : $0 }
        let handle = try Self.connect(host: host, port: port, user: user, database: database, defaultsFile: defaultsFile,
                                      readOnly: readOnly, createDatabase: createDatabase)
        self.handle = handle
        let connected = database ?? handle.pointee.db.map { String(cString: $0) }
        self.database = connected
        self.readOnly = readOnly
        location = Self.location(of: handle, database: database)
        reconnect = {
            try Self.connect(host: host, port: port, user: user, database: connected, defaultsFile: defaultsFile, readOnly: readOnly,
                             createDatabase: false)
        }
    }

    private static func connect(host: String, port: Int, user: String, database: String?, defaultsFile: String?,
                                readOnly: Bool, createDatabase: Bool) throws -> UnsafeMutablePointer<MYSQL> {
        guard (0...65535).contains(port) else { throw CatalogError("invalid MariaDB port \(port)") }
        if let defaultsFile, !FileManager.default.isReadableFile(atPath: defaultsFile) {
            // Connector/C would silently go on without it and fail later with a vaguer message.
            throw CatalogError("cannot read the MariaDB option file \(defaultsFile)")
        }
        guard Self.libraryStatus == 0, let handle = mysql_init(nil) else {
            throw CatalogError("cannot initialise the MariaDB client library")
        }
        do {
            try Self.setOptions(handle, defaultsFile: defaultsFile, localInfile: !readOnly)
            // Passwd nil: the option files' password, else MYSQL_PWD (Connector/C reads both).
            let connected = Self.withOptionalCString(host.isEmpty ? nil : host) { hostC in
                Self.withOptionalCString(user.isEmpty ? nil : user) { userC in
                    Self.withOptionalCString(createDatabase ? nil : database) { databaseC in
                        mysql_real_connect(handle, hostC, userC, nil, databaseC, UInt32(port), nil, 0)
                    }
                }
            }
            guard connected != nil else {
                throw Self.error(handle).prefixed("cannot connect to \(Self.target(host: host, port: port, user: user, defaultsFile: defaultsFile)): ")
            }
            try Self.prepareSession(handle, database: createDatabase ? database : nil, readOnly: readOnly)
        } catch {
            mysql_close(handle)
            throw error
        }
        return handle
    }

    /// Runs `body` on the live connection, connecting again first if the last call found it lost;
    /// marks it lost when `body` meets a lost connection.
    private func onConnection<T>(_ body: (UnsafeMutablePointer<MYSQL>) throws -> T) throws -> T {
        if lost {
            let fresh = try reconnect()
            mysql_close(handle)
            (handle, lost) = (fresh, false)
        }
        do {
            return try body(handle)
        } catch let error as CatalogError where error.kind == .connection {
            lost = true
            throw error
        }
    }

    deinit {
        mysql_close(handle)
    }

    // MARK: - Connecting

    /// The client options set before connecting; `LOCAL INFILE` only on a connection that may write
    /// (the loader's): a read-only one sends no file of this machine whatever a statement asks.
    private static func setOptions(_ handle: UnsafeMutablePointer<MYSQL>, defaultsFile: String?, localInfile: Bool) throws {
        func set(_ option: mysql_option, _ name: String, _ value: UnsafeRawPointer?) throws {
            guard mysql_options(handle, option, value) == 0 else {
                throw CatalogError("cannot set the MariaDB client option \(name)")
            }
        }
        try set(MYSQL_READ_DEFAULT_GROUP, "read-default-group", "client")
        if let defaultsFile { try set(MYSQL_READ_DEFAULT_FILE, "read-default-file", defaultsFile) }
        try set(MYSQL_SET_CHARSET_NAME, "default-character-set", "utf8mb4")
        var local: UInt32 = localInfile ? 1 : 0
        try set(MYSQL_OPT_LOCAL_INFILE, "local-infile", &local)
        // An unreachable host fails in seconds, not after the system's TCP timeout; an option
        // file's connect-timeout still wins (it is read at connect time).
        var timeout: UInt32 = 10
        try set(MYSQL_OPT_CONNECT_TIMEOUT, "connect-timeout", &timeout)
    }

    /// utf8mb4, LOCAL INFILE (off when read-only), the database and read-only mode, after `mysql_real_connect`.
    private static func prepareSession(_ handle: UnsafeMutablePointer<MYSQL>, database: String?, readOnly: Bool) throws {
        // The option files are read inside mysql_real_connect, after the options set above:
        // a default-character-set or local-infile=0 there would undo them for this connection.
        if String(cString: mysql_character_set_name(handle)) != "utf8mb4" {
            guard mysql_set_character_set(handle, "utf8mb4") == 0 else {
                throw CatalogError("\(location(of: handle)): cannot use utf8mb4: \(errorMessage(handle))")
            }
        }
        var local: UInt32 = readOnly ? 0 : 1
        _ = mysql_options(handle, MYSQL_OPT_LOCAL_INFILE, &local)
        if let database {
            let name = quoteIdentifier(database)
            for sql in ["CREATE DATABASE IF NOT EXISTS \(name)", "USE \(name)"] {
                do {
                    try run(handle, sql)
                } catch {
                    throw CatalogError("\(location(of: handle)): cannot create or use database \(database): \(error)")
                }
            }
        }
        if readOnly { try run(handle, "SET SESSION TRANSACTION READ ONLY") }
    }

    /// `user@host:port` for a failed connection: the arguments, else what the option files say
    /// (Connector/C forgets what it read from them when the connection fails), else Connector/C's
    /// defaults (the login name, localhost, 3306).
    private static func target(host: String, port: Int, user: String, defaultsFile: String?) -> String {
        let options = user.isEmpty || host.isEmpty || port == 0 ? ClientOptionFiles(defaultsFile: defaultsFile).values : [:]
        let shownUser = !user.isEmpty ? user : options["user"] ?? NSUserName()
        let shownHost = !host.isEmpty ? host : options["host"] ?? "localhost"
        let shownPort = port != 0 ? port : options["port"].flatMap { Int($0) } ?? 3306
        return "\(shownUser)@\(shownHost):\(shownPort)"
    }

    private static func location(of handle: UnsafeMutablePointer<MYSQL>, database: String? = nil) -> String {
        let mysql = handle.pointee
        let user = mysql.user.map { String(cString: $0) } ?? "?"
        let host = mysql.host.map { String(cString: $0) } ?? "?"
        let database = database ?? mysql.db.map { String(cString: $0) }
        return "\(user)@\(host):\(mysql.port)" + (database.map { "/" + $0 } ?? "")
    }

    // MARK: - Statements

    private static func errorMessage(_ handle: UnsafeMutablePointer<MYSQL>) -> String {
        guard let message = mysql_error(handle), message.pointee != 0 else {
            return "MariaDB error \(mysql_errno(handle))"
        }
        return String(cString: message)
    }

    /// The connection's last error, with its kind from the error number.
    private static func error(_ handle: UnsafeMutablePointer<MYSQL>) -> CatalogError {
        let code = Int(mysql_errno(handle))
        return CatalogError(errorMessage(handle), kind: kind(ofError: code), code: code)
    }

    /// What a MariaDB error number says failed: client errors 2002–2013 and 2055 (no server, connection
    /// lost), 1205 and 1213 (lock wait timeout, deadlock), 1062 (duplicate key), 1792 and 1290 (read-only transaction or
    /// server), 1146, 1054 and 1049 (no such table, column or database).
    static func kind(ofError code: Int) -> CatalogError.Kind {
        switch code {
        case 2002, 2003, 2005, 2006, 2013, 2055: .connection
        case 1205, 1213: .lock
        case 1062: .duplicateKey
        case 1792, 1290: .readOnly
        case 1146, 1054, 1049: .schema
        default: .statement
        }
    }

    /// Sends one statement; a result set it returns is read and dropped.
    private static func run(_ handle: UnsafeMutablePointer<MYSQL>, _ sql: String) throws {
        try send(handle, sql)
        if mysql_field_count(handle) > 0 {
            guard let result = mysql_store_result(handle) else { throw error(handle) }
            mysql_free_result(result)
        }
    }

    private static func send(_ handle: UnsafeMutablePointer<MYSQL>, _ sql: String) throws {
        var sql = sql
        let status = sql.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { mysql_real_query(handle, $0.baseAddress, UInt(bytes.count)) }
        }
        guard status == 0 else { throw error(handle) }
    }

    /// Sends one statement; a result set it returns is read and dropped.
    ///
    /// - Parameter sql: The statement: one only, since the connection does not allow multi-statements.
    /// - Throws: `CatalogError` with the server's message (`MariaDB error N` when it gives none).
    public func execute(_ sql: String) throws {
        try checkFileAccess(sql)
        try onConnection { try Self.run($0, sql) }
    }

    /// On a read-only session, refuses a statement that would read or write a file (`MariaDBFileAccess`).
    private func checkFileAccess(_ sql: String) throws {
        guard readOnly, let refusal = MariaDBFileAccess.refusal(of: sql) else { return }
        throw CatalogError("refused: \(refusal), which a read-only `dcprod sql` never does; `dcprod sql --write` runs it",
                           kind: .fileAccess)
    }

    /// Runs one statement as a prepared statement, its values bound as strings (`mysql_stmt_bind_param`).
    ///
    /// - Parameters:
    ///   - sql: The statement, with one `?` per value.
    ///   - arguments: The values; nil for NULL.
    /// - Returns: The rows it inserted, changed or deleted (`mysql_stmt_affected_rows`).
    /// - Throws: `CatalogError` with the server's message.
    @discardableResult
    public func execute(_ sql: String, arguments: [String?]) throws -> Int {
        try checkFileAccess(sql)
        return try onConnection { try Self.execute(sql, arguments: arguments, on: $0) }
    }

    private static func execute(_ sql: String, arguments: [String?], on connection: UnsafeMutablePointer<MYSQL>) throws -> Int {
        guard let statement = mysql_stmt_init(connection) else { throw error(connection) }
        defer { mysql_stmt_close(statement) }
        func failure() -> CatalogError {
            let code = Int(mysql_stmt_errno(statement))
            return CatalogError(String(cString: mysql_stmt_error(statement)), kind: kind(ofError: code), code: code)
        }
        var sql = sql
        let prepared = sql.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { mysql_stmt_prepare(statement, $0.baseAddress, UInt(bytes.count)) }
        }
        guard prepared == 0 else { throw failure() }
        // The values' bytes live until the statement has run.
        var storage: [UnsafeMutableRawPointer] = []
        defer { storage.forEach { $0.deallocate() } }
        var binds = [MYSQL_BIND](repeating: MYSQL_BIND(), count: arguments.count)
        for (index, value) in arguments.enumerated() {
            binds[index].buffer_type = MYSQL_TYPE_STRING
            guard let value else {
                binds[index].is_null_value = 1
                continue
            }
            let bytes = Array(value.utf8)
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(1, bytes.count), alignment: 1)
            buffer.copyMemory(from: bytes, byteCount: bytes.count)
            storage.append(buffer)
            binds[index].buffer = buffer
            binds[index].buffer_length = UInt(bytes.count)
        }
        let bound = binds.withUnsafeMutableBufferPointer { mysql_stmt_bind_param(statement, $0.baseAddress) }
        guard bound == 0, mysql_stmt_execute(statement) == 0 else { throw failure() }
        return Int(mysql_stmt_affected_rows(statement))
    }

    /// Sends one statement and hands its rows over as they come from the server (`mysql_use_result`).
    ///
    /// Values are the server's text; byte strings (binary collation 63: BLOB, BINARY, VARBINARY, BIT)
    /// are handed over as bytes, as in the SQLite catalog. On a read-only session a statement that would
    /// read or write a file is refused before it is sent (`MariaDBFileAccess`).
    ///
    /// - Parameters:
    ///   - sql: The statement.
    ///   - columns: Called once with its column names; with none for a statement without a result set.
    ///   - row: Called with each row.
    /// - Throws: `CatalogError` with the server's message, also when the connection fails while the
    ///   rows are read; of kind `fileAccess` for a statement refused on a read-only session; what
    ///   `columns` or `row` throws.
    public func query(_ sql: String, columns: ([String]) throws -> Void, row: ([QueryValue]) throws -> Void) throws {
        try checkFileAccess(sql)
        var started = false
        do {
            try onConnection { try Self.query(sql, on: $0, columns: { started = true; try columns($0) }, row: row) }
        } catch let error as CatalogError where error.kind == .connection && !started {
            // Nothing was handed over: read once more, on a new connection.
            try onConnection { try Self.query(sql, on: $0, columns: columns, row: row) }
        } catch let error as CatalogError where error.code == 1064 && MariaDBFileAccess.holdsSeveralStatements(sql) {
            // A syntax error "near" the second statement: the connection takes one at a time, as SQLite's does.
            throw CatalogError(Self.severalStatements, kind: .statement, code: error.code)
        }
    }

    /// What either engine says of a text with more than one statement, of which none was run.
    static let severalStatements = "one statement at a time: the text holds more than one, and none was run"

    private static func query(_ sql: String, on connection: UnsafeMutablePointer<MYSQL>, columns: ([String]) throws -> Void,
                              row: ([QueryValue]) throws -> Void) throws {
        try Self.send(connection, sql)
        guard let result = mysql_use_result(connection) else {
            if mysql_field_count(connection) == 0 { return try columns([]) }
            throw error(connection)
        }
        defer { mysql_free_result(result) }
        let count = Int(mysql_num_fields(result))
        let fields = UnsafeBufferPointer(start: mysql_fetch_fields(result), count: count)
        try columns(fields.map { field in
            field.name.map { name in
                String(decoding: UnsafeRawBufferPointer(start: name, count: Int(field.name_length)), as: UTF8.self)
            } ?? ""
        })
        let binary = fields.map(isBinary)
        // Rows come from the server as they are read (mysql_use_result): none is kept here.
        while let values = mysql_fetch_row(result) {
            guard let lengths = mysql_fetch_lengths(result) else { throw error(connection) }
            try row((0..<count).map { index in
                guard let value = values[index] else { return .null }
                let bytes = UnsafeRawBufferPointer(start: value, count: Int(lengths[index]))
                return binary[index] ? .bytes(Array(bytes)) : .text(String(decoding: bytes, as: UTF8.self))
            })
        }
        // mysql_use_result: a NULL row is also how a failure while reading rows shows.
        if mysql_errno(connection) != 0 { throw error(connection) }
    }

    /// Byte strings (BLOB, BINARY, VARBINARY, BIT) come back as bytes, as in the SQLite catalog.
    private static func isBinary(_ field: MYSQL_FIELD) -> Bool {
        let binaryTypes: [enum_field_types] = [
            MYSQL_TYPE_TINY_BLOB, MYSQL_TYPE_MEDIUM_BLOB, MYSQL_TYPE_LONG_BLOB, MYSQL_TYPE_BLOB,
            MYSQL_TYPE_VAR_STRING, MYSQL_TYPE_STRING, MYSQL_TYPE_VARCHAR, MYSQL_TYPE_BIT,
        ]
        return field.charsetnr == 63 && binaryTypes.contains { $0.rawValue == field.type.rawValue }
    }

    /// Begins a transaction with `START TRANSACTION`. DDL inside it commits it implicitly.
    ///
    /// - Throws: `CatalogError` with the server's message.
    public func begin() throws { try execute("START TRANSACTION") }
    /// Commits the open transaction.
    ///
    /// - Throws: `CatalogError` with the server's message.
    public func commit() throws { try execute("COMMIT") }
    /// Rolls the open transaction back.
    ///
    /// - Throws: `CatalogError` with the server's message.
    public func rollback() throws { try execute("ROLLBACK") }

    /// The columns of a table or view, from `information_schema.COLUMNS`; empty if it does not exist.
    ///
    /// Numeric columns are the integer types (TINYINT to BIGINT, with their ranges), FLOAT, DOUBLE and
    /// DECIMAL; a column takes NULL unless NOT NULL or in the primary key.
    ///
    /// - Parameters:
    ///   - table: The table's bare name.
    ///   - split: The filter whose database `DBNAME_f` holds it, or nil for the current database.
    /// - Returns: The columns, by their ordinal position.
    /// - Throws: `CatalogError` when the query fails, or when `split` is given and no database is selected.
    public func columns(of table: String, split: String?) throws -> [CatalogColumn] {
        let numeric: Set<String> = ["tinyint", "smallint", "mediumint", "int", "bigint", "float", "double", "decimal"]
        let schema = try split.map { literal(try splitDatabase($0)) } ?? "DATABASE()"
        let result = try query("""
            SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY FROM information_schema.COLUMNS \
            WHERE TABLE_SCHEMA = \(schema) AND TABLE_NAME = \(literal(table)) ORDER BY ORDINAL_POSITION
            """)
        return result.rows.map { row in
            let type = (row[1] ?? "").lowercased()
            return CatalogColumn(name: row[0] ?? "", isNumeric: numeric.contains(type),
                                 integers: Self.integers(type, unsigned: (row[2] ?? "").lowercased().contains("unsigned")),
                                 isNullable: row[3] == "YES" && row[4] != "PRI", isPrimaryKey: row[4] == "PRI")
        }
    }

    /// The integers of a MariaDB integer type: TINYINT 8 bits, SMALLINT 16, MEDIUMINT 24, INT 32,
    /// BIGINT 64 (unsigned: from 0, a BIGINT's capped at Int64's largest); nil for another type.
    static func integers(_ type: String, unsigned: Bool) -> ClosedRange<Int64>? {
        let bits: Int64
        switch type {
        case "tinyint": bits = 8
        case "smallint": bits = 16
        case "mediumint": bits = 24
        case "int": bits = 32
        case "bigint": return unsigned ? 0...Int64.max : Int64.min...Int64.max
        default: return nil
        }
        return unsigned ? 0...((1 << bits) - 1) : -(1 << (bits - 1))...((1 << (bits - 1)) - 1)
    }

    // MARK: - Loading

    /// `LOAD DATA LOCAL INFILE`, inside the caller's transaction. Fields go through user variables
    /// so that an empty field is NULL (not 0 or ''); no escape character, as in RFC 4180. With
    /// LOCAL the server turns bad values and duplicate keys into warnings and goes on: any
    /// warning is an error here, and the caller rolls back.
    ///
    /// Connector/C reads the file again from `csv.path` and sends it (the values in memory are not used),
    /// as utf8mb4, lines ending as its header line does (`\r\n` or `\n`). An empty field is NULL
    /// whether or not it is quoted. The server must allow `local_infile`.
    ///
    /// - Parameters:
    ///   - csv: The validated file; it must be unchanged since it was validated.
    ///   - table: The destination, as `qualified(_:split:)` gives it (quoted here when it is not yet).
    /// - Returns: The number of rows the server says it inserted.
    /// - Throws: `CatalogError` when `csv` has no columns; naming the file and table when the server
    ///   refuses the statement; with the first warning's words, number, kind and row (`row(of:in:)`)
    ///   when it answers with warnings.
    public func bulkInsert(_ csv: ValidatedCSV, into table: String) throws -> Int {
        guard !csv.columns.isEmpty else { throw CatalogError("\(csv.path): no columns") }
        // An empty field, quoted or not, is NULL: read into a variable and set through NULLIF. That
        // costs the server a quarter of the load, so a file with no empty field (most) is read
        // straight into its columns, which gives the same rows.
        let targets: String
        if csv.hasEmptyField {
            let variables = csv.columns.indices.map { "@c\($0 + 1)" }
            let assignments = zip(csv.columns, variables).map { "\(Self.quoteIdentifier($0)) = NULLIF(\($1), '')" }
            targets = "(\(variables.joined(separator: ", "))) SET \(assignments.joined(separator: ", "))"
        } else {
            targets = "(\(csv.columns.map(Self.quoteIdentifier).joined(separator: ", ")))"
        }
        let sql = """
            LOAD DATA LOCAL INFILE \(literal(csv.path)) INTO TABLE \(table.hasPrefix("`") ? table : Self.quoteIdentifier(table)) \
            CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY \(literal("\"")) ESCAPED BY '' \
            LINES TERMINATED BY \(literal(Self.lineEnd(of: csv.path))) IGNORE 1 LINES \(targets)
            """
        let (inserted, warnings) = try onConnection { connection in
            do {
                try Self.send(connection, sql)
            } catch let error as CatalogError {
                throw error.prefixed("\(csv.path) into \(table): ")
            }
            let inserted = mysql_affected_rows(connection)
            guard inserted != UInt64.max else { throw Self.error(connection).prefixed("\(csv.path) into \(table): ") }
            return (inserted, mysql_warning_count(connection))
        }
        if warnings > 0 {
            // The first warning is the row's: its words and number, as an error's (1062, a duplicate key).
            let first = try query("SHOW WARNINGS LIMIT 1").rows.first
            let code = first.flatMap { $0[1].flatMap { Int($0) } }
            throw CatalogError(first.flatMap { $0[2] } ?? "\(warnings) warnings, none shown", kind: code.map(Self.kind(ofError:)) ?? .statement,
                               code: code, row: first.flatMap { Self.row(of: $0[2] ?? "", in: csv) })
        }
        return Int(inserted)
    }

    /// The row of `csv` a warning of `LOAD DATA` is about, from 0: `… at row N` names it (counted from
    /// the first line after the header); a duplicate key (`Duplicate entry 'K' for key …`) is found by
    /// its key in the file.
    static func row(of warning: String, in csv: ValidatedCSV) -> Int? {
        if let at = warning.range(of: " at row ", options: .backwards), let row = Int(warning[at.upperBound...]) {
            return (1...csv.rowCount).contains(row) ? row - 1 : nil
        }
        guard warning.hasPrefix("Duplicate entry '"), let end = warning.range(of: "' for key ", options: .backwards) else { return nil }
        return csv.row(withKey: String(warning[warning.index(warning.startIndex, offsetBy: 17)..<end.lowerBound]))
    }

    /// "\r\n" when the header line of the file ends so (ValidatedCSV accepts both), else "\n".
    private static func lineEnd(of path: String) -> String {
        guard let file = FileHandle(forReadingAtPath: path) else { return "\n" }
        defer { try? file.close() }
        let head = (try? file.read(upToCount: 1 << 16)) ?? Data()
        guard let newline = head.firstIndex(of: 0x0A), newline > head.startIndex,
              head[head.index(before: newline)] == 0x0D else { return "\n" }
        return "\r\n"
    }

    // MARK: - Quoting

    /// A SQL string literal, escaped by Connector/C for this connection's character set and
    /// sql_mode (read from the handle; nothing is sent). For what cannot be a bound parameter:
    /// `LOAD DATA`'s file and separators, `information_schema` names.
    private func literal(_ text: String) -> String {
        let bytes = Array(text.utf8).map { CChar(bitPattern: $0) }
        var escaped = [CChar](repeating: 0, count: bytes.count * 2 + 1)
        let length = mysql_real_escape_string(handle, &escaped, bytes, UInt(bytes.count))
        let body = escaped.prefix(Int(length)).map { UInt8(bitPattern: $0) }
        return "'" + String(decoding: body, as: UTF8.self) + "'"
    }

    private static func quoteIdentifier(_ name: String) -> String {
        "`" + name.replacingOccurrences(of: "`", with: "``") + "`"
    }

    private static func withOptionalCString<T>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> T) -> T {
        guard let text else { return body(nil) }
        return text.withCString(body)
    }
}

/// The `[client]` options of the MariaDB option files, read only to name the server in a message
/// when a connection fails: the files Connector/C reads (`defaultsFile` alone when given, else
/// /etc/my.cnf, /etc/mysql/my.cnf, $MARIADB_HOME/my.cnf, ~/.my.cnf), with `!include` and
/// `!includedir`; later values win. Only user, host and port are kept: never the password.
private struct ClientOptionFiles {
    private(set) var values: [String: String] = [:]
    private static let groups: Set<String> = ["client", "client-server", "client-mariadb"]
    private static let kept: Set<String> = ["user", "host", "port"]

    init(defaultsFile: String?) {
        if let defaultsFile {
            read(defaultsFile, depth: 0)
            return
        }
        let environment = ProcessInfo.processInfo.environment
        var files = ["/etc/my.cnf", "/etc/mysql/my.cnf"]
        if let home = environment["MARIADB_HOME"] ?? environment["MYSQL_HOME"] { files.append(home + "/my.cnf") }
        if let home = environment["HOME"] { files.append(home + "/.my.cnf") }
        for file in files { read(file, depth: 0) }
    }

    private mutating func read(_ path: String, depth: Int) {
        guard depth < 8, let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        var inGroup = false
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("!includedir") {
                let directory = line.dropFirst("!includedir".count).trimmingCharacters(in: .whitespaces)
                let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
                for name in names.sorted() where name.hasSuffix(".cnf") { read(directory + "/" + name, depth: depth + 1) }
            } else if line.hasPrefix("!include") {
                read(line.dropFirst("!include".count).trimmingCharacters(in: .whitespaces), depth: depth + 1)
            } else if line.hasPrefix("[") {
                let group = line.dropFirst().prefix { $0 != "]" }.trimmingCharacters(in: .whitespaces).lowercased()
                inGroup = Self.groups.contains(group)
            } else if inGroup, !line.hasPrefix("#"), !line.hasPrefix(";"), let equals = line.firstIndex(of: "=") {
                let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
                    .replacingOccurrences(of: "_", with: "-")
                guard Self.kept.contains(key) else { continue }
                var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                if value.count >= 2, let quote = value.first, quote == "\"" || quote == "'", value.last == quote {
                    value = String(value.dropFirst().dropLast())
                } else if let comment = value.firstIndex(of: "#") {
                    value = value[..<comment].trimmingCharacters(in: .whitespaces)
                }
                values[key] = value
            }
        }
    }
}

extension MariaDBCatalog {
    /// The indexes of a base table but its primary key, from `information_schema.STATISTICS`.
    ///
    /// Each `create` is rebuilt from the index's columns in order and whether it is unique, qualified
    /// with its database: prefix lengths, FULLTEXT or SPATIAL types and descending columns are not kept
    /// (the catalog's schema has none).
    ///
    /// - Parameters:
    ///   - table: The table's bare name.
    ///   - split: The filter whose database `DBNAME_f` holds it, or nil for the main database.
    /// - Returns: The indexes, by name; empty for a view.
    /// - Throws: `CatalogError` when no database is selected or the query fails.
    public func secondaryIndexes(of table: String, split: String?) throws -> [IndexDefinition] {
        // Base tables only: views have no indexes, and information_schema lists none for them.
        let database = try split.map(splitDatabase) ?? mainDatabase()
        let rows = try query("""
            SELECT s.INDEX_NAME, s.NON_UNIQUE, s.COLUMN_NAME FROM information_schema.STATISTICS s
            JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = s.TABLE_SCHEMA AND t.TABLE_NAME = s.TABLE_NAME
            WHERE s.TABLE_SCHEMA = '\(database)' AND s.TABLE_NAME = '\(table)' AND t.TABLE_TYPE = 'BASE TABLE'
            AND s.INDEX_NAME <> 'PRIMARY' ORDER BY s.INDEX_NAME, s.SEQ_IN_INDEX
            """).rows
        var order: [String] = []
        var columns: [String: [String]] = [:]
        var unique: [String: Bool] = [:]
        for row in rows {
            guard let name = row[0], let column = row[2] else { continue }
            if columns[name] == nil { order.append(name) }
            columns[name, default: []].append(Self.quoteIdentifier(column))
            unique[name] = row[1] == "0"
        }
        return order.map { name in
            IndexDefinition(name: name, table: table, split: split,
                            create: "CREATE \(unique[name]! ? "UNIQUE " : "")INDEX \(Self.quoteIdentifier(name)) ON \(Self.quoteIdentifier(database)).\(Self.quoteIdentifier(table)) (\(columns[name]!.joined(separator: ", ")))")
        }
    }

    /// `DROP INDEX name ON table`, the table qualified with its per-filter database when it has one.
    ///
    /// - Parameter index: An index from `secondaryIndexes(of:split:)`.
    /// - Returns: The statement; it fails for an index that is already gone.
    public func dropIndexStatement(_ index: IndexDefinition) -> String {
        "DROP INDEX \(Self.quoteIdentifier(index.name)) ON \(qualified(index.table, split: index.split))"
    }

    // MARK: - Per-filter stores: databases DBNAME_f on the same server.

    /// The main database, the one connected to.
    func mainDatabase() throws -> String {
        guard let database else { throw CatalogError("\(location): no database selected") }
        return database
    }

    func splitDatabase(_ split: String) throws -> String { try mainDatabase() + "_" + split }

    /// The table in its per-filter database (`` `dc_u`.`Source` ``), or its quoted name in the current one.
    ///
    /// Without a selected database the per-filter name cannot be made, and the quoted bare name is
    /// returned: the statement then fails with the server's message rather than here.
    ///
    /// - Parameters:
    ///   - table: The table's bare name.
    ///   - split: The filter, or nil.
    /// - Returns: The name, backquoted.
    public func qualified(_ table: String, split: String?) -> String {
        guard let split, let database = try? splitDatabase(split) else { return Self.quoteIdentifier(table) }
        return Self.quoteIdentifier(database) + "." + Self.quoteIdentifier(table)
    }

    /// Creates the database `DBNAME_f` (utf8mb4) if absent and runs `script` in it, then goes back to
    /// the main database.
    ///
    /// - Parameters:
    ///   - split: The filter.
    ///   - script: The per-filter and bookkeeping blocks of `templates/schema/mysql.sql`.
    /// - Throws: `CatalogError` when no database is selected, or the database or a statement of the script
    ///   cannot be created or run.
    public func createSplit(_ split: String, script: String) throws {
        let main = try mainDatabase()
        let database = try splitDatabase(split)
        try execute("CREATE DATABASE IF NOT EXISTS \(Self.quoteIdentifier(database)) CHARACTER SET utf8mb4")
        try execute("USE \(Self.quoteIdentifier(database))")
        defer { try? execute("USE \(Self.quoteIdentifier(main))") }
        try run(script: script)
    }

    /// Persistent views in the main database, made once when the schema is created.
    ///
    /// Unlike the SQLite catalog's, they stay, so `CatalogConnection.open(_:readOnly:defaultsFile:createDatabase:)`
    /// does not call this on every connection.
    ///
    /// - Parameters:
    ///   - splits: The filters, each with its database `DBNAME_f`.
    ///   - tables: The per-filter tables, each of which gets a union view of its name.
    ///   - views: The schema's `views` block.
    /// - Throws: `CatalogError` when a view cannot be created (for example because it already exists).
    public func joinSplits(_ splits: [String], tables: [String], views: String) throws {
        for statement in unionViewStatements(splits, tables: tables, temporary: false) + Self.statements(of: views) {
            try execute(statement)
        }
    }
}
