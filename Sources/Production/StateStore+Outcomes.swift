import Basics
import Foundation
import GRDB
import GRDBSQLite

// MARK: - Verification: outcomes read, reports, retries

extension StateStore {
    /// The ended attempts of a step's jobs whose outcome files verify has not read yet, oldest first:
    /// found among the unverified attempts alone (the index `attempt_unverified`, read first: CROSS
    /// JOIN keeps SQLite from reading every job of the step instead).
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func unverifiedAttempts(step: Step, filters: [Filter]) throws -> [AttemptRecord] {
        try pool.read { db in
            try AttemptRecord.fetchAll(db, SQLRequest(literal: """
                SELECT a.* FROM attempt a CROSS JOIN job j ON j.id = a.jobId
                WHERE j.step = \(step) AND j.filter IN \(filters) AND a.verified = 0 AND a.state IN \(AttemptState.verifiable)
                ORDER BY a.id
                """))
        }
    }

    /// A job, by id.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read, or has no such job.
    public func job(id: Int64) throws -> JobRecord {
        try pool.read { db in
            guard let job = try JobRecord.fetchOne(db, key: id) else {
                throw DatabaseError(resultCode: .SQLITE_NOTFOUND, message: "no job \(id) in the state store")
            }
            return job
        }
    }

    /// The lines of a step and filter's outcome files that verify did not believe of any event
    /// (`file:line: reason`), by attempt.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func damagedLines(step: Step, filter: Filter) throws -> [String] {
        try pool.read { db in
            try String.fetchAll(db, sql: """
                SELECT a.damaged FROM attempt a JOIN job j ON j.id = a.jobId
                WHERE j.step = ? AND j.filter = ? AND a.damaged IS NOT NULL ORDER BY a.id
                """, arguments: [step, filter])
        }.flatMap { $0.split(separator: "\n").map(String.init) }
    }

    /// The events of a job, in its manifest's order.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func members(ofJob jobId: Int64) throws -> [JobMember] {
        try pool.read { db in
            try JobMember.fetchAll(db, sql: """
                SELECT e.id, e.key FROM job_event je JOIN event e ON e.id = je.eventId WHERE je.jobId = ? ORDER BY je.position
                """, arguments: [jobId])
        }
    }

    /// Records what verify read of some attempts, in one transaction: every outcome joins the
    /// history (`outcome`), and becomes its event's state unless a later attempt's is there
    /// already; each attempt is marked verified.
    ///
    /// - Parameter readings: The attempts read, each with one outcome per event of its job.
    /// - Throws: A GRDB `DatabaseError`; then none of these attempts is marked verified.
    public func recordOutcomes(_ readings: [AttemptReading]) throws {
        try write { db in
            // The event follows its outcome in a trigger of this connection's, row by row in the order
            // inserted, while `temp.outcome_recording` holds a row: only for the time of this transaction.
            // The trigger is made once for the connection (and again if the transaction that made it was
            // rolled back), not made and dropped each time: any CREATE or DROP makes GRDB forget every
            // statement the connection keeps prepared, and SQLite prepare them again, for each batch of
            // outcomes (15 % of a profile of the pass after one job ended was preparing statements anew).
            let made = "SELECT EXISTS (SELECT 1 FROM temp.sqlite_schema WHERE name = 'outcome_sets_event')"
            if try Bool.fetchOne(db.cachedStatement(sql: made)) != true {
                try db.execute(sql: """
                    CREATE TEMP TABLE outcome_recording (one INTEGER);
                    CREATE TEMP TRIGGER outcome_sets_event AFTER INSERT ON main.outcome_record
                    WHEN EXISTS (SELECT 1 FROM temp.outcome_recording) BEGIN
                        UPDATE event SET state = NEW.status, class = \(OutcomeLayout.shownClass("NEW")), message = NEW.message, attemptId = NEW.attemptId,
                            attempts = attempts + 1, loadedRows = NULL
                        WHERE id = NEW.eventId AND (attemptId IS NULL OR attemptId <= NEW.attemptId);
                    END
                    """)
            }
            try db.cachedStatement(sql: "INSERT INTO temp.outcome_recording VALUES (1)").execute()
            var forms = OutputForms()
            let rows = try readings.flatMap { reading in
                try reading.outcomes.map { try OutcomeRow(attemptId: reading.attemptId, outcome: $0, forms: &forms, db) }
            }
            for first in stride(from: 0, to: rows.count, by: OutcomeRow.perStatement) {
                let chunk = rows[first..<min(first + OutcomeRow.perStatement, rows.count)]
                let sql = OutcomeRow.insert(count: chunk.count)
                try OutcomeRow.run(chunk.count == OutcomeRow.perStatement ? db.cachedStatement(sql: sql) : db.makeStatement(sql: sql),
                                   binding: chunk, in: db)
            }
            // The runner's own peak memory and CPU time stand in for the batch system's accounting where
            // there is none (the local backend).
            let verified = try db.cachedStatement(sql: """
                UPDATE attempt SET verified = 1, damaged = ?, maxRSS = COALESCE(maxRSS, ?), cpuTime = COALESCE(cpuTime, ?) WHERE id = ?
                """)
            for reading in readings {
                try verified.execute(arguments: [reading.damaged.isEmpty ? nil : reading.damaged.joined(separator: "\n"),
                                                 reading.runnerPeakKiB.map { "\($0)K" },
                                                 reading.runnerCPUSeconds.map { String(format: "%.3fs", $0) }, reading.attemptId])
            }
            try db.cachedStatement(sql: "DELETE FROM temp.outcome_recording").execute()
            try Self.settleInputsOfBundles(db, read: readings.flatMap { $0.outcomes.map(\.eventId) })
            try Self.withdrawUnfounded(db, read: readings.flatMap { $0.outcomes.map(\.eventId) })
        }
    }

    /// A bundle follower (`run --by-patch`) is planned before its inputs are made, on what its batch
    /// job's lead is to make: what they became is what it ran with, recorded when its outcome is read.
    /// Nothing in a production without bundles (found by `job_by_lead`: a test of every input of the
    /// production would read millions of rows at every batch of outcomes).
    private static func settleInputsOfBundles(_ db: Database, read eventIds: [Int64]) throws {
        guard !eventIds.isEmpty, try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM job WHERE leadId IS NOT NULL)") == true else { return }
        for chunk in stride(from: 0, to: eventIds.count, by: 10_000).map({ Array(eventIds[$0..<min($0 + 10_000, eventIds.count)]) }) {
            let ids = "(" + chunk.map(String.init).joined(separator: ",") + ")"
            try db.execute(sql: planOnInputsAsTheyAre(ids, onlyUnrecorded: true))
        }
    }

    /// Withdraws the events of bundle followers (`run --by-patch`) that failed or did not run and
    /// whose inputs all did too (`EventState.withdrawn`): planned on calexps the same batch job was
    /// to make, they would not exist in a step-by-step run, whose reports they must match.
    ///
    /// Only the events just read and those made from them can change, so only they are looked at,
    /// and nothing at all in a production without bundles: verify reads outcomes in batches, and a
    /// scan of every event per batch would grow with the square of the production. The events made
    /// from those read are found by the rule (`InputRule`; the ids written in are Swift's numbers).
    private static func withdrawUnfounded(_ db: Database, read eventIds: [Int64]) throws {
        guard !eventIds.isEmpty, try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM job WHERE leadId IS NOT NULL)") == true else { return }
        let unsuccessful = [EventState.failed, .notRun, .withdrawn]
        for chunk in stride(from: 0, to: eventIds.count, by: 10_000).map({ eventIds[$0..<min($0 + 10_000, eventIds.count)] }) {
            let read = Array(chunk)
            try db.execute(literal: """
                UPDATE event SET state = \(EventState.withdrawn)
                WHERE (id IN \(read) OR id IN (SELECT eventId FROM event_input WHERE inputId IN \(read)
                                                 AND eventId IN (\(sql: InputRule.derived(of: "i.id IN (\(read.map(String.init).joined(separator: ",")))", frames: "frame")))))
                AND state IN \([EventState.failed, .notRun]) AND jobId IN (SELECT id FROM job WHERE leadId IS NOT NULL)
                AND EXISTS (SELECT 1 FROM event_input ei WHERE ei.eventId = event.id)
                AND NOT EXISTS (SELECT 1 FROM event_input ei JOIN event i ON i.id = ei.inputId
                                WHERE ei.eventId = event.id AND i.state NOT IN \(unsuccessful))
                """)
        }
    }

    /// The events of a step and filter counted by state and class; withdrawn ones are not counted.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func eventCounts(step: Step, filter: Filter) throws -> [EventCount] {
        try eventTallies(step: step, filter: filter).compactMap { tally in
            guard let state = EventState(rawValue: tally.state), state != .withdrawn else { return nil }
            return EventCount(state: state, className: tally.className, count: tally.events)
        }
    }

    /// How many planned events of a step and filter have a job with an active attempt: still to come.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func inProgressEventCount(step: Step, filter: Filter) throws -> Int {
        try pool.read { db in
            try Int.fetchOne(db, SQLRequest(literal: """
                SELECT COUNT(*) FROM event e WHERE e.step = \(step) AND e.filter = \(filter) AND e.state = \(EventState.planned) AND \(Self.notOk("e."))
                AND EXISTS (SELECT 1 FROM attempt a WHERE a.jobId = e.jobId AND a.state IN \(AttemptState.active))
                """)) ?? 0
        }
    }

    /// The verified events of a step and filter in one class, with their latest messages, by key. The
    /// states are named, and the order by key kept from the index on keys (`+key`), so that the index on
    /// (step, filter, state, class) finds the class's events alone: the report asks this of every class
    /// at every pass of `run`, and otherwise SQLite reads every event of the filter (313,000 at
    /// DC2013's size) in key order to find none.
    ///
    /// - Parameters:
    ///   - className: The class (e.g. `other`, whose messages the report shows for a person to write the next rule).
    ///   - limit: At most this many.
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func events(step: Step, filter: Filter, className: String, limit: Int) throws -> [EventMessage] {
        // An ok event's class is `ok` (Verification's FailureClasses.ok): those of another class are among those not ok.
        let notOk: SQL = className == EventState.ok.rawValue ? "" : "AND \(Self.notOk())"
        return try pool.read { db in
            try EventMessage.fetchAll(db, SQLRequest(literal: """
                SELECT id, key, message FROM event
                WHERE step = \(step) AND filter = \(filter) AND state IN \(EventState.allCases.filter(\.isVerified)) AND class = \(className) \(notOk)
                ORDER BY +key LIMIT \(limit)
                """))
        }
    }

    /// Every event's outcome, by step, filter and key: what `dcprod compare` sets beside another
    /// production's. An event in a job not yet verified counts as `planned`.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func eventResults() throws -> [EventResult] {
        try pool.read { db in
            try EventResult.fetchAll(db, sql: """
                SELECT step, filter, key, CASE WHEN state = ? THEN COALESCE(class, state) ELSE state END AS outcome
                FROM event ORDER BY step, filter, key
                """, arguments: [EventState.failed])
        }
    }

    /// The events of a step and filter that a resubmission takes: failed or never run
    /// (`EventState.isRetryable`), in one of `classes`, tried at most `maxRetry` times after the first.
    ///
    /// - Parameters:
    ///   - classes: The class names whose events to take.
    ///   - maxRetry: MAXRETRY: attempts after the first.
    /// - Returns: The events, by key (sorted after they are found through the index on state and class,
    ///   `+key`: every report of every pass of `run` asks, and usually none is found).
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func retryableEvents(step: Step, filter: Filter, classes: [String], maxRetry: Int) throws -> [EventMessage] {
        guard !classes.isEmpty else { return [] }
        return try pool.read { db in
            try EventMessage.fetchAll(db, SQLRequest(literal: """
                SELECT id, key, message FROM event WHERE step = \(step) AND filter = \(filter)
                AND state IN \(EventState.allCases.filter(\.isRetryable)) AND \(Self.notOk()) AND class IN \(classes) AND attempts <= \(maxRetry)
                ORDER BY +key
                """))
        }
    }

    /// How many attempts of a step and filter dcprod submitted again by itself, per reason.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func requeuedAttemptCounts(step: Step, filter: Filter) throws -> [Exhaustion: Int] {
        try pool.read { db in
            let counts = try RequeueCount.fetchAll(db, sql: """
                SELECT a.exhausted, COUNT(*) AS count FROM attempt a JOIN job j ON j.id = a.jobId
                WHERE j.step = ? AND j.filter = ? AND a.state = ? AND a.exhausted IS NOT NULL GROUP BY a.exhausted
                """, arguments: [step, filter, AttemptState.requeued])
            return Dictionary(uniqueKeysWithValues: counts.map { ($0.exhausted, $0.count) })
        }
    }
}

