import Foundation
import GRDB

/// One step of the state store's schema: applied once, in order, inside a transaction (GRDB's
/// `DatabaseMigrator`); the schema version is the number applied. A migration is never edited once
/// released: a change is a new one at the end.
struct Migration: Sendable {
    var name: String
    var sql: String
    /// What SQL cannot do, run after `sql` in the same transaction: converting the rows a store of
    /// before the migration holds.
    var convert: (@Sendable (Database) throws -> Void)?

    init(name: String, sql: String, convert: (@Sendable (Database) throws -> Void)? = nil) {
        self.name = name
        self.sql = sql
        self.convert = convert
    }
}

extension StateStore {
    /// Every migration of the state store, oldest first.
    static let migrations: [Migration] = [
        Migration(name: "v1: frames, events, inventory", sql: """
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
            """),
        Migration(name: "v2: jobs, attempts, outcomes", sql: """
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
            """),
        Migration(name: "v3: outputs of outcomes, load rejections", sql: """
            ALTER TABLE outcome ADD COLUMN outputs TEXT;
            -- CSV files the catalog loader refused, with the line and reason; a file that later
            -- loads leaves this table.
            CREATE TABLE load_rejection (
                path TEXT PRIMARY KEY,
                line INTEGER NOT NULL,
                message TEXT NOT NULL,
                recordedAt TEXT NOT NULL
            );
            """),
        Migration(name: "v4: accounting of attempts", sql: """
            ALTER TABLE attempt ADD COLUMN node TEXT;
            ALTER TABLE attempt ADD COLUMN elapsed TEXT;
            ALTER TABLE attempt ADD COLUMN cpuTime TEXT;
            ALTER TABLE attempt ADD COLUMN maxRSS TEXT;
            """),
        Migration(name: "v5: learnt resources of attempts", sql: """
            ALTER TABLE attempt ADD COLUMN memory TEXT;
            ALTER TABLE attempt ADD COLUMN walltime TEXT;
            -- memory, time or node: the batch system ended the attempt, and dcprod submitted the
            -- job again by itself (state 'requeued'; verify never reads such an attempt).
            ALTER TABLE attempt ADD COLUMN exhausted TEXT;
            """),
        Migration(name: "v6: inputs of derived events", sql: """
            -- The events an event of a later step is made from: a coadd patch from the processCcd
            -- frames that touch it. Recorded while the derived event is new; planning reads them.
            CREATE TABLE event_input (
                eventId INTEGER NOT NULL REFERENCES event(id),
                inputId INTEGER NOT NULL REFERENCES event(id),
                PRIMARY KEY (eventId, inputId)
            ) WITHOUT ROWID;
            CREATE INDEX event_input_by_input ON event_input(inputId);
            """),
        Migration(name: "v7: bundles of jobs run as one batch job", sql: """
            -- `run --by-patch`: the jobs of a patch's coadd and forced photometry follow its
            -- processCcd job (their lead) in one batch job; each keeps its own attempts, outcome
            -- files and report. NULL: a job submitted on its own.
            ALTER TABLE job ADD COLUMN leadId INTEGER REFERENCES job(id);
            CREATE INDEX job_by_lead ON job(leadId);
            """),
        Migration(name: "v8: events counted by state and class from the index", sql: """
            -- Every verify, report and status counts a step's events by state and class: with the
            -- class in the index the count reads the index alone, in order, instead of each event's
            -- row and then a sort (80 M instructions instead of 255 M for 50,000 events).
            DROP INDEX event_by_state;
            CREATE INDEX event_by_state ON event(step, filter, state, class);
            """),
        Migration(name: "v9: virtual memory of attempts", sql: """
            -- Grid Engine's qacct gives maxvmem, the peak of virtual memory, not a resident set
            -- size: it was kept as maxRSS, where Slurm's MaxRSS is. It has a column of its own.
            ALTER TABLE attempt ADD COLUMN maxVMem TEXT;
            UPDATE attempt SET maxVMem = maxRSS, maxRSS = NULL WHERE backend = 'sge';
            """),
        Migration(name: "v10: damaged lines of outcome files", sql: """
            -- The lines of an attempt's outcome file that verify did not believe of any event
            -- (`file:line: reason`, one a line): the report names them.
            ALTER TABLE attempt ADD COLUMN damaged TEXT;
            """),
        Migration(name: "v11: what derived events were planned on", sql: """
            -- The input's state and attempt when the event was planned: an input with another
            -- outcome since makes the event stale (StateStore.staleEvents). NULL: not planned yet,
            -- or planned in a bundle on what its lead is to make; 'absent': an input added after
            -- the event was planned. Stores of before v11 take their inputs as they are now.
            ALTER TABLE event_input ADD COLUMN state TEXT;
            ALTER TABLE event_input ADD COLUMN attemptId INTEGER;
            UPDATE event_input SET state = i.state, attemptId = i.attemptId FROM event i
            WHERE i.id = event_input.inputId AND EXISTS (SELECT 1 FROM event e WHERE e.id = event_input.eventId AND e.jobId IS NOT NULL);
            """),
        Migration(name: "v12: sizes of outputs", sql: """
            -- The size in bytes of each output of an ok outcome, in the order of `outputs`, as verify
            -- found them when it checked them: the accounting's data volumes, never found by walking
            -- the tree again.
            ALTER TABLE outcome ADD COLUMN sizes TEXT;
            """),
        Migration(name: "v13: events loaded into the catalog", sql: """
            -- The rows the catalog took from the event's CSV outputs, set by `load` once every one
            -- of them is in the catalog's ledger; NULL: not loaded yet, or run again since. The task
            -- summary's `loaded` column and the accounting's rows per step read it, never the catalog.
            ALTER TABLE event ADD COLUMN loadedRows INTEGER;
            CREATE INDEX event_loaded ON event(step, filter) WHERE loadedRows IS NOT NULL;
            """),
        Migration(name: "v14: events counted as they change; the patches of frames", sql: """
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
            """),
        Migration(name: "v15: events whose inputs changed since they were planned", sql: """
            -- The events one of whose inputs has had another outcome (or appeared) since the event was
            -- planned: the only ones that can be stale (StateStore.staleEvents). Kept by the triggers below
            -- in the transaction that changes an input; an event leaves when it is planned again on its
            -- inputs as they are. Stale counts then test these few events, not every derived event of a
            -- production (1.57M forced-photometry events at DC2013's size) after each commit.
            CREATE TABLE input_change (eventId INTEGER PRIMARY KEY REFERENCES event(id));
            INSERT INTO input_change
            SELECT DISTINCT ei.eventId FROM event_input ei JOIN event i ON i.id = ei.inputId
            WHERE ei.state IS NOT NULL AND (ei.state != i.state OR ei.attemptId IS NOT i.attemptId);
            CREATE TRIGGER input_outcome_changed AFTER UPDATE OF state, attemptId ON event
            WHEN old.state IS NOT new.state OR old.attemptId IS NOT new.attemptId
            BEGIN
                INSERT OR IGNORE INTO input_change SELECT eventId FROM event_input WHERE inputId = new.id AND state IS NOT NULL;
            END;
            CREATE TRIGGER input_added_after_planning AFTER INSERT ON event_input WHEN new.state IS NOT NULL
            BEGIN
                INSERT OR IGNORE INTO input_change VALUES (new.eventId);
            END;
            """),
        Migration(name: "v16: what each job was planned with", sql: """
            -- The texts a job was planned with (the step's template, the batch script's, the config), each
            -- kept once by its hash; a setup names them with the dcprod version; a job its setup. What
            -- the catalog's provenance (dcprod_provenance) cites by hash, and `dcprod provenance` prints.
            CREATE TABLE provenance_text (hash TEXT PRIMARY KEY, kind TEXT NOT NULL, text TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE job_setup (
                id INTEGER PRIMARY KEY,
                dcprodVersion TEXT NOT NULL,
                templateHash TEXT NOT NULL REFERENCES provenance_text(hash),
                batchHash TEXT NOT NULL REFERENCES provenance_text(hash),
                configHash TEXT NOT NULL REFERENCES provenance_text(hash),
                UNIQUE (dcprodVersion, templateHash, batchHash, configHash)
            );
            ALTER TABLE job ADD COLUMN setupId INTEGER REFERENCES job_setup(id);
            """),
        Migration(name: "v17: ok events not loaded into the catalog yet", sql: """
            -- The ok events whose CSV outputs the catalog may not hold yet: what a load looks at
            -- (StateStore.unloadedEvents), so that a pass of `run` costs what changed, not the size of the
            -- production. SQLite uses it only for a query whose WHERE repeats this condition as written
            -- (StateStore.unloaded): `state = 'ok'` as a literal, not a bound value.
            CREATE INDEX event_unloaded ON event(step, filter) WHERE state = 'ok' AND loadedRows IS NULL;
            """),
        Migration(name: "v18: the frames of each patch", sql: """
            -- The frames that touch each sky map patch, per filter: `frame.patches` turned around, so that
            -- `dcprod run` finds the frames of the patches a newly verified frame touches without reading
            -- every frame of the filter (313,000 at DC2013's size) at each pass. Kept with `frame.patches`
            -- by its writers (inventory, StateStore.recordFramePatches); filled here from the text.
            CREATE TABLE frame_patch (
                filter TEXT NOT NULL,
                patch TEXT NOT NULL,
                frameId INTEGER NOT NULL REFERENCES frame(id),
                PRIMARY KEY (filter, patch, frameId)
            ) WITHOUT ROWID;
            INSERT OR IGNORE INTO frame_patch (filter, patch, frameId)
            WITH RECURSIVE word(frameId, filter, patch, rest) AS (
                SELECT id, filter, '', patches || ' ' FROM frame WHERE patches IS NOT NULL
                UNION ALL
                SELECT frameId, filter, substr(rest, 1, instr(rest, ' ') - 1), substr(rest, instr(rest, ' ') + 1)
                FROM word WHERE rest != ''
            )
            SELECT filter, patch, frameId FROM word WHERE patch != '';
            -- A frame's events (its processCcd event, found from the frames of a patch).
            CREATE INDEX event_by_frame ON event(frameId);
            """),
        Migration(name: "v19: a smaller state store", sql: """
            -- Schema v19 brings the store from 741 to 528 bytes an event (Benchmarks/campaign at 1/100 of DC2013).
            -- The outputs of an outcome, 150 bytes of absolute paths, are kept as the id of their form (the
            -- paths with the event's stem replaced by char(1), once per step and filter) and the stem
            -- (OutputForms); the view `outcome` gives them back as they were written, exact to the byte,
            -- so that every reader, `dcprod sql` and the catalog's ledger (keyed on the paths) see the same
            -- outputs as before. Outcomes are written to `outcome_record`; a script's INSERT, UPDATE or DELETE on
            -- `outcome` goes through the view's triggers.
            CREATE TABLE output_form (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE);
            ALTER TABLE outcome RENAME TO outcome_record;
            ALTER TABLE outcome_record ADD COLUMN form INTEGER REFERENCES output_form(id);
            -- Indexes no query reads: events are counted and their loaded rows summed from event_count
            -- (v14), and no event is ever looked up by its jobs or deleted. The frame table loses its index of
            -- whole paths (StateStore.findFramesByPathEnd).
            DROP INDEX event_loaded;
            DROP INDEX job_event_by_event;
            """, convert: { db in
                try StateStore.keepOutputsByForm(db)
                try StateStore.findFramesByPathEnd(db)
            }),
        Migration(name: "v20: what a pass of run looks for, found without reading the rest", sql: """
            -- Each pass of `dcprod run` asks, per step and filter, for the events in no job yet and the
            -- ended attempts not yet verified. By the end of a campaign these are a handful among
            -- millions: these indexes hold only them, so a pass does not read every event of a filter
            -- (313,000 at DC2013's size) or every attempt to find none.
            CREATE INDEX event_unplanned ON event(step, filter, key) WHERE jobId IS NULL;
            CREATE INDEX attempt_unverified ON attempt(state) WHERE verified = 0;
            """),
        Migration(name: "v21: frames keep their directory once and their name only when it is not SDSS's", sql: """
            -- The frame table becomes `frame_record`, without its path and the time inventory recorded it: each
            -- frame keeps the id of its directory (`frame_directory`), its file name only when the run, filter,
            -- camcol and field do not give it (FrameLayout), and the id of its time (`frame_recording`). The view
            -- `frame` gives the columns as they were, the path exact to the byte. Inventory finds the paths it has
            -- seen by their directory and the run, camcol, field and filter their name gives
            -- (StateStore.inventoryMemory): the index of the ends of paths goes. 584 → 519 bytes an event
            -- (Benchmarks/campaign at 1/100 of DC2013). Renamed, the table keeps the references of `event` and
            -- `frame_patch` to it.
            DROP INDEX frame_by_path_end;
            ALTER TABLE frame RENAME TO frame_record;
            CREATE TABLE frame_directory (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE);
            CREATE TABLE frame_recording (id INTEGER PRIMARY KEY, at TEXT NOT NULL UNIQUE);
            ALTER TABLE frame_record ADD COLUMN directory INTEGER REFERENCES frame_directory(id);
            ALTER TABLE frame_record ADD COLUMN name TEXT;
            ALTER TABLE frame_record ADD COLUMN recorded INTEGER REFERENCES frame_recording(id);
            INSERT OR IGNORE INTO frame_directory (path) SELECT \(FrameLayout.directory("path")) FROM frame_record ORDER BY id;
            INSERT OR IGNORE INTO frame_recording (at) SELECT recordedAt FROM frame_record ORDER BY id;
            UPDATE frame_record SET
                directory = (SELECT d.id FROM frame_directory d WHERE d.path = \(FrameLayout.directory("frame_record.path"))),
                name = \(FrameLayout.keptName("path", "")),
                recorded = (SELECT r.id FROM frame_recording r WHERE r.at = frame_record.recordedAt);
            ALTER TABLE frame_record DROP COLUMN path;
            ALTER TABLE frame_record DROP COLUMN recordedAt;
            -- The frames whose name is not SDSS's, found by it.
            CREATE INDEX frame_named ON frame_record(name) WHERE name IS NOT NULL;
            \(FrameLayout.view(.degrees))
            \(FrameLayout.triggers(.degrees))
            """),
        Migration(name: "v22: the index of events by state holds those not ok", sql: """
            -- By the end of a campaign nearly every event is ok, and the index of events by state and class held
            -- them all (33 bytes an event) though nothing looks for ok events through it: a step's ok events are
            -- most of it (read in key order through the index of keys), and they are counted in event_count
            -- (v14). It holds the others alone: the events to plan, planned, failed or not run, which each pass
            -- of `run`, the report and `status` look for, are found as before. SQLite uses it only for a query
            -- whose WHERE repeats this condition as written (StateStore.notOk). 519 → 485 bytes an event
            -- (Benchmarks/campaign at 1/100 of DC2013).
            DROP INDEX event_by_state;
            CREATE INDEX event_by_state ON event(step, filter, state, class) WHERE state != 'ok';
            """),
        Migration(name: "v23: the events an input is an input of, found by the rule", sql: """
            -- A coadd patch is made from the frames that touch it, a frame's forced photometry from the frame and the
            -- coadds of its patches (InputRule): the events an input is an input of, which the trigger that keeps
            -- input_change (v15) and the withdrawal of bundle followers look for, are found from the frames' patches
            -- (frame.patches, frame_patch) and `input_exception`, which holds the inputs the rule does not give
            -- (kept by triggers, whoever writes), instead of from an index of every input (58 bytes an event).
            -- `event_input` keeps every input, by event, as before. 500 → 442 bytes an event at 1/100 of DC2013, 502 → 441
            -- at 1/10 (Benchmarks/campaign --held-only).
            CREATE TABLE input_exception (
                inputId INTEGER NOT NULL REFERENCES event(id),
                eventId INTEGER NOT NULL REFERENCES event(id),
                PRIMARY KEY (inputId, eventId)
            ) WITHOUT ROWID;
            INSERT INTO input_exception (inputId, eventId)
            SELECT ei.inputId, ei.eventId FROM event_input ei WHERE NOT \(InputRule.fits(event: "ei.eventId", input: "ei.inputId", frames: "frame_record"));
            DROP TRIGGER input_outcome_changed;
            \(InputRule.inputOutcomeChanged)
            \(InputRule.exceptionsKept)
            DROP INDEX event_input_by_input;
            """),
        Migration(name: "v24: a restarted run goes on planning where it was", sql: """
            -- Every attempt verify has read, in the order it read them (`sequence`, never reused), kept by a
            -- trigger in the transaction that records its outcomes; and, per later step and filter, the last
            -- of them its planning in `dcprod run` has derived from (`plan_cursor`). A pass derives from the
            -- attempts after it only, a few thousand events at a time (StateStore+PlanCursor): neither the
            -- first pass of a run nor a restarted run holds or derives again the whole production. An attempt
            -- read again (verified reset) comes again, last. The attempts verified before are taken in their
            -- order of ids, so that a store of before upgrades is derived from whole, once.
            CREATE TABLE verified_attempt (sequence INTEGER PRIMARY KEY AUTOINCREMENT, attemptId INTEGER NOT NULL UNIQUE);
            INSERT INTO verified_attempt (attemptId) SELECT id FROM attempt WHERE verified != 0 ORDER BY id;
            CREATE TRIGGER attempt_verified AFTER UPDATE OF verified ON attempt WHEN old.verified = 0 AND new.verified != 0 BEGIN
                INSERT OR REPLACE INTO verified_attempt (attemptId) VALUES (new.id);
            END;
            CREATE TABLE plan_cursor (step TEXT NOT NULL, filter TEXT NOT NULL, sequence INTEGER NOT NULL, PRIMARY KEY (step, filter))
                WITHOUT ROWID;
            """),
        Migration(name: "v25: a derived event's inputs kept as one list, what they were when it was planned only where they changed", sql: """
            -- `event_input` (a row an input: 84 bytes an event at 1/100 of DC2013) becomes a view over `input_list`, one row an
            -- event with its inputs' ids and whether it was planned on them, and `input_planned`, the few inputs whose state and
            -- attempt when the event was planned are not what they are now: one changed since (its event is in input_change),
            -- added after planning, or not recorded. An input's event list and the planning of events keep them
            -- (InputList); the view gives every row and column as before, and takes a planner's or a script's INSERT.
            \(InputList.migration)
            """),
        Migration(name: "v26: frames keep their corners as offsets from their centre, outcomes their class and seconds short", sql: """
            -- A frame's corners, 8 REALs of 8 bytes, are kept as offsets from its centre in 10⁻⁷ of a degree (FrameLayout):
            -- 3 bytes each for a frame of under 1.6°. The view `frame` gives them back rounded to 7 decimals of a degree
            -- (0.36 mas, 1/1100 of an SDSS pixel; exact for corners written with 7 decimals or fewer): a frame's patches
            -- were found from its corners as inventory read them, and are kept. An outcome keeps its class only when
            -- it is not its status, and its seconds as whole milliseconds when these give the same double back
            -- (OutcomeLayout); the view `outcome` gives both back exact to the bit. The views are made again with their
            -- triggers.
            DROP VIEW frame;
            \(FrameLayout.cornersToOffsets)
            \(FrameLayout.view(.offsets))
            \(FrameLayout.triggers(.offsets))
            DROP VIEW outcome;
            ALTER TABLE outcome_record ADD COLUMN milliseconds INTEGER;
            ALTER TABLE outcome_record ADD COLUMN keptClass TEXT;
            UPDATE outcome_record SET keptClass = \(OutcomeLayout.keptClass("class", status: "status")),
                milliseconds = \(OutcomeLayout.milliseconds("seconds")), seconds = \(OutcomeLayout.seconds("seconds"));
            ALTER TABLE outcome_record DROP COLUMN class;
            ALTER TABLE outcome_record RENAME COLUMN keptClass TO class;
            \(OutcomeLayout.view(OutcomeView.outputs))
            """),
        Migration(name: "v27: outputs named after their frame keep nothing of its stem", sql: """
            -- The outputs of processCcd's and forcedPhot's outcomes are named after their frame (`calexp-000094-r1-0011.fits`):
            -- where they hold the stem of the event's frame, their form has char(2) in its place and the outcome keeps no stem
            -- (OutputForms.framePlaceholder); the view `outcome` takes it from the frame, exact to the byte as before.
            DROP VIEW outcome;
            CREATE TEMP TABLE framed_outputs AS \(OutcomeView.framed);
            INSERT OR IGNORE INTO output_form (text) SELECT text FROM temp.framed_outputs GROUP BY text ORDER BY MIN(eventId);
            UPDATE outcome_record SET form = (SELECT f.id FROM output_form f WHERE f.text = w.text), outputs = NULL
            FROM temp.framed_outputs w WHERE outcome_record.eventId = w.eventId AND outcome_record.attemptId = w.attemptId;
            DROP TABLE temp.framed_outputs;
            \(OutcomeLayout.view(OutcomeView.framedOutputs))
            """),
        Migration(name: "v28: the frames of each patch kept by the patch's id", sql: """
            -- `frame_patch` becomes a view with the same rows over `patch_frame` (a patch's id and a frame's) and `sky_patch`
            -- (each patch of each filter once): PatchLayout.
            \(PatchLayout.migration)
            """),
        Migration(name: "v29: the patches of frames kept once for the frames that touch the same, a job's events as one list", sql: """
            -- `frame.patches` is kept once per text in `patch_set`, each frame with its id (PatchSets); `job_event` becomes
            -- a view over `job_list`, a job's events as one list (JobLists).
            \(PatchSets.migration)
            \(JobLists.migration)
            """, convert: { db in
                try PatchSets.convert(db)
                try JobLists.convert(db)
            }),
        Migration(name: "v30: the planned events of each job kept counted", sql: """
            -- `job_planned`: a job's events in state planned, kept by triggers, for the task summary (JobPlannedCounts).
            \(JobPlannedCounts.migration)
            """),
        Migration(name: "v31: the frames of each patch found through the frames' patch sets", sql: """
            -- `frame_patch` becomes a view over `patch_set_member` (each patch of each set) and the frames by set and
            -- filter; `patch_frame` and `sky_patch` are dropped: PatchSetMembers.
            \(PatchSetMembers.migration)
            """),
    ]
}

