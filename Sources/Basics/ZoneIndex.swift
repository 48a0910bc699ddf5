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
    /// The positions, as given: `near`, `nearest` and the box query measure against them.
    public let positions: [SkyPosition]
    private let keys: [Double]
    private let order: [Int32]

    /// Indexes positions for searches within `radius` degrees (> 0).
    public init(_ positions: [SkyPosition], radius: Double) {
        precondition(radius > 0, "a zone index needs a positive radius")
        self.radius = radius
        self.positions = positions
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

    /// The positions within `distance` degrees (at most `radius`) of `point`, nearest first (ties by
    /// index), with their squared distances: in the plane tangent at `point`, (ΔRA·cos Dec, ΔDec), ΔRA
    /// the short way round.
    public func near(_ point: SkyPosition, within distance: Double) -> [(index: Int, d2: Double)] {
        precondition(distance <= radius, "a zone index finds positions within its radius")
        let scale = cos(point.dec * .pi / 180)
        var out: [(index: Int, d2: Double)] = []
        candidates(near: point) { k in
            let dx = RightAscension.difference(positions[k].ra - point.ra) * scale, dy = positions[k].dec - point.dec
            let d2 = dx * dx + dy * dy
            if d2 <= distance * distance { out.append((k, d2)) }
        }
        return out.sorted { ($0.d2, $0.index) < ($1.d2, $1.index) }
    }

    /// The index of the position nearest `point` within `distance` degrees (at most `radius`), nil when none is.
    public func nearest(_ point: SkyPosition, within distance: Double) -> Int? {
        near(point, within: distance).first?.index
    }

    /// The indices of the positions inside a box of RA and Dec (degrees), in their order. The RA range
    /// runs from its lower bound eastwards and may pass 360 (or start below 0): 359.9...360.1 crosses RA 0.
    public func indices(inRA ra: ClosedRange<Double>, dec: ClosedRange<Double>) -> [Int] {
        let width = ra.upperBound - ra.lowerBound, start = RightAscension.turned(ra.lowerBound)
        var out: [Int] = []
        func take(_ k: Int) {
            let p = positions[k]
            if dec.contains(p.dec) && (width >= 360 || RightAscension.turned(p.ra - start) <= width) { out.append(k) }
        }
        for zone in Self.zone(dec.lowerBound, radius)...Self.zone(dec.upperBound, radius) {
            if width >= 360 {
                visit(zone, 0, 360, take)
            } else if start + width > 360 {
                visit(zone, start, 360, take)
                visit(zone, 0, start + width - 360, take)
            } else {
                visit(zone, start, start + width, take)
            }
        }
        return out.sorted()
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