// MARK: - Loading: the results of ok events, and the loader's refusals

extension StateStore {
    /// The CSV outputs of the ok events of a step, from their latest outcome.
    ///
    /// - Returns: The paths, sorted.
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func resultFiles(step: Step) throws -> [String] {
        try pool.read { db in
            try String.fetchAll(db, sql: """
                SELECT o.outputs FROM event e JOIN outcome o ON o.eventId = e.id AND o.attemptId = e.attemptId
                WHERE e.step = ? AND e.state = ? AND o.outputs IS NOT NULL
                """, arguments: [step, EventState.ok])
        }.flatMap(Self.csvFiles).sorted()
    }

    /// Records the loader's refusals, and forgets those of files that have since loaded, in one transaction.
    ///
    /// - Parameters:
    ///   - rejections: The files refused now, each replacing an earlier refusal of the same path.
    ///   - loaded: The files loaded now.
    /// - Throws: A GRDB `DatabaseError`; then nothing is recorded.
    public func recordLoad(rejections: [LoadRejection], loaded: [String]) throws {
        let now = Self.now()
        try write { db in
            for path in loaded { try db.execute(sql: "DELETE FROM load_rejection WHERE path = ?", arguments: [path]) }
            for r in rejections {
                try db.execute(sql: "INSERT OR REPLACE INTO load_rejection (path, line, message, recordedAt) VALUES (?, ?, ?, ?)",
                               arguments: [r.path, r.line, r.message, now])
            }
        }
    }

