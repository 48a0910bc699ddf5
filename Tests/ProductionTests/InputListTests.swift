import Basics
import Foundation
import GRDB
@testable import Production
import Testing

/// Schema v25 keeps a derived event's inputs as one list and what they were when it was planned only where
/// that is not what they are now (`InputList`); the view `event_input` gives every row as before. Two stores
/// of one production at v24 go through the same history: the one migrated in place gives the same inputs,
/// the same events whose inputs changed and the same stale events as the one left at v24, before and after
/// the same changes, in the same order.
@Suite struct InputListMigration {
    /// A store's inputs (`event_input`, every column), the events whose inputs changed and the stale events
    /// found by testing every event.
    struct Inputs: Equatable {
        var rows: [String]
        var changed: [Int64]
        var stale: Set<String>

        init(_ pool: DatabasePool) throws {
            (rows, changed) = try pool.read { db in
                (try Row.fetchAll(db, sql: "SELECT eventId, inputId, state, attemptId FROM event_input ORDER BY eventId, inputId").map(\.description),
                 try Int64.fetchAll(db, sql: "SELECT eventId FROM input_change ORDER BY eventId"))
            }
            stale = try staleByTestingEveryEvent(pool)
        }
    }

    /// What happened before the upgrade: the first frame redone (its coadds and forced photometry planned
    /// on its first attempt), a coadd of a third patch derived and not planned, and an input added to a
    /// planned forced photometry.
    static func history(_ db: Database, _ ids: [String: Int64]) throws {
        try db.execute(sql: "INSERT INTO attempt (jobId, number, backend, token, state, outcomes, log) VALUES (1, 2, 'local', 't2', 'done', '/o', '/l')")
        try db.execute(sql: "UPDATE event SET attemptId = 2 WHERE id = ?", arguments: [ids["processCcd/000094-1-0011"]])
        try db.execute(sql: "INSERT INTO event (id, step, filter, key, state) VALUES (100, 'coadd', 'r', '0-3,1', 'new')")
        for frame in ["0013", "0014"] {
            try db.execute(sql: "INSERT OR IGNORE INTO event_input (eventId, inputId) VALUES (100, ?)", arguments: [ids["processCcd/000094-1-\(frame)"]])
        }
        try db.execute(sql: "INSERT OR IGNORE INTO event_input (eventId, inputId, state) VALUES (?, ?, 'absent')",
                       arguments: [ids["forcedPhot/000094-1-0012"], ids["coadd/0-2,1"]])
    }

    /// A change made the same way at either schema, or planning, which is done by `plan` at v24 and
    /// `planOnInputsAsTheyAre` at v25.
    enum Change: CaseIterable {
        case frameFailed, coaddPlannedAgain, bundleFollowerSettled, inputAddedInFront, inputAddedAgain, coaddRedone

        func apply(_ db: Database, _ ids: [String: Int64], v25: Bool) throws {
            switch self {
            case .frameFailed:
                try db.execute(sql: "INSERT INTO attempt (jobId, number, backend, token, state, outcomes, log) VALUES (1, 3, 'local', 't3', 'done', '/o', '/l')")
                try db.execute(sql: "UPDATE event SET state = 'failed', class = 'psf', attemptId = 3 WHERE id = ?", arguments: [ids["processCcd/000094-1-0013"]])
            case .coaddPlannedAgain:
                try plan("(\(ids["coadd/0-1,1"]!))", onlyUnrecorded: false, db, v25: v25)
                try db.execute(sql: "DELETE FROM input_change WHERE eventId = ?", arguments: [ids["coadd/0-1,1"]])
            case .bundleFollowerSettled:
                try plan("(100)", onlyUnrecorded: true, db, v25: v25)
            case .inputAddedInFront:
                try db.execute(sql: "INSERT OR IGNORE INTO event_input (eventId, inputId) VALUES (100, ?)", arguments: [ids["processCcd/000094-1-0011"]])
            case .inputAddedAgain:
                try db.execute(sql: "INSERT OR IGNORE INTO event_input (eventId, inputId, state) VALUES (?, ?, 'absent')",
                               arguments: [ids["coadd/0-1,1"], ids["processCcd/000094-1-0013"]])
            case .coaddRedone:
                try db.execute(sql: "INSERT INTO attempt (jobId, number, backend, token, state, outcomes, log) VALUES (1, 4, 'local', 't4', 'done', '/o', '/l')")
                try db.execute(sql: "UPDATE event SET attemptId = 4 WHERE id = ?", arguments: [ids["coadd/0-2,1"]])
            }
        }

