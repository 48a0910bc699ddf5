import Basics
import Foundation
import Testing
@testable import Planning
import Production
import Sky

/// `dcprod run` derives a later step's events from what changed since its last pass
/// (`Planner.derive(step:filter:changed:)`): the patches and frames that the newly verified events
/// touch, never every frame of the filter. What it records must be what deriving everything records.
@Suite struct IncrementalDerivation {
    /// A prepared production of 48 overlapping frames in r on a grid across a few patches of tract 0,
    /// recorded with their patches as inventory records them, one processCcd event a job; removed with its directory.
    final class Grid {
        let directory: URL
        let production: Production
        var store: StateStore { production.store }
        var planner: Planner { Planner(production: production, dcprod: "/opt/dcprod") }

        init() throws {
            (directory, production) = try preparedProduction("incremental", """
                FILTERS r
                EVENTSPERJOB processCcd 1
                EVENTSPERJOB coadd 1
                EVENTSPERJOB forcedPhot 4
                """)
            let config = production.config
            try Templates.install(into: production.tree.templatesDirectory)
            let map = try SkyMap.of(production)
            let records = try (0..<48).map { k in
                let (run, camcol, field) = (94, 1 + k / 8, 11 + k % 8)
                let (ra, dec) = (20.05 + 0.12 * Double(k % 8), -0.35 + 0.12 * Double(k / 8))
                let corners = [(ra: ra - 0.1, dec: dec - 0.07), (ra: ra + 0.1, dec: dec - 0.07),
                               (ra: ra + 0.1, dec: dec + 0.07), (ra: ra - 0.1, dec: dec + 0.07)]
                let name = FrameName(run: run, filter: .r, camcol: camcol, field: field)
                return FrameRecord(path: "\(config.input)/fpC-\(name.stem).fit", run: run, camcol: camcol, field: field, filter: .r,
                                   eventKey: name.eventKey, width: 2048, height: 1489, corners: corners, center: (ra: ra, dec: dec),
                                   size: 1, mtime: 0,
                                   patches: FramePatches.text(try map.patches(touching: corners + [(ra: ra, dec: dec)])))
            }
            try store.recordInventory(frames: records, rejections: [])
        }

        deinit { try? FileManager.default.removeItem(at: directory) }

        /// Submits the jobs named and records their outcomes as verify would: each event ok, or failed
        /// when `failing` says so of its key. Returns the ids of the events whose outcome was recorded.
        func end(_ names: Set<String>, step: Step, failing: (String) -> Bool = { _ in false }) throws -> Set<Int64> {
            let jobs = try store.unsubmittedJobs(step: step, filters: [.r], limit: 10_000).filter { names.contains($0.name) }
            let attempts = try store.recordIntents(for: jobs, backend: "local") { job, number, _ in
                AttemptIntent(token: "\(job.name).\(number)", outcomes: "\(directory.path)/\(job.name).\(number).jsonl",
                              log: "\(directory.path)/\(job.name).\(number).log", memory: nil, walltime: nil)
            }
            var ended = Set<Int64>()
            let readings = try attempts.map { attempt in
                AttemptReading(attemptId: attempt.id, outcomes: try store.members(ofJob: attempt.jobId).map { event in
                    ended.insert(event.id)
                    return failing(event.key)
                        ? EventOutcome(eventId: event.id, state: .failed, className: "astrometry", message: "no match", seconds: 1, outputs: nil)
                        : EventOutcome(eventId: event.id, state: .ok, className: "ok", message: "", seconds: 1, outputs: ["out-\(event.key)"])
                })
            }
            try store.recordOutcomes(readings)
            return ended
        }

        /// The names of the jobs of a step that await submission.
        func waiting(_ step: Step) throws -> [String] {
            try store.unsubmittedJobs(step: step, filters: [.r], limit: 10_000).map(\.name)
        }

        /// The later steps' events and every event's inputs, by keys (event ids differ between productions):
        /// what derivation and planning recorded.
        func derived() throws -> [String] {
            try store.pool.read { db in
                try String.fetchAll(db, sql: """
                    SELECT step || ' ' || key || ' ' || state || ' ' || (jobId IS NOT NULL) FROM event WHERE step != 'processCcd' ORDER BY 1
                    """)
                    + String.fetchAll(db, sql: """
                        SELECT e.step || ' ' || e.key || ' <- ' || i.step || ' ' || i.key || ' ' || COALESCE(ei.state, '-') || ' '
                               || COALESCE(ei.attemptId, '-')
                        FROM event_input ei JOIN event e ON e.id = ei.eventId JOIN event i ON i.id = ei.inputId ORDER BY 1
                        """)
            }
        }