    /// The condition of `event_unloaded` (schema v17), as its queries must repeat it for SQLite to
    /// use the index: an ok event not marked loaded, of `event` named `e`.
    static let unloaded = "e.state = 'ok' AND e.loadedRows IS NULL"

    /// The condition of the partial index `event_by_state` (schema v22) on events whose alias is
    /// `alias` (`e.`, or `""`): a query of events in states other than ok repeats it for SQLite to use it.
    static func notOk(_ alias: String = "") -> SQL { SQL(sql: "\(alias)state != 'ok'") }

    /// The ok events of a step whose CSV outputs the catalog may not hold yet (`event.loadedRows` NULL:
    /// never loaded, refused, or run again since), by id: what an incremental load looks at. Found in
    /// `event_unloaded`, so that it costs what changed since the last load, not the production's size.
    ///
    /// - Parameters:
    ///   - step: The step.
    ///   - everyEvent: Every ok event of the step, loaded or not: what `dcprod load STEP` looks at.
    ///   - ids: Only the events of these ids (a page, `unloadedEventPage(step:everyEvent:after:size:)`); nil: all.
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func unloadedEvents(step: Step, everyEvent: Bool = false, ids: ClosedRange<Int64>? = nil) throws -> [UnloadedEvent] {
        try pool.read { db in
            try Row.fetchAll(db, sql: Self.unloadedEventsQuery(everyEvent: everyEvent) + Self.idRange(ids),
                             arguments: Self.arguments(step, ids)).map { row in
                UnloadedEvent(id: row[0], files: Self.csvFiles(row[1]), isRedone: row[2])
            }
        }
    }

