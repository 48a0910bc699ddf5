import Foundation
import GRDB

/// What a step's page draws beside its reports: where its events are on the sky and how they came
/// out, what each attempt used against what it asked for, when events ended, and what was retried.
public struct StepActivity: Sendable {
    /// One event: its outcome, and its frame's centre (nil for a patch: the sky map places it).
    public struct Event: Sendable {
        public var key: String
        public var filter: String
        public var state: EventState
        public var className: String?
        public var ra: Double?
        public var dec: Double?
    }

    /// One ended attempt: what it used, and what it asked for.
    public struct Attempt: Sendable {
        public var filter: String
        /// Wall seconds: the batch system's elapsed time, else the seconds the runner measured for its events.
        public var seconds: Double?
        /// Peak memory in bytes (maxrss; maxvmem on Grid Engine).
        public var peakBytes: Double?
        /// The walltime and memory it was submitted with (learnt after a requeue), else the config's.
        public var requestedSeconds: Int?
        public var requestedBytes: Double?
    }

    public var events: [Event]
    public var attempts: [Attempt]
    /// When each verified event's attempt ended (ISO 8601, UTC), one per event, for events done over time.
    public var endTimes: [String]
    /// Outcomes that were run again, by the class of the earlier outcome: what resubmission took.
    public var resubmittedByClass: [String: Int]
}

extension StateStore {
    /// What the step's page draws (`StepActivity`).
    ///
    /// - Parameters:
    ///   - walltime: The config's WALLTIME of the step, for attempts that recorded none.
    ///   - memory: The config's MEMORY of the step.
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func stepActivity(step: Step, walltime: String?, memory: String?) throws -> StepActivity {
        try pool.read { db in
            var events: [StepActivity.Event] = []
            let rows = try Row.fetchCursor(db, sql: """
                SELECT e.key, e.filter, e.state, e.class, f.centerRa, f.centerDecl FROM event e LEFT JOIN frame f ON f.id = e.frameId
                WHERE e.step = ? ORDER BY e.filter, e.key
                """, arguments: [step])
            while let row = try rows.next() {
                events.append(StepActivity.Event(key: row[0], filter: row[1], state: EventState(rawValue: row[2]) ?? .new,
                                                 className: row[3], ra: row[4], dec: row[5]))
            }
            var attempts: [StepActivity.Attempt] = []
            let used = try Row.fetchCursor(db, SQLRequest(literal: """
                SELECT j.filter, a.elapsed, (SELECT SUM(o.seconds) FROM outcome o WHERE o.attemptId = a.id),
                       COALESCE(a.maxRSS, a.maxVMem), a.walltime, a.memory
                FROM attempt a JOIN job j ON j.id = a.jobId WHERE j.step = \(step) AND a.state NOT IN \(AttemptState.active)
                """))
            while let row = try used.next() {
                let seconds = (row[1] as String?).flatMap(BatchResources.duration) ?? (row[2] as Double?)
                let requestedTime = (row[4] as String?) ?? walltime
                let requestedMemory = (row[5] as String?) ?? memory
                attempts.append(StepActivity.Attempt(filter: row[0], seconds: seconds, peakBytes: (row[3] as String?).flatMap(BatchResources.bytes),
                                                     requestedSeconds: requestedTime.flatMap(BatchResources.seconds),
                                                     requestedBytes: requestedMemory.flatMap(BatchResources.bytes)))
            }
            let endTimes = try String.fetchAll(db, SQLRequest(literal: """
                SELECT a.endedAt FROM event e JOIN attempt a ON a.id = e.attemptId
                WHERE e.step = \(step) AND e.attemptId IS NOT NULL AND a.endedAt IS NOT NULL ORDER BY a.endedAt
                """))
            var resubmitted: [String: Int] = [:]
            for row in try Row.fetchAll(db, SQLRequest(literal: """
                SELECT o.class, COUNT(*) FROM outcome o JOIN event e ON e.id = o.eventId
                WHERE e.step = \(step) AND o.attemptId < e.attemptId GROUP BY o.class
                """)) {
                resubmitted[row[0]] = row[1]
            }
            return StepActivity(events: events, attempts: attempts, endTimes: endTimes, resubmittedByClass: resubmitted)
        }
    }
}
