import Basics
import Foundation
import GRDB
@testable import Production
import Testing

/// Schema v28 keeps the frames of each patch by the patch's id (`patch_frame`, `sky_patch`: PatchLayout):
/// a store of before it is migrated in place and `frame_patch`, now a view, gives the same rows, as does a
/// store made at v28 with the same frames; a script's INSERT and DELETE on it go through.
@Suite struct PatchIds {
    static let migration = "v28:"

    static func rows(_ pool: DatabasePool, _ sql: String) throws -> [String] { try FrameLayoutMigration.rows(pool, sql) }

    static let everyRow = "SELECT * FROM frame_patch ORDER BY filter, patch, frameId"

    @Test func aStoreOfBeforeV28IsMigratedInPlaceAndReadsAsOneMadeAtV28() throws {
        try withStorePath { path in
            let pool = try DatabasePool(path: path)
            try StateStore.migrator(before: Self.migration).migrate(pool)
            try pool.write(ShortFramesAndOutcomes.write)
            let patches = try Self.rows(pool, Self.everyRow)
            #expect(patches == ["r|0-380,5|1", "r|0-381,5|1", "r|0-381,5|2", "r|0-382,5|2", "r|0-382,5|3", "r|0-383,5|3"])

            let store = try StateStore(path: path)  // a writer: migrated
            #expect(try store.schemaVersion() == StateStore.latestSchemaVersion)
            #expect(try Self.rows(store.pool, "PRAGMA foreign_key_check").isEmpty)
            #expect(try Self.rows(store.pool, Self.everyRow) == patches)
            #expect(try store.patchKeys(filter: .r) == ["0-380,5", "0-381,5", "0-382,5", "0-383,5"])
            #expect(try store.patchKeys(filter: .g) == [])

            try withStorePath { fresh in
                let made = try StateStore(path: fresh, access: .create)
                try made.write(ShortFramesAndOutcomes.write)
                #expect(try ShortFramesAndOutcomes.readings(store) == ShortFramesAndOutcomes.readings(made))
                #expect(try made.patchKeys(filter: .r) == store.patchKeys(filter: .r))
            }

            // A script's INSERT (again: ignored) and DELETE through the view; a frame's new patches through inventory's path.
            try store.write { db in
                try db.execute(sql: "INSERT OR IGNORE INTO frame_patch (filter, patch, frameId) VALUES ('r', '0-380,5', 1), ('r', '0-384,5', 3)")
                try db.execute(sql: "DELETE FROM frame_patch WHERE patch = '0-381,5' AND frameId = 2")
            }
            try store.recordFramePatches([1: "0-380,5 0-379,5"])
            #expect(try Self.rows(store.pool, Self.everyRow)
                    == ["r|0-379,5|1", "r|0-380,5|1", "r|0-382,5|2", "r|0-382,5|3", "r|0-383,5|3", "r|0-384,5|3"])
            #expect(try store.patchKeys(filter: .r) == ["0-379,5", "0-380,5", "0-382,5", "0-383,5", "0-384,5"])
        }
    }
}