extension StateStore {
    /// Schema v19's conversion: the view `outcome` over `outcome_record`, with the columns it has (a
    /// migration before it may have added some), and each outcome's outputs kept by form and stem.
    ///
    /// The view's triggers let a statement written for the table (a script's, a benchmark's) insert,
    /// update and delete through it: the outputs it writes are kept as they are (no form).
    static func keepOutputsByForm(_ db: Database) throws {
        let columns = try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info('outcome_record') WHERE name != 'form' ORDER BY cid")
        let shown = columns.map { $0 == "outputs" ? OutcomeView.outputs : "o.\($0)" }
        let set = columns.map { $0 == "outputs" ? OutcomeView.outputsUpdated : "\($0) = new.\($0)" }
        let row = "eventId = old.eventId AND attemptId = old.attemptId"
        try db.execute(sql: """
            CREATE VIEW outcome AS SELECT \(shown.joined(separator: ", ")) FROM outcome_record o;
            CREATE TRIGGER outcome_inserted INSTEAD OF INSERT ON outcome BEGIN
                INSERT INTO outcome_record (\(columns.joined(separator: ", "))) VALUES (\(columns.map { "new.\($0)" }.joined(separator: ", ")));
            END;
            CREATE TRIGGER outcome_updated INSTEAD OF UPDATE ON outcome BEGIN
                UPDATE outcome_record SET \(set.joined(separator: ", ")) WHERE \(row);
            END;
            CREATE TRIGGER outcome_deleted INSTEAD OF DELETE ON outcome BEGIN DELETE FROM outcome_record WHERE \(row); END;
            """)
        var forms = OutputForms()
        var after: (eventId: Int64, attemptId: Int64) = (0, 0)
        let update = try db.makeStatement(sql: "UPDATE outcome_record SET form = ?, outputs = ? WHERE eventId = ? AND attemptId = ?")
        while true {
            let rows = try Row.fetchAll(db, sql: """
                SELECT eventId, attemptId, outputs FROM outcome_record WHERE (eventId, attemptId) > (?, ?) AND outputs IS NOT NULL
                ORDER BY eventId, attemptId LIMIT 10000
                """, arguments: [after.eventId, after.attemptId])
            guard let last = rows.last else { return }
            for row in rows {
                let (form, outputs) = try forms.encode(row[2], db)
                if form != nil { try update.execute(arguments: [form, outputs, row[0], row[1]]) }
            }
            after = (last[0], last[1])
        }
    }
}

