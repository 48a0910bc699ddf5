import GRDB
import GRDBSQLite

extension Statement {
    /// Binds values with `bind` (SQLite's `sqlite3_bind_*` on the handle it is given) and steps the
    /// statement once; the statement is left reset, without values, for its next use.
    ///
    /// For the statements run millions of times with many values (a load's rows, verify's outcomes):
    /// GRDB's `StatementArguments` cast every value to an existential first, which was most of their
    /// time. Values bound with `SQLITE_STATIC` must outlive this call, not more.
    ///
    /// - Parameters:
    ///   - db: The connection the statement belongs to, for SQLite's message.
    ///   - bind: Binds the values; returns the first result code that is not `SQLITE_OK`, or `SQLITE_OK`.
    /// - Throws: A GRDB `DatabaseError` with SQLite's code and message when a value cannot be bound
    ///   (e.g. `SQLITE_TOOBIG`) or the step fails (a constraint).
    public func stepOnce(in db: Database, binding bind: (OpaquePointer) -> Int32) throws {
        let handle = sqliteStatement
        var code = bind(handle)
        if code == SQLITE_OK { code = sqlite3_step(handle) }
        let error = code == SQLITE_DONE ? nil : DatabaseError(
            resultCode: ResultCode(rawValue: sqlite3_extended_errcode(db.sqliteConnection)),
            message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: sql)
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        if let error { throw error }
    }
}
