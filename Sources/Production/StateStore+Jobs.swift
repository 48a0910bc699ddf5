import Basics
import Foundation
import GRDB

// MARK: - Planning: events into jobs

extension StateStore {
    /// Which events of a step and filter planning reads.
    public enum EventSelection: Sendable {
        /// Events in no job yet (`plan`).
        case unplanned
        /// Every event (`resubmit` chooses among them).
        case all
    }

    /// Whether a step and filter has an event in no job yet (`event_unplanned`): planning reads its step
    /// definition and the filter's events only then.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func hasUnplannedEvents(step: Step, filter: Filter) throws -> Bool {
        try pool.read { db in
            try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM event WHERE step = ? AND filter = ? AND jobId IS NULL)"),
                              arguments: [step, filter]) ?? false
        }
    }

    /// The frame events of a step and filter, by key.
    ///
    /// - Parameters:
    ///   - step: The step whose events to read.
    ///   - filter: The filter whose events to read.
    ///   - selection: Only the events in no job yet, or all of them.
    ///   - after: Only events whose key sorts after this one.
    ///   - limit: At most this many (planning reads a production of millions in pages).
    /// - Returns: Each event with its frame's path and SDSS numbers, sorted by event key.
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func frameEvents(step: Step, filter: Filter, _ selection: EventSelection, after: String? = nil,
                            limit: Int? = nil) throws -> [FrameEvent] {
        let unplanned: SQL = selection == .unplanned ? "AND e.jobId IS NULL" : ""
        let from: SQL = after.map { "AND e.key > \($0)" } ?? ""
        let most: SQL = limit.map { "LIMIT \($0)" } ?? ""
        return try pool.read { db in
            try FrameEvent.fetchAll(db, SQLRequest(literal: """
                SELECT e.id, e.key, f.path, f.run, f.camcol, f.field FROM event e JOIN frame f ON f.id = e.frameId
                WHERE e.step = \(step) AND e.filter = \(filter) \(unplanned) \(from) ORDER BY e.key \(most)
                """))
        }
    }

    /// How many jobs a step and filter has: the next job is numbered one more.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func jobCount(step: Step, filter: Filter) throws -> Int {
        try pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM job WHERE step = ? AND filter = ?", arguments: [step, filter]) ?? 0
        }
    }

    /// Records jobs that planning wrote, with their events, in one transaction; their events become `planned`.
    ///
    /// - Parameters:
    ///   - jobs: The jobs, each with its events in the manifest's order.
    ///   - step: Their step.
    ///   - filter: Their filter.
    /// - Throws: A GRDB `DatabaseError`; then none of these jobs is recorded.
    public func recordJobs(_ jobs: [PlannedJob], step: Step, filter: Filter) throws {
        let now = Self.now()
        try write { db in
            for job in jobs {
                let jobId = try Self.insert(job, step: step, filter: filter, leadId: nil, at: now, db)
                if step.inputStep != nil { try Self.snapshotInputs(ofJob: jobId, db) }
            }
        }
    }

    /// Records, for each event of a job, what its inputs were when it was planned (`event_input.state`
    /// and `attemptId`): an input whose outcome is another one later makes the event stale. Planned on
    /// its inputs as they are, the event is no longer one whose inputs changed (`input_change`).
    private static func snapshotInputs(ofJob jobId: Int64, _ db: Database) throws {
        try db.execute(sql: planOnInputsAsTheyAre("(SELECT eventId FROM job_event WHERE jobId = ?)", onlyUnrecorded: false), arguments: [jobId, jobId])
        try db.cachedStatement(sql: "DELETE FROM input_change WHERE eventId IN (SELECT eventId FROM job_event WHERE jobId = ?)")
            .execute(arguments: [jobId])
    }

    /// Records the jobs of one batch job (`run --by-patch`) in one transaction: the first is the
    /// lead, the others follow it; their events become `planned`.
    ///
    /// - Parameters:
    ///   - bundle: The jobs, each with its step, in the order the batch job runs them.
    ///   - filter: Their filter.
    /// - Throws: A GRDB `DatabaseError`; then none of these jobs is recorded.
    public func recordBundle(_ bundle: [(job: PlannedJob, step: Step)], filter: Filter) throws {
        let now = Self.now()
        try write { db in
            var leadId: Int64?
            for part in bundle {
                let id = try Self.insert(part.job, step: part.step, filter: filter, leadId: leadId, at: now, db)
                leadId = leadId ?? id
            }
        }
    }

    /// Inserts a job and its events, which become `planned`; returns its id.
    private static func insert(_ job: PlannedJob, step: Step, filter: Filter, leadId: Int64?, at now: String,
                               _ db: Database) throws -> Int64 {
        try db.cachedStatement(sql: "INSERT INTO job (name, step, filter, manifest, events, createdAt, leadId, setupId) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            .execute(arguments: [job.name, step, filter, job.manifest, job.eventIds.count, now, leadId, job.setupId])
        let jobId = db.lastInsertedRowID
        // One INSERT and one UPDATE per job, whatever its size: planning a million events is then
        // thousands of statements, not millions. The ids go as one JSON array, kept as it is (JobLists).
        let events = Self.jsonArray(job.eventIds)
        try db.cachedStatement(sql: "INSERT INTO job_list (jobId, events) VALUES (?, ?)").execute(arguments: [jobId, events])
        try db.cachedStatement(sql: "UPDATE event SET jobId = ?, state = ? WHERE id IN (SELECT value FROM json_each(?))")
            .execute(arguments: [jobId, EventState.planned, events])
        return jobId
    }
}

