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
    /// - Throws: `StateStoreError` naming the file and how to recover.
    public init(path: String, access: Access = .write) throws {
        if access != .create {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw StateStoreError.missing(path) }
            guard !isDirectory.boolValue else { throw StateStoreError.unreadable(path, "a directory, not a file") }
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            guard size > 0 else { throw StateStoreError.empty(path) }
        }
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
            throw StateStoreError.unreadable(path, error.message ?? "\(error)")
        }
    }

    /// The number of migrations applied: the schema version.
    public func schemaVersion() throws -> Int {
        try pool.read { db in try Self.migrator.appliedIdentifiers(db).count }
    }

    public static var latestSchemaVersion: Int { migrator.migrations.count }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in migrations {
            migrator.registerMigration(migration.name) { db in try db.execute(sql: migration.sql) }
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
        }
    }
}

/// Opening an SQLite file read-only where nothing may be written beside it.
public enum SQLiteReadOnly {
    /// What to open for reading the database at `path`: the path itself, or, where SQLite could not
    /// share a WAL database's index read-only — no `-shm` file and none can be made beside it (a
    /// read-only file system, a directory of another user's) — and no `-wal` file holds what a writer
    /// has not checkpointed, a `file:` URI with `immutable=1`: SQLite then reads the file as it is,
    /// without locks. Where nothing can be written, no writer can be at work.
    public static func path(_ path: String) -> String {
        let directory = (path as NSString).deletingLastPathComponent
        let fm = FileManager.default
        guard access(directory.isEmpty ? "." : directory, W_OK) != 0, !fm.fileExists(atPath: path + "-shm"),
              !fm.fileExists(atPath: path + "-wal") else { return path }
        var uri = URLComponents()
        uri.scheme = "file"
        uri.path = path
        uri.queryItems = [URLQueryItem(name: "immutable", value: "1")]
        return uri.string ?? path
    }
}
