import Basics
import Foundation
import Production
import Sky

/// `dcprod run --by-patch`: one batch job per (tract, patch) and filter that runs processCcd on the
/// patch's frames, then the patch's coadd, then forced photometry on its frames — the three steps
/// in succession, as DC2013's conclusion proposed. Each part stays a job of its own step (its own
/// manifest, attempts, outcome file and report); the parts after the first follow it (`leadId`) in
/// the lead's batch script `jobs/LEAD.bundle.BACKEND.sh`, which runs their manifests in order.
///
/// A frame touches up to four patches, so which bundle takes a frame is a rule. Patches go in the
/// order `runsBefore`; a frame's processCcd goes with the first patch it touches, its forced
/// photometry with the last. A patch's bundle is planned once every patch before it that shares a
/// frame with it is settled (its coadd verified): then every calexp its coadd needs is made,
/// earlier or in the same job before the coadd, and so is every coadd whose sources its frames are
/// measured at. Patches that share no frame run side by side. The order goes by the parity of x, y
/// and tract first, so that neighbours fall in different waves: at most eight waves one after the
/// other, however long the stripe.
///
/// One thing differs from the step-by-step run: a frame whose processCcd fails inside a bundle has
/// its coadd input and forced-photometry event planned already; the coadd does without it (its
/// line in the input list is optional) and the forced photometry fails as `missing-files`.
extension Planner {
    /// True when patch `a`'s bundle goes before `b`'s: by parity of tract, y and x, then by patch.
    public static func runsBefore(_ a: PatchId, _ b: PatchId) -> Bool {
        func wave(_ p: PatchId) -> Int { (p.tract & 1) << 2 | (p.y & 1) << 1 | (p.x & 1) }
        return (wave(a), a) < (wave(b), b)
    }

    /// Plans the bundles of every patch that is ready, per filter; frames that touch no patch of the
    /// sky map are planned in jobs of their own (EVENTSPERJOB) so that none is left out.
    ///
    /// A patch's bundle becomes ready only when an outcome is recorded — of a frame on it, or of a
    /// coadd that settles a patch before it — and a call plans every bundle ready then: a filter with
    /// no outcome since the last call has none to plan, and is not read at all; one with outcomes
    /// looks only at the patches near them (`BundleLayout.init(store:filter:map:near:)`).
    ///
    /// - Parameters:
    ///   - changed: Per filter, the ids of the events (of any step) whose outcome was recorded since the
    ///     last call (a filter not in it: none); nil when not known: every patch of every filter is
    ///     looked at, `patchesAtOnce` at a time.
    ///   - patchesAtOnce: The patches laid out at once when every patch is looked at (`patchesAtOnce`).
    /// - Returns: The jobs and events planned, per step.
    /// - Throws: `TemplateError` for a broken template or sky map, a GRDB `DatabaseError`.
    public func planBundles(filters: [Filter], changed: [Filter: Set<Int64>]? = nil,
                            patchesAtOnce: Int = Planner.patchesAtOnce) throws -> [Step: Summary] {
        let due = filters.filter { filter in changed.map { !($0[filter] ?? []).isEmpty } ?? true }
        guard !due.isEmpty else { return [:] }
        try Templates.install(into: templates)
        let map = try SkyMap.of(production)
        var summaries: [Step: Summary] = [:]
        for filter in due {
            let planned = try changed.map { try planBundles(BundleLayout(store: production.store, filter: filter, map: map, near: $0[filter] ?? []),
                                                            filter: filter) }
                ?? planAllBundles(filter: filter, map: map, patchesAtOnce: patchesAtOnce)
            for (step, count) in planned {
                summaries[step, default: Summary()].jobs[filter, default: 0] += count.jobs
                summaries[step, default: Summary()].events[filter, default: 0] += count.events
            }
        }
        return summaries
    }