        /// Plans the new events of the later steps, and again their stale ones, as `dcprod run` does.
        func planLaterSteps() throws {
            for step in [Step.forcedPhot, .coadd] {
                let stale = try store.staleEvents(step: step, filter: .r)
                if !stale.isEmpty { _ = try planner.replan(step: step, filter: .r, eventIds: stale.map(\.id)) }
                _ = try planner.plan(step: step, filters: [.r], deriving: false)
            }
        }
    }

    /// A fixed order of the jobs to end, the same in both productions (their job names are).
    static func shuffled(_ names: [String], seed: UInt64) -> [String] {
        var state = seed
        return names.map { name -> (UInt64, String) in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (state >> 33, name)
        }.sorted { $0.0 < $1.0 }.map(\.1)
    }

    @Test func derivingWhatChangedRecordsWhatDerivingEverythingRecords() throws {
        // `batched` derives as `dcprod run` does (`Chain.deriveVerified`): what changed given a few events at a time.
        let (incremental, full, batched) = (try Grid(), try Grid(), try Grid())
        for grid in [incremental, full, batched] { _ = try grid.planner.plan(step: .processCcd, filters: [.r]) }
        let keys = try incremental.store.frameEvents(step: .processCcd, filter: .r, .all).map(\.key)
        let failing = Set(keys.enumerated().filter { $0.offset % 7 == 3 }.map(\.element))
        var order = Self.shuffled(try incremental.waiting(.processCcd), seed: 11)
        var absentSeen = false, staleSeen = false, redone: [String] = []
        for round in 0..<10 {
            // Eight processCcd jobs end a round (a few fail), the rest in round 5; in round 6 a failed
            // frame and an ok one are done again, after the coadds of their patches were planned: an
            // input added to a planned coadd, coadds made again.
            if round == 6 {
                let standings = try incremental.store.frameStandings(step: .processCcd, filter: .r)
                redone = [standings.first { $0.state == .failed }, standings.first { $0.state == .ok }].compactMap { $0?.key }
                #expect(redone.count == 2)
                for grid in [incremental, full, batched] {
                    let again = try grid.store.frameEvents(step: .processCcd, filter: .r, .all).filter { redone.contains($0.key) }
                    _ = try grid.planner.replan(step: .processCcd, filter: .r, eventIds: again.map(\.id))
                }
                order += try incremental.waiting(.processCcd)
            }
            let names = Set(order.prefix(round >= 5 ? order.count : 8))
            order.removeAll { names.contains($0) }
            var changed: [Set<Int64>] = []
            for grid in [incremental, full, batched] {
                var ended = try grid.end(names, step: .processCcd) { failing.contains($0) && !redone.contains($0) }
                // The coadds planned in the pass before end too, some failing.
                ended.formUnion(try grid.end(Set(try grid.waiting(.coadd)), step: .coadd) { $0.utf8.reduce(0) { $0 + Int($1) } % 5 == 0 })
                changed.append(ended)
            }
            for step in [Step.forcedPhot, .coadd] {
                try incremental.planner.derive(step: step, filter: .r, changed: changed[0])
                try full.planner.derive(step: step, filter: .r)
            }
            #expect(try incremental.derived() == full.derived(), "round \(round)")
            try Self.deriveInBatches(batched, changed: changed[2])
            #expect(try batched.derived() == full.derived(), "round \(round), in batches")
            #expect(try incremental.store.staleEvents(step: .coadd, filter: .r).map(\.key) == full.store.staleEvents(step: .coadd, filter: .r).map(\.key))
            if try !full.store.staleEvents(step: .coadd, filter: .r).isEmpty { staleSeen = true }
            if try full.derived().contains(where: { $0.contains(" absent ") }) { absentSeen = true }
            for grid in [incremental, full, batched] { try grid.planLaterSteps() }
        }
        // The rounds went through what makes derivation hard: patches waiting for a frame, inputs
        // added to planned coadds, coadds made again, frames measured on settled coadds.
        let events = try full.derived()
        #expect(absentSeen && staleSeen)
        #expect(events.contains { $0.hasPrefix("forcedPhot ") } && events.contains { $0.hasPrefix("coadd ") })
        // With nothing changed, nothing is derived; deriving everything then adds nothing either.
        for step in [Step.forcedPhot, .coadd] {
            try incremental.planner.derive(step: step, filter: .r, changed: [])
            try incremental.planner.derive(step: step, filter: .r)
        }
        #expect(try incremental.derived() == events)
    }

