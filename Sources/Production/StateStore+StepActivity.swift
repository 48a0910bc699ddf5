import Basics
import Foundation
import GRDB
import Synchronization

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

    /// A frame centre rounded to `StateStore.skyPlace`, with an outcome: where a step of many frames
    /// counts its events together.
    struct Place: Hashable, Sendable {
        var ra: Double
        var dec: Double
        var state: String
        var className: String?
    }

    /// One filter's part of a step's activity: every part of the page's figures is a sum or a
    /// concatenation of its filters' parts, so a filter that did not change need not be read again.
    struct Part: Sendable {
        /// What it was read at (`StateStore.activityStamp`): a part whose stamp is the store's is current.
        var stamp: String
        /// Its events one by one, in key order; for a step counted by place, its patches alone.
        var events: [Event] = []
        /// For a step counted by place, its frame events at each place.
        var places: [Place: Int] = [:]
        var attempts: [Attempt] = []
        /// Its verified events by when their attempt ended.
        var endTimes: [String: Int] = [:]
        var resubmittedByClass: [String: Int] = [:]
    }
}

/// Each filter's part of steps' pages as last drawn, kept by a report site between two drawings of a
/// page: `StateStore.stepActivity` reads again only the filters whose stamp changed since (the filters
/// of the jobs that ended), not every event and attempt of the step (seconds at DC2013's size).
public final class StepActivityParts: Sendable {
    let parts = Mutex<[Step: [String: StepActivity.Part]]>([:])

    public init() {}
}

extension StateStore {
    /// Frames' centres are rounded to this many degrees when a step's frames are counted together
    /// (`stepActivity`): a fiftieth of a degree, a tenth of the sky map's cells over Stripe 82.
    public static let skyPlace = 0.02

    /// What the step's page draws (`StepActivity`), read filter by filter and added together.
    ///
    /// A step with more events than `separately` has its frame events counted by outcome and place
    /// (their centres rounded to `skyPlace` degrees) rather than given one by one: the sky map draws so
    /// many in cells anyway, and DC2013's 1.57M events would be 1.57M rows kept.
    ///
    /// - Parameters:
    ///   - walltime: The config's WALLTIME of the step, for attempts that recorded none.
    ///   - memory: The config's MEMORY of the step.
    ///   - separately: The most events given one by one (the sky map's limit of points).
    ///   - kept: The filters' parts of an earlier call: those whose stamp is unchanged are not read
    ///     again, and the parts read are kept there. The activity is the same with or without.
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func stepActivity(step: Step, walltime: String?, memory: String?, separately: Int = .max,
                             kept: StepActivityParts? = nil) throws -> StepActivity {
        try pool.read { db in
            let tallies = try Self.eventTallies(db, step: step)
            let byPlace = tallies.map(\.events).reduce(0, +) > separately
            let jobFilters = try String.fetchAll(db, sql: "SELECT DISTINCT filter FROM job WHERE step = ?", arguments: [step])
            let earlier = kept?.parts.withLock { $0[step] } ?? [:]
            var parts: [String: StepActivity.Part] = [:]
            for filter in Set(tallies.map(\.filter) + jobFilters) {
                let stamp = try Self.activityStamp(db, step: step, filter: filter, tallies: tallies, byPlace: byPlace,
                                                   walltime: walltime, memory: memory)
                if let part = earlier[filter], part.stamp == stamp {
                    parts[filter] = part
                } else {
                    parts[filter] = try Self.activityPart(db, step: step, filter: filter, byPlace: byPlace, stamp: stamp,
                                                          walltime: walltime, memory: memory)
                }
            }
            kept?.parts.withLock { $0[step] = parts }
            return Self.activity(adding: parts, byPlace: byPlace)
        }
    }

    /// What says whether a filter's part of a step's activity changed: its events by state and class
    /// (kept by the store's triggers), its attempts, how many of them ended, were verified and have
    /// their use recorded, and how the part is read. An event changes state or class only when it
    /// is planned (its tally changes) or an attempt of it is verified; an attempt's end and use are
    /// written once.
    static func activityStamp(_ db: Database, step: Step, filter: String, tallies: [EventTally], byPlace: Bool,
                              walltime: String?, memory: String?) throws -> String {
        let counts = tallies.filter { $0.filter == filter }.map(\.stampWord).sorted()
        let attempts = try Row.fetchOne(db, SQLRequest(literal: """
            SELECT COUNT(*), MAX(a.id), SUM(a.verified), SUM(a.state NOT IN \(AttemptState.active)),
                   COUNT(a.endedAt), COUNT(a.elapsed), COUNT(a.maxRSS), COUNT(a.maxVMem)
            FROM job j JOIN attempt a ON a.jobId = j.id WHERE j.step = \(step) AND j.filter = \(filter)
            """))
        let used = (0..<8).map { (attempts?[$0] as Int64?).map(String.init) ?? "-" }
        return ([byPlace ? "places" : "events", walltime ?? "-", memory ?? "-"] + counts + used).joined(separator: " ")
    }

