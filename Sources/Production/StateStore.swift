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
        migrator.registerMigration("v2: jobs, attempts, outcomes") { db in
            try db.execute(sql: """
                CREATE TABLE job (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE,
                    step TEXT NOT NULL,
                    filter TEXT NOT NULL,
                    manifest TEXT NOT NULL,
                    events INTEGER NOT NULL,
                    createdAt TEXT NOT NULL
                );
                CREATE INDEX job_by_step ON job(step, filter);
                CREATE TABLE job_event (
                    jobId INTEGER NOT NULL REFERENCES job(id),
                    position INTEGER NOT NULL,
                    eventId INTEGER NOT NULL REFERENCES event(id),
                    PRIMARY KEY (jobId, position)
                ) WITHOUT ROWID;
                CREATE INDEX job_event_by_event ON job_event(eventId);
                -- One submission of a job. The row (with its unique token) is written before the
                -- submission call, the backend id after it: a manager killed in between finds the
                -- job by its token and adopts it instead of submitting it again.
                CREATE TABLE attempt (
                    id INTEGER PRIMARY KEY,
                    jobId INTEGER NOT NULL REFERENCES job(id),
                    number INTEGER NOT NULL,
                    backend TEXT NOT NULL,
                    token TEXT NOT NULL UNIQUE,
                    backendId TEXT,
                    state TEXT NOT NULL,
                    rawState TEXT,
                    host TEXT,
                    submittedAt TEXT,
                    startedAt TEXT,
                    endedAt TEXT,
                    exitCode INTEGER,
                    signal INTEGER,
                    outcomes TEXT NOT NULL,
                    log TEXT NOT NULL,
                    verified INTEGER NOT NULL DEFAULT 0,
                    UNIQUE (jobId, number)
                );
                CREATE INDEX attempt_by_state ON attempt(state);
                -- Every outcome ever read, per event and attempt: the history behind event.state.
                CREATE TABLE outcome (
                    eventId INTEGER NOT NULL REFERENCES event(id),
                    attemptId INTEGER NOT NULL REFERENCES attempt(id),
                    status TEXT NOT NULL,
                    class TEXT NOT NULL,
                    message TEXT NOT NULL,
                    seconds REAL,
                    PRIMARY KEY (eventId, attemptId)
                ) WITHOUT ROWID;
                ALTER TABLE event ADD COLUMN jobId INTEGER REFERENCES job(id);
                ALTER TABLE event ADD COLUMN class TEXT;
                ALTER TABLE event ADD COLUMN message TEXT;
                ALTER TABLE event ADD COLUMN attemptId INTEGER REFERENCES attempt(id);
                ALTER TABLE event ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
                """)
        }
        migrator.registerMigration("v3: outputs of outcomes, load rejections") { db in
            try db.execute(sql: """
                ALTER TABLE outcome ADD COLUMN outputs TEXT;
                -- CSV files the catalog loader refused, with the line and reason; a file that later
                -- loads leaves this table.
                CREATE TABLE load_rejection (
                    path TEXT PRIMARY KEY,
                    line INTEGER NOT NULL,
                    message TEXT NOT NULL,
                    recordedAt TEXT NOT NULL
                );
                """)
        }
        migrator.registerMigration("v4: accounting of attempts") { db in
            try db.execute(sql: """
                ALTER TABLE attempt ADD COLUMN node TEXT;
                ALTER TABLE attempt ADD COLUMN elapsed TEXT;
                ALTER TABLE attempt ADD COLUMN cpuTime TEXT;
                ALTER TABLE attempt ADD COLUMN maxRSS TEXT;
                """)
        }
        migrator.registerMigration("v5: learnt resources of attempts") { db in
            try db.execute(sql: """
                ALTER TABLE attempt ADD COLUMN memory TEXT;
                ALTER TABLE attempt ADD COLUMN walltime TEXT;
                -- memory, time or node: the batch system ended the attempt, and dcprod submitted the
                -- job again by itself (state 'requeued'; verify never reads such an attempt).
                ALTER TABLE attempt ADD COLUMN exhausted TEXT;
                """)
        }
        migrator.registerMigration("v6: inputs of derived events") { db in
            try db.execute(sql: """
                -- The events an event of a later step is made from: a coadd patch from the processCcd
                -- frames that touch it. Recorded while the derived event is new; planning reads them.
                CREATE TABLE event_input (
                    eventId INTEGER NOT NULL REFERENCES event(id),
                    inputId INTEGER NOT NULL REFERENCES event(id),
                    PRIMARY KEY (eventId, inputId)
                ) WITHOUT ROWID;
                CREATE INDEX event_input_by_input ON event_input(inputId);
                """)
        }
        migrator.registerMigration("v7: bundles of jobs run as one batch job") { db in
            try db.execute(sql: """
                -- `run --by-patch`: the jobs of a patch's coadd and forced photometry follow its
                -- processCcd job (their lead) in one batch job; each keeps its own attempts, outcome
                -- files and report. NULL: a job submitted on its own.
                ALTER TABLE job ADD COLUMN leadId INTEGER REFERENCES job(id);
                CREATE INDEX job_by_lead ON job(leadId);
                """)
        }
        migrator.registerMigration("v8: events counted by state and class from the index") { db in
            try db.execute(sql: """
                -- Every verify, report and status counts a step's events by state and class: with the
                -- class in the index the count reads the index alone, in order, instead of each event's
                -- row and then a sort (80 M instructions instead of 255 M for 50,000 events).
                DROP INDEX event_by_state;
                CREATE INDEX event_by_state ON event(step, filter, state, class);
                """)
        }
        migrator.registerMigration("v9: virtual memory of attempts") { db in
            try db.execute(sql: """
                -- Grid Engine's qacct gives maxvmem, the peak of virtual memory, not a resident set
                -- size: it was kept as maxRSS, where Slurm's MaxRSS is. It has a column of its own.
                ALTER TABLE attempt ADD COLUMN maxVMem TEXT;
                UPDATE attempt SET maxVMem = maxRSS, maxRSS = NULL WHERE backend = 'sge';
                """)
        }
        migrator.registerMigration("v10: damaged lines of outcome files") { db in
            try db.execute(sql: """
                -- The lines of an attempt's outcome file that verify did not believe of any event
                -- (`file:line: reason`, one a line): the report names them.
                ALTER TABLE attempt ADD COLUMN damaged TEXT;
                """)
        }
        migrator.registerMigration("v11: what derived events were planned on") { db in
            try db.execute(sql: """
                -- The input's state and attempt when the event was planned: an input with another
                -- outcome since makes the event stale (StateStore.staleEvents). NULL: not planned yet,
                -- or planned in a bundle on what its lead is to make; 'absent': an input added after
                -- the event was planned. Stores of before v11 take their inputs as they are now.
                ALTER TABLE event_input ADD COLUMN state TEXT;
                ALTER TABLE event_input ADD COLUMN attemptId INTEGER;
                UPDATE event_input SET state = i.state, attemptId = i.attemptId FROM event i
                WHERE i.id = event_input.inputId AND EXISTS (SELECT 1 FROM event e WHERE e.id = event_input.eventId AND e.jobId IS NOT NULL);
                """)
        }
        migrator.registerMigration("v12: sizes of outputs") { db in
            try db.execute(sql: """
                -- The size in bytes of each output of an ok outcome, in the order of `outputs`, as verify
                -- found them when it checked them: the accounting's data volumes, never found by walking
                -- the tree again.
                ALTER TABLE outcome ADD COLUMN sizes TEXT;
                """)
        }
        migrator.registerMigration("v13: events loaded into the catalog") { db in
            try db.execute(sql: """
                -- The rows the catalog took from the event's CSV outputs, set by `load` once every one
                -- of them is in the catalog's ledger; NULL: not loaded yet, or run again since. The task
                -- summary's `loaded` column and the accounting's rows per step read it, never the catalog.
                ALTER TABLE event ADD COLUMN loadedRows INTEGER;
                CREATE INDEX event_loaded ON event(step, filter) WHERE loadedRows IS NOT NULL;
                """)
        }
        migrator.registerMigration("v14: events counted as they change; the patches of frames") { db in
            try db.execute(sql: """
                -- The events of each step, filter, state and class (class '' for none), of them those loaded
                -- and the rows the catalog took from them, kept by the triggers below in the transaction that
                -- changes an event. The task summary, verify's report and /metrics read these few rows
                -- instead of counting DC2013's 1.57M events again after every commit. Rows at 0 stay.
                CREATE TABLE event_count (
                    step TEXT NOT NULL,
                    filter TEXT NOT NULL,
                    state TEXT NOT NULL,
                    class TEXT NOT NULL,
                    events INTEGER NOT NULL,
                    loaded INTEGER NOT NULL,
                    loadedRows INTEGER NOT NULL,
                    PRIMARY KEY (step, filter, state, class)
                ) WITHOUT ROWID;
                INSERT INTO event_count
                SELECT step, filter, state, COALESCE(class, ''), COUNT(*), COUNT(loadedRows), COALESCE(SUM(loadedRows), 0)
                FROM event GROUP BY step, filter, state, COALESCE(class, '');
                CREATE TRIGGER event_counted AFTER INSERT ON event BEGIN
                    INSERT INTO event_count VALUES (new.step, new.filter, new.state, COALESCE(new.class, ''), 1,
                                                    new.loadedRows IS NOT NULL, COALESCE(new.loadedRows, 0))
                    ON CONFLICT DO UPDATE SET events = events + 1, loaded = loaded + excluded.loaded,
                                              loadedRows = loadedRows + excluded.loadedRows;
                END;
                CREATE TRIGGER event_uncounted AFTER DELETE ON event BEGIN
                    UPDATE event_count SET events = events - 1, loaded = loaded - (old.loadedRows IS NOT NULL),
                                           loadedRows = loadedRows - COALESCE(old.loadedRows, 0)
                    WHERE step = old.step AND filter = old.filter AND state = old.state AND class = COALESCE(old.class, '');
                END;
                CREATE TRIGGER event_recounted AFTER UPDATE OF step, filter, state, class, loadedRows ON event
                WHEN old.step IS NOT new.step OR old.filter IS NOT new.filter OR old.state IS NOT new.state
                     OR old.class IS NOT new.class OR old.loadedRows IS NOT new.loadedRows
                BEGIN
                    UPDATE event_count SET events = events - 1, loaded = loaded - (old.loadedRows IS NOT NULL),
                                           loadedRows = loadedRows - COALESCE(old.loadedRows, 0)
                    WHERE step = old.step AND filter = old.filter AND state = old.state AND class = COALESCE(old.class, '');
                    INSERT INTO event_count VALUES (new.step, new.filter, new.state, COALESCE(new.class, ''), 1,
                                                    new.loadedRows IS NOT NULL, COALESCE(new.loadedRows, 0))
                    ON CONFLICT DO UPDATE SET events = events + 1, loaded = loaded + excluded.loaded,
                                              loadedRows = loadedRows + excluded.loadedRows;
                END;
                -- The sky map patches a frame's footprint touches (`PatchId`s, space-separated), found with
                -- wcslib once, when inventory records the frame, and never asked again: coadd planning, bundles
                -- and the forecast read them. NULL: not known yet (a frame of a store before v14, found and
                -- kept by the next planning).
                ALTER TABLE frame ADD COLUMN patches TEXT;
                CREATE INDEX frame_without_patches ON frame(id) WHERE patches IS NULL;
                """)
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
