import Basics
import Foundation
import GRDB
import Production
import Testing

/// The state store keeps the events one of whose inputs changed since they were planned
/// (`input_change`, schema v15) in the transaction that changes an input: stale events are found
/// among those alone, and are exactly those that testing every event finds.
@Suite struct StaleCandidates {
    @Test func staleEventsAreThoseThatTestingEveryEventFinds() throws {
        try withStorePath { path in
            let store = try StateStore(path: path, access: .create)

            // Twelve frames verified ok in a first attempt; three coadds on four frames each, and twelve
            // forced-photometry events on a frame and a coadd each, planned on them.
            let (frames, coadds) = try store.pool.write { db -> ([Int64], [Int64]) in
                try db.execute(sql: "INSERT INTO job (id, name, step, filter, manifest, events, createdAt) VALUES (1, 'j', 'processCcd', 'r', 'm', 1, 'now')")
                try db.execute(sql: "INSERT INTO attempt (id, jobId, number, backend, token, state, outcomes, log) VALUES (1, 1, 1, 'local', 't1', 'done', 'o', 'l')")
                func insert(_ step: String, _ key: String, state: String, jobId: Int64?, attemptId: Int64?) throws -> Int64 {
                    try db.execute(sql: "INSERT INTO event (step, filter, key, state, jobId, attemptId) VALUES (?, 'r', ?, ?, ?, ?)",
                                   arguments: [step, key, state, jobId, attemptId])
                    return db.lastInsertedRowID
                }
                let frames = try (0..<12).map { try insert("processCcd", "f\($0)", state: "ok", jobId: 1, attemptId: 1) }
                let coadds = try (0..<3).map { try insert("coadd", "c\($0)", state: "ok", jobId: 1, attemptId: 1) }
                let forced = try (0..<12).map { try insert("forcedPhot", "f\($0)", state: "ok", jobId: 1, attemptId: 1) }
                for (index, frame) in frames.enumerated() {
                    try db.execute(sql: "INSERT INTO event_input (eventId, inputId, state, attemptId) VALUES (?, ?, 'ok', 1)",
                                   arguments: [coadds[index / 4], frame])
                    try db.execute(sql: "INSERT INTO event_input (eventId, inputId, state, attemptId) VALUES (?, ?, 'ok', 1), (?, ?, 'ok', 1)",
                                   arguments: [forced[index], frame, forced[index], coadds[index / 4]])
                }
                return (frames, coadds)
            }
            func brute() throws -> Set<String> { try staleByTestingEveryEvent(store) }
            func found() throws -> Set<String> {
                var found = Set<String>()
                for step in [Step.coadd, .forcedPhot] {
                    found.formUnion(try store.staleEvents(step: step, filter: .r).map { "\(step.rawValue)/\($0.key)" })
                }
                #expect(try store.staleCounts().map(\.count).reduce(0, +) == found.count)
                return found
            }
            #expect(try found().isEmpty && brute().isEmpty)

            // Frame 0 redone (a second attempt, ok again): its coadd and its forced photometry are stale.
            // Frame 5 is being redone: nothing on it is stale yet. Coadd 2 failed on a rerun.
            try store.pool.write { db in
                try db.execute(sql: "INSERT INTO attempt (id, jobId, number, backend, token, state, outcomes, log) VALUES (2, 1, 2, 'local', 't2', 'done', 'o', 'l')")
                try db.execute(sql: "UPDATE event SET attemptId = 2 WHERE id = ?", arguments: [frames[0]])
                try db.execute(sql: "UPDATE event SET state = 'planned' WHERE id = ?", arguments: [frames[5]])
                try db.execute(sql: "UPDATE event SET state = 'failed', class = 'astrometry', attemptId = 2 WHERE id = ?", arguments: [coadds[2]])
            }
            #expect(try found() == brute())
            #expect(try found() == ["coadd/c0", "forcedPhot/f0", "forcedPhot/f8", "forcedPhot/f9", "forcedPhot/f10", "forcedPhot/f11"])

            // Frame 5 ends ok in its new attempt: coadd 1 and forced photometry 5 become stale too. An input
            // added to a planned event (a frame found later) makes it stale once that input has an outcome.
            try store.pool.write { db in
                try db.execute(sql: "UPDATE event SET state = 'ok', attemptId = 2 WHERE id = ?", arguments: [frames[5]])
                try db.execute(sql: "INSERT INTO event_input (eventId, inputId, state) VALUES (?, ?, 'absent')", arguments: [coadds[0], frames[4]])
            }
            #expect(try found() == brute())
            #expect(try found().isSuperset(of: ["coadd/c1", "forcedPhot/f5"]))

            // Planned again on its inputs as they are, an event is no longer one whose inputs changed.
            try store.recordJobs([PlannedJob(name: "coadd-r-000002", manifest: "m", eventIds: [coadds[1]])], step: .coadd, filter: .r)
            let candidates = try store.pool.read { db in try Set(Int64.fetchAll(db, sql: "SELECT eventId FROM input_change")) }
            #expect(!candidates.contains(coadds[1]) && candidates.contains(coadds[0]))
            #expect(try found() == brute())
            #expect(!(try found()).contains("coadd/c1"))
        }
    }
}
