import Basics
import Foundation
import GRDB

// MARK: - Derived events: a later step's events made from an earlier step's verified ones

/// A frame event that verify found ok, with what a later step needs of it.
public struct VerifiedFrame: Sendable, Equatable, FetchableRecord {
    public var eventId: Int64
    public var frameId: Int64
    public var key: String
    /// The frame's corners then its centre, (RA, Dec) in degrees, as inventory computed them.
    public var footprint: [(ra: Double, dec: Double)]
    /// The sky map patches the frame touches as the store keeps them (`frame.patches`); nil when not known yet.
    public var patches: String?
    /// The outputs of its latest (ok) outcome.
    public var outputs: [String]

    public init(row: Row) {
        eventId = row["id"]
        frameId = row["frameId"]
        key = row["key"]
        footprint = Self.footprint(row)
        patches = row["patches"]
        outputs = (row["outputs"] as String?)?.split(separator: "\n").map(String.init) ?? []
    }

    /// The footprint columns of `frame f`, as `footprint(_:)` reads them, and its patches.
    static let footprintColumns = """
        f.corner1Ra, f.corner1Decl, f.corner2Ra, f.corner2Decl, f.corner3Ra, f.corner3Decl, f.corner4Ra, f.corner4Decl, \
        f.centerRa, f.centerDecl, f.patches
        """

    /// A frame's corners then its centre, from a row with `footprintColumns`.
    static func footprint(_ row: Row) -> [(ra: Double, dec: Double)] {
        (1...4).map { (ra: row["corner\($0)Ra"], dec: row["corner\($0)Decl"]) } + [(ra: row["centerRa"], dec: row["centerDecl"])]
    }

    public static func == (a: VerifiedFrame, b: VerifiedFrame) -> Bool {
        a.eventId == b.eventId && a.frameId == b.frameId && a.key == b.key && a.outputs == b.outputs && a.patches == b.patches
            && a.footprint.elementsEqual(b.footprint) { $0.ra == $1.ra && $0.dec == $1.dec }
    }
}

/// A derived event and the events it is made from, as planning records it.
public struct DerivedEvent: Sendable, Equatable {
    /// The event's key (`0-380,5` for a coadd patch, the frame's own for forcedPhot).
    public var key: String
    /// The ids of the earlier step's events it is made from.
    public var inputIds: [Int64]
    /// The frame, for an event that is one.
    public var frameId: Int64?

    public init(key: String, inputIds: [Int64], frameId: Int64? = nil) {
        self.key = key
        self.inputIds = inputIds
        self.frameId = frameId
    }
}

