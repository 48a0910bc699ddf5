import Basics
import Foundation
import GRDB
@testable import Production
import Testing

/// Schema v21 keeps each frame's directory once and its file name only when it is not SDSS's
/// (`FrameLayout`), and gives every column back through the view `frame`: a store of before it is
/// migrated in place, and every reader of frames gives the same answers as before.
@Suite struct FrameLayoutMigration {
    /// Frames as written before v21: path, run, camcol, field, filter. SDSS's names in two directories
    /// (one with characters a JSON array escapes), names that are not (compressed, a run of 7 digits
    /// that SDSS's pattern writes but inventory could not read back, another frame's name), and a path
    /// without a directory.
    static let frames: [(path: String, run: Int, camcol: Int, field: Int, filter: String)] = [
        ("/data/DC_2013 é/input/94/1/fpC-000094-r1-0011.fit", 94, 1, 11, "r"),
        ("/data/DC_2013 é/input/94/1/fpC-000094-r1-0012.fit", 94, 1, 12, "r"),
        ("/data/quote\"d\\back/fpC-000125-g2-0011.fit", 125, 2, 11, "g"),
        ("/data/DC_2013 é/input/94/1/fpC-000094-r1-0013.fit.gz", 94, 1, 13, "r"),
        ("/data/x/fpC-1000094-r1-0011.fit", 1_000_094, 1, 11, "r"),
        ("/data/x/fpC-000094-r1-0011.fit", 94, 1, 14, "r"),
        ("fpC-000094-i1-0011.fit", 94, 1, 11, "i"),
    ]

    /// A store at the schema before v21 (every migration before it) holding `frames`, each with its
    /// processCcd event and patches, recorded at two times.
    static func storeBeforeV21(at path: String) throws {
        let pool = try DatabasePool(path: path)
        try StateStore.migrator(before: "v21:").migrate(pool)
        try pool.write { db in
            for (k, frame) in frames.enumerated() {
                try db.execute(sql: """
                    INSERT INTO frame (path, run, camcol, field, filter, width, height, corner1Ra, corner1Decl, corner2Ra, corner2Decl,
                        corner3Ra, corner3Decl, corner4Ra, corner4Decl, centerRa, centerDecl, size, mtime, recordedAt, patches)
                    VALUES (?, ?, ?, ?, ?, 2048, 1489, 6, -0.4, 6.2, -0.4, 6.2, -0.2, 6, -0.2, 6.1, -0.3, 12000000, 1764547200.25, ?, ?)
                    """, arguments: [frame.path, frame.run, frame.camcol, frame.field, frame.filter,
                                     k < 3 ? "2026-12-01T00:00:00Z" : "2026-12-02T00:00:00Z", k == 1 ? nil : "0-385,0 0-386,0"])
                try db.execute(sql: "INSERT INTO event (step, filter, key, frameId) VALUES ('processCcd', ?, ?, ?)",
                               arguments: [frame.filter, String(format: "%06d-%d-%04d", frame.run, frame.camcol, frame.field), k + 1])
                try ShortFramesAndOutcomes.writePatches(db, frameId: Int64(k + 1), filter: frame.filter, k == 1 ? nil : "0-385,0 0-386,0")
            }
        }
    }

    static func rows(_ pool: DatabasePool, _ sql: String) throws -> [String] {
        try pool.read { db in
            try Row.fetchAll(db, sql: sql).map { row in
                row.databaseValues.map { value in
                    switch value.storage {
                    case .null: "NULL"
                    case .int64(let int): "\(int)"
                    case .double(let double): "\(double)"
                    case .string(let text): text
                    case .blob(let data): "\(data.count) bytes"
                    }
                }.joined(separator: "|")
            }
        }
    }

    @Test func aStoreOfBeforeV21IsMigratedInPlaceAndItsReadersGiveTheSameFrames() throws {
        try withStorePath { path in
            try Self.storeBeforeV21(at: path)
            let before = try Self.rows(DatabasePool(path: path), "SELECT * FROM frame ORDER BY id")

            let store = try StateStore(path: path)  // a writer: migrated
            #expect(try store.schemaVersion() == StateStore.latestSchemaVersion)
            #expect(try Self.rows(store.pool, "SELECT * FROM frame ORDER BY id") == before)
            #expect(try Self.rows(store.pool, "PRAGMA foreign_key_check").isEmpty)
            // Kept: three directories and '' once each, names that are not SDSS's (or that inventory could not read back).
            #expect(try Self.rows(store.pool, "SELECT path FROM frame_directory ORDER BY id")
                    == ["/data/DC_2013 é/input/94/1/", "/data/quote\"d\\back/", "/data/x/", ""])
            #expect(try Self.rows(store.pool, "SELECT id, name FROM frame_record WHERE name IS NOT NULL ORDER BY id")
                    == ["4|fpC-000094-r1-0013.fit.gz", "5|fpC-1000094-r1-0011.fit", "6|fpC-000094-r1-0011.fit"])
            #expect(try Self.rows(store.pool, "SELECT COUNT(*) FROM frame_recording") == ["2"])

