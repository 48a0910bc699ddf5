import Foundation
import GRDB

/// The production's single source of truth: SQLite in WAL mode at the root of the tree,
/// written by the manager alone. Its schema evolves through numbered migrations.
public final class StateStore: Sendable {
    public let pool: DatabasePool
    public let path: String

    /// Opens (and migrates) the store at `path`, creating it if needed.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        pool = try DatabasePool(path: path, configuration: configuration)
        self.path = path
        try Self.migrator.migrate(pool)
    }

    /// The number of migrations applied: the schema version.
    public func schemaVersion() throws -> Int {
        try pool.read { db in try Self.migrator.appliedIdentifiers(db).count }
    }

    public static var latestSchemaVersion: Int { migrator.migrations.count }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: frames, events, inventory") { db in
            try db.execute(sql: """
                CREATE TABLE frame (
                    id INTEGER PRIMARY KEY,
                    path TEXT NOT NULL UNIQUE,
                    run INTEGER NOT NULL, camcol INTEGER NOT NULL, field INTEGER NOT NULL,
                    filter TEXT NOT NULL,
                    width INTEGER NOT NULL, height INTEGER NOT NULL,
                    corner1Ra REAL NOT NULL, corner1Decl REAL NOT NULL,
                    corner2Ra REAL NOT NULL, corner2Decl REAL NOT NULL,
                    corner3Ra REAL NOT NULL, corner3Decl REAL NOT NULL,
                    corner4Ra REAL NOT NULL, corner4Decl REAL NOT NULL,
                    centerRa REAL NOT NULL, centerDecl REAL NOT NULL,
                    size INTEGER NOT NULL, mtime REAL NOT NULL,
                    recordedAt TEXT NOT NULL,
                    UNIQUE (run, camcol, field, filter)
                );
                CREATE TABLE event (
                    id INTEGER PRIMARY KEY,
                    step TEXT NOT NULL,
                    filter TEXT NOT NULL,
                    key TEXT NOT NULL,
                    frameId INTEGER REFERENCES frame(id),
                    state TEXT NOT NULL DEFAULT 'new',
                    UNIQUE (step, filter, key)
                );
                CREATE INDEX event_by_state ON event(step, filter, state);
                -- A file inventory looked at and did not make an event of: a failure
                -- (unreadable, inconsistent) or a skip (outside REGION or FILTERS).
                -- Kept with size and mtime so that a rerun reads it again only if it changed.
                CREATE TABLE inventory_rejection (
                    path TEXT PRIMARY KEY,
                    kind TEXT NOT NULL CHECK (kind IN ('failure', 'skip')),
                    reason TEXT NOT NULL,
                    message TEXT NOT NULL,
                    size INTEGER NOT NULL, mtime REAL NOT NULL,
                    recordedAt TEXT NOT NULL
                );
                """)
        }
        return migrator
    }
}
