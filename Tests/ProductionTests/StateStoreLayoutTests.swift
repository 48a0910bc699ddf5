import Foundation
import GRDB
@testable import Production
import Testing

/// Schema v19 keeps an outcome's outputs as the id of their form and their stem (`OutputForms`), and
/// gives them back through the view `outcome` as they were written: a store of before it is migrated in
/// place, and every reader of outputs returns the same absolute paths as before.
@Suite struct StateStoreLayout {
    /// The data tree of the store's outcomes: paths with characters a manifest escapes.
    static let data = "/data/DC_2013 é/processCcd/r"

    /// Each outcome as written before v19: event, attempt, status, outputs, sizes.
    static let outcomes: [(event: Int64, attempt: Int64, status: String, outputs: String?, sizes: String?)] = [
        (1, 1, "ok", "\(data)/calexp-000094-r1-0011.fits\n\(data)/src-000094-r1-0011.csv\n\(data)/ccd-000094-r1-0011.csv", "100\n20\n3"),
        (2, 1, "failed", nil, nil),
        (2, 3, "ok", "\(data)/calexp-000094-r1-0012.fits\n\(data)/src-000094-r1-0012.csv\n\(data)/ccd-000094-r1-0012.csv", "101\n21\n4"),
        (3, 1, "ok", "\(data)/tab\tbed/calexp-000094-r1-0013.fits\n\(data)/tab\tbed/src-000094-r1-0013.csv\n\(data)/tab\tbed/ccd-000094-r1-0013.csv", "102\n22\n5"),
        (3, 2, "ok", "\(data)/calexp-000094-r1-0013.fits\n\(data)/src-000094-r1-0013.csv\n\(data)/ccd-000094-r1-0013.csv", "102\n22\n5"),
        (4, 2, "ok", "/data/DC_2013 é/coadd/r/deepCoadd-0-385,0-r.fits\n/data/DC_2013 é/coadd/r/deepsrc-0-385,0-r.csv", "900\n90"),
        (5, 2, "ok", "/data/x.csv", "7"),  // no stem of 4 bytes: kept as it is
    ]

    /// A store at the schema before v19 (every migration before it), with three processCcd frames of
    /// filter r, a coadd patch made from them, their jobs, attempts and `outcomes`.
    static func storeBeforeV19(at path: String) throws {
        let pool = try DatabasePool(path: path)
        try StateStore.migrator(before: "v19:").migrate(pool)
        try pool.write { db in
            for field in 11...13 {
                try db.execute(sql: """
                    INSERT INTO frame (path, run, camcol, field, filter, width, height, corner1Ra, corner1Decl, corner2Ra, corner2Decl,
                        corner3Ra, corner3Decl, corner4Ra, corner4Decl, centerRa, centerDecl, size, mtime, recordedAt)
                    VALUES (?, 94, 1, ?, 'r', 2048, 1489, 6, -0.4, 6.2, -0.4, 6.2, -0.2, 6, -0.2, 6.1, -0.3, 12000000, 0, '2026-12-01T00:00:00Z')
                    """, arguments: ["/data/DC_2013 é/input/fpC-000094-r1-00\(field).fit", field])
                try db.execute(sql: "INSERT INTO event (step, filter, key, frameId) VALUES ('processCcd', 'r', ?, ?)",
                               arguments: ["000094-1-00\(field)", field - 10])
            }
            try db.execute(sql: """
                INSERT INTO event (step, filter, key) VALUES ('coadd', 'r', '0-385,0'), ('coadd', 'r', '0-386,0');
                INSERT INTO event_input (eventId, inputId, state, attemptId) VALUES (4, 1, 'ok', 1), (4, 2, 'ok', 3), (4, 3, 'ok', 2);
                INSERT INTO job (name, step, filter, manifest, events, createdAt) VALUES
                    ('processCcd-r-000001', 'processCcd', 'r', '/m1.json', 3, ''), ('coadd-r-000001', 'coadd', 'r', '/m2.json', 2, '');
                INSERT INTO job_event (jobId, position, eventId) VALUES (1, 0, 1), (1, 1, 2), (1, 2, 3), (2, 0, 4), (2, 1, 5);
                INSERT INTO attempt (jobId, number, backend, token, state, outcomes, log, verified) VALUES
                    (1, 1, 'local', 't1', 'done', '/o1', '/l1', 1), (2, 1, 'local', 't2', 'done', '/o2', '/l2', 1),
                    (1, 2, 'local', 't3', 'done', '/o3', '/l3', 1);
                """)
            for outcome in outcomes {
                try db.execute(sql: """
                    INSERT INTO outcome (eventId, attemptId, status, class, message, seconds, outputs, sizes) VALUES (?, ?, ?, ?, '', 1.5, ?, ?)
                    """, arguments: [outcome.event, outcome.attempt, outcome.status, outcome.status, outcome.outputs, outcome.sizes])
            }
            try db.execute(sql: """
                UPDATE event SET state = 'ok', class = 'ok', jobId = 1, attemptId = CASE id WHEN 2 THEN 3 WHEN 3 THEN 2 ELSE 1 END, attempts = 1 WHERE step = 'processCcd';
                UPDATE event SET state = 'ok', class = 'ok', jobId = 2, attemptId = 2, attempts = 1 WHERE step = 'coadd';
                """)
        }
    }