    /// One filter's part of a step's activity, read from the store.
    static func activityPart(_ db: Database, step: Step, filter: String, byPlace: Bool, stamp: String,
                             walltime: String?, memory: String?) throws -> StepActivity.Part {
        var part = StepActivity.Part(stamp: stamp)
        if byPlace {
            (part.places, part.events) = try activityPlaces(db, step: step, filter: filter)
        } else {
            part.events = try activityEvents(db, step: step, filter: filter)
        }
        part.attempts = try activityAttempts(db, step: step, filter: filter, walltime: walltime, memory: memory)
        for row in try Row.fetchAll(db, SQLRequest(literal: """
            SELECT a.endedAt, COUNT(*) FROM event e JOIN attempt a ON a.id = e.attemptId
            WHERE e.step = \(step) AND e.filter = \(filter) AND e.attemptId IS NOT NULL AND a.endedAt IS NOT NULL GROUP BY a.endedAt
            """)) {
            part.endTimes[row[0]] = row[1]
        }
        for row in try Row.fetchAll(db, SQLRequest(literal: """
            SELECT o.class, COUNT(*) FROM outcome o JOIN event e ON e.id = o.eventId
            WHERE e.step = \(step) AND e.filter = \(filter) AND o.attemptId < e.attemptId GROUP BY o.class
            """)) {
            part.resubmittedByClass[row[0]] = row[1]
        }
        return part
    }

    /// The filters' parts added together: events by filter and key, places and end times in order,
    /// counts summed.
    static func activity(adding parts: [String: StepActivity.Part], byPlace: Bool) -> StepActivity {
        let filters = parts.keys.sorted()
        var events = filters.flatMap { parts[$0]!.events }
        if byPlace {
            var places: [StepActivity.Place: Int] = [:]
            for part in parts.values { places.merge(part.places, uniquingKeysWith: +) }
            // In a fixed order (a dictionary's is not), so that the same store draws the same map.
            let ordered = places.sorted { ($0.key.ra, $0.key.dec, $0.key.state, $0.key.className ?? "")
                < ($1.key.ra, $1.key.dec, $1.key.state, $1.key.className ?? "") }
            for (place, count) in ordered {
                events.append(StepActivity.Event(key: "", filter: "", state: EventState(rawValue: place.state) ?? .new,
                                                 className: place.className, ra: place.ra * Self.skyPlace,
                                                 dec: place.dec * Self.skyPlace, count: count))
            }
        }
        var endTimes: [String: Int] = [:], resubmitted: [String: Int] = [:]
        for part in parts.values {
            endTimes.merge(part.endTimes, uniquingKeysWith: +)
            resubmitted.merge(part.resubmittedByClass, uniquingKeysWith: +)
        }
        return StepActivity(events: events, attempts: filters.flatMap { parts[$0]!.attempts },
                            endTimes: endTimes.sorted { $0.key < $1.key }.map { (time: $0.key, events: $0.value) },
                            resubmittedByClass: resubmitted)
    }

    /// Every event of a step and filter with its frame's centre, by key.
    static func activityEvents(_ db: Database, step: Step, filter: String) throws -> [StepActivity.Event] {
        var events: [StepActivity.Event] = []
        let rows = try Row.fetchCursor(db, sql: """
            SELECT e.key, e.filter, e.state, e.class, f.centerRa, f.centerDecl FROM event e LEFT JOIN frame f ON f.id = e.frameId
            WHERE e.step = ? AND e.filter = ? ORDER BY e.key
            """, arguments: [step, filter])
        while let row = try rows.next() {
            events.append(StepActivity.Event(key: row[0], filter: row[1], state: EventState(rawValue: row[2]) ?? .new,
                                             className: row[3], ra: row[4], dec: row[5]))
        }
        return events
    }

    /// The frame events of a step and filter counted by place and outcome, in a dictionary: SQLite's
    /// GROUP BY sorts the rows first, three times as long as reading them; and its patches (events
    /// without a frame), each alone, by key.
    static func activityPlaces(_ db: Database, step: Step, filter: String) throws
        -> (places: [StepActivity.Place: Int], patches: [StepActivity.Event]) {
        var places: [StepActivity.Place: Int] = [:]
        let rows = try Row.fetchCursor(db, sql: """
            SELECT ROUND(f.centerRa / ?), ROUND(f.centerDecl / ?), e.state, e.class, e.key, e.filter
            FROM event e LEFT JOIN frame f ON f.id = e.frameId WHERE e.step = ? AND e.filter = ?
            """, arguments: [Self.skyPlace, Self.skyPlace, step, filter])
        var patches: [StepActivity.Event] = []
        while let row = try rows.next() {
            let state: String = row[2]
            if let ra = row[0] as Double?, let dec = row[1] as Double? {
                places[StepActivity.Place(ra: ra, dec: dec, state: state, className: row[3]), default: 0] += 1
            } else {
                patches.append(StepActivity.Event(key: row[4], filter: row[5], state: EventState(rawValue: state) ?? .new,
                                                  className: row[3], ra: nil, dec: nil))
            }
        }
        return (places, patches.sorted { $0.key < $1.key })
    }

    /// The ended attempts of a step and filter: their seconds, peak memory and what they asked for.
    static func activityAttempts(_ db: Database, step: Step, filter: String, walltime: String?, memory: String?) throws -> [StepActivity.Attempt] {
        var attempts: [StepActivity.Attempt] = []
        // The runner's seconds of an attempt from its job's events' outcomes: the outcome table has
        // no index by attempt, and a sum over it per attempt read all of it for each.
        let used = try Row.fetchCursor(db, SQLRequest(literal: """
            SELECT j.filter, a.elapsed,
                   (SELECT SUM(o.seconds) FROM job_event je JOIN outcome o ON o.eventId = je.eventId AND o.attemptId = a.id
                    WHERE je.jobId = a.jobId),
                   COALESCE(a.maxRSS, a.maxVMem), a.walltime, a.memory
            FROM attempt a JOIN job j ON j.id = a.jobId WHERE j.step = \(step) AND j.filter = \(filter) AND a.state NOT IN \(AttemptState.active)
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
