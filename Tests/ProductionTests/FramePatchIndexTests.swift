import Basics
import Foundation
import GRDB
@testable import Production
import Testing

/// `frame_patch` (schema v18) turns `frame.patches` around: the frames of each patch, which
/// `dcprod run` reads for the patches a newly verified frame touches. It must say what the frames' text says.
@Suite struct FramePatchIndex {
    /// Each (filter, patch, frame) of `frame_patch`, and the same read from `frame.patches`.
    static func index(_ pool: DatabasePool) throws -> (kept: [String], text: [String]) {
        try pool.read { db in
            let kept = try String.fetchAll(db, sql: "SELECT filter || ' ' || patch || ' ' || frameId FROM frame_patch ORDER BY 1")
            var text: [String] = []
            for row in try Row.fetchAll(db, sql: "SELECT id, filter, patches FROM frame WHERE patches IS NOT NULL") {
                let (id, filter, patches): (Int64, String, String) = (row[0], row[1], row[2])
                text += Set(patches.split(separator: " ")).map { "\(filter) \($0) \(id)" }
            }
            return (kept, text.sorted())
        }
    }

    static func frame(_ k: Int, filter: Filter, patches: String?) -> FrameRecord {
        FrameRecord(path: "/input/fpC-\(k)-\(filter.rawValue).fit", run: 94, camcol: 1 + k % 6, field: 11 + k, filter: filter,
                    eventKey: "000094-\(1 + k % 6)-\(11 + k)", width: 2048, height: 1489,
                    corners: [(ra: 6.0, dec: -0.4), (ra: 6.2, dec: -0.4), (ra: 6.2, dec: -0.2), (ra: 6.0, dec: -0.2)],
                    center: (ra: 6.1, dec: -0.3), size: 1, mtime: 0, patches: patches)
    }

    @Test func theMigrationFillsTheFramesOfEachPatchFromAnOlderStore() throws {
        try withStorePath { path in

            // A store made at the schema before: frames with several patches, one, none (""), and not known (NULL).
            let mine = try #require(StateStore.migrations.firstIndex { $0.name.hasSuffix("the frames of each patch") })
            do {
                let pool = try DatabasePool(path: path)
                var migrator = DatabaseMigrator()
                for migration in StateStore.migrations[..<mine] {
                    migrator.registerMigration(migration.name) { db in try db.execute(sql: migration.sql) }
                }
                try migrator.migrate(pool)
                try pool.write { db in
                    let texts: [String?] = ["0-380,5 0-381,5 0-380,6", "0-381,5", "", nil, "1-2,3 1-2,4"]
                    for (k, text) in texts.enumerated() {
                        try db.execute(sql: """
                            INSERT INTO frame (path, run, camcol, field, filter, width, height, corner1Ra, corner1Decl, corner2Ra,
                                corner2Decl, corner3Ra, corner3Decl, corner4Ra, corner4Decl, centerRa, centerDecl, size, mtime, recordedAt, patches)
                            VALUES (?, 94, 1, ?, ?, 2048, 1489, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 'now', ?)
                            """, arguments: ["/input/\(k).fit", k, k == 4 ? "g" : "r", text])
                    }
                }
            }
            let store = try StateStore(path: path)
            #expect(try store.schemaVersion() == StateStore.latestSchemaVersion)
            let (kept, text) = try Self.index(store.pool)
            #expect(kept == text)
            #expect(kept == ["g 1-2,3 5", "g 1-2,4 5", "r 0-380,5 1", "r 0-380,6 1", "r 0-381,5 1", "r 0-381,5 2"])

            // Kept by the store's writers: inventory's new frames, and the patches found later for a frame.
            try store.recordInventory(frames: [Self.frame(7, filter: .i, patches: "0-10,1 0-11,1"), Self.frame(8, filter: .r, patches: nil)],
                                      rejections: [])
            let unknown = try #require(try store.framesWithoutPatches(after: 0, limit: 10).map(\.frameId).last)
            try store.recordFramePatches([unknown: "0-380,5", 1: "0-381,5"])
            let (after, afterText) = try Self.index(store.pool)
            #expect(after == afterText)
            #expect(after.contains("r 0-380,5 \(unknown)") && !after.contains("r 0-380,6 1") && after.contains("i 0-11,1 6"))
        }
    }
}