    @Test func aStoreOfBeforeV19IsMigratedInPlaceAndItsReadersGiveTheSamePaths() throws {
        try withStorePath { path in
            try Self.storeBeforeV19(at: path)

            let store = try StateStore(path: path)  // a writer: migrated
            #expect(try store.schemaVersion() == StateStore.latestSchemaVersion)
            let kept = try store.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT eventId, attemptId, outputs, sizes FROM outcome ORDER BY eventId, attemptId")
                    .map { "\($0[0] as Int64) \($0[1] as Int64) \($0[2] as String? ?? "NULL") \($0[3] as String? ?? "NULL")" }
            }
            #expect(kept == Self.outcomes.map { "\($0.event) \($0.attempt) \($0.outputs ?? "NULL") \($0.sizes ?? "NULL")" })
            // Kept by form: one for the calexps of `data`, one in the tab's directory, one for the coadd (v19), and from v27
            // each of the first two with the frame's stem in its place, the stem then kept by none; /data/x.csv as it was.
            #expect(try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM output_form") } == 5)
            #expect(try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outcome_record WHERE outputs IS NULL AND form IS NOT NULL") } == 4)
            #expect(try store.pool.read { db in try String.fetchOne(db, sql: "SELECT outputs FROM outcome_record WHERE eventId = 4") } == "-0-385,0-r.")
            #expect(try store.pool.read { db in try String.fetchOne(db, sql: "SELECT outputs FROM outcome_record WHERE eventId = 5") } == "/data/x.csv")

            let csv = { (event: Int) in Self.outcomes.filter { $0.event == event }.last!.outputs!.split(separator: "\n").map(String.init) }
            #expect(try store.resultFiles(step: .processCcd) == (csv(1) + csv(2) + csv(3)).filter { $0.hasSuffix(".csv") }.sorted())
            #expect(try store.unloadedEvents(step: .processCcd, everyEvent: true).filter(\.isRedone).flatMap(\.files)
                    == csv(3).filter { $0.hasSuffix(".csv") })
            #expect(try store.verifiedFrames(step: .processCcd, filter: .r).map(\.outputs) == [csv(1), csv(2), csv(3)])
            var inputs: [[String]] = []
            try store.forEachDerivedEvent(step: .coadd, filter: .r, .all) { _, _, outputs in inputs.append(outputs) }
            #expect(inputs.first == csv(1) + csv(2) + csv(3))
            let coadd = try store.fileProvenance(step: .coadd, paths: Set(csv(4)))
            #expect(coadd.map(\.path) == csv(4))
            #expect(coadd.first?.inputs.map(\.path) == [csv(1)[0], csv(2)[0], csv(3)[0]])
            let volumes = try store.accounting().lines.first { $0.step == "processCcd" }?.outputs
            #expect(volumes == [.init(format: "csv", files: 6, bytes: 20 + 3 + 21 + 4 + 22 + 5), .init(format: "fits", files: 3, bytes: 303)])

            // Inventory knows the frames by their paths without the index of whole paths, not a path that ends alike.
            let frames = (11...13).map { "/data/DC_2013 é/input/fpC-000094-r1-00\($0).fit" }
            #expect(try store.inventoryMemory(of: frames + ["/elsewhere/fpC-000094-r1-0011.fit"]).frames == Set(frames))
            #expect(try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM frame") } == 3)

            // A script's INSERT, UPDATE and DELETE on `outcome` still work, the outputs it writes kept as they are.
            let outcome = { (event: Int) in
                try store.pool.read { db in try Row.fetchOne(db, sql: "SELECT status, outputs FROM outcome WHERE eventId = ?", arguments: [event]) }
            }
            try store.write { db in
                try db.execute(sql: "INSERT OR REPLACE INTO outcome (eventId, attemptId, status, class, message, outputs) VALUES (5, 2, 'ok', 'ok', '', '/y.csv')")
                try db.execute(sql: "UPDATE outcome SET status = 'failed' WHERE eventId = 1")
                try db.execute(sql: "UPDATE outcome SET outputs = '/z.csv' WHERE eventId = 2 AND attemptId = 3")
                try db.execute(sql: "DELETE FROM outcome WHERE eventId = 4")
            }
            #expect(try outcome(5) == ["status": "ok", "outputs": "/y.csv"])
            #expect(try outcome(1) == ["status": "failed", "outputs": csv(1).joined(separator: "\n")])
            #expect(try store.pool.read { db in try String.fetchOne(db, sql: "SELECT outputs FROM outcome WHERE eventId = 2 AND attemptId = 3") } == "/z.csv")
            #expect(try outcome(4) == nil)
        }
    }

    @Test func verifyKeepsOutputsByFormAndTheyReadBackByteForByte() throws {
        try withStorePath { path in
            try Self.storeBeforeV19(at: path)
            let store = try StateStore(path: path)

            // Outputs a stem cannot describe, or only just: the placeholder itself, a stem in the directory
            // too, overlapping runs, names in several scripts.
            let texts = ["/d/a\u{1}b.csv", "/d/000094-r1-0011/calexp-000094-r1-0011.fits\n/d/000094-r1-0011/src-000094-r1-0011.csv",
                         "/d/aaaaaa.fits\n/d/aaaaa.csv", "/d/星雲-0001-λ.fits\n/d/src-星雲-0001-λ.csv", "/d/ab.fits\n/d/cd.csv"]
            try store.recordOutcomes(texts.enumerated().map { index, text in
                AttemptReading(attemptId: 3, outcomes: [EventOutcome(eventId: Int64(index + 1), state: .ok, className: "ok", message: "", seconds: 1,
                                                                     outputs: text.split(separator: "\n").map(String.init))])
            })
            let read = try store.pool.read { db in
                try String.fetchAll(db, sql: "SELECT outputs FROM outcome WHERE attemptId = 3 ORDER BY eventId")
            }
            #expect(read == texts)
            let forms = try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(form) FROM outcome_record WHERE attemptId = 3") }
            #expect(forms == 3)  // neither the placeholder's text nor names without 4 bytes in common
        }
    }
}
