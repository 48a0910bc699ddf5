import Basics
import Foundation
import GRDB
@testable import Production
import Testing

/// Schema v29 keeps a frame's patches as the id of their text, each text once (`patch_set`: PatchSets), its
/// centre in 10⁻⁷ of a degree as its corners (FrameLayout), and
/// a job's events as one list (`job_list`, under the view `job_event`: JobLists). A store of before it is
/// migrated in place and reads as one made at v29 with the same rows; the triggers that read a frame's
/// patches (InputRule) find the same exceptions and stale events; a script's writes through the views go
/// through.
@Suite struct PatchSetsAndJobLists {
    static let migration = "v29:"

    static func rows(_ pool: DatabasePool, _ sql: String) throws -> [String] { try FrameLayoutMigration.rows(pool, sql) }

    static let jobEvents = "SELECT * FROM job_event ORDER BY jobId, position"

    @Test func aStoreOfBeforeV29IsMigratedInPlaceAndReadsAsOneMadeAtV29() throws {
        try withStorePath { path in
            let pool = try DatabasePool(path: path)
            try StateStore.migrator(before: Self.migration).migrate(pool)
            try pool.write(ShortFramesAndOutcomes.write)
            let frames = try Self.rows(pool, "SELECT * FROM frame ORDER BY id")
            let patches = try Self.rows(pool, "SELECT * FROM frame_patch ORDER BY filter, patch, frameId")
            #expect(try Self.rows(pool, Self.jobEvents) == ["1|1|1", "1|2|2", "1|3|3"])

            let store = try StateStore(path: path)  // a writer: migrated
            #expect(try store.schemaVersion() == StateStore.latestSchemaVersion)
            #expect(try Self.rows(store.pool, "PRAGMA foreign_key_check").isEmpty)
            // Frames of 1 decimal, and across RA 0, read back exactly; the other's centre to 7 decimals, as its corners.
            let migrated = try Self.rows(store.pool, "SELECT * FROM frame ORDER BY id")
            #expect([migrated[0], migrated[2]] == [frames[0], frames[2]])
            #expect(try store.pool.read { db in try Row.fetchOne(db, sql: "SELECT centerRa, centerDecl FROM frame WHERE id = 2") }
                .map { [$0[0] as Double, $0[1] as Double] } == [6.1234568, -0.3055556])
            #expect(try Self.rows(store.pool, "SELECT * FROM frame_patch ORDER BY filter, patch, frameId") == patches)
            // The events of the job in their order, at positions 0, 1, … (the script of before wrote 1, 2, 3).
            #expect(try Self.rows(store.pool, Self.jobEvents) == ["1|0|1", "1|1|2", "1|2|3"])
            #expect(try Self.rows(store.pool, "SELECT * FROM job_list") == ["1|[1,2,3]"])
            #expect(try Self.rows(store.pool, "SELECT id, text FROM patch_set ORDER BY id") == ["1|0-380,5 0-381,5", "2|0-381,5 0-382,5", "3|0-382,5 0-383,5"])
            #expect(try Self.rows(store.pool, "SELECT COUNT(*) FROM pragma_table_info('frame_record') WHERE name = 'patches'") == ["0"])
            #expect(try Self.rows(store.pool, "SELECT name FROM sqlite_schema WHERE sql LIKE '%frame_record f %'") == [])

            try withStorePath { fresh in
                let made = try StateStore(path: fresh, access: .create)
                try made.write(ShortFramesAndOutcomes.write)
                #expect(try ShortFramesAndOutcomes.readings(store) == ShortFramesAndOutcomes.readings(made))
                #expect(try Self.rows(made.pool, Self.jobEvents) == Self.rows(store.pool, Self.jobEvents))
                #expect(try Self.rows(made.pool, "SELECT * FROM patch_set ORDER BY id") == Self.rows(store.pool, "SELECT * FROM patch_set ORDER BY id"))
            }

            // Patches written through the view and by inventory: a text already kept is not kept again.
            try store.write { db in try db.execute(sql: "UPDATE frame SET patches = '0-390,5' WHERE id = 3") }
            try store.recordFramePatches([2: "0-380,5 0-381,5"])
            #expect(try Self.rows(store.pool, "SELECT id, patches FROM frame ORDER BY id") == ["1|0-380,5 0-381,5", "2|0-380,5 0-381,5", "3|0-390,5"])
            #expect(try Self.rows(store.pool, "SELECT COUNT(*) FROM patch_set") == ["4"])

            // A script's INSERT and DELETE through the view `job_event`.
            try store.write { db in
                try db.execute(sql: """
                    INSERT INTO job (name, step, filter, manifest, events, createdAt) VALUES ('processCcd-r-000002', 'processCcd', 'r', '/m', 2, '');
                    INSERT INTO job_event (jobId, position, eventId) VALUES (2, 0, 3), (2, 1, 1), (2, 2, 2);
                    DELETE FROM job_event WHERE jobId = 2 AND eventId = 1;
                    """)
            }
            #expect(try Self.rows(store.pool, "SELECT * FROM job_event WHERE jobId = 2 ORDER BY position") == ["2|0|3", "2|1|2"])
            try store.write { db in try db.execute(sql: "DELETE FROM job_event WHERE jobId = 2") }
            #expect(try Self.rows(store.pool, "SELECT jobId FROM job_list") == ["1"])
        }
    }

    @Test func theRuleReadsTheFramesPatchesAsBeforeInAStoreMigratedToV29() throws {
        try withStorePath { path in
            let ids = try InputRuleMigration.store(before: Self.migration, at: path)
            let store = try StateStore(path: path)  // a writer: migrated
            #expect(try InputRuleMigration.exceptions(store, ids) == ["processCcd/000094-1-0011 → coadd/0-2,1"])
            // Recorded by planning: the second frame to coadd 0-2,1 (not by the rule); the last frame no longer
            // touches 0-2,1: what the rule gave by that patch is kept.
            try store.recordDerivedEvents([DerivedEvent(key: "0-2,1", inputIds: [ids["processCcd/000094-1-0012"]!, ids["processCcd/000094-1-0013"]!])],
                                          step: .coadd, filter: .r)
            try store.recordFramePatches([4: "0-1,1"])
            #expect(try InputRuleMigration.exceptions(store, ids) == [
                "processCcd/000094-1-0011 → coadd/0-2,1", "processCcd/000094-1-0012 → coadd/0-2,1",
                "processCcd/000094-1-0014 → coadd/0-2,1", "coadd/0-2,1 → forcedPhot/000094-1-0014",
            ])
            // The third frame redone: the coadds of its patches and its forced photometry are stale, found by the rule.
            try InputRuleMigration.redo(ids["processCcd/000094-1-0013"]!, in: store)
            let stale = try InputRuleMigration.stale(store)
            #expect(stale.found == stale.brute)
            #expect(stale.found.isSuperset(of: ["coadd/0-1,1", "coadd/0-2,1", "forcedPhot/000094-1-0013"]))
        }
    }
}
