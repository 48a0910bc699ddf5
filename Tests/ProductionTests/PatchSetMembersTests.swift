import Basics
import Foundation
import GRDB
@testable import Production
import Testing

/// Schema v31 finds the frames of each patch through the frames' patch sets (`patch_set_member` and an index
/// of the placed frames by set and filter: PatchSetMembers), and drops `patch_frame` and `sky_patch`. A store of
/// before it is migrated in place and `frame_patch` gives the same rows, as does a store made at v31 with the
/// same frames; a row a script wrote into `frame_patch` alone joins its frame's patches; a script's INSERT
/// and DELETE on the view change the frame's patches; a frame leaving a patch keeps the rule's exceptions.
@Suite struct PatchSetMembersMigration {
    static let migration = "v31:"

    static func rows(_ pool: DatabasePool, _ sql: String) throws -> [String] { try FrameLayoutMigration.rows(pool, sql) }

    static let everyRow = "SELECT * FROM frame_patch ORDER BY filter, patch, frameId"

    @Test func aStoreOfBeforeV31IsMigratedInPlaceAndReadsAsOneMadeAtV31() throws {
        try withStorePath { path in
            let pool = try DatabasePool(path: path)
            try StateStore.migrator(before: Self.migration).migrate(pool)
            try pool.write(ShortFramesAndOutcomes.write)
            // A row a script wrote into the view alone, beyond frame 3's patches.
            try pool.write { db in try db.execute(sql: "INSERT INTO frame_patch (filter, patch, frameId) VALUES ('r', '0-390,5', 3)") }
            let patches = try Self.rows(pool, Self.everyRow)
            #expect(patches == ["r|0-380,5|1", "r|0-381,5|1", "r|0-381,5|2", "r|0-382,5|2", "r|0-382,5|3", "r|0-383,5|3", "r|0-390,5|3"])
            #expect(try Self.rows(pool, "SELECT patches FROM frame WHERE id = 3") == ["0-382,5 0-383,5"])

            let store = try StateStore(path: path)  // a writer: migrated
            #expect(try store.schemaVersion() == StateStore.latestSchemaVersion)
            #expect(try Self.rows(store.pool, "PRAGMA foreign_key_check").isEmpty)
            #expect(try Self.rows(store.pool, Self.everyRow) == patches)
            #expect(try Self.rows(store.pool, "SELECT patches FROM frame ORDER BY id") == ["0-380,5 0-381,5", "0-381,5 0-382,5", "0-382,5 0-383,5 0-390,5"])
            #expect(try Self.rows(store.pool, "SELECT name FROM sqlite_schema WHERE name IN ('patch_frame', 'sky_patch')") == [])
            #expect(try store.patchKeys(filter: .r) == ["0-380,5", "0-381,5", "0-382,5", "0-383,5", "0-390,5"])
            #expect(try store.patchKeys(filter: .g) == [])
            // Each set's members are its text's patches.
            #expect(try Self.rows(store.pool, """
                SELECT s.text, group_concat(m.patch, ' ') FROM patch_set s JOIN patch_set_member m ON m.patchSet = s.id GROUP BY s.id
                HAVING s.text != group_concat(m.patch, ' ')
                """) == [])
            // A patch's frames are read from the index of frames by set and filter, after the sets that hold the patch,
            // whether the patch is a value or an event's key (the rule's search: InputRule.derived), never from every
            // frame of the filter.
            for query in ["SELECT frameId FROM frame_patch WHERE filter = 'r' AND patch = '0-381,5'",
                          "SELECT d.id FROM event i JOIN frame_patch fp ON fp.filter = i.filter AND fp.patch = i.key JOIN event d ON d.frameId = fp.frameId WHERE i.frameId IS NULL AND i.id = 1"] {
                let plan = try Self.rows(store.pool, "EXPLAIN QUERY PLAN " + query)
                #expect(plan.contains { $0.contains("patch_set_by_patch (patch=?)") }, "\(plan)")
                #expect(plan.contains { $0.contains("frame_by_patch_set (patchSet=? AND filter=?)") }, "\(plan)")
            }
            // The frames not placed yet are walked in id order, a page at a time, on their own partial index.
            let unplaced = try Self.rows(store.pool, """
                EXPLAIN QUERY PLAN SELECT r.id FROM frame_record r WHERE r.patchSet IS NULL AND r.id > 5 ORDER BY r.id LIMIT 10
                """)
            #expect(unplaced.contains { $0.contains("frame_without_patches (id>?)") } && !unplaced.contains { $0.contains("TEMP B-TREE") }, "\(unplaced)")

            try withStorePath { fresh in
                let made = try StateStore(path: fresh, access: .create)
                try made.write(ShortFramesAndOutcomes.write)
                try made.write { db in try db.execute(sql: "INSERT INTO frame_patch (filter, patch, frameId) VALUES ('r', '0-390,5', 3)") }
                #expect(try ShortFramesAndOutcomes.readings(store) == ShortFramesAndOutcomes.readings(made))
                #expect(try made.patchKeys(filter: .r) == store.patchKeys(filter: .r))
            }

            // A script's INSERT (again: ignored) and DELETE through the view change the frames' patches; a frame's
            // new patches through inventory's path; a frame on no patch.
            try store.write { db in
                try db.execute(sql: "INSERT OR IGNORE INTO frame_patch (filter, patch, frameId) VALUES ('r', '0-380,5', 1), ('r', '0-384,5', 3)")
                try db.execute(sql: "DELETE FROM frame_patch WHERE patch = '0-381,5' AND frameId = 2")
                try db.execute(sql: "DELETE FROM frame_patch WHERE patch = '0-390,5'")
            }
            try store.recordFramePatches([1: "0-380,5 0-379,5"])
            #expect(try Self.rows(store.pool, Self.everyRow)
                    == ["r|0-379,5|1", "r|0-380,5|1", "r|0-382,5|2", "r|0-382,5|3", "r|0-383,5|3", "r|0-384,5|3"])
            #expect(try Self.rows(store.pool, "SELECT patches FROM frame ORDER BY id") == ["0-380,5 0-379,5", "0-382,5", "0-382,5 0-383,5 0-384,5"])
            #expect(try store.patchKeys(filter: .r) == ["0-379,5", "0-380,5", "0-382,5", "0-383,5", "0-384,5"])
            try store.write { db in try db.execute(sql: "DELETE FROM frame_patch WHERE frameId = 2") }
            #expect(try Self.rows(store.pool, "SELECT quote(patches) FROM frame WHERE id = 2") == ["''"])
            #expect(try Self.rows(store.pool, "SELECT COUNT(*) FROM frame_patch WHERE frameId = 2") == ["0"])
        }
    }

    @Test func aFrameThatLeavesAPatchThroughTheViewKeepsWhatTheRuleGaveAsExceptions() throws {
        try withStorePath { path in
            let ids = try InputRuleMigration.store(before: Self.migration, at: path)
            let store = try StateStore(path: path)  // a writer: migrated
            #expect(try InputRuleMigration.exceptions(store, ids) == ["processCcd/000094-1-0011 → coadd/0-2,1"])
            // The last frame no longer touches 0-2,1, as a script says it: what the rule gave by that patch is kept.
            try store.write { db in try db.execute(sql: "DELETE FROM frame_patch WHERE patch = '0-2,1' AND frameId = 4") }
            #expect(try InputRuleMigration.exceptions(store, ids) == [
                "processCcd/000094-1-0011 → coadd/0-2,1", "processCcd/000094-1-0014 → coadd/0-2,1", "coadd/0-2,1 → forcedPhot/000094-1-0014",
            ])
            #expect(try Self.rows(store.pool, "SELECT patches FROM frame WHERE id = 4") == ["0-1,1"])
            // The coadd redone makes stale the forced photometry of the frame planned on it, an exception now.
            try InputRuleMigration.redo(ids["coadd/0-2,1"]!, in: store)
            let stale = try InputRuleMigration.stale(store)
            #expect(stale.found == stale.brute)
            #expect(stale.found.isSuperset(of: ["forcedPhot/000094-1-0014"]))
        }
    }
}