extension StateStore {
    /// The frame events of a step and filter whose latest outcome is ok, by key.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func verifiedFrames(step: Step, filter: Filter) throws -> [VerifiedFrame] {
        try pool.read { db in
            try VerifiedFrame.fetchAll(db, sql: """
                SELECT e.id, e.frameId, e.key, \(VerifiedFrame.footprintColumns), o.outputs
                FROM event e JOIN frame f ON f.id = e.frameId JOIN outcome o ON o.eventId = e.id AND o.attemptId = e.attemptId
                WHERE e.step = ? AND e.filter = ? AND e.state = ? ORDER BY e.key
                """, arguments: [step, filter, EventState.ok])
        }
    }

    /// The frame events of a step and filter that await verification (in no job yet, or in one whose
    /// outcome has not been read): the frames that may still become a later step's inputs. Without
    /// outputs.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func awaitedFrames(step: Step, filter: Filter) throws -> [VerifiedFrame] {
        let awaited = EventState.allCases.filter { !$0.isVerified }
        return try pool.read { db in
            try VerifiedFrame.fetchAll(db, SQLRequest(literal: """
                SELECT e.id, e.frameId, e.key, \(sql: VerifiedFrame.footprintColumns), NULL AS outputs
                FROM event e JOIN frame f ON f.id = e.frameId
                WHERE e.step = \(step) AND e.filter = \(filter) AND e.state IN \(awaited) AND \(Self.notOk("e."))
                """))
        }
    }

    /// The keys of a step and filter's events that verify has settled: ok, failed or not run.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func verifiedKeys(step: Step, filter: Filter) throws -> Set<String> {
        let verified = EventState.allCases.filter(\.isVerified)
        return try pool.read { db in
            Set(try String.fetchAll(db, SQLRequest(literal: """
                SELECT key FROM event WHERE step = \(step) AND filter = \(filter) AND state IN \(verified)
                """)))
        }
    }

    /// Records a later step's events and their inputs, in one transaction: an event not yet known is
    /// created `new` with its inputs; an event already known gets the inputs it does not have yet. An
    /// input added to an event that was planned is recorded `absent` from its planning, which makes
    /// the event stale (`staleEvents`) once the input has an outcome.
    ///
    /// - Parameters:
    ///   - events: The events, each with its inputs.
    ///   - step: Their step.
    ///   - filter: Their filter.
    /// - Returns: How many events were created.
    /// - Throws: A GRDB `DatabaseError`; then nothing is recorded.
    @discardableResult
    public func recordDerivedEvents(_ events: [DerivedEvent], step: Step, filter: Filter) throws -> Int {
        try write { db in
            var created = 0
            let find = try db.cachedStatement(sql: "SELECT id, state FROM event WHERE step = ? AND filter = ? AND key = ?")
            let insert = try db.cachedStatement(sql: "INSERT INTO event (step, filter, key, frameId, state) VALUES (?, ?, ?, ?, ?)")
            for event in events {
                var id: Int64
                var absent: String?
                if let row = try Row.fetchOne(find, arguments: [step, filter, event.key]) {
                    id = row["id"]
                    if EventState(rawValue: row["state"]) != .new { absent = Self.absentInput }
                } else {
                    try insert.execute(arguments: [step, filter, event.key, event.frameId, EventState.new])
                    id = db.lastInsertedRowID
                    created += 1
                }
                try Self.recordInputs(event.inputIds, of: id, state: absent, db)
            }
            return created
        }
    }

    /// `event_input.state` of an input an event was not planned with.
    static let absentInput = "absent"

    /// The events of a step and filter that are stale: planned, then verified (or withdrawn), on inputs
    /// of which one has another outcome now — it failed or did not run and is now ok, or was redone —
    /// or one that was not there when they were planned. Their results are not what their inputs
    /// would now give: `dcprod run` and `plan` plan them again. An event whose job is still to end,
    /// or whose input is being redone, is not stale yet.
    ///
    /// Found from `input_change` alone (`+` keeps SQLite from reading every event of the step and
    /// filter through their index instead): each pass of `run` asks this of every later step and filter.
    ///
    /// - Returns: The events (id and key), by key.
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func staleEvents(step: Step, filter: Filter) throws -> [JobMember] {
        try pool.read { db in
            try JobMember.fetchAll(db, SQLRequest(literal: """
                SELECT e.id, e.key FROM event e
                WHERE e.id IN (SELECT eventId FROM input_change) AND +e.step = \(step) AND +e.filter = \(filter) AND \(Self.isStale)
                ORDER BY e.key
                """, cached: true))
        }
    }

    /// The stale events (`staleEvents`) of every step and filter, counted: what `status` shows.
    ///
    /// Only events one of whose inputs changed since they were planned can be stale: they are found
    /// from `input_change` (schema v15) rather than by testing each event with inputs (1.57M
    /// forced-photometry events at DC2013's size).
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func staleCounts() throws -> [ProductionStatus.StateCount] {
        try pool.read { db in
            try ProductionStatus.StateCount.fetchAll(db, SQLRequest(literal: """
                SELECT e.step, e.filter, 'stale' AS state, COUNT(*) AS count FROM event e
                WHERE e.id IN (SELECT eventId FROM input_change) AND \(Self.isStale)
                GROUP BY e.step, e.filter ORDER BY e.step, e.filter
                """))
        }
    }

    /// Whether the event `e` is stale: planned, settled, an input of it settled otherwise since, and
    /// none being made (again) now — a frame touching four patches whose coadds are redone is
    /// measured again once, after the last of them, not after each.
    static var isStale: SQL {
        let settled = [EventState.ok, .failed, .notRun]
        return """
            e.jobId IS NOT NULL AND e.state IN \(settled + [.withdrawn])
            AND EXISTS (SELECT 1 FROM event_input ei JOIN event i ON i.id = ei.inputId
                        WHERE ei.eventId = e.id AND ei.state IS NOT NULL AND i.state IN \(settled)
                        AND (ei.state != i.state OR ei.attemptId IS NOT i.attemptId))
            AND NOT EXISTS (SELECT 1 FROM event_input ei JOIN event i ON i.id = ei.inputId
                            WHERE ei.eventId = e.id AND i.state NOT IN \(settled + [.withdrawn]))
            """
    }

    /// How many events of a step and filter are stale (`staleEvents`).
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func staleEventCount(step: Step, filter: Filter) throws -> Int {
        try staleEvents(step: step, filter: filter).count
    }

    /// The ids of a step and filter's events, by key.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func eventIds(step: Step, filter: Filter) throws -> [String: Int64] {
        try pool.read { db in
            var ids: [String: Int64] = [:]
            let rows = try Row.fetchCursor(db, sql: "SELECT key, id FROM event WHERE step = ? AND filter = ?", arguments: [step, filter])
            while let row = try rows.next() { ids[row[0]] = row[1] }
            return ids
        }
    }

    /// Visits the events of a step and filter that are not frames (a coadd's patches), by key, each
    /// with the outputs of its inputs' latest outcomes, one event at a time: a filter's inputs are
    /// never held at once (at DC2013's size, about a million outcomes a filter, 1.5 GB when they were).
    ///
    /// - Parameters:
    ///   - selection: Only the events in no job yet, or all of them.
    ///   - only: When given, only these events: the others' inputs are not read.
    ///   - withInputs: Whether the inputs' outputs are read (an empty list is given otherwise).
    ///   - body: Given each event's id and key and its inputs' outputs, in the inputs' key order.
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read, or what `body` throws.
    public func forEachDerivedEvent(step: Step, filter: Filter, _ selection: EventSelection, only: Set<Int64>? = nil, withInputs: Bool = true,
                                    _ body: (_ id: Int64, _ key: String, _ inputs: [String]) throws -> Void) throws {
        let unplanned: SQL = selection == .unplanned ? "AND e.jobId IS NULL" : ""
        try pool.read { db in
            let events = try JobMember.fetchAll(db, SQLRequest(literal: """
                SELECT e.id, e.key FROM event e WHERE e.step = \(step) AND e.filter = \(filter) AND e.frameId IS NULL \(unplanned)
                ORDER BY e.key
                """))
            let inputs = try db.cachedStatement(sql: """
                SELECT o.outputs FROM event_input ei JOIN event i ON i.id = ei.inputId
                JOIN outcome o ON o.eventId = i.id AND o.attemptId = i.attemptId
                WHERE ei.eventId = ? AND i.state = ? ORDER BY i.key
                """)
            for event in events where only?.contains(event.id) ?? true {
                let outputs = withInputs ? try String?.fetchAll(inputs, arguments: [event.id, EventState.ok])
                    .flatMap { ($0 ?? "").split(separator: "\n").map(String.init) } : []
                try body(event.id, event.key, outputs)
            }
        }
    }
}

