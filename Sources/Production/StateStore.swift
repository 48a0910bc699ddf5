import Basics
import Foundation
import GRDB

/// The production's single source of truth: SQLite in WAL mode at the root of the tree,
/// written by the manager alone. Its schema evolves through numbered migrations.
public final class StateStore: Sendable {
    public let pool: DatabasePool
    public let path: String
    /// Values kept until the store changes (`dcprod serve`'s summary and metrics).
    public let readings: StoreReadings

    /// How a verb opens the store.
    public enum Access: Sendable, Equatable {
        /// `prepare`: the store is made (and migrated) at `path`.
        case create
        /// A verb that changes the production, under its lock: an older store is migrated first.
        case write
        /// A reader (`status`, `logbook`, `sql`, `load --status`, pages): nothing is ever written, not even
        /// the header; a store that needs migrating is refused with the verb that upgrades it.
        case read
    }

    /// Opens the store at `path`: a writer migrates it, a reader only reads it.
    ///
    /// Only `prepare` creates a store (`.create`). For an existing production a missing, empty or
    /// unreadable store is an error and nothing is written: recreating it empty would lose the
    /// production's history, and its next jobs would reuse the old names and outcome files.
    ///
    /// A reader opens the file read-only (`SQLITE_OPEN_READONLY`), and so works for a colleague
    /// without write permission and on a read-only file system. SQLite reads a WAL database
    /// read-only only where its `-shm` file exists or can be made; where neither holds (a store
    /// closed cleanly on a read-only file system, where no writer can be at work) it is opened
    /// `immutable`.
    ///
    /// A writer is refused a store it cannot write (`requireWritable(_:)`) before SQLite opens it, and a
    /// full file system is said as such (`StateStoreError.full`), for a reader too: SQLite cannot make
    /// the index of a WAL database (`-shm`) on it.
    ///
    /// - Throws: `StateStoreError` naming the file and how to recover.
    public init(path: String, access: Access = .write) throws {
        if access != .create {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw StateStoreError.missing(path) }
            guard !isDirectory.boolValue else { throw StateStoreError.unreadable(path, "a directory, not a file") }
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            guard size > 0 else { throw StateStoreError.empty(path) }
        }
        if access == .write { try Self.requireWritable(path) }
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.readonly = access == .read
        self.path = path
        readings = StoreReadings(path: access == .read ? SQLiteReadOnly.path(path) : path)
        do {
            if access == .read {
                pool = try DatabasePool(path: SQLiteReadOnly.path(path), configuration: configuration)
                let applied = try pool.read { db in try Self.migrator.appliedIdentifiers(db).count }
                guard applied == Self.latestSchemaVersion else {
                    throw StateStoreError.otherVersion(path, found: applied, expected: Self.latestSchemaVersion)
                }
            } else {
                pool = try DatabasePool(path: path, configuration: configuration)
                try Self.migrator.migrate(pool)
            }
        } catch let error as DatabaseError {
            throw Self.fileSystemError(error, path: path) ?? StateStoreError.unreadable(path, error.message ?? "\(error)")
        }
    }

    /// Runs `updates` in one write transaction (`DatabasePool.write`): every change of the store goes
    /// through here, so that a full or read-only file system is said as such, naming the store
    /// (`StateStoreError.full`, `.readOnly`); the transaction was rolled back and nothing changed.
    public func write<T>(_ updates: (Database) throws -> T) throws -> T {
        do {
            return try pool.write(updates)
        } catch let error as DatabaseError {
            throw Self.fileSystemError(error, path: path) ?? error
        }
    }

    /// SQLite's error as the file system's problem (`FileSystemProblem`), when it is one.
    static func fileSystemError(_ error: DatabaseError, path: String) -> StateStoreError? {
        FileSystemProblem(sqliteResultCode: error.resultCode.rawValue, path: path).map(StateStoreError.init)
    }

    /// Refuses a store this user cannot write — its file system mounted read-only, or the file or its
    /// directory (where SQLite makes its `-wal` and `-shm` files) not writable — before anything is
    /// written: a writing verb checks this before it takes the production's lock.
    ///
    /// - Throws: `StateStoreError.readOnly`, with the file's owner.
    public static func requireWritable(_ path: String) throws {
        if let problem = FileSystemProblem.unwritable(path) { throw StateStoreError.readOnly(problem) }
    }

    /// The number of migrations applied: the schema version.
    public func schemaVersion() throws -> Int {
        try pool.read { db in try Self.migrator.appliedIdentifiers(db).count }
    }

    public static var latestSchemaVersion: Int { migrator.migrations.count }

    static var migrator: DatabaseMigrator { migrator(before: nil) }

    /// The migrations before the one whose name begins with `version` (`"v21:"`), all when nil: a
    /// store of an earlier schema, as the tests of a migration make one.
    static func migrator(before version: String?) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in migrations.prefix(while: { migration in version.map { !migration.name.hasPrefix($0) } ?? true }) {
            migrator.registerMigration(migration.name) { db in
                try db.execute(sql: migration.sql)
                try migration.convert?(db)
            }
        }
        return migrator
    }
}

