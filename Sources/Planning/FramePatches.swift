import Foundation
import Production
import Sky

/// The sky map patches of frames. Inventory finds them with wcslib once, when it records a frame, and
/// the state store keeps them (`frame.patches`); coadd planning, `--by-patch` bundles and the forecast
/// read them from there — 313,000 frames a filter at DC2013's size, each asked of wcslib only once in a
/// production's life. A frame the store has no patches for (one recorded before schema v14) has them
/// found now; a writer then keeps them (`keep(in:)`), a reader only uses them.
public struct FramePatches {
    /// The sky map, once a frame's patches had to be found.
    private var map: SkyMap?
    /// Reads the sky map: only when a frame's patches are not kept, so that planning what changed
    /// reads no sky map file when the store knows every patch.
    private let load: () throws -> SkyMap
    /// The patches found here for frames the store had none for, by frame id, as the store keeps them.
    public private(set) var found: [Int64: String] = [:]

    public init(map: SkyMap) {
        self.map = map
        load = { map }
    }

    /// Patches of a production's frames, its sky map (`SkyMap.of`) read the first time one is not kept.
    public init(production: Production) {
        load = { try SkyMap.of(production) }
    }

    /// The patches of the frame `frameId` with `footprint`: `kept`, the store's text, when there is one.
    ///
    /// - Throws: `WCSError` when the patches must be found and wcslib cannot project the footprint; the
    ///   sky map's error when it must be read and cannot.
    public mutating func patches(frameId: Int64, footprint: [(ra: Double, dec: Double)], kept: String?) throws -> [PatchId] {
        if let kept, let patches = Self.patches(kept) { return patches }
        let map = try map ?? load()
        self.map = map
        let patches = try map.patches(touching: footprint)
        found[frameId] = Self.text(patches)
        return patches
    }

    /// Keeps in the store the patches found here, and forgets them.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be written.
    public mutating func keep(in store: StateStore) throws {
        try store.recordFramePatches(found)
        found = [:]
    }

    /// The store's text of a frame's patches: their keys (`0-380,5`), space-separated; empty for none.
    public static func text(_ patches: [PatchId]) -> String {
        patches.map(\.description).joined(separator: " ")
    }

    /// The patches of the store's text; nil when a word of it is not a patch key.
    public static func patches(_ text: String) -> [PatchId]? {
        var patches: [PatchId] = []
        for word in text.split(separator: " ") {
            guard let patch = PatchId(key: String(word)) else { return nil }
            patches.append(patch)
        }
        return patches
    }

    /// Finds and keeps the patches of every frame the store has none for (frames recorded before
    /// schema v14), a thousand at a time. A frame wcslib cannot place keeps none; planning names it.
    ///
    /// - Returns: The frames whose patches were found.
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read or written; the sky map's
    ///   error when it cannot be read.
    public static func fill(in production: Production) throws -> Int {
        try fill(in: production.store, map: SkyMap.of(production))
    }

    /// `fill(in:)` with the sky map given.
    public static func fill(in store: StateStore, map: SkyMap) throws -> Int {
        var after: Int64 = 0, count = 0
        while true {
            let frames = try store.framesWithoutPatches(after: after, limit: 1000)
            guard let last = frames.last else { return count }
            var found: [Int64: String] = [:]
            for frame in frames {
                if let patches = try? map.patches(touching: frame.footprint) { found[frame.frameId] = text(patches) }
            }
            try store.recordFramePatches(found)
            count += found.count
            after = last.frameId
        }
    }
}