// MARK: - Bundles: where each event stands, for `run --by-patch`

/// A frame event of a step, with its footprint and where it stands.
public struct FrameStanding: Sendable, FetchableRecord {
    public var eventId: Int64
    public var frameId: Int64
    public var key: String
    /// The frame's corners then its centre, (RA, Dec) in degrees, as inventory computed them.
    public var footprint: [(ra: Double, dec: Double)]
    public var state: EventState
    /// True once the event is in a job.
    public var planned: Bool
    /// The sky map patches the frame touches as the store keeps them (`frame.patches`); nil when not known yet.
    public var patches: String?

    public init(row: Row) {
        eventId = row["id"]
        frameId = row["frameId"]
        key = row["key"]
        footprint = VerifiedFrame.footprint(row)
        patches = row["patches"]
        state = row["state"]
        planned = row["planned"]
    }
}

extension StateStore {
    /// Every frame event of a step and filter with its footprint and state, by key.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func frameStandings(step: Step, filter: Filter) throws -> [FrameStanding] {
        try pool.read { db in
            try FrameStanding.fetchAll(db, sql: """
                SELECT e.id, e.frameId, e.key, e.state, e.jobId IS NOT NULL AS planned, \(VerifiedFrame.footprintColumns)
                FROM event e JOIN frame f ON f.id = e.frameId WHERE e.step = ? AND e.filter = ? ORDER BY e.key
                """, arguments: [step, filter])
        }
    }

    /// The state of each event of a step and filter, and whether it is in a job, by key.
    ///
    /// - Parameter keys: When given, only the events with these keys, found by key: the filter's other
    ///   events (313,000 forced-photometry events at DC2013's size) are not read.
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func eventStandings(step: Step, filter: Filter, keys: Set<String>? = nil) throws -> [String: (state: EventState, planned: Bool)] {
        let only: SQL = keys.map { "AND key IN (SELECT value FROM json_each(\(Self.jsonArray($0.sorted()))))" } ?? ""
        return try pool.read { db in
            var standings: [String: (state: EventState, planned: Bool)] = [:]
            let rows = try Row.fetchCursor(db, SQLRequest(literal: """
                SELECT key, state, jobId IS NOT NULL FROM event WHERE step = \(step) AND filter = \(filter) \(only)
                """))
            while let row = try rows.next() { standings[row[0]] = (row[1], row[2]) }
            return standings
        }
    }

    /// The frame events of a step and filter in `states` by the patches their frames touch, as the store
    /// keeps them (`frame.patches`): how many frames have each set of patches — frames along a run share
    /// theirs, so DC2013's 313,000 frames a filter come as a few thousand sets, grouped by SQLite. Frames
    /// whose patches it does not know yet (a store of before v14) are not in them: `framesWithoutPatches`.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func framePatchSets(step: Step, filter: Filter, states: [EventState]) throws -> [(patches: String, frames: Int)] {
        try pool.read { db in
            try Row.fetchAll(db, SQLRequest(literal: """
                SELECT f.patches, COUNT(*) FROM event e JOIN frame f ON f.id = e.frameId
                WHERE e.step = \(step) AND e.filter = \(filter) AND e.state IN \(states) AND f.patches IS NOT NULL GROUP BY f.patches
                """)).map { (patches: $0[0] as String, frames: $0[1] as Int) }
        }
    }

    /// The frame events of a step and filter in `states` whose frames' patches the store does not know
    /// yet (a store of before v14), with their footprints, by frame id: up to `limit` after the frame
    /// id `after`, so that a reader of a store of millions of such frames holds a page of them.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func framesWithoutPatches(step: Step, filter: Filter, states: [EventState], after: Int64 = .min,
                                     limit: Int = .max) throws -> [FrameStanding] {
        try pool.read { db in
            // Frames first, walked in id order on their partial index (frame_without_patches) from `after`, so
            // a page stops at its limit: a list of every such frame, built anew for each page, made the pages
            // of a synthetic store of ten times DC2013's size (15.65M frames, none placed) cost its square.
            try FrameStanding.fetchAll(db, SQLRequest(literal: """
                SELECT e.id, e.frameId, e.key, e.state, e.jobId IS NOT NULL AS planned, \(sql: VerifiedFrame.footprintColumns)
                FROM frame_record r INDEXED BY frame_without_patches CROSS JOIN frame f ON f.id = r.id CROSS JOIN event e ON e.frameId = r.id
                WHERE r.patchSet IS NULL AND r.id > \(after) AND r.filter = \(filter)
                  AND e.step = \(step) AND e.filter = \(filter) AND e.state IN \(states)
                ORDER BY r.id LIMIT \(limit)
                """))
        }
    }
}

