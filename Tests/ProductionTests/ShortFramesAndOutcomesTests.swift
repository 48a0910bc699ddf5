import Basics
import Foundation
import GRDB
@testable import Production
import Testing

/// Schema v26 keeps a frame's corners as offsets from its centre (FrameLayout) and an outcome's class and
/// seconds short (OutcomeLayout). A store of before it is migrated in place: its outcomes read back exact to
/// the bit, its frames' corners to 7 decimals of a degree (exactly when written so), their patches as they
/// were; what the event lists, the accounting and planning read of them is what a store made at v26 with the
/// same rows gives.
@Suite struct ShortFramesAndOutcomes {
    /// The migration this suite is about: the store of before it is made by every migration before it.
    static let migration = "v26:"

    /// Three r frames, each (corners, centre): corners of 1 decimal; corners of 15 significant digits,
    /// which read back to 7 decimals; a frame across RA 0.
    static let frames: [(corners: [Double], center: (Double, Double))] = [
        ([6, -0.4, 6.2, -0.4, 6.2, -0.2, 6, -0.2], (6.1, -0.3)),
        ([6.01234567891234, -0.41234567891234, 6.23456789012345, -0.4, 6.23456789012345, -0.19876543210987, 6.01234567891234, -0.2],
         (6.12345678901234, -0.30555555555555)),
        ([359.9, 1.1, 359.9, 1.3, 0.1, 1.3, 0.1, 1.1], (0, 1.2)),
    ]

    /// Writes the frames, their processCcd events, one job with an attempt of each event's outcome (ok in
    /// 151.2 s with three outputs; failed in 80.5 s; ok in 1/3 s, which no whole milliseconds give back) and
    /// a second attempt of the failed one (not-run, no seconds): through the views, as a script would.
    static func write(_ db: Database) throws {
        for (k, frame) in frames.enumerated() {
            let patches = "0-38\(k),5 0-38\(k + 1),5"
            let values: [any DatabaseValueConvertible] = [String(format: "/data/fpC-000094-r1-%04d.fit", 11 + k), 11 + k]
                + frame.corners.map { $0 as any DatabaseValueConvertible } + [frame.center.0, frame.center.1, patches]
            try db.execute(sql: """
                INSERT INTO frame (path, run, camcol, field, filter, width, height, corner1Ra, corner1Decl, corner2Ra, corner2Decl,
                    corner3Ra, corner3Decl, corner4Ra, corner4Decl, centerRa, centerDecl, size, mtime, recordedAt, patches)
                VALUES (?, 94, 1, ?, 'r', 2048, 1489, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 12000000, 1764547200.25, '2026-12-01T00:00:00Z', ?)
                """, arguments: StatementArguments(values))
            try writePatches(db, frameId: Int64(k + 1), filter: "r", patches)
            try db.execute(sql: "INSERT INTO event (step, filter, key, frameId) VALUES ('processCcd', 'r', ?, ?)",
                           arguments: [String(format: "000094-1-%04d", 11 + k), k + 1])
        }
        try db.execute(sql: """
            INSERT INTO job (name, step, filter, manifest, events, createdAt) VALUES ('processCcd-r-000001', 'processCcd', 'r', '/m', 3, '');
            INSERT INTO job_event (jobId, position, eventId) VALUES (1, 1, 1), (1, 2, 2), (1, 3, 3);
            INSERT INTO attempt (jobId, number, backend, token, state, outcomes, log, verified, cpuTime) VALUES
                (1, 1, 'local', 't1', 'done', '/o1', '/l1', 1, NULL), (1, 2, 'local', 't2', 'done', '/o2', '/l2', 1, NULL);
            INSERT INTO outcome (eventId, attemptId, status, class, message, seconds, outputs, sizes) VALUES
                (1, 1, 'ok', 'ok', '', 151.2,
                 '/d/processCcd/r/calexp-000094-r1-0011.fits' || char(10) || '/d/processCcd/r/src-000094-r1-0011.csv', '24' || char(10) || '7'),
                (2, 1, 'failed', 'astrometry', 'processCcd: 000094-1-0012: astrometry problem', 80.5, NULL, NULL),
                (3, 1, 'ok', 'ok', '', 1.0 / 3, '/d/processCcd/r/calexp-000094-r1-0013.fits', '11'),
                (2, 2, 'not-run', 'not-run', 'the job ended without its end line', NULL, NULL, NULL);
            UPDATE event SET jobId = 1, state = 'ok', class = 'ok', message = '', attemptId = 1, attempts = 1 WHERE id IN (1, 3);
            UPDATE event SET jobId = 1, state = 'not-run', class = 'not-run', message = 'the job ended without its end line',
                attemptId = 2, attempts = 2 WHERE id = 2;
            """)
    }

    static func rows(_ pool: DatabasePool, _ sql: String) throws -> [String] { try FrameLayoutMigration.rows(pool, sql) }

    /// The rows of `frame_patch` for a frame's patches, written as a script would: into the table of a store
    /// of before v28, through the view since (inventory writes the view's tables, which a store of before has not).
    static func writePatches(_ db: Database, frameId: Int64, filter: String, _ patches: String?) throws {
        for patch in (patches ?? "").split(separator: " ") {
            try db.execute(sql: "INSERT INTO frame_patch (filter, patch, frameId) VALUES (?, ?, ?)", arguments: [filter, String(patch), frameId])
        }
    }

