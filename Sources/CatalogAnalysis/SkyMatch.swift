import Basics
import Foundation

/// A position on the sky, ICRS degrees.
public struct SkyPosition: Sendable, Equatable {
    public var ra: Double
    public var dec: Double

    public init(ra: Double, dec: Double) {
        self.ra = ra
        self.dec = dec
    }

    /// The offset of `other` from this position in the tangent plane here, degrees: (ΔRA·cos Dec, ΔDec),
    /// ΔRA taken the short way round (an object at RA 359.9999 is 0.0002° from one at 0.0001).
    public func offset(to other: SkyPosition) -> (east: Double, north: Double) {
        let dRA = RightAscension.difference(other.ra - ra)
        return (dRA * cos((dec + other.dec) / 2 * .pi / 180), other.dec - dec)
    }
}

/// Positions indexed in declination zones (the zones algorithm of Gray, Nieto-Santisteban & Szalay,
/// which SDSS's own crossmatch uses): each position's key is its zone's number · 360 + its RA, the
/// keys sorted once, so that the positions within `radius` of any point are found by one binary
/// search per zone and RA range, never by a loop over all of them.
///
/// The zones are `radius` high, so a point's neighbours lie in its zone and the two beside it. In a
/// zone the RA half-width searched is `radius / cos |Dec|` at the zone's edge nearest the pole, and a
/// range that crosses RA 0/360 is searched as two; near a pole, where that width passes 180°, the
/// whole zone is. The search is therefore exact at any declination and across RA 0.
public struct ZoneIndex: Sendable {
    public let radius: Double
    private let keys: [Double]
    private let order: [Int32]

    /// Indexes positions for searches within `radius` degrees (> 0).
    public init(_ positions: [SkyPosition], radius: Double) {
        precondition(radius > 0, "a zone index needs a positive radius")
        self.radius = radius
        let unsorted: [Double] = positions.map { Self.key(zone: Self.zone($0.dec, radius), ra: RightAscension.turned($0.ra)) }
        let sorted: [Int32] = (0..<Int32(positions.count)).sorted { a, b in
            let ka = unsorted[Int(a)], kb = unsorted[Int(b)]
            return ka < kb || (ka == kb && a < b)
        }
        keys = sorted.map { unsorted[Int($0)] }
        order = sorted
    }

    /// Calls `body` with the index of every position that may lie within `radius` of `point` (each
    /// once; the caller measures the offsets).
    public func candidates(near point: SkyPosition, _ body: (Int) -> Void) {
        let ra = RightAscension.turned(point.ra)
        let low = Self.zone(point.dec - radius, radius), high = Self.zone(point.dec + radius, radius)
        let poleward = min(90, abs(point.dec) + 2 * radius)
        let cosine = cos(poleward * .pi / 180)
        let width = cosine > 0 ? radius / cosine : 360
        for zone in low...high {
            if width >= 180 {
                visit(zone, 0, 360, body)
            } else if ra - width < 0 {
                visit(zone, 0, ra + width, body)
                visit(zone, ra - width + 360, 360, body)
            } else if ra + width >= 360 {
                visit(zone, ra - width, 360, body)
                visit(zone, 0, ra + width - 360, body)
            } else {
                visit(zone, ra - width, ra + width, body)
            }
        }
    }

    private func visit(_ zone: Int, _ raLow: Double, _ raHigh: Double, _ body: (Int) -> Void) {
        let low = Self.key(zone: zone, ra: raLow), high = Self.key(zone: zone, ra: raHigh)
        var i = firstIndex(notBelow: low)
        while i < keys.count && keys[i] <= high {
            body(Int(order[i]))
            i += 1
        }
    }

    private func firstIndex(notBelow key: Double) -> Int {
        var low = 0, high = keys.count
        while low < high {
            let mid = (low + high) / 2
            if keys[mid] < key { low = mid + 1 } else { high = mid }
        }
        return low
    }

    private static func zone(_ dec: Double, _ height: Double) -> Int { Int(((dec + 90) / height).rounded(.down)) }
    /// A zone's keys span [zone·360, zone·360 + 360]: 361 keeps the next zone's apart.
    private static func key(zone: Int, ra: Double) -> Double { Double(zone) * 361 + ra }
}

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
