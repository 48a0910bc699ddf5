import Basics
import Foundation
import GRDB
@testable import Production
import Testing

/// Schema v27: the outputs of an event of a frame that hold the frame's stem keep nothing of it (their form
/// has char(2) in its place, OutputForms.framePlaceholder). A store of before it is migrated in place and reads
/// as one made at v27 with the same rows; outputs verify records read back byte for byte, whatever they hold.
@Suite struct FramedOutputs {
    static let migration = "v27:"

    static func rows(_ pool: DatabasePool, _ sql: String) throws -> [String] { try FrameLayoutMigration.rows(pool, sql) }

    /// A third attempt of the job of `ShortFramesAndOutcomes.write`.
    static func thirdAttempt(_ db: Database) throws {
        try db.execute(sql: "INSERT INTO attempt (jobId, number, backend, token, state, outcomes, log, verified) VALUES (1, 3, 'local', 't3', 'done', '/o3', '/l3', 1)")
    }

    @Test func aStoreOfBeforeV27IsMigratedInPlaceAndReadsAsOneMadeAtV27() throws {
        try withStorePath { path in
            let pool = try DatabasePool(path: path)
            try StateStore.migrator(before: Self.migration).migrate(pool)
            try pool.write(ShortFramesAndOutcomes.write)
            try pool.write(Self.thirdAttempt)
            // An outcome kept by form and stem (as verify kept them before v27), and one whose outputs name another frame.
            try pool.write { db in
                var forms = OutputForms()
                let (form, stem) = try forms.encode("/d/processCcd/r/calexp-000094-r1-0013.fits\n/d/processCcd/r/src-000094-r1-0013.csv", db)
                try db.execute(sql: "INSERT INTO outcome_record (eventId, attemptId, status, message, milliseconds, outputs, form) VALUES (3, 2, 'ok', '', 5, ?, ?)",
                               arguments: [stem, form])
                try db.execute(sql: "INSERT INTO outcome (eventId, attemptId, status, class, message, outputs) VALUES (2, 3, 'ok', 'ok', '', '/d/calexp-000094-r1-0099.fits')")
            }
            let before = try Self.rows(pool, "SELECT * FROM outcome ORDER BY eventId, attemptId")
            #expect(try Self.rows(pool, "SELECT COUNT(*) FROM outcome_record WHERE outputs IS NOT NULL") == ["4"])

            let store = try StateStore(path: path)  // a writer: migrated
            #expect(try store.schemaVersion() == StateStore.latestSchemaVersion)
            #expect(try Self.rows(store.pool, "PRAGMA foreign_key_check").isEmpty)
            #expect(try Self.rows(store.pool, "SELECT * FROM outcome ORDER BY eventId, attemptId") == before)
            // Outputs that hold their frame's stem keep none; those that name another frame keep their text.
            #expect(try Self.rows(store.pool, "SELECT eventId, attemptId, outputs IS NULL, form IS NULL FROM outcome_record WHERE status = 'ok' ORDER BY eventId, attemptId")
                    == ["1|1|1|0", "2|3|0|1", "3|1|1|0", "3|2|1|0"])
            #expect(try Self.rows(store.pool, "SELECT replace(text, char(2), '<frame>') FROM output_form ORDER BY id").contains(
                "/d/processCcd/r/calexp-<frame>.fits\n/d/processCcd/r/src-<frame>.csv"))

            try withStorePath { fresh in
                let made = try StateStore(path: fresh, access: .create)
                try made.write(ShortFramesAndOutcomes.write)
                try made.write(Self.thirdAttempt)
                try made.write { db in
                    try db.execute(sql: """
                        INSERT INTO outcome (eventId, attemptId, status, class, message, seconds, outputs) VALUES
                            (3, 2, 'ok', 'ok', '', 0.005, '/d/processCcd/r/calexp-000094-r1-0013.fits' || char(10) || '/d/processCcd/r/src-000094-r1-0013.csv'),
                            (2, 3, 'ok', 'ok', '', NULL, '/d/calexp-000094-r1-0099.fits')
                        """)
                }
                #expect(try ShortFramesAndOutcomes.readings(store) == ShortFramesAndOutcomes.readings(made))
            }
        }
    }

    @Test func verifyKeepsNoStemOfTheFrameAndItsOutputsReadBackByteForByte() throws {
        try withStorePath { path in
            let store = try StateStore(path: path, access: .create)
            try store.write(ShortFramesAndOutcomes.write)
            try store.write(Self.thirdAttempt)
            // The frame's stem in the directory too, twice in a name, only in the directory, another frame's, none at all.
            let texts = ["/d/000094-r1-0011/calexp-000094-r1-0011.fits\n/d/000094-r1-0011/src-000094-r1-0011.csv",
                         "/d/a-000094-r1-0012-000094-r1-0012.fits", "/d/000094-r1-0013/calexp.fits"]
            let others = ["/d/calexp-000094-r1-0012.fits", "/d/x.fits", "/d/a\u{2}b-000094-r1-0013.fits"]
            try store.recordOutcomes([
                AttemptReading(attemptId: 2, outcomes: texts.enumerated().map { index, text in
                    EventOutcome(eventId: Int64(index + 1), state: .ok, className: "ok", message: "", seconds: 1, outputs: text.split(separator: "\n").map(String.init))
                }),
                AttemptReading(attemptId: 3, outcomes: others.enumerated().map { index, text in
                    EventOutcome(eventId: Int64(index + 1), state: .ok, className: "ok", message: "", seconds: 1, outputs: [text])
                }),
            ])
            #expect(try Self.rows(store.pool, "SELECT outputs FROM outcome WHERE attemptId IN (2, 3) ORDER BY attemptId, eventId") == texts + others)
            #expect(try Self.rows(store.pool, "SELECT eventId, outputs IS NULL FROM outcome_record WHERE attemptId IN (2, 3) ORDER BY attemptId, eventId")
                    == ["1|1", "2|1", "3|1", "1|0", "2|0", "3|0"])
            // A script's UPDATE through the view keeps outputs it leaves alone, and those it writes as they are.
            try store.write { db in
                try db.execute(sql: "UPDATE outcome SET status = 'failed' WHERE eventId = 1 AND attemptId = 2")
                try db.execute(sql: "UPDATE outcome SET outputs = '/z.csv' WHERE eventId = 2 AND attemptId = 2")
            }
            #expect(try Self.rows(store.pool, "SELECT eventId, status, outputs FROM outcome WHERE attemptId = 2 AND eventId IN (1, 2) ORDER BY eventId")
                    == ["1|failed|\(texts[0])", "2|ok|/z.csv"])
        }
    }
}