        /// Events planned on their inputs as they are (all of them, or those recorded without a state).
        private func plan(_ events: String, onlyUnrecorded: Bool, _ db: Database, v25: Bool) throws {
            if v25 { return try db.execute(sql: StateStore.planOnInputsAsTheyAre(events, onlyUnrecorded: onlyUnrecorded)) }
            try db.execute(sql: """
                UPDATE event_input SET state = i.state, attemptId = i.attemptId FROM event i
                WHERE i.id = event_input.inputId AND event_input.eventId IN \(events)\(onlyUnrecorded ? " AND event_input.state IS NULL" : "")
                """)
        }
    }

    @Test func aStoreOfBeforeV25KeepsItsInputsAndStaleEventsThroughTheSameChanges() throws {
        try withStorePath { oldPath in
            try withStorePath { newPath in
                let ids = try InputRuleMigration.store(before: "v25:", at: oldPath)
                #expect(try InputRuleMigration.store(before: "v25:", at: newPath) == ids)
                let old = try DatabasePool(path: oldPath)
                try old.write { try Self.history($0, ids) }
                try DatabasePool(path: newPath).write { try Self.history($0, ids) }
                let before = try Inputs(old)
                #expect(before.rows.count == 20)
                #expect(before.changed.count == 6, "inputs recorded with a state (as planned) put every derived event there")

                let store = try StateStore(path: newPath)  // a writer: migrated
                #expect(try store.schemaVersion() == StateStore.latestSchemaVersion)
                #expect(try Inputs(store.pool) == before)
                #expect(try Self.found(store) == before.stale)
                #expect(try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM input_planned") } == 4,
                        "the redone frame as its 3 events were planned on it, and the absent input")
                for change in Change.allCases {
                    try old.write { try change.apply($0, ids, v25: false) }
                    try store.write { try change.apply($0, ids, v25: true) }
                    let now = try Inputs(old)
                    #expect(try Inputs(store.pool) == now, "after \(change)")
                    #expect(try Self.found(store) == now.stale, "after \(change)")
                }
                #expect(try Inputs(old).stale.contains("forcedPhot/000094-1-0013"), "the redone coadd's forced photometry")
            }
        }
    }

    /// The stale events `staleEvents` finds, of every later step.
    static func found(_ store: StateStore) throws -> Set<String> {
        try Set([Step.coadd, .forcedPhot].flatMap { step in try store.staleEvents(step: step, filter: .r).map { "\(step.rawValue)/\($0.key)" } })
    }
}

/// Planning records a derived event's inputs at once (`StateStore.recordInputs`), not one row at a time
/// through the view's trigger (D² for an event of D inputs): two stores of one production, one recorded
/// each way through the same derivations, hold the same rows in every table the trigger writes.
@Suite struct InputsRecordedAtOnce {
    /// The rows the trigger writes to, the events, and the view's rows, of a store.
    static func rows(_ pool: DatabasePool) throws -> [String] {
        try pool.read { db in
            try [
                "SELECT * FROM input_list ORDER BY eventId", "SELECT * FROM input_planned ORDER BY eventId, inputId",
                "SELECT * FROM input_exception ORDER BY inputId, eventId", "SELECT * FROM input_change ORDER BY eventId",
                "SELECT id, step, key, state FROM event ORDER BY id", "SELECT * FROM event_input ORDER BY eventId, inputId",
            ].flatMap { sql in try Row.fetchAll(db, sql: sql).map { "\(sql.split(separator: " ")[3]) \($0)" } }
        }
    }

    /// Planning's recording before 0.34.0: each event found or created as `recordDerivedEvents` does, then
    /// each input through the view.
    static func recordOneRowAtATime(_ events: [DerivedEvent], _ db: Database) throws {
        for event in events {
            var id = try Int64.fetchOne(db, sql: "SELECT id FROM event WHERE step = 'coadd' AND filter = 'r' AND key = ?", arguments: [event.key])
            let state = try String.fetchOne(db, sql: "SELECT state FROM event WHERE id = ?", arguments: [id])
            if id == nil {
                try db.execute(sql: "INSERT INTO event (step, filter, key, frameId, state) VALUES ('coadd', 'r', ?, NULL, 'new')", arguments: [event.key])
                id = db.lastInsertedRowID
            }
            for input in event.inputIds {
                try db.execute(sql: "INSERT OR IGNORE INTO event_input (eventId, inputId, state) VALUES (?, ?, ?)",
                               arguments: [id, input, state.map { $0 == "new" ? nil : "absent" } ?? nil])
            }
        }
    }