// MARK: - Submission: jobs awaiting it

extension StateStore {
    /// The jobs of a step and filters that `submit` hands over: never submitted, or whose latest
    /// attempt the batch system ended for want of resources (`JobState.awaitsSubmission`).
    ///
    /// - Parameters:
    ///   - step: The step.
    ///   - filters: The filters.
    ///   - limit: At most this many, the oldest first.
    /// - Returns: The jobs, by id.
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func unsubmittedJobs(step: Step, filters: [Filter], limit: Int) throws -> [JobRecord] {
        guard limit > 0 else { return [] }
        return try pool.read { db in
            try JobRecord.fetchAll(db, SQLRequest(literal: """
                SELECT j.* FROM job j WHERE j.step = \(step) AND j.filter IN \(filters) AND \(Self.awaitingSubmission)
                ORDER BY j.id LIMIT \(limit)
                """))
        }
    }

    /// How many jobs of a step and filters await submission (see `unsubmittedJobs(step:filters:limit:)`).
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func unsubmittedJobCount(step: Step, filters: [Filter]) throws -> Int {
        try pool.read { db in
            try Int.fetchOne(db, SQLRequest(literal: """
                SELECT COUNT(*) FROM job j WHERE j.step = \(step) AND j.filter IN \(filters) AND \(Self.awaitingSubmission)
                """)) ?? 0
        }
    }

    /// The condition on `job j` of `JobState.awaitsSubmission`, from its latest attempt. A job that
    /// follows a lead is held while its lead awaits submission (it goes with it, `followers(of:)`)
    /// or is queued or running: it runs after its lead, never beside it.
    static var awaitingSubmission: SQL {
        """
        \(awaits("j.id")) AND NOT (j.leadId IS NOT NULL AND (\(awaits("j.leadId")) OR \(latestState("j.leadId")) IN \(AttemptState.active)))
        """
    }

    /// The condition of `JobState.awaitsSubmission` on the job whose id is `job`.
    private static func awaits(_ job: String) -> SQL {
        "\(latestState(job)) IN \(JobState.allCases.filter(\.awaitsSubmission))"
    }

    /// The state of the latest attempt of the job whose id is `job` (an SQL expression), or `unsubmitted`.
    private static func latestState(_ job: String) -> SQL {
        "COALESCE((SELECT a.state FROM attempt a WHERE a.jobId = \(sql: job) ORDER BY a.number DESC LIMIT 1), \(JobState.unsubmitted))"
    }

    /// The jobs that follow a lead in its batch job (`run --by-patch`), in the order they run, with
    /// whether each awaits submission.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func followers(of lead: JobRecord) throws -> [(job: JobRecord, awaitsSubmission: Bool)] {
        try pool.read { db in
            let rows = try Row.fetchAll(db, SQLRequest(literal: """
                SELECT j.*, \(Self.awaits("j.id")) AS awaits FROM job j WHERE j.leadId = \(lead.id) ORDER BY j.id
                """))
            return try rows.map { (try JobRecord(row: $0), $0["awaits"] as Bool) }
        }
    }
}
