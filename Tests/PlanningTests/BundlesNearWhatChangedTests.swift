import Basics
import Foundation
import Testing
@testable import Planning
import Production
import Sky

/// `dcprod run --by-patch` plans, after a pass's outcomes, only the bundles near them
/// (`Planner.planBundles(filters:changed:)`): the patches of the frames on the patches those outcomes
/// touch. What it plans must be what planning every patch of the filter plans, and the frames far
/// from what changed are not laid out at all — shown here by forgetting their patches, which laying
/// them out would find again with wcslib and keep.
@Suite struct BundlesNearWhatChanged {
    /// A prepared production of 50 frames in r along a strip of RA (20.0…24.9, 0.1° apart), recorded
    /// with their patches as inventory records them; removed with its directory.
    final class Strip {
        let directory: URL
        let production: Production
        var store: StateStore { production.store }
        var planner: Planner { Planner(production: production, dcprod: "/opt/dcprod") }

        init() throws {
            (directory, production) = try preparedProduction("bundles-near", """
                FILTERS r
                EVENTSPERJOB processCcd 4
                EVENTSPERJOB coadd 1
                EVENTSPERJOB forcedPhot 4
                """)
            try Templates.install(into: production.tree.templatesDirectory)
            let map = try SkyMap.of(production)
            let records = try (0..<50).map { k in
                let (ra, dec) = (20.0 + 0.1 * Double(k), 0.1)
                let corners = [(ra: ra - 0.1, dec: dec - 0.07), (ra: ra + 0.1, dec: dec - 0.07),
                               (ra: ra + 0.1, dec: dec + 0.07), (ra: ra - 0.1, dec: dec + 0.07)]
                let name = FrameName(run: 94, filter: .r, camcol: 1, field: 11 + k)
                return FrameRecord(path: "\(production.config.input)/fpC-\(name.stem).fit", run: 94, camcol: 1, field: 11 + k, filter: .r,
                                   eventKey: name.eventKey, width: 2048, height: 1489, corners: corners, center: (ra: ra, dec: dec),
                                   size: 1, mtime: 0,
                                   patches: FramePatches.text(try map.patches(touching: corners + [(ra: ra, dec: dec)])))
            }
            try store.recordInventory(frames: records, rejections: [])
        }

        deinit { try? FileManager.default.removeItem(at: directory) }

        /// Records a frame far north of Stripe 82, which touches no patch of the sky map; returns its event key.
        func addFrameOffTheMap() throws -> String {
            let (ra, dec) = (22.0, 40.0)
            let corners = [(ra: ra - 0.1, dec: dec - 0.07), (ra: ra + 0.1, dec: dec - 0.07),
                           (ra: ra + 0.1, dec: dec + 0.07), (ra: ra - 0.1, dec: dec + 0.07)]
            let name = FrameName(run: 95, filter: .r, camcol: 2, field: 11)
            try store.recordInventory(frames: [
                FrameRecord(path: "\(production.config.input)/fpC-\(name.stem).fit", run: 95, camcol: 2, field: 11, filter: .r,
                            eventKey: name.eventKey, width: 2048, height: 1489, corners: corners, center: (ra: ra, dec: dec),
                            size: 1, mtime: 0, patches: FramePatches.text([])),
            ], rejections: [])
            return name.eventKey
        }

        /// Ends every part of the bundles whose processCcd frames lie west of `ra`, each event ok, as
        /// verify records them. Returns the ids of the events given an outcome.
        func endBundles(westOf ra: Double) throws -> Set<Int64> {
            let jobs = try store.pool.read { db in
                try JobRecord.fetchAll(db, sql: """
                    WITH lead AS (SELECT DISTINCT je.jobId AS id FROM job_event je JOIN event e ON e.id = je.eventId
                                  JOIN frame f ON f.id = e.frameId WHERE e.step = 'processCcd' AND f.centerRa < ?)
                    SELECT * FROM job WHERE id IN (SELECT id FROM lead) OR leadId IN (SELECT id FROM lead) ORDER BY id
                    """, arguments: [ra])
            }
            var ended = Set<Int64>()
            for step in [Step.processCcd, .coadd, .forcedPhot] {
                let attempts = try store.recordIntents(for: jobs.filter { $0.step == step }, backend: "local") { job, number, _ in
                    AttemptIntent(token: "\(job.name).\(number)", outcomes: "\(directory.path)/\(job.name).\(number).jsonl",
                                  log: "\(directory.path)/\(job.name).\(number).log", memory: nil, walltime: nil)
                }
                try store.recordOutcomes(try attempts.map { attempt in
                    AttemptReading(attemptId: attempt.id, outcomes: try store.members(ofJob: attempt.jobId).map { event in
                        ended.insert(event.id)
                        return EventOutcome(eventId: event.id, state: .ok, className: "ok", message: "", seconds: 1, outputs: ["out-\(event.key)"])
                    })
                })
            }
            return ended
        }