// MARK: - What changed: the few frames and events that a pass of `dcprod run` derives again

extension StateStore {
    /// Ids as one JSON array, which SQLite unpacks (`json_each`): one bound value for any number of them.
    static func jsonArray(_ ids: some Sequence<Int64>) -> String {
        "[" + ids.map(String.init).joined(separator: ",") + "]"
    }

    /// Texts as one JSON array, which SQLite unpacks (`json_each`).
    static func jsonArray(_ texts: [String]) -> String {
        var list: [UInt8] = []
        JSONText.append(texts, to: &list)
        return String(decoding: list, as: UTF8.self)
    }

    /// The frame events of a step and filter among `ids` (those of other steps and filters are left
    /// out), with their footprints, kept patches and states, by key.
    ///
    /// These queries of a few events write `+e.step`: SQLite then finds them by id (or frame, key)
    /// instead of walking every event of the step and filter (313,000 frames a filter at DC2013's size).
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func frameStandings(step: Step, filter: Filter, ids: Set<Int64>) throws -> [FrameStanding] {
        guard !ids.isEmpty else { return [] }
        let json = Self.jsonArray(ids)
        return try pool.read { db in
            try FrameStanding.fetchAll(db, SQLRequest(literal: """
                SELECT e.id, e.frameId, e.key, e.state, e.jobId IS NOT NULL AS planned, \(sql: VerifiedFrame.footprintColumns)
                FROM event e JOIN frame f ON f.id = e.frameId
                WHERE e.id IN (SELECT value FROM json_each(\(json))) AND +e.step = \(step) AND +e.filter = \(filter) ORDER BY e.key
                """))
        }
    }

