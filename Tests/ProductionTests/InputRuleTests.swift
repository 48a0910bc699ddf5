import Basics
import Foundation
import GRDB
@testable import Production
import Testing

/// Schema v23 finds the events an input is an input of by the rule (a coadd from the frames of its
/// patch, a forced photometry from its frame and the coadds of its patches) and `input_exception`,
/// not an index of every input: a store of before it is migrated in place, its inputs the rule does not
/// give are kept as exceptions, and the events made stale by an input's new outcome are exactly those
/// that testing every event finds.
@Suite struct InputRuleMigration {
    /// Frames of r by key with the patches they touch.
    static let frames: [(key: String, patches: String)] = [
        ("000094-1-0011", "0-1,1"), ("000094-1-0012", "0-1,1"), ("000094-1-0013", "0-1,1 0-2,1"), ("000094-1-0014", "0-1,1 0-2,1"),
    ]

    /// A store at the schema before `version` (v23 or later): each frame's processCcd event ok, the coadds of both patches
    /// and each frame's forced photometry planned on them, and coadd 0-2,1 also on the first frame,
    /// which does not touch it (an input the rule does not give). Returns the events' ids by step/key.
    static func store(before version: String, at path: String) throws -> [String: Int64] {
        let pool = try DatabasePool(path: path)
        try StateStore.migrator(before: version).migrate(pool)
        return try pool.write { db in
            try db.execute(sql: """
                INSERT INTO job (name, step, filter, manifest, events, createdAt) VALUES ('j', 'processCcd', 'r', '/m', 4, '');
                INSERT INTO attempt (jobId, number, backend, token, state, outcomes, log) VALUES (1, 1, 'local', 't1', 'done', '/o', '/l');
                """)
            var ids: [String: Int64] = [:]
            func event(_ step: String, _ key: String, frameId: Int64?) throws {
                try db.execute(sql: "INSERT INTO event (step, filter, key, frameId, state, class, jobId, attemptId) VALUES (?, 'r', ?, ?, 'ok', 'ok', 1, 1)",
                               arguments: [step, key, frameId])
                ids["\(step)/\(key)"] = db.lastInsertedRowID
            }
            for (k, frame) in frames.enumerated() {
                try db.execute(sql: """
                    INSERT INTO frame (path, run, camcol, field, filter, width, height, corner1Ra, corner1Decl, corner2Ra, corner2Decl,
                        corner3Ra, corner3Decl, corner4Ra, corner4Decl, centerRa, centerDecl, size, mtime, recordedAt, patches)
                    VALUES (?, 94, 1, ?, 'r', 2048, 1489, 6, -0.4, 6.2, -0.4, 6.2, -0.2, 6, -0.2, 6.1, -0.3, 1, 0, 'then', ?)
                    """, arguments: ["/input/fpC-000094-r1-00\(11 + k).fit", 11 + k, frame.patches])
                for patch in frame.patches.split(separator: " ") {
                    try db.execute(sql: "INSERT INTO frame_patch (filter, patch, frameId) VALUES ('r', ?, ?)", arguments: [String(patch), k + 1])
                }
                try event("processCcd", frame.key, frameId: Int64(k + 1))
            }
            for patch in ["0-1,1", "0-2,1"] { try event("coadd", patch, frameId: nil) }
            for (k, frame) in frames.enumerated() { try event("forcedPhot", frame.key, frameId: Int64(k + 1)) }
            var inputs = frames.flatMap { frame in
                frame.patches.split(separator: " ").map { ("coadd/\($0)", "processCcd/\(frame.key)") }
                    + [("forcedPhot/\(frame.key)", "processCcd/\(frame.key)")]
                    + frame.patches.split(separator: " ").map { ("forcedPhot/\(frame.key)", "coadd/\($0)") }
            }
            inputs.append(("coadd/0-2,1", "processCcd/000094-1-0011"))
            for (eventKey, inputKey) in inputs {
                try db.execute(sql: "INSERT INTO event_input (eventId, inputId, state, attemptId) VALUES (?, ?, 'ok', 1)",
                               arguments: [ids[eventKey], ids[inputKey]])
            }
            return ids
        }
    }