            // Inventory knows every frame by its path, not one of the same name elsewhere or with another end.
            let paths = Self.frames.map(\.path)
            let others = ["/data/DC_2013 é/input/94/2/fpC-000094-r1-0011.fit", "/data/x/fpC-000094-r1-0012.fit", "/data/x/fpC-000094-r1-0013.fit.gz",
                          "/data/DC_2013 é/input/94/1/fpC-000094-r1-0011.fits", "fpC-000094-i1-0012.fit", "", "/"]
            #expect(try store.inventoryMemory(of: paths + others).frames == Set(paths))
            #expect(try store.frameEvents(step: .processCcd, filter: .r, .all).map(\.path)
                    == [paths[0], paths[1], paths[3], paths[5], paths[4]])
            let patched = try store.framesWithoutPatches(after: 0, limit: 10).map(\.frameId)
            #expect(patched == [2])
            try store.recordFramePatches([2: "0-385,0"])
            #expect(try store.framesWithoutPatches(after: 0, limit: 10).isEmpty)
            #expect(try Self.rows(store.pool, "SELECT patches FROM frame WHERE id = 2") == ["0-385,0"])
        }
    }

    @Test func framesWrittenAfterTheMigrationReadBackAsWritten() throws {
        try withStorePath { path in
            try Self.storeBeforeV21(at: path)
            let store = try StateStore(path: path)

            // Inventory's writer: SDSS's name, another name, a directory already known and a new one.
            let written = [("/data/x/fpC-000094-r1-0021.fit", 21), ("/data/new dir/fpC-000094-r1-0022.fit.fz", 22)].map { path, field in
                FrameRecord(path: path, run: 94, camcol: 1, field: field, filter: .r, eventKey: "000094-1-00\(field)", width: 2048, height: 1489,
                            corners: [(ra: 6.0, dec: -0.4), (ra: 6.2, dec: -0.4), (ra: 6.2, dec: -0.2), (ra: 6.0, dec: -0.2)],
                            center: (ra: 6.1, dec: -0.3), size: 1, mtime: 1764547200.5, patches: "0-1,2")
            }
            #expect(try store.recordInventory(frames: written, rejections: []).isEmpty)
            #expect(try Self.rows(store.pool, "SELECT path, run, field, mtime, patches FROM frame WHERE field > 20 ORDER BY id")
                    == ["/data/x/fpC-000094-r1-0021.fit|94|21|1764547200.5|0-1,2", "/data/new dir/fpC-000094-r1-0022.fit.fz|94|22|1764547200.5|0-1,2"])
            #expect(try Self.rows(store.pool, "SELECT name FROM frame_record WHERE field > 20 ORDER BY id") == ["NULL", "fpC-000094-r1-0022.fit.fz"])
            #expect(try store.inventoryMemory(of: written.map(\.path)).frames == Set(written.map(\.path)))
            // Another path for the same run, camcol, field and filter is still a duplicate, named with the first path.
            var again = written[0]
            again.path = "/data/y/fpC-000094-r1-0021.fit"
            #expect(try store.recordInventory(frames: [again], rejections: []).map(\.message) == ["same run, camcol, field and filter as /data/x/fpC-000094-r1-0021.fit"])

            // A script's INSERT, UPDATE and DELETE on `frame` still work.
            try store.write { db in
                try db.execute(sql: """
                    INSERT INTO frame (path, run, camcol, field, filter, width, height, corner1Ra, corner1Decl, corner2Ra, corner2Decl,
                        corner3Ra, corner3Decl, corner4Ra, corner4Decl, centerRa, centerDecl, size, mtime, recordedAt)
                    VALUES ('/s/fpC-000094-z1-0011.fit', 94, 1, 11, 'z', 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 'then')
                    """)
                try db.execute(sql: "UPDATE frame SET path = '/t/' || substr(path, 4), patches = '0-9,9' WHERE filter = 'z'")
                try db.execute(sql: "UPDATE frame SET path = '/t/renamed.fit' WHERE id = 1")
            }
            #expect(try Self.rows(store.pool, "SELECT path, recordedAt, patches FROM frame WHERE filter = 'z'") == ["/t/fpC-000094-z1-0011.fit|then|0-9,9"])
            #expect(try Self.rows(store.pool, "SELECT path FROM frame WHERE id = 1") == ["/t/renamed.fit"])
            try store.write { db in try db.execute(sql: "DELETE FROM frame WHERE filter = 'z'") }
            #expect(try Self.rows(store.pool, "SELECT COUNT(*) FROM frame WHERE filter = 'z'") == ["0"])
            #expect(throws: DatabaseError.self) {
                try store.write { db in try db.execute(sql: "UPDATE frame SET path = NULL WHERE id = 2") }
            }
        }
    }
}