    /// A store of today made from `InputRuleMigration`'s (coadds of 0-1,1 and 0-2,1 planned and ok), with a
    /// fifth frame touching 0-2,1 and 0-3,1 verified ok since. Returns the ids by step/key.
    static func store(at path: String) throws -> [String: Int64] {
        var ids = try InputRuleMigration.store(before: "v25:", at: path)
        try StateStore(path: path).write { db in
            try db.execute(sql: """
                INSERT INTO frame (path, run, camcol, field, filter, width, height, corner1Ra, corner1Decl, corner2Ra, corner2Decl,
                    corner3Ra, corner3Decl, corner4Ra, corner4Decl, centerRa, centerDecl, size, mtime, recordedAt, patches)
                VALUES ('/input/fpC-000094-r1-0015.fit', 94, 1, 15, 'r', 2048, 1489, 6, -0.4, 6.2, -0.4, 6.2, -0.2, 6, -0.2, 6.1, -0.3, 1, 0, 'then', '0-2,1 0-3,1');
                INSERT INTO frame_patch (filter, patch, frameId) VALUES ('r', '0-2,1', 5), ('r', '0-3,1', 5);
                INSERT INTO event (step, filter, key, frameId, state, class, jobId, attemptId) VALUES ('processCcd', 'r', '000094-1-0015', 5, 'ok', 'ok', 1, 1);
                """)
            ids["processCcd/000094-1-0015"] = db.lastInsertedRowID
        }
        return ids
    }

    @Test func anEventsInputsRecordedAtOnceAreTheRowsTheTriggerWritesOneAtATime() throws {
        try withStorePath { oldPath in
            try withStorePath { newPath in
                let ids = try Self.store(at: oldPath)
                #expect(try Self.store(at: newPath) == ids)
                let (old, new) = (try StateStore(path: oldPath), try StateStore(path: newPath))
                let frame = { (field: Int) in ids["processCcd/000094-1-00\(field)"]! }
                let derivations: [[DerivedEvent]] = [
                    // The planned coadd gains its new frame (absent) and, before its others, one the rule does not give; its
                    // known inputs again change nothing. A new coadd's inputs come in descending order, one repeated.
                    [DerivedEvent(key: "0-2,1", inputIds: [frame(13), frame(14), frame(15), frame(11), frame(12)]),
                     DerivedEvent(key: "0-1,1", inputIds: [frame(11), frame(12), frame(13), frame(14)]),
                     DerivedEvent(key: "0-3,1", inputIds: [frame(15), frame(14), frame(14)])],
                    // The new coadd, its list planned on (a bundle follower's), gains an input in front.
                    [DerivedEvent(key: "0-3,1", inputIds: [frame(13), frame(15)])],
                ]
                for (k, events) in derivations.enumerated() {
                    if k == 1 {
                        for store in [old, new] { try store.write { try $0.execute(sql: "UPDATE input_list SET planned = 1 WHERE eventId = 12") } }
                    }
                    try old.write { try Self.recordOneRowAtATime(events, $0) }
                    try new.recordDerivedEvents(events, step: .coadd, filter: .r)
                    #expect(try Self.rows(new.pool) == Self.rows(old.pool), "after derivation \(k + 1)")
                }
                let rows = try Self.rows(new.pool)
                #expect(try new.pool.read { try Int64.fetchOne($0, sql: "SELECT id FROM event WHERE key = '0-3,1'") } == 12)
                #expect(rows.contains("input_list [eventId:12 inputs:\"[\(frame(13)),\(frame(14)),\(frame(15))]\" planned:1]"))
                #expect(rows.filter { $0.hasPrefix("input_planned") }.count == 3, "0-2,1's two absent inputs, 0-3,1's unplanned one")
                #expect(rows.filter { $0.hasPrefix("input_exception") }.count == 4, "0-2,1's first frame, then 0012; 0-3,1's 0014 and 0013")
                #expect(try staleByTestingEveryEvent(new) == staleByTestingEveryEvent(old))
            }
        }
    }
}