    /// The stale events of coadd and forcedPhot (step/key), and the same found by testing every event.
    static func stale(_ store: StateStore) throws -> (found: Set<String>, brute: Set<String>) {
        var found = Set<String>()
        for step in [Step.coadd, .forcedPhot] {
            found.formUnion(try store.staleEvents(step: step, filter: .r).map { "\(step.rawValue)/\($0.key)" })
        }
        return (found, try staleByTestingEveryEvent(store))
    }

    /// An event done again, ok, in a second attempt of job 1.
    static func redo(_ event: Int64, in store: StateStore) throws {
        try store.write { db in
            try db.execute(sql: "INSERT INTO attempt (jobId, number, backend, token, state, outcomes, log) VALUES (1, 2, 'local', 't2', 'done', '/o', '/l')")
            try db.execute(sql: "UPDATE event SET attemptId = 2 WHERE id = ?", arguments: [event])
        }
    }

    static func exceptions(_ store: StateStore, _ ids: [String: Int64]) throws -> Set<String> {
        let keys = Dictionary(uniqueKeysWithValues: ids.map { ($1, $0) })
        return try store.pool.read { db in
            Set(try Row.fetchAll(db, sql: "SELECT inputId, eventId FROM input_exception").map { "\(keys[$0[0]]!) → \(keys[$0[1]]!)" })
        }
    }

    @Test func aStoreOfBeforeV23IsMigratedAndAnInputsNewOutcomeMakesStaleWhatTestingEveryEventFinds() throws {
        try withStorePath { path in
            let ids = try Self.store(before: "v23:", at: path)
            let store = try StateStore(path: path)  // a writer: migrated
            #expect(try store.schemaVersion() == StateStore.latestSchemaVersion)
            #expect(try Self.exceptions(store, ids) == ["processCcd/000094-1-0011 → coadd/0-2,1"])
            #expect(try store.pool.read { db in
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'event_input' AND sql IS NOT NULL")
            } == [])
            #expect(try Self.stale(store) == ([], []))

            // The first frame redone: its coadd, its forced photometry and coadd 0-2,1 (an exception) are stale.
            try Self.redo(ids["processCcd/000094-1-0011"]!, in: store)
            var stale = try Self.stale(store)
            #expect(stale.found == stale.brute)
            #expect(stale.found == ["coadd/0-1,1", "coadd/0-2,1", "forcedPhot/000094-1-0011"])

            // Coadd 0-2,1 failed on a rerun: the forced photometry of the two frames touching it is stale.
            try store.write { db in
                try db.execute(sql: "UPDATE event SET state = 'failed', class = 'psf', attemptId = 2 WHERE id = ?", arguments: [ids["coadd/0-2,1"]])
            }
            stale = try Self.stale(store)
            #expect(stale.found == stale.brute)
            #expect(stale.found.isSuperset(of: ["forcedPhot/000094-1-0013", "forcedPhot/000094-1-0014"]))
        }
    }

    @Test func inputsTheRuleDoesNotGiveAreKeptAsExceptionsWhoeverRecordsThem() throws {
        try withStorePath { path in
            let ids = try Self.store(before: "v23:", at: path)
            let store = try StateStore(path: path)
            // Recorded by planning: the second frame to coadd 0-2,1 (not by the rule), the third again (by it).
            try store.recordDerivedEvents([DerivedEvent(key: "0-2,1", inputIds: [ids["processCcd/000094-1-0012"]!, ids["processCcd/000094-1-0013"]!])],
                                          step: .coadd, filter: .r)
            // The last frame no longer touches 0-2,1: what the rule gave by that patch is kept.
            try store.recordFramePatches([4: "0-1,1"])
            #expect(try Self.exceptions(store, ids) == [
                "processCcd/000094-1-0011 → coadd/0-2,1", "processCcd/000094-1-0012 → coadd/0-2,1",
                "processCcd/000094-1-0014 → coadd/0-2,1", "coadd/0-2,1 → forcedPhot/000094-1-0014",
            ])
            // Coadd 0-2,1 is stale on its new input; redone, it makes stale the forced photometry of both frames
            // that were planned on it, one of them an exception now.
            try Self.redo(ids["coadd/0-2,1"]!, in: store)
            let stale = try Self.stale(store)
            #expect(stale.found == stale.brute)
            #expect(stale.found == ["coadd/0-2,1", "forcedPhot/000094-1-0013", "forcedPhot/000094-1-0014"])
        }
    }
}