    /// Plans the bundles of every patch of a filter that is ready, `patchesAtOnce` patches at a time in
    /// bundle order (`runsBefore`), each page laid out from `frame_patch` with the frames its readiness
    /// reads (`BundleLayout.init(store:filter:map:scope:)`): the filter's frames are never held at once
    /// (313,000 at DC2013's size). The bundles and their jobs are those of one layout of the whole
    /// filter: a patch's readiness reads only its own page's layout, and what a page plans makes no
    /// patch of a later page ready or not (a patch sharing a frame with one planned now waits for its
    /// coadd either way). Then the frames that touch no patch, in jobs of their own.
    private func planAllBundles(filter: Filter, map: SkyMap, patchesAtOnce: Int) throws -> [Step: (jobs: Int, events: Int)] {
        let store = production.store
        // Frames of a store of before v14 are in no patch's frames until their patches are found.
        var framePatches = FramePatches(map: map)
        for frame in try store.framesWithoutPatches(step: .processCcd, filter: filter, states: EventState.allCases) {
            _ = try framePatches.patches(frameId: frame.frameId, footprint: frame.footprint, kept: nil)
        }
        try framePatches.keep(in: store)
        let patches = try store.patchKeys(filter: filter).compactMap(PatchId.init(key:)).sorted(by: Self.runsBefore)
        var counts: [Step: (jobs: Int, events: Int)] = [:]
        func add(_ more: [Step: (jobs: Int, events: Int)]) {
            for (step, count) in more {
                counts[step, default: (0, 0)].jobs += count.jobs
                counts[step, default: (0, 0)].events += count.events
            }
        }
        for start in stride(from: 0, to: patches.count, by: max(patchesAtOnce, 1)) {
            let page = Set(patches[start..<min(start + max(patchesAtOnce, 1), patches.count)])
            add(try planBundles(BundleLayout(store: store, filter: filter, map: map, scope: page), filter: filter))
        }
        let orphans = try store.unplannedFramesOnNoPatch(step: .processCcd, filter: filter)
        if !orphans.isEmpty {
            add([.processCcd: (try replan(step: .processCcd, filter: filter, eventIds: orphans), orphans.count)])
        }
        return counts
    }

    /// Plans the bundles of the patches of a layout's scope that are ready.
    private func planBundles(_ layout: BundleLayout, filter: Filter) throws -> [Step: (jobs: Int, events: Int)] {
        let store = production.store
        // Only the standings of the patches and frames laid out are read.
        let ready = try layout.ready(
            coadds: store.eventStandings(step: .coadd, filter: filter, keys: Set(layout.framesOf.keys.map(\.description))),
            forced: store.eventStandings(step: .forcedPhot, filter: filter, keys: Set(layout.frames.map(\.key))))
        guard !ready.isEmpty else { return [:] }
        let writers = try Dictionary(uniqueKeysWithValues: [Step.processCcd, .coadd, .forcedPhot].map { step in
            let definition = try StepDefinition.load(step: step, templates: templates)
            let commands = try definition.specialized(shared: sharedVariables(step: step, filter: filter), perEvent: Self.perEventVariables)
            return (step, try JobWriter(planner: self, definition: definition, commands: commands, filter: filter))
        })
        try recordDerivedEvents(of: ready, layout, filter: filter)
        return try writeBundles(ready, layout, writers: writers, filter: filter)
    }

    /// Records the coadd events of the ready patches with their inputs, and the forced photometry
    /// events of the frames they measure: a frame's forced photometry reads the sources of the coadds
    /// of every patch it touches.
    private func recordDerivedEvents(of ready: [ReadyBundle], _ layout: BundleLayout, filter: Filter) throws {
        let store = production.store
        let frames = layout.frames
        try store.recordDerivedEvents(ready.map { DerivedEvent(key: $0.patch.description, inputIds: $0.inputs.map { frames[$0].eventId }) },
                                      step: .coadd, filter: filter)
        let coaddIds = try store.eventIds(step: .coadd, filter: filter)
        try store.recordDerivedEvents(ready.flatMap(\.measured).map { index in
            DerivedEvent(key: frames[index].key, inputIds: [frames[index].eventId] + layout.patchesOf[index].compactMap { coaddIds[$0.description] },
                         frameId: frames[index].frameId)
        }, step: .forcedPhot, filter: filter)
    }