/// A state store that cannot be opened as the production's history.
public enum StateStoreError: Error, CustomStringConvertible, Equatable {
    case missing(String)
    case empty(String)
    case unreadable(String, String)
    /// A reader found a store of another schema version: readers never migrate.
    case otherVersion(String, found: Int, expected: Int)
    /// Its file system is full: the change was not made.
    case full(FileSystemProblem)
    /// A writer found it read-only: on a file system mounted read-only, or not this user's to write.
    case readOnly(FileSystemProblem)

    /// The store's file system problem: `.full` or `.readOnly`.
    init(_ problem: FileSystemProblem) {
        if case .full = problem.kind { self = .full(problem) } else { self = .readOnly(problem) }
    }

    static let recovery = "restore it from a backup (one file: copy it while no verb runs), or prepare a new production under another DCNAME; dcprod does not recreate it, which would lose what was done"

    public var description: String {
        switch self {
        case .missing(let path): "\(path): the state store is missing; \(Self.recovery)"
        case .empty(let path): "\(path): the state store is empty (0 bytes); \(Self.recovery)"
        case .unreadable(let path, let why): "\(path): the state store cannot be read: \(why); \(Self.recovery)"
        case .otherVersion(let path, let found, let expected) where found < expected:
            "\(path): the state store has schema v\(found) and this dcprod reads v\(expected); a reader never changes it: "
                + "`dcprod status --refresh` (or any verb that changes the production) upgrades it"
        case .otherVersion(let path, let found, let expected):
            "\(path): the state store has schema v\(found), newer than this dcprod's v\(expected): use the dcprod that wrote it"
        case .full(let problem):
            "\(problem); the state store is as it was before this command\n\(problem.remedy): it goes on where it stopped"
        case .readOnly(let problem):
            "\(problem); a command that changes the production cannot run, and nothing was changed; "
                + "`dcprod status`, `logbook` and `sql` read it as it is\n\(problem.remedy)"
        }
    }
}

/// Opening an SQLite file read-only where nothing may be written beside it.
public enum SQLiteReadOnly {
    /// What to open for reading the database at `path`: the path itself, or, where SQLite could not
    /// make or grow a WAL database's index (`-shm`) beside it — a read-only file system, a directory of
    /// another user's, a full file system — and no `-wal` file holds what a writer has not
    /// checkpointed (none, or an empty one that a writer which failed on a full disk left), a `file:`
    /// URI with `immutable=1`: SQLite then reads the file as it is, without locks. Where nothing can be
    /// written, no writer can be at work.
    public static func path(_ path: String) -> String {
        let wal = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        guard wal == 0, FileSystemProblem.diagnose(path: path + "-shm", needed: 64 << 10) != nil else { return path }
        var uri = URLComponents()
        uri.scheme = "file"
        uri.path = path
        uri.queryItems = [URLQueryItem(name: "immutable", value: "1")]
        return uri.string ?? path
    }
}