extension StateStore {
    /// Schema v19's frame table without the index of whole paths (`UNIQUE`, 80 bytes a frame), which
    /// `UNIQUE (run, camcol, field, filter)` makes redundant (a path's name gives these four): inventory
    /// finds the paths it has seen by their last 24 bytes (`frame_by_path_end`, 30 bytes a frame), then
    /// compares them whole. SQLite drops a constraint only with its table: the table is made again with
    /// the columns, indexes and triggers it has (an earlier migration may have added some), and its rows.
    static func findFramesByPathEnd(_ db: Database) throws {
        guard let table = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'frame'"),
              table.contains("path TEXT NOT NULL UNIQUE"), table.hasPrefix("CREATE TABLE frame (") else { return }
        let dependents = try String.fetchAll(db, sql: """
            SELECT sql FROM sqlite_schema WHERE tbl_name = 'frame' AND type IN ('index', 'trigger') AND sql IS NOT NULL
            """)
        try db.execute(sql: table.replacingOccurrences(of: "path TEXT NOT NULL UNIQUE", with: "path TEXT NOT NULL")
            .replacingOccurrences(of: "CREATE TABLE frame (", with: "CREATE TABLE frame_v19 ("))
        try db.execute(sql: "INSERT INTO frame_v19 SELECT * FROM frame; DROP TABLE frame; ALTER TABLE frame_v19 RENAME TO frame")
        for sql in dependents { try db.execute(sql: sql) }
        try db.execute(sql: "CREATE INDEX frame_by_path_end ON frame(substr(path, -24))")
    }
}

