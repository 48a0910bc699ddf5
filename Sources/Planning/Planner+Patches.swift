import Basics
import Foundation
import Production
import Sky

/// A coadd's events: the patches of the sky map that the frames processCcd verified ok touch.
extension Planner {
    /// Patches derived at once: each one's frames are read in one query (`StateStore.forEachPatchOfFrames`)
    /// and its due events recorded in one transaction, so that memory does not grow with the filter.
    public static let patchesAtOnce = 256

    /// The states of the frames that a coadd's derivation must place: those awaiting verification, which
    /// hold their patches back, and those ok, which are their inputs.
    static let placedStates = EventState.allCases.filter { !$0.isVerified } + [.ok]

    /// The patches of the sky map that the frames processCcd verified ok touch, recorded as the
    /// step's events with those frames as their inputs — never a frame that failed.
    ///
    /// A patch is recorded as soon as no frame that touches it awaits verification, not when the
    /// whole filter is verified; and not before, since an event once planned keeps its inputs. The
    /// frames' patches are the store's (`FramePatches`), never asked of wcslib again: those it has
    /// none for (a store of before v14) are found first. Then the patches go a few hundred at a time
    /// (`patchesAtOnce`), each from the frames that touch it (`frame_patch`): the filter's frames are
    /// never held at once (313,000 at DC2013's size).
    func derivePatches(step: Step, filter: Filter) throws {
        let store = production.store
        var framePatches = FramePatches(production: production)
        for frame in try store.framesWithoutPatches(step: .processCcd, filter: filter, states: Self.placedStates) {
            _ = try framePatches.patches(frameId: frame.frameId, footprint: frame.footprint, kept: nil)
        }
        try framePatches.keep(in: store)
        try derivePatches(step: step, filter: filter, patches: try store.patchKeys(filter: filter).compactMap(PatchId.init(key:)).sorted())
    }

    /// `derivePatches(step:filter:)` for what changed: only the patches that the frames of changed
    /// processCcd events touch can have become due or gained an input.
    func derivePatches(step: Step, filter: Filter, changed: Set<Int64>) throws {
        var batches = [changed]
        try derivePatches(step: step, filter: filter, changedIn: { batches.popLast() })
    }

    /// `derivePatches(step:filter:)` for what changed, given a few jobs' events at a time by `next`
    /// (the ids of processCcd events whose outcome was recorded; nil when none is left): only the
    /// patches that their frames touch can have become due or gained an input. Each is derived once,
    /// after the last batch, from all the frames that touch it, by the same rule: a patch that many
    /// batches touch (a deep one, on the first pass of a run that finds a filter verified) is read
    /// once, not once a batch. Nothing changed, nothing read.
    ///
    /// - Throws: A GRDB `DatabaseError`; `WCSError` or the sky map's error when a frame cannot be placed.
    public func derivePatches(step: Step, filter: Filter, changedIn next: () throws -> Set<Int64>?) throws {
        var touched: [PatchId] = [], seen = Set<PatchId>(), anyFrame = false
        while let changed = try next() {
            let frames = try production.store.frameStandings(step: .processCcd, filter: filter, ids: changed)
            anyFrame = anyFrame || !frames.isEmpty
            // In the order the events are recorded in (that of the batch that first touches them), so
            // that their ids are what deriving each batch on its own gave.
            for patch in try patches(of: frames).sorted() where seen.insert(patch).inserted { touched.append(patch) }
        }
        guard anyFrame else { return }
        // A frame whose patches the store does not know (a store of before v14 whose frames were not all
        // placed yet) is in no patch's frames: then all is derived, which places it.
        if try production.store.hasFramesWithoutPatches(step: .processCcd, filter: filter, states: Self.placedStates) {
            return try derivePatches(step: step, filter: filter)
        }
        try derivePatches(step: step, filter: filter, patches: touched)
    }

    /// The patches `frames` touch; those of a frame the store had none for are found and kept.
    private func patches(of frames: [FrameStanding]) throws -> Set<PatchId> {
        var framePatches = FramePatches(production: production)
        var patches = Set<PatchId>()
        for frame in frames {
            patches.formUnion(try framePatches.patches(frameId: frame.frameId, footprint: frame.footprint, kept: frame.patches))
        }
        try framePatches.keep(in: production.store)
        return patches
    }

    /// Records the events of those of `patches` that are due — a frame on it ok, none awaited — with
    /// their ok frames as inputs, in the order given, `patchesAtOnce` patches at a time. Each patch's
    /// frames are a few numbers read from `frame_patch`, not footprints.
    private func derivePatches(step: Step, filter: Filter, patches: [PatchId]) throws {
        let store = production.store
        for start in stride(from: 0, to: patches.count, by: Self.patchesAtOnce) {
            let some = patches[start..<min(start + Self.patchesAtOnce, patches.count)]
            var due: [String: [Int64]] = [:]
            try store.forEachPatchOfFrames(step: .processCcd, filter: filter, patches: Set(some.map(\.description))) { key, ok, awaited in
                if !awaited, !ok.isEmpty { due[key] = ok }
            }
            let events = some.compactMap { patch in due[patch.description].map { DerivedEvent(key: patch.description, inputIds: $0) } }
            guard !events.isEmpty else { continue }
            try store.recordDerivedEvents(events, step: step, filter: filter)
        }
    }
}