    /// The ids of the next page of a step's unloaded events (`unloadedEvents(step:everyEvent:ids:)`): the
    /// first and last of the `size` lowest ids above `after`, or nil when there is none. A load goes page
    /// by page, so that what it holds at once does not grow with the number of events to load (a
    /// production's first load, the one after a catalog made anew, `dcprod load STEP`).
    ///
    /// - Parameter everyEvent: Pages of every ok event of the step, loaded or not.
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func unloadedEventPage(step: Step, everyEvent: Bool = false, after: Int64, size: Int) throws -> ClosedRange<Int64>? {
        // Unloaded events: `+e.id` is compared, never searched, so that SQLite keeps to `event_unloaded`.
        // Every ok event: the events after `after` in id order, walked until the page is full (`+`: not by
        // another index, which would read every event of the step to sort them), one walk for all the pages.
        let query = everyEvent
            ? "SELECT e.id FROM event e WHERE +e.step = ? AND +e.state = 'ok' AND e.id > ? ORDER BY e.id LIMIT ?"
            : "SELECT e.id FROM event e WHERE e.step = ? AND \(Self.unloaded) AND +e.id > ? ORDER BY e.id LIMIT ?"
        let ids = try pool.read { db in try Int64.fetchAll(db, sql: query, arguments: [step, after, size]) }
        guard let first = ids.first, let last = ids.last else { return nil }
        return first...last
    }

