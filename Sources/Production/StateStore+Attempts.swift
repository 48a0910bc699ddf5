import Basics
import Foundation
import GRDB

// MARK: - Attempts: what was handed to a batch system, and what became of it

extension StateStore {
    /// The attempts in some states, optionally of one step's jobs in some filters, oldest first.
    ///
    /// - Parameters:
    ///   - states: The states wanted (e.g. `AttemptState.followed`).
    ///   - step: Only the attempts of this step's jobs; nil: every step.
    ///   - filters: With `step`, only the jobs of these filters.
    /// - Returns: The attempts, by id.
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func attempts(in states: [AttemptState], step: Step? = nil, filters: [Filter] = Filter.allCases) throws -> [AttemptRecord] {
        let ofStep: SQL = step.map { "AND jobId IN (SELECT id FROM job WHERE step = \($0) AND filter IN \(filters))" } ?? ""
        return try pool.read { db in
            try AttemptRecord.fetchAll(db, SQLRequest(literal: "SELECT * FROM attempt WHERE state IN \(states) \(ofStep) ORDER BY id"))
        }
    }

    /// How many batch jobs of the production are active (`AttemptState.active`): what MAXRUNNING
    /// bounds. The attempts of a bundle (`run --by-patch`) are one batch job: they share its token.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func activeAttemptCount() throws -> Int {
        try pool.read { db in
            try Int.fetchOne(db, SQLRequest(literal: """
                SELECT COUNT(DISTINCT CASE WHEN instr(token, '+') > 0 THEN substr(token, 1, instr(token, '+') - 1) ELSE token END)
                FROM attempt WHERE state IN \(AttemptState.active)
                """)) ?? 0
        }
    }

    /// How many times dcprod has submitted each job again by itself, per reason.
    ///
    /// - Returns: For each job with `requeued` attempts, their count per `Exhaustion`.
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func requeueCounts() throws -> [Int64: [Exhaustion: Int]] {
        try pool.read { db in
            var counts: [Int64: [Exhaustion: Int]] = [:]
            for count in try RequeueCount.fetchAll(db, sql: """
                SELECT jobId, exhausted, COUNT(*) AS count FROM attempt WHERE exhausted IS NOT NULL GROUP BY jobId, exhausted
                """) {
                if let job = count.jobId { counts[job, default: [:]][count.exhausted] = count.count }
            }
            return counts
        }
    }

    /// Records a submission's intents before its call to the batch system, in one transaction:
    /// for each job, attempt number one more than its latest, state `submitting`.
    ///
    /// - Parameters:
    ///   - jobs: The jobs to submit.
    ///   - backend: The batch system's name.
    ///   - intent: What to record of the job's new attempt, given its number and the job's latest
    ///     attempt (whose exhausted resources the new one may double).
    /// - Returns: The new attempts, in the order of `jobs`.
    /// - Throws: What `intent` throws, or a GRDB `DatabaseError`; then no intent is recorded.
    public func recordIntents(for jobs: [JobRecord], backend: String,
                              _ intent: (JobRecord, _ number: Int, _ previous: AttemptRecord?) throws -> AttemptIntent) throws -> [AttemptRecord] {
        let now = Self.now()
        return try write { db in
            try jobs.map { job in
                let previous = try AttemptRecord.fetchOne(db, sql: """
                    SELECT * FROM attempt WHERE jobId = ? ORDER BY number DESC LIMIT 1
                    """, arguments: [job.id])
                let number = (previous?.number ?? 0) + 1
                let made = try intent(job, number, previous)
                try db.execute(sql: """
                    INSERT INTO attempt (jobId, number, backend, token, state, submittedAt, outcomes, log, memory, walltime)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [job.id, number, backend, made.token, AttemptState.submitting, now, made.outcomes, made.log,
                                     made.memory, made.walltime])
                return try AttemptRecord.fetchOne(db, key: db.lastInsertedRowID)!
            }
        }
    }

    /// Writes the submitter's decisions about attempts, in one transaction.
    ///
    /// - Parameter transitions: Each attempt's id and its change; see `AttemptTransition` for what each writes.
    /// - Throws: A GRDB `DatabaseError`; then nothing is written.
    public func apply(_ transitions: [(attemptId: Int64, transition: AttemptTransition)]) throws {
        guard !transitions.isEmpty else { return }
        let now = Self.now()
        try write { db in
            for (id, transition) in transitions {
                switch transition {
                case .adopted(let backendId):
                    try db.execute(sql: "UPDATE attempt SET backendId = ?, state = ? WHERE id = ?",
                                   arguments: [backendId, AttemptState.running, id])
                case .submitted(let backendId, let host):
                    try db.execute(sql: "UPDATE attempt SET backendId = ?, state = ?, host = ? WHERE id = ?",
                                   arguments: [backendId, AttemptState.queued, host, id])
                case .forgotten:
                    try db.execute(sql: "DELETE FROM attempt WHERE id = ?", arguments: [id])
                case .progressed(let state, let rawState):
                    try db.execute(sql: "UPDATE attempt SET state = ?, rawState = ?, startedAt = COALESCE(startedAt, ?) WHERE id = ?",
                                   arguments: [state, rawState, now, id])
                case .awaitingAccounting(let rawState):
                    try db.execute(sql: "UPDATE attempt SET state = ?, rawState = ?, endedAt = COALESCE(endedAt, ?) WHERE id = ?",
                                   arguments: [AttemptState.running, rawState, now, id])
                case .ended(let end):
                    try db.execute(sql: """
                        UPDATE attempt SET state = ?, rawState = ?, endedAt = COALESCE(endedAt, ?), exitCode = ?, signal = ?,
                        node = ?, elapsed = ?, cpuTime = ?, maxRSS = ?, maxVMem = ?, exhausted = ? WHERE id = ?
                        """, arguments: [end.state, end.rawState, now, end.exitCode, end.signal, end.node, end.elapsed,
                                         end.cpuTime, end.maxRSS, end.maxVMem, end.exhausted, id])
                case .cancelled:
                    try db.execute(sql: "UPDATE attempt SET state = ?, endedAt = ? WHERE id = ?",
                                   arguments: [AttemptState.cancelled, now, id])
                }
            }
        }
    }

    /// Now, as the state store writes times (ISO 8601, UTC).
    public static func now() -> String { ISO8601DateFormatter().string(from: Date()) }

    /// A time the state store wrote.
    public static func date(_ text: String) -> Date? { ISO8601DateFormatter().date(from: text) }
}