    /// Derives as `dcprod run` does (`Chain.deriveVerified`), the changed events three at a time: the
    /// coadds' patches once after the last batch, then forcedPhot's frames batch by batch from those coadds.
    static func deriveInBatches(_ grid: Grid, changed: Set<Int64>) throws {
        let ids = changed.sorted()
        let batches = stride(from: 0, to: ids.count, by: 3).map { Set(ids[$0..<min($0 + 3, ids.count)]) }
        var next = batches[...]
        try grid.planner.derivePatches(step: .coadd, filter: .r) { next.popFirst() }
        for batch in batches { try grid.planner.derive(step: .forcedPhot, filter: .r, changed: batch, positionsDerived: true) }
    }

    /// Derived in batches, a coadd's patches are recorded in the order that deriving each batch on its
    /// own recorded them: the events get the same ids.
    @Test func patchesDerivedInBatchesGetTheIdsOfBatchByBatch() throws {
        let (once, each) = (try Grid(), try Grid())
        var batches: [[Set<Int64>]] = []
        for grid in [once, each] {
            _ = try grid.planner.plan(step: .processCcd, filters: [.r])
            let jobs = try grid.waiting(.processCcd)
            batches.append(try stride(from: 0, to: jobs.count, by: 5).map { try grid.end(Set(jobs[$0..<min($0 + 5, jobs.count)]), step: .processCcd) })
        }
        var next = batches[0][...]
        try once.planner.derivePatches(step: .coadd, filter: .r) { next.popFirst() }
        for batch in batches[1] { try each.planner.derive(step: .coadd, filter: .r, changed: batch) }
        let events = { (grid: Grid) in
            try grid.store.pool.read { db in try String.fetchAll(db, sql: "SELECT id || ' ' || key FROM event WHERE step = 'coadd' ORDER BY id") }
        }
        #expect(try events(once) == events(each))
        #expect(try once.derived() == each.derived())
        #expect(try events(once).count > 1)
    }

    @Test func nothingChangedReadsNoFrame() throws {
        let grid = try Grid()
        _ = try grid.planner.plan(step: .processCcd, filters: [.r])
        _ = try grid.end(Set(try grid.waiting(.processCcd)), step: .processCcd)
        try grid.planner.derive(step: .coadd, filter: .r)
        _ = try grid.planner.plan(step: .coadd, filters: [.r], deriving: false)
        let before = try grid.derived()
        #expect(before.contains { $0.hasPrefix("coadd ") })

        // The sky map gone and some frames' patches forgotten: deriving everything must find those
        // patches again with wcslib, which needs the sky map; deriving what changed — nothing — reads
        // no frame, and so never gets there.
        let skymap = grid.production.tree.templatesDirectory.appendingPathComponent("skymap/dc2013.skymap")
        try FileManager.default.removeItem(at: skymap)
        try grid.store.pool.write { db in try db.execute(sql: "UPDATE frame SET patches = NULL WHERE id % 5 = 0") }
        for step in [Step.forcedPhot, .coadd] { try grid.planner.derive(step: step, filter: .r, changed: []) }
        #expect(try grid.derived() == before)
        let error = #expect(throws: ConfigError.self) { try grid.planner.derive(step: .coadd, filter: .r) }
        #expect(error?.description.contains("cannot read the sky map") == true)
    }

    @Test func bundlesWaitForAnOutcome() throws {
        let grid = try Grid()
        #expect((try grid.planner.planBundles(filters: [.r])[.processCcd]?.jobs[.r] ?? 0) > 0)
        // What lets `run --by-patch` skip a filter with no new outcome: a call right after plans nothing.
        #expect(try grid.planner.planBundles(filters: [.r]).isEmpty)
        // With no outcome since, nothing is read, not even the sky map; with one, the filter is planned.
        let skymap = grid.production.tree.templatesDirectory.appendingPathComponent("skymap/dc2013.skymap")
        try FileManager.default.removeItem(at: skymap)
        #expect(try grid.planner.planBundles(filters: [.r], changed: [:]).isEmpty)
        #expect(try grid.planner.planBundles(filters: [.r], changed: [.r: [], .g: [1]]).isEmpty)
        #expect(throws: ConfigError.self) { try grid.planner.planBundles(filters: [.r], changed: [.r: [1]]) }
    }
}