    /// What readers get of a store: the views' rows, and what the event lists, the accounting and planning give.
    static func readings(_ store: StateStore) throws -> [String] {
        let lists = try ["ok", "not-run"].map { column in
            try store.eventList(step: .processCcd, filter: .r, column: column, page: 1).map { "\($0)" } ?? "none"
        }
        let footprints = try store.verifiedFrames(step: .processCcd, filter: .r).map { "\($0.key) \($0.footprint) \($0.patches ?? "") \($0.outputs)" }
        return try rows(store.pool, "SELECT * FROM outcome ORDER BY eventId, attemptId") + rows(store.pool, "SELECT * FROM frame ORDER BY id")
            + rows(store.pool, "SELECT * FROM frame_patch ORDER BY filter, patch, frameId") + lists + footprints + ["\(try store.accounting())"]
    }

    @Test func aStoreOfBeforeV26IsMigratedInPlaceAndReadsAsOneMadeAtV26() throws {
        try withStorePath { path in
            let pool = try DatabasePool(path: path)
            try StateStore.migrator(before: Self.migration).migrate(pool)
            try pool.write(Self.write)
            let outcomes = try Self.rows(pool, "SELECT * FROM outcome ORDER BY eventId, attemptId")
            let frames = try Self.rows(pool, "SELECT * FROM frame ORDER BY id")
            let patches = try Self.rows(pool, "SELECT * FROM frame_patch ORDER BY filter, patch, frameId")

            let store = try StateStore(path: path)  // a writer: migrated
            #expect(try store.schemaVersion() == StateStore.latestSchemaVersion)
            #expect(try Self.rows(store.pool, "PRAGMA foreign_key_check").isEmpty)
            #expect(try Self.rows(store.pool, "SELECT * FROM outcome ORDER BY eventId, attemptId") == outcomes)
            #expect(try Self.rows(store.pool, "SELECT * FROM frame_patch ORDER BY filter, patch, frameId") == patches)
            // Frames of 1 decimal, and across RA 0, read back exactly; the other's corners to 7 decimals.
            let migrated = try Self.rows(store.pool, "SELECT * FROM frame ORDER BY id")
            #expect([migrated[0], migrated[2]] == [frames[0], frames[2]])
            let corners = try store.pool.read { db in
                try Row.fetchOne(db, sql: "SELECT \(FrameLayout.corners.joined(separator: ", ")) FROM frame WHERE id = 2")
            }
            #expect(corners.map { row in (0..<8).map { row[$0] as Double } }
                    == Self.frames[1].corners.map { ($0 * 1e7).rounded() / 1e7 })

            try withStorePath { fresh in
                let made = try StateStore(path: fresh, access: .create)
                try made.write(Self.write)
                #expect(try Self.readings(store) == Self.readings(made))
            }
        }
    }

    @Test func anOutcomeKeepsItsClassAndSecondsOnlyWhenTheyTellSomething() throws {
        try withStorePath { path in
            let store = try StateStore(path: path, access: .create)
            try store.write(Self.write)
            try store.recordOutcomes([AttemptReading(attemptId: 2, outcomes: [
                EventOutcome(eventId: 1, state: .ok, className: "ok", message: "", seconds: 3601.125, outputs: ["/d/a-000094-r1-0011.fits"]),
                EventOutcome(eventId: 3, state: .failed, className: "timeout", message: "killed", seconds: 0.1 + 0.2, outputs: nil),
            ])])
            // The event follows its outcome, with its class; the outcome reads back as written.
            #expect(try Self.rows(store.pool, "SELECT id, state, class FROM event WHERE id IN (1, 3) ORDER BY id") == ["1|ok|ok", "3|failed|timeout"])
            #expect(try Self.rows(store.pool, "SELECT eventId, status, class, seconds FROM outcome WHERE attemptId = 2 AND eventId != 2 ORDER BY eventId")
                    == ["1|ok|ok|3601.125", "3|failed|timeout|\(0.1 + 0.2)"])
            // Kept: no class where it is the status; whole milliseconds where they give the seconds back.
            #expect(try Self.rows(store.pool, "SELECT eventId, attemptId, class, seconds, milliseconds FROM outcome_record ORDER BY attemptId, eventId")
                    == ["1|1|NULL|NULL|151200", "2|1|astrometry|NULL|80500", "3|1|NULL|\(1.0 / 3)|NULL",
                        "1|2|NULL|NULL|3601125", "2|2|NULL|NULL|NULL", "3|2|timeout|\(0.1 + 0.2)|NULL"])
            // Kept: the corners' offsets from the centre, in 10⁻⁷ of a degree.
            #expect(try Self.rows(store.pool, "SELECT \(FrameLayout.corners.map(FrameLayout.offsetColumn).joined(separator: ", ")) FROM frame_record WHERE id = 1")
                    == ["-1000000|-1000000|1000000|-1000000|1000000|1000000|-1000000|1000000"])

            // A script's UPDATE and DELETE through the views; a class left out is refused, as the table refused it.
            try store.write { db in
                try db.execute(sql: "UPDATE outcome SET class = 'astrometry', seconds = 2.5 WHERE eventId = 1 AND attemptId = 1")
                try db.execute(sql: "UPDATE frame SET corner1Ra = 5.9 WHERE id = 1")
            }
            #expect(try Self.rows(store.pool, "SELECT class, seconds FROM outcome WHERE eventId = 1 AND attemptId = 1") == ["astrometry|2.5"])
            #expect(try Self.rows(store.pool, "SELECT corner1Ra, corner2Ra FROM frame WHERE id = 1") == ["5.9|6.2"])
            #expect(throws: DatabaseError.self) {
                try store.write { db in
                    try db.execute(sql: "INSERT INTO outcome (eventId, attemptId, status, message) VALUES (1, 2, 'ok', '')")
                }
            }
            try store.write { db in try db.execute(sql: "DELETE FROM outcome WHERE attemptId = 2") }
            #expect(try Self.rows(store.pool, "SELECT COUNT(*) FROM outcome_record") == ["3"])
        }
    }
}
