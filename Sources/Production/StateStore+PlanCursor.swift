import Basics
import Foundation
import GRDB

// MARK: - Where a later step's planning in `dcprod run` is: the verified attempts it has derived from

extension StateStore {
    /// The events given an outcome by some verified attempts (`verified_attempt`, schema v24), and the
    /// sequence of the last of those attempts.
    public struct VerifiedEvents: Sendable, Equatable {
        /// The `verified_attempt.sequence` of the last attempt read.
        public var through: Int64
        /// The events of those attempts' jobs of the steps asked for, which verify gave an outcome.
        public var eventIds: Set<Int64>
    }

    /// The last verified attempt whose outcomes the planning of a step and filter has derived from; 0 for none.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func planCursor(step: Step, filter: Filter) throws -> Int64 {
        try pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT sequence FROM plan_cursor WHERE step = ? AND filter = ?", arguments: [step, filter]) ?? 0
        }
    }

    /// Records that the planning of a step and filter has derived from every verified attempt up to `sequence`.
    /// A cursor only moves on: a `dcprod plan` that read the last sequence before a run's pass moved it
    /// further leaves the run's.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be written.
    public func setPlanCursor(step: Step, filter: Filter, sequence: Int64) throws {
        try write { db in
            try db.execute(sql: """
                INSERT INTO plan_cursor (step, filter, sequence) VALUES (?, ?, ?)
                ON CONFLICT (step, filter) DO UPDATE SET sequence = MAX(sequence, excluded.sequence)
                """, arguments: [step, filter, sequence])
        }
    }

    /// The last attempt verified so far (`verified_attempt.sequence`); 0 for none.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func lastVerifiedSequence() throws -> Int64 {
        try pool.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(sequence) FROM verified_attempt") ?? 0 }
    }

    /// The events of `steps` and `filter` that the attempts verified after `sequence`, up to `through`,
    /// gave an outcome (their jobs' members: an event without a record was recorded not run): at most
    /// `attempts` attempts of those steps and filter, the earliest verified first.
    ///
    /// Found from the attempts verified since `sequence` alone, through the primary key of
    /// `verified_attempt`: a restarted run whose planning has seen everything reads nothing.
    ///
    /// - Returns: nil when no such attempt is left.
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func eventsVerified(steps: [Step], filter: Filter, after sequence: Int64, through last: Int64,
                               attempts: Int) throws -> VerifiedEvents? {
        try pool.read { db in
            let chosen = try Int64.fetchAll(db, SQLRequest(literal: """
                SELECT v.sequence FROM verified_attempt v CROSS JOIN attempt a ON a.id = v.attemptId CROSS JOIN job j ON j.id = a.jobId
                WHERE v.sequence > \(sequence) AND v.sequence <= \(last) AND j.filter = \(filter) ORDER BY v.sequence LIMIT \(attempts)
                """))
            guard let through = chosen.last else { return nil }
            var events = Set<Int64>()
            let rows = try Int64.fetchCursor(db, SQLRequest(literal: """
                SELECT je.eventId FROM verified_attempt v CROSS JOIN attempt a ON a.id = v.attemptId
                CROSS JOIN job_event je ON je.jobId = a.jobId CROSS JOIN event e ON e.id = je.eventId
                WHERE v.sequence > \(sequence) AND v.sequence <= \(through) AND e.step IN \(steps) AND e.filter = \(filter)
                """))
            while let id = try rows.next() { events.insert(id) }
            return VerifiedEvents(through: through, eventIds: events)
        }
    }
}

extension StateStore {
    /// The patches of a filter that some frame touches (`frame_patch`, schema v31: the members of the sets of
    /// the filter's frames), as keys in their order.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func patchKeys(filter: Filter) throws -> [String] {
        try pool.read { db in try String.fetchAll(db, sql: """
            SELECT DISTINCT m.patch FROM patch_set_member m
            WHERE EXISTS (SELECT 1 FROM frame_record f WHERE f.filter = ? AND f.patchSet = m.patchSet) ORDER BY m.patch
            """, arguments: [filter]) }
    }

    /// Visits `patches` (keys) of a filter one at a time, in key order, with the frame events of a step
    /// whose frames touch them (`frame_patch`): the ids of those that are ok, by key, and whether one
    /// awaits verification (any state but ok, failed or not run). Reads neither footprints nor keys: a
    /// pass that changed a whole run of frames visits every patch along it, and each patch's frames are
    /// only a few numbers.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read, or what `body` throws.
    public func forEachPatchOfFrames(step: Step, filter: Filter, patches: Set<String>,
                                     _ body: (_ patch: String, _ ok: [Int64], _ awaited: Bool) throws -> Void) throws {
        guard !patches.isEmpty else { return }
        let json = Self.jsonArray(patches.sorted())
        let verified = EventState.allCases.filter(\.isVerified)
        try pool.read { db in
            let rows = try Row.fetchCursor(db, SQLRequest(literal: """
                SELECT fp.patch, e.id, e.state = \(EventState.ok), e.state NOT IN \(verified)
                FROM frame_patch fp CROSS JOIN event e ON e.frameId = fp.frameId
                WHERE fp.filter = \(filter) AND fp.patch IN (SELECT value FROM json_each(\(json))) AND +e.step = \(step) AND +e.filter = \(filter)
                ORDER BY fp.patch, e.key
                """))
            var current: (patch: String, ok: [Int64], awaited: Bool)?
            while let row = try rows.next() {
                let patch: String = row[0]
                if let done = current, done.patch != patch {
                    try body(done.patch, done.ok, done.awaited)
                    current = nil
                }
                var standing = current ?? (patch, [], false)
                if row[2] as Bool { standing.ok.append(row[1]) }
                standing.awaited = standing.awaited || row[3] as Bool
                current = standing
            }
            if let done = current { try body(done.patch, done.ok, done.awaited) }
        }
    }
}