    /// The condition that keeps a query of `event e` to a page of ids (`+`: see `unloadedEventPage`), or none.
    static func idRange(_ ids: ClosedRange<Int64>?) -> String { ids == nil ? "" : " AND +e.id BETWEEN ? AND ?" }

    /// A step's query arguments, with a page's first and last ids when there is one.
    static func arguments(_ step: Step, _ ids: ClosedRange<Int64>?) -> StatementArguments {
        guard let ids else { return [step] }
        return [step, ids.lowerBound, ids.upperBound]
    }

    /// `unloadedEvents(step:everyEvent:ids:)`'s query, of one step (`?`): each event's id, outputs, and whether it is redone.
    static func unloadedEventsQuery(everyEvent: Bool) -> String {
        """
        SELECT e.id, o.outputs,
               EXISTS (SELECT 1 FROM outcome p WHERE p.eventId = e.id AND p.status = 'ok' AND p.attemptId < e.attemptId)
        FROM event e JOIN outcome o ON o.eventId = e.id AND o.attemptId = e.attemptId
        WHERE e.step = ? AND \(everyEvent ? "e.state = 'ok'" : unloaded) AND o.outputs IS NOT NULL
        """
    }

    /// `recordLoaded(step:everyEvent:ids:rows:)`'s query, of one step (`?`): each event's id, outputs and mark.
    static func loadMarksQuery(everyEvent: Bool) -> String {
        """
        SELECT e.id, o.outputs, e.loadedRows FROM event e JOIN outcome o ON o.eventId = e.id AND o.attemptId = e.attemptId
        WHERE e.step = ? AND \(everyEvent ? "e.state = 'ok'" : unloaded) AND o.outputs IS NOT NULL
        """
    }

    /// The CSV files among an outcome's outputs (one a line).
    static func csvFiles(_ outputs: String) -> [String] {
        outputs.split(separator: "\n").map(String.init).filter { $0.hasSuffix(".csv") }
    }