    /// Writes each ready patch's bundle — its parts' jobs and, for more than one part, the bundle's
    /// script — and records it; every part's events are read once.
    ///
    /// - Returns: The jobs and events planned, per step.
    private func writeBundles(_ ready: [ReadyBundle], _ layout: BundleLayout, writers: [Step: JobWriter],
                              filter: Filter) throws -> [Step: (jobs: Int, events: Int)] {
        let store = production.store
        let frames = layout.frames
        let processCcd = Dictionary(uniqueKeysWithValues: try self.frames(
            step: .processCcd, filter: filter, .unplanned, only: Set(ready.flatMap(\.own).map { frames[$0].eventId }),
            needing: writers[.processCcd]!.commands.variables).map { ($0.key, $0) })
        var calexps: [String: [String]] = [:]
        for bundle in ready {
            calexps[bundle.patch.description] = bundle.own.flatMap { writers[.processCcd]!.commands.render(processCcd[frames[$0].key]!.variables).outputs }
                .filter(Self.isCalexp)
        }
        let coadd = Dictionary(uniqueKeysWithValues: try patches(step: .coadd, filter: filter, .unplanned, only: nil,
                                                                 needing: writers[.coadd]!.commands.variables, optional: calexps).map { ($0.key, $0) })
        let forcedPhot = Dictionary(uniqueKeysWithValues: try self.frames(step: .forcedPhot, filter: filter, .unplanned, only: nil,
                                                                          needing: writers[.forcedPhot]!.commands.variables).map { ($0.key, $0) })
        var next = try Dictionary(uniqueKeysWithValues: writers.keys.map { ($0, try store.jobCount(step: $0, filter: filter) + 1) })
        var counts: [Step: (jobs: Int, events: Int)] = [:]
        for bundle in ready {
            var measured: [PlannableEvent] = []
            for index in bundle.measured {
                guard var event = forcedPhot[frames[index].key] else { continue }
                event.variables["positions"] = try writeSources(frame: frames[index], patches: layout.patchesOf[index],
                                                                coadd: writers[.coadd]!.commands, filter: filter).path
                measured.append(event)
            }
            let parts: [(Step, [PlannableEvent])] = [(.processCcd, bundle.own.compactMap { processCcd[frames[$0].key] }),
                                                     (.coadd, coadd[bundle.patch.description].map { [$0] } ?? []), (.forcedPhot, measured)]
            var jobs: [(job: PlannedJob, step: Step)] = []
            for (step, events) in parts where !events.isEmpty {
                jobs.append((try writers[step]!.write(number: next[step]!, events: events[...]), step))
                next[step]! += 1
                counts[step, default: (0, 0)].jobs += 1
                counts[step, default: (0, 0)].events += events.count
            }
            if jobs.count > 1 { try writeBundleScript(jobs, filter: filter, events: parts.map(\.1.count).reduce(0, +)) }
            try store.recordBundle(jobs, filter: filter)
        }
        return counts
    }

    static func isCalexp(_ path: String) -> Bool { URL(fileURLWithPath: path).lastPathComponent.hasPrefix(StepOutput.calexp.prefix) }