    /// The frame events of a step and filter whose frames touch one of `patches` (`frame_patch`, schema
    /// v18), with their footprints, kept patches and states, by key: a patch's frames without reading
    /// every frame of the filter.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func frameStandings(step: Step, filter: Filter, touching patches: Set<String>) throws -> [FrameStanding] {
        guard !patches.isEmpty else { return [] }
        let json = Self.jsonArray(patches.sorted())
        return try pool.read { db in
            try FrameStanding.fetchAll(db, SQLRequest(literal: """
                SELECT e.id, e.frameId, e.key, e.state, e.jobId IS NOT NULL AS planned, \(sql: VerifiedFrame.footprintColumns)
                FROM event e JOIN frame f ON f.id = e.frameId
                WHERE e.frameId IN (SELECT frameId FROM frame_patch WHERE filter = \(filter) AND patch IN (SELECT value FROM json_each(\(json))))
                AND +e.step = \(step) AND +e.filter = \(filter) ORDER BY e.key
                """))
        }
    }

    /// The frames of a step and filter's frame events that are to be planned — in no job yet, or among
    /// `stale` (ids) — whose processCcd event is ok, with their footprints, by key: forcedPhot's
    /// positions are written for them. Read from those events (an event in no job is `new`, found from
    /// its index), not from every frame of the filter.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func framesToPlan(step: Step, filter: Filter, stale: Set<Int64>) throws -> [VerifiedFrame] {
        let json = Self.jsonArray(stale)
        return try pool.read { db in
            try VerifiedFrame.fetchAll(db, SQLRequest(literal: """
                SELECT p.id, p.frameId, p.key, \(sql: VerifiedFrame.footprintColumns), NULL AS outputs
                FROM event e JOIN event p ON p.step = \(Step.processCcd) AND p.filter = e.filter AND p.key = e.key
                JOIN frame f ON f.id = p.frameId
                WHERE e.id IN (SELECT id FROM event WHERE step = \(step) AND filter = \(filter) AND state = \(EventState.new) AND jobId IS NULL
                               UNION SELECT value FROM json_each(\(json)))
                AND +e.step = \(step) AND +e.filter = \(filter) AND p.state = \(EventState.ok) ORDER BY e.key
                """))
        }
    }

    /// Whether a frame whose patches the store does not know (`frame.patches` NULL) has its event of
    /// `step` and filter in one of `states`: such a frame is missing from `frame_patch`.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func hasFramesWithoutPatches(step: Step, filter: Filter, states: [EventState]) throws -> Bool {
        try pool.read { db in
            // Frames first, from their partial index (frame_without_patches): few or none, and the first found ends it.
            try Bool.fetchOne(db, SQLRequest(literal: """
                SELECT EXISTS (SELECT 1 FROM frame_record r INDEXED BY frame_without_patches CROSS JOIN event e ON e.frameId = r.id
                               WHERE r.patchSet IS NULL AND r.filter = \(filter) AND e.step = \(step) AND e.filter = \(filter) AND e.state IN \(states))
                """)) ?? false
        }
    }

    /// The keys of a step and filter's events among `ids` (those of other steps and filters are left out).
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func eventKeys(step: Step, filter: Filter, ids: Set<Int64>) throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        let json = Self.jsonArray(ids)
        return try pool.read { db in
            Set(try String.fetchAll(db, SQLRequest(literal: """
                SELECT key FROM event WHERE id IN (SELECT value FROM json_each(\(json))) AND +step = \(step) AND +filter = \(filter)
                """)))
        }
    }

    /// Of a step and filter's events with `keys`, those that are settled — verified (`verifiedKeys`)
    /// and not stale (`staleEvents`) — with their ids, by key.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func settledEventIds(step: Step, filter: Filter, keys: Set<String>) throws -> [String: Int64] {
        guard !keys.isEmpty else { return [:] }
        let json = Self.jsonArray(keys.sorted())
        let verified = EventState.allCases.filter(\.isVerified)
        return try pool.read { db in
            var ids: [String: Int64] = [:]
            let rows = try Row.fetchCursor(db, SQLRequest(literal: """
                SELECT e.key, e.id FROM event e
                WHERE e.step = \(step) AND e.filter = \(filter) AND e.key IN (SELECT value FROM json_each(\(json)))
                AND +e.state IN \(verified) AND NOT (e.id IN (SELECT eventId FROM input_change) AND \(Self.isStale))
                """))
            while let row = try rows.next() { ids[row[0]] = row[1] }
            return ids
        }
    }
}