    /// Records which ok events of a step the catalog holds: each whose every CSV output is in the
    /// catalog's ledger gets the rows they gave (`event.loadedRows`), for the task summary's `loaded`
    /// column and the accounting, and leaves `unloadedEvents(step:ids:)`. An event run again loses its
    /// mark with its new outcome.
    ///
    /// - Parameters:
    ///   - step: The step loaded.
    ///   - everyEvent: Look at every ok event of the step, and set each mark to what the ledger says
    ///     now (clearing it where a file is not in the ledger); otherwise only at the events not marked
    ///     yet (`unloadedEvents(step:ids:)`), whose files `rows` must know.
    ///   - ids: Only the events of these ids (a page of an incremental load); nil: all.
    ///   - rows: The rows the ledger says a file gave, or nil when the file is not in the ledger.
    /// - Returns: The number of events marked now.
    /// - Throws: A GRDB `DatabaseError`; then nothing is marked.
    @discardableResult
    public func recordLoaded(step: Step, everyEvent: Bool = false, ids: ClosedRange<Int64>? = nil, rows: (String) -> Int?) throws -> Int {
        try write { db in
            var marks: [(id: Int64, rows: Int?)] = []
            let events = try Row.fetchCursor(db, sql: Self.loadMarksQuery(everyEvent: everyEvent) + Self.idRange(ids),
                                             arguments: Self.arguments(step, ids))
            while let event = try events.next() {
                var total: Int? = 0
                for path in Self.csvFiles(event[1]) {
                    guard let count = rows(path) else { total = nil; break }
                    total? += count
                }
                let marked: Int? = event[2]
                if total != marked { marks.append((event[0], total)) }
            }
            let mark = try db.cachedStatement(sql: "UPDATE event SET loadedRows = ? WHERE id = ?")
            for event in marks { try mark.execute(arguments: [event.rows, event.id]) }
            return marks.filter { $0.rows != nil }.count
        }
    }

    /// Forgets which events the catalog holds: every ok event becomes one to load
    /// (`unloadedEvents(step:ids:)`). For a catalog made anew (the old one deleted) or upgraded, whose
    /// ledger the marks may no longer tell: the next load looks at every file once.
    ///
    /// - Throws: A GRDB `DatabaseError`; then nothing is forgotten.
    public func forgetLoaded() throws {
        try write { db in try db.execute(sql: "UPDATE event SET loadedRows = NULL WHERE loadedRows IS NOT NULL") }
    }

    /// The files the loader refused and that have not loaded since, by path.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func loadRejections() throws -> [LoadRejection] {
        try pool.read { db in
            try LoadRejection.fetchAll(db, sql: "SELECT path, line, message FROM load_rejection ORDER BY path")
        }
    }
}

/// An ok event whose CSV outputs the catalog may not hold yet (`StateStore.unloadedEvents(step:)`).
public struct UnloadedEvent: Sendable, Equatable {
    public var id: Int64
    /// Its CSV outputs, from its latest outcome.
    public var files: [String]
    /// Whether it had an ok outcome before its latest: run again on inputs that changed, it wrote its
    /// files anew, and their new version may replace the one loaded (`CatalogLoader.load(_:redone:progress:)`).
    public var isRedone: Bool

    public init(id: Int64, files: [String], isRedone: Bool) {
        self.id = id
        self.files = files
        self.isRedone = isRedone
    }
}

/// A row of `outcome_record` as verify inserts it: many in one statement, their values bound in place.
///
/// One statement per outcome cost twice what SQLite itself takes to record them (its step, reset and
/// statement journal, and GRDB's arguments, which cast every value to an existential first).
private struct OutcomeRow {
    var attemptId: Int64
    var outcome: EventOutcome
    /// The outputs as the store keeps them (`OutputForms`): their form's id and stem, or their text.
    var form: Int64?
    var outputs: String?

