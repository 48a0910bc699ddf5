import Basics
import Foundation
import GRDB

/// What a step's page draws beside its reports: where its events are on the sky and how they came
/// out, what each attempt used against what it asked for, when events ended, and what was retried.
public struct StepActivity: Sendable {
    /// One event: its outcome, and its frame's centre (nil for a patch: the sky map places it); or,
    /// for a step of many frames, the events of one outcome whose frames' centres round to one place
    /// (`count` of them, `key` and `filter` empty).
    public struct Event: Sendable {
        public var key: String
        public var filter: String
        public var state: EventState
        public var className: String?
        public var ra: Double?
        public var dec: Double?
        /// The events it stands for: 1 for an event of its own.
        public var count: Int = 1
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
    /// When verified events' attempts ended (ISO 8601, UTC), in order, each with the events it ended,
    /// for events done over time.
    public var endTimes: [(time: String, events: Int)]
    /// Outcomes that were run again, by the class of the earlier outcome: what resubmission took.
    public var resubmittedByClass: [String: Int]
}

extension StateStore {
    /// Frames' centres are rounded to this many degrees when a step's frames are counted together
    /// (`stepActivity`): a fiftieth of a degree, a tenth of the sky map's cells over Stripe 82.
    public static let skyPlace = 0.02

    /// What the step's page draws (`StepActivity`).
    ///
    /// A step with more events than `separately` has its frame events counted in SQL by outcome and place
    /// (their centres rounded to `skyPlace` degrees) rather than read one by one: the sky map draws so
    /// many in cells anyway, and DC2013's 1.57M events would be 1.57M rows read and kept.
    ///
    /// - Parameters:
    ///   - walltime: The config's WALLTIME of the step, for attempts that recorded none.
    ///   - memory: The config's MEMORY of the step.
    ///   - separately: The most events given one by one (the sky map's limit of points).
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func stepActivity(step: Step, walltime: String?, memory: String?, separately: Int = .max) throws -> StepActivity {
        try pool.read { db in
            let total = try Self.eventTallies(db, step: step).map(\.events).reduce(0, +)
            let events = try total <= separately ? Self.activityEvents(db, step: step) : Self.activityPlaces(db, step: step)
            let attempts = try Self.activityAttempts(db, step: step, walltime: walltime, memory: memory)
            let endTimes = try Row.fetchAll(db, SQLRequest(literal: """
                SELECT a.endedAt, COUNT(*) FROM event e JOIN attempt a ON a.id = e.attemptId
                WHERE e.step = \(step) AND e.attemptId IS NOT NULL AND a.endedAt IS NOT NULL GROUP BY a.endedAt ORDER BY a.endedAt
                """)).map { (time: $0[0] as String, events: $0[1] as Int) }
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

    /// Every event of a step with its frame's centre, by filter and key.
    static func activityEvents(_ db: Database, step: Step) throws -> [StepActivity.Event] {
        var events: [StepActivity.Event] = []
        let rows = try Row.fetchCursor(db, sql: """
            SELECT e.key, e.filter, e.state, e.class, f.centerRa, f.centerDecl FROM event e LEFT JOIN frame f ON f.id = e.frameId
            WHERE e.step = ? ORDER BY e.filter, e.key
            """, arguments: [step])
        while let row = try rows.next() {
            events.append(StepActivity.Event(key: row[0], filter: row[1], state: EventState(rawValue: row[2]) ?? .new,
                                             className: row[3], ra: row[4], dec: row[5]))
        }
        return events
    }

    /// The frame events of a step counted by place and outcome, in a dictionary: SQLite's GROUP BY
    /// sorts the 1.57M rows first, three times as long as reading them. An event without a frame (a
    /// patch) is given alone, with its key.
    static func activityPlaces(_ db: Database, step: Step) throws -> [StepActivity.Event] {
        struct Place: Hashable { var ra: Double; var dec: Double; var state: String; var className: String? }
        var places: [Place: Int] = [:]
        let rows = try Row.fetchCursor(db, sql: """
            SELECT ROUND(f.centerRa / ?), ROUND(f.centerDecl / ?), e.state, e.class, e.key, e.filter
            FROM event e LEFT JOIN frame f ON f.id = e.frameId WHERE e.step = ?
            """, arguments: [Self.skyPlace, Self.skyPlace, step])
        var patches: [StepActivity.Event] = []
        while let row = try rows.next() {
            let state: String = row[2]
            if let ra = row[0] as Double?, let dec = row[1] as Double? {
                places[Place(ra: ra, dec: dec, state: state, className: row[3]), default: 0] += 1
            } else {
                patches.append(StepActivity.Event(key: row[4], filter: row[5], state: EventState(rawValue: state) ?? .new,
                                                  className: row[3], ra: nil, dec: nil))
            }
        }
        var events = patches.sorted { ($0.filter, $0.key) < ($1.filter, $1.key) }
        // In a fixed order (a dictionary's is not), so that the same store draws the same map.
        for (place, count) in places.sorted(by: { ($0.key.ra, $0.key.dec, $0.key.state, $0.key.className ?? "") < ($1.key.ra, $1.key.dec, $1.key.state, $1.key.className ?? "") }) {
            events.append(StepActivity.Event(key: "", filter: "", state: EventState(rawValue: place.state) ?? .new, className: place.className,
                                             ra: place.ra * Self.skyPlace, dec: place.dec * Self.skyPlace, count: count))
        }
        return events
    }

    /// The ended attempts of a step: their seconds, peak memory and what they asked for.
    static func activityAttempts(_ db: Database, step: Step, walltime: String?, memory: String?) throws -> [StepActivity.Attempt] {
        var attempts: [StepActivity.Attempt] = []
        // The runner's seconds of an attempt from its job's events' outcomes: the outcome table has
        // no index by attempt, and a sum over it per attempt read all of it for each.
        let used = try Row.fetchCursor(db, SQLRequest(literal: """
            SELECT j.filter, a.elapsed,
                   (SELECT SUM(o.seconds) FROM job_event je JOIN outcome o ON o.eventId = je.eventId AND o.attemptId = a.id
                    WHERE je.jobId = a.jobId),
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
        return attempts
    }
}