        /// Forgets the patches of the frames east of `ra` (the store still lists them on their patches).
        func forgetPatches(eastOf ra: Double) throws {
            try store.pool.write { db in try db.execute(sql: "UPDATE frame SET patches = NULL WHERE centerRa > ?", arguments: [ra]) }
        }

        /// How many frames have no patches kept.
        func forgotten() throws -> Int {
            try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM frame WHERE patches IS NULL") ?? 0 }
        }

        /// Every job with its lead and events, by name: what planning recorded.
        func jobs() throws -> [String] {
            try store.pool.read { db in
                try String.fetchAll(db, sql: """
                    SELECT j.step || ' ' || j.name || ' <- ' || COALESCE((SELECT name FROM job WHERE id = j.leadId), '-') || ': '
                           || (SELECT group_concat(e.key, ' ') FROM job_event je JOIN event e ON e.id = je.eventId WHERE je.jobId = j.id)
                    FROM job j ORDER BY 1
                    """)
            }
        }
    }

    @Test func aPassAfterSomeBundlesEndedPlansWhatPlanningEveryPatchPlansAndLooksOnlyNearThem() throws {
        let near = try Strip(), whole = try Strip()
        for strip in [near, whole] { #expect((try strip.planner.planBundles(filters: [.r])[.processCcd]?.jobs[.r] ?? 0) > 0) }
        let ended = try near.endBundles(westOf: 21.0)
        #expect(try whole.endBundles(westOf: 21.0).count == ended.count)
        #expect(!ended.isEmpty)
        let before = try near.jobs()
        #expect(before == (try whole.jobs()))

        for strip in [near, whole] { try strip.forgetPatches(eastOf: 23.0) }
        let forgotten = try near.forgotten()
        #expect(forgotten > 10)
        _ = try near.planner.planBundles(filters: [.r], changed: [.r: ended])
        _ = try whole.planner.planBundles(filters: [.r])
        let after = try near.jobs()
        #expect(after.count > before.count, "the ended bundles made none ready")
        #expect(after == (try whole.jobs()))
        // The far frames were never laid out near what changed; planning every patch found their patches again.
        #expect(try near.forgotten() == forgotten)
        #expect(try whole.forgotten() == 0)
    }

    /// Planning every patch of a filter goes a page of patches at a time (`patchesAtOnce`), each laid
    /// out with only the frames its readiness reads: the bundles, their jobs' names and events, and the
    /// jobs of a frame on no patch, are those of one layout of the whole filter — at the start, and
    /// after some bundles ended.
    @Test func everyPatchPlannedAPageAtATimeGetsTheBundlesOfOneLayoutOfTheFilter() throws {
        let paged = try Strip(), whole = try Strip()
        let offTheMap = try paged.addFrameOffTheMap()
        #expect(try whole.addFrameOffTheMap() == offTheMap)
        let pages = try paged.planner.planBundles(filters: [.r], patchesAtOnce: 1)
        let one = try whole.planner.planBundles(filters: [.r], patchesAtOnce: 10_000)
        for step in [Step.processCcd, .coadd, .forcedPhot] {
            #expect(pages[step]?.jobs == one[step]?.jobs && pages[step]?.events == one[step]?.events, "\(step)")
        }
        let before = try paged.jobs()
        #expect(before == (try whole.jobs()))
        #expect(before.contains { $0.hasPrefix("processCcd ") && $0.hasSuffix(" <- -: \(offTheMap)") }, "\(before)")
        #expect(before.contains { $0.hasPrefix("coadd ") })

        #expect(try paged.endBundles(westOf: 21.0).count == (try whole.endBundles(westOf: 21.0)).count)
        _ = try paged.planner.planBundles(filters: [.r], patchesAtOnce: 1)
        _ = try whole.planner.planBundles(filters: [.r], patchesAtOnce: 10_000)
        let after = try paged.jobs()
        #expect(after.count > before.count, "the ended bundles made none ready")
        #expect(after == (try whole.jobs()))
    }
}