    /// `jobs/positions/KEY.sources` of a frame measured in a bundle: the box of its footprint (as
    /// `StepPlanning` asks the catalog for it) and the deepsrc files of the coadds of the patches it
    /// touches, which `dcprod pipe forcedPhot` reads when the coadds are made.
    private func writeSources(frame: FrameStanding, patches: [PatchId], coadd: StepDefinition.Specialized, filter: Filter) throws -> URL {
        let url = Self.positionsFile(step: .forcedPhot, filter: filter, key: frame.key, tree: production.tree, bundled: true)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let ras = RightAscension.span(frame.footprint.map(\.ra)), decs = frame.footprint.map(\.dec)
        var text = "# DeepSource rows of these deepsrc files inside the box: RA from, to (through 0 when from is above to); Dec from, to.\n"
        text += String(format: "box %.10f %.10f %.10f %.10f\n", ras.low, ras.high, decs.min()!, decs.max()!)
        for patch in patches {
            let variables = ["key": patch.description, "tract": String(patch.tract), "patch": patch.name]
            for output in coadd.render(variables).outputs where URL(fileURLWithPath: output).lastPathComponent.hasPrefix(StepOutput.deepsrc.prefix) {
                text += output + "\n"
            }
        }
        try AtomicFile.write(Data(text.utf8), to: url)
        return url
    }

    /// The lead's `jobs/LEAD.bundle.BACKEND.sh`: its batch script, running every part's manifest in
    /// order, with the sum of the parts' walltimes and the largest of their memories.
    private func writeBundleScript(_ bundle: [(job: PlannedJob, step: Step)], filter: Filter, events: Int) throws {
        let config = production.config, lead = bundle[0]
        let backend = config.backend.rawValue
        var context = scriptContext(job: lead.job.name, step: lead.step, filter: filter, events: events, manifest: lead.job.manifest)
        let seconds = bundle.map { BatchResources.seconds(config.walltime[$0.step] ?? "01:00:00") ?? 3600 }.reduce(0, +)
        let memories = bundle.map { config.memory[$0.step] ?? "2G" }
        context["step"] = bundle.map(\.step.rawValue).joined(separator: " then ")
        context["walltime"] = BatchResources.walltime(seconds: seconds)
        context["memory"] = memories.max { (BatchResources.bytes($0) ?? 0) < (BatchResources.bytes($1) ?? 0) }!
        context["shellManifests"] = bundle.map { Self.shellWord($0.job.manifest) }.joined(separator: " ")
        let url = URL(fileURLWithPath: lead.job.manifest).deletingLastPathComponent().appendingPathComponent("\(lead.job.name).bundle.\(backend).sh")
        try AtomicFile.write(Data(try batchTemplate(backend).render(context).utf8), to: url, mode: 0o755)
    }
}

/// A patch ready to be bundled: the frames (indices into `BundleLayout.frames`) whose processCcd it
/// runs, its coadd's inputs (verified ok, or made in the same job), and the frames whose forced
/// photometry it runs.
private struct ReadyBundle {
    var patch: PatchId
    var own: [Int]
    var inputs: [Int]
    var measured: [Int]
}

/// The processCcd frames of a filter with the patches each touches (from the state store's kept
/// patches), in bundle order (`Planner.runsBefore`), and the frames on each patch: those whose
/// standing the readiness of some patches reads (`scope`) — a page of the filter's patches
/// (`init(store:filter:map:scope:)`), or those near some events' outcomes (`init(store:filter:map:near:)`).
private struct BundleLayout {
    var frames: [FrameStanding] = []
    /// Per frame, the patches it touches, in bundle order.
    var patchesOf: [[PatchId]] = []
    var framesOf: [PatchId: [Int]] = [:]
    /// The patches whose readiness is looked at.
    var scope: Set<PatchId> = []

    /// The layout that the readiness of `scope`'s patches reads: a patch's readiness depends on the
    /// frames on it and on the patches those touch (whether they are settled), so every frame on those
    /// patches is laid out — a few hundred frames a patch at DC2013's depth, whatever its size.
    init(store: StateStore, filter: Filter, map: SkyMap, scope: Set<PatchId>) throws {
        let read = try Self.patches(of: store.frameStandings(step: .processCcd, filter: filter, touching: Set(scope.map(\.description))),
                                    map: map, store: store)
        try place(store.frameStandings(step: .processCcd, filter: filter, touching: Set(read.map(\.description))), store: store, map: map)
        self.scope = scope
    }

