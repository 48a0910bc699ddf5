import Basics
import Foundation

/// One-to-one matching of two lists of positions within a box tolerance, nearest first.
public enum SkyMatch {
    /// A matched pair: indexes into the two lists and the catalog position's offset from the reference's.
    public struct Pair: Sendable, Equatable {
        public var reference: Int
        public var catalog: Int
        /// ΔRA·cos Dec and ΔDec, degrees (catalog − reference).
        public var east: Double
        public var north: Double
        public var separation: Double { (east * east + north * north).squareRoot() }
    }

    /// Matches each reference position to at most one catalog position and back: every pair within
    /// `tolerance` degrees on each axis (|ΔRA·cos Dec| and |ΔDec|, the seed's ±0.0005° box) that
    /// `accepts` (e.g. magnitudes within ±1) is a candidate; candidates are taken nearest first, and
    /// one whose reference or catalog position is already taken is dropped.
    ///
    /// - Returns: The pairs, ordered by reference index.
    public static func oneToOne(reference: [SkyPosition], catalog: [SkyPosition], tolerance: Double,
                                accepts: (_ reference: Int, _ catalog: Int) -> Bool = { _, _ in true }) -> [Pair] {
        let index = ZoneIndex(catalog, radius: tolerance * 2.0.squareRoot())
        var candidates: [Pair] = []
        for (r, position) in reference.enumerated() {
            index.candidates(near: position) { c in
                let (east, north) = position.offset(to: catalog[c])
                guard abs(east) <= tolerance, abs(north) <= tolerance, accepts(r, c) else { return }
                candidates.append(Pair(reference: r, catalog: c, east: east, north: north))
            }
        }
        candidates.sort { ($0.separation, $0.reference, $0.catalog) < ($1.separation, $1.reference, $1.catalog) }
        var referenceTaken = [Bool](repeating: false, count: reference.count)
        var catalogTaken = [Bool](repeating: false, count: catalog.count)
        var pairs: [Pair] = []
        for pair in candidates where !referenceTaken[pair.reference] && !catalogTaken[pair.catalog] {
            referenceTaken[pair.reference] = true
            catalogTaken[pair.catalog] = true
            pairs.append(pair)
        }
        return pairs.sorted { $0.reference < $1.reference }
    }
}