    init(attemptId: Int64, outcome: EventOutcome, forms: inout OutputForms, _ db: Database) throws {
        self.attemptId = attemptId
        self.outcome = outcome
        let frameStem = outcome.outputs == nil ? nil : try String.fetchOne(db.cachedStatement(sql: """
            SELECT \(FrameLayout.sdssStem("r.")) FROM event e JOIN frame_record r ON r.id = e.frameId WHERE e.id = ?
            """), arguments: [outcome.eventId])
        (form, outputs) = try forms.encode(outcome.outputs?.joined(separator: "\n"), frameStem: frameStem, db)
    }

    /// 500 rows of 9 values: 4,500 of SQLite's 32,766 parameters.
    static let perStatement = 500

    /// `INSERT OR REPLACE` of `count` rows, in the order bound: the trigger sees them so. Each row's values
    /// are bound as written (eventId, attemptId, status, class, message, seconds, outputs, sizes, form), and
    /// kept as `OutcomeLayout` says.
    static func insert(count: Int) -> String {
        let bound = ["eventId": "column1", "attemptId": "column2", "status": "column3", "class": "column4", "message": "column5",
                     "seconds": "column6", "sizes": "column8"]
        let kept = OutcomeLayout.kept { bound[$0] ?? "NULL" }
        let columns: String = kept.map(\.column).joined(separator: ", ")
        let values: String = kept.map(\.value).joined(separator: ", ")
        let rows: String = Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?, ?)", count: count).joined(separator: ", ")
        return "INSERT OR REPLACE INTO outcome_record (\(columns), outputs, form) SELECT \(values), column7, column9 FROM (VALUES \(rows))"
    }

    /// Binds the rows' values (texts from one buffer that outlives the step: `SQLITE_STATIC`) and
    /// steps the statement once (`Statement.stepOnce`).
    static func run(_ statement: Statement, binding rows: ArraySlice<OutcomeRow>, in db: Database) throws {
        var bytes: [UInt8] = []
        var texts: [Range<Int>?] = []
        func append(_ text: String?) {
            let start = bytes.count
            if let text { bytes.append(contentsOf: text.utf8) }
            texts.append(text.map { _ in start..<bytes.count })
        }
        for row in rows {
            append(row.outcome.state.rawValue)
            append(row.outcome.className)
            append(row.outcome.message)
            append(row.outputs)
            append(row.outcome.sizes?.map(String.init).joined(separator: "\n"))
        }
        bytes.append(0)  // a text ending at the end still has an address inside the buffer
        try bytes.withUnsafeBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) { buffer in
                try statement.stepOnce(in: db) { handle in
                    var failure = SQLITE_OK
                    func bound(_ code: Int32) { if failure == SQLITE_OK { failure = code } }
                    func text(_ parameter: Int32, _ span: Range<Int>?) {
                        guard let span else { return bound(sqlite3_bind_null(handle, parameter)) }
                        bound(sqlite3_bind_text(handle, parameter, buffer.baseAddress! + span.lowerBound, Int32(span.count), nil))
                    }
                    for (index, row) in rows.enumerated() {
                        let parameter = Int32(index * 9), text0 = index * 5
                        bound(sqlite3_bind_int64(handle, parameter + 1, row.outcome.eventId))
                        bound(sqlite3_bind_int64(handle, parameter + 2, row.attemptId))
                        text(parameter + 3, texts[text0])
                        text(parameter + 4, texts[text0 + 1])
                        text(parameter + 5, texts[text0 + 2])
                        bound(row.outcome.seconds.map { sqlite3_bind_double(handle, parameter + 6, $0) } ?? sqlite3_bind_null(handle, parameter + 6))
                        text(parameter + 7, texts[text0 + 3])
                        text(parameter + 8, texts[text0 + 4])
                        bound(row.form.map { sqlite3_bind_int64(handle, parameter + 9, $0) } ?? sqlite3_bind_null(handle, parameter + 9))
                    }
                    return failure
                }
            }
        }
    }
}