    /// The layout around the outcomes of `changed` (event ids of any step): a patch's readiness
    /// depends on the frames on it and on the patches before it that share a frame with it, so an
    /// outcome of a frame, or of a patch's coadd, can make ready only the patches of the frames on
    /// its patches (`scope`), laid out as `init(store:filter:map:scope:)` does.
    init(store: StateStore, filter: Filter, map: SkyMap, near changed: Set<Int64>) throws {
        var framePatches = FramePatches(map: map)
        let changedFrames = try store.frameStandings(step: .processCcd, filter: filter, ids: changed)
        var seeds = try store.eventKeys(step: .coadd, filter: filter, ids: changed)
        for frame in changedFrames {
            seeds.formUnion(try framePatches.patches(frameId: frame.frameId, footprint: frame.footprint, kept: frame.patches).map(\.description))
        }
        try framePatches.keep(in: store)
        // A ring of frames and patches out from the seeds: the scope.
        let scope = try Self.patches(of: store.frameStandings(step: .processCcd, filter: filter, touching: seeds), map: map, store: store)
        try self.init(store: store, filter: filter, map: map, scope: scope)
    }

    /// The patches the frames touch.
    private static func patches(of frames: [FrameStanding], map: SkyMap, store: StateStore) throws -> Set<PatchId> {
        var framePatches = FramePatches(map: map)
        let patches = try frames.flatMap { try framePatches.patches(frameId: $0.frameId, footprint: $0.footprint, kept: $0.patches) }
        try framePatches.keep(in: store)
        return Set(patches)
    }

    /// Lays out `frames`: their patches, and the frames on each patch.
    private mutating func place(_ frames: [FrameStanding], store: StateStore, map: SkyMap) throws {
        self.frames = frames
        var framePatches = FramePatches(map: map)
        for (index, frame) in frames.enumerated() {
            let touched = try framePatches.patches(frameId: frame.frameId, footprint: frame.footprint, kept: frame.patches)
                .sorted(by: Planner.runsBefore)
            patchesOf.append(touched)
            for patch in touched { framesOf[patch, default: []].append(index) }
        }
        try framePatches.keep(in: store)
    }

    /// The patches whose bundle can be planned now, in bundle order: every frame on it verified or
    /// made in its own bundle, and every patch before it that shares a frame with it settled.
    func ready(coadds: [String: (state: EventState, planned: Bool)],
               forced: [String: (state: EventState, planned: Bool)]) -> [ReadyBundle] {
        // Settled: its coadd verified, or it will have none (every frame on it verified, none ok).
        func settled(_ patch: PatchId) -> Bool {
            if let coadd = coadds[patch.description] { return coadd.state.isVerified }
            return framesOf[patch]!.allSatisfy { frames[$0].state.isVerified && frames[$0].state != .ok }
        }
        var ready: [ReadyBundle] = []
        for patch in framesOf.keys.sorted(by: Planner.runsBefore) where scope.contains(patch) && coadds[patch.description]?.planned != true {
            let mine = framesOf[patch]!
            let own = mine.filter { !frames[$0].planned && patchesOf[$0].first == patch }
            guard mine.allSatisfy({ frames[$0].state.isVerified || own.contains($0) }),
                  Set(mine.flatMap { patchesOf[$0] }).allSatisfy({ !Planner.runsBefore($0, patch) || settled($0) }) else { continue }
            let inputs = mine.filter { frames[$0].state == .ok || own.contains($0) }
            guard !inputs.isEmpty else { continue }
            ready.append(ReadyBundle(patch: patch, own: own, inputs: inputs,
                                     measured: inputs.filter { patchesOf[$0].last == patch && forced[frames[$0].key]?.planned != true }))
        }
        return ready
    }
}