/// The view `outcome` (schema v19): an outcome's outputs as written, from `outcome_record`.
enum OutcomeView {
    /// The outputs of `outcome_record o`: its text, or its form with each char(1) replaced by its stem.
    static let outputs = """
        CASE WHEN o.form IS NULL THEN o.outputs \
        ELSE (SELECT replace(f.text, char(1), o.outputs) FROM output_form f WHERE f.id = o.form) END AS outputs
        """

    /// The outputs of `outcome_record o` from schema v27: as `outputs`, or, for an outcome that keeps no stem,
    /// its form with char(2) replaced by the stem of its event's frame (`OutputForms.framePlaceholder`).
    static let framedOutputs = """
        CASE WHEN o.form IS NULL THEN o.outputs \
        WHEN o.outputs IS NOT NULL THEN (SELECT replace(f.text, char(1), o.outputs) FROM output_form f WHERE f.id = o.form) \
        ELSE (SELECT replace(f.text, char(2), \(FrameLayout.sdssStem("r."))) FROM output_form f, event e, frame_record r \
        WHERE f.id = o.form AND e.id = o.eventId AND r.id = e.frameId) END AS outputs
        """

    /// Schema v27's outcomes whose outputs hold the stem of their event's frame, and no placeholder: their
    /// ids and the form of their outputs with char(2) in the stem's place.
    static let framed = """
        SELECT w.eventId, w.attemptId, replace(w.text, w.stem, char(2)) AS text FROM (
            SELECT o.eventId, o.attemptId, \(outputs.replacingOccurrences(of: " AS outputs", with: "")) AS text, \(FrameLayout.sdssStem("r.")) AS stem
            FROM outcome_record o JOIN event e ON e.id = o.eventId JOIN frame_record r ON r.id = e.frameId WHERE o.outputs IS NOT NULL) w
        WHERE instr(w.text, w.stem) > 0 AND instr(w.text, char(1)) = 0 AND instr(w.text, char(2)) = 0
        """

    /// The `SET` of `outputs` in an `UPDATE` through the view: outputs changed are kept as they are.
    static let outputsUpdated = """
        form = CASE WHEN new.outputs IS old.outputs THEN form END, \
        outputs = CASE WHEN new.outputs IS old.outputs THEN outputs ELSE new.outputs END
        """
}
