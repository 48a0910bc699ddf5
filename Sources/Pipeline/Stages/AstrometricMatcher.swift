import Foundation

/// The astrometric matching stage's pure part, in pixels: the coarse shift between the detections
/// and the reference objects projected through the header's WCS, and the nearest-neighbour match.
///
/// The shift is voted for, as in the "offset histogram" matchers (LSST's `matchOptimisticB` without
/// the rotation search; Tabur 2007 for the pattern voting it simplifies): every pair of a bright
/// detection and a reference closer than `radius` on both axes votes for its offset in a 2-D
/// histogram of `bin`-pixel bins; the offset is the mean of the pairs in the 3 × 3 bins with the
/// most votes, which a pointing error of the header moves as a whole and chance pairs do not.
/// The match then pairs each detection, in order, with its nearest unused reference within a
/// radius (greedy, as LSST's `DirectMatchTask` after its shift).
enum AstrometricMatcher {
    /// A pixel position.
    typealias Point = (x: Double, y: Double)

    /// The reference-minus-detection offset most detections agree on, and how many pairs voted
    /// for it; nil when no pair is within `radius`.
    static func votedShift(from detections: [Point], to references: [Point], radius: Double, bin: Double) -> (dx: Double, dy: Double, votes: Int)? {
        let n = Int((radius / bin).rounded(.up))
        let side = 2 * n + 1
        var histogram = [[(Double, Double)]](repeating: [], count: side * side)
        for d in detections {
            for r in references {
                let dx = r.x - d.x, dy = r.y - d.y
                guard abs(dx) <= radius, abs(dy) <= radius else { continue }
                let i = Int((dx / bin).rounded()) + n, j = Int((dy / bin).rounded()) + n
                histogram[j * side + i].append((dx, dy))
            }
        }
        /// The bins around (i, j), clipped to the histogram.
        func neighbourhood(_ i: Int, _ j: Int) -> [Int] {
            (max(0, j - 1)...min(side - 1, j + 1)).flatMap { b in (max(0, i - 1)...min(side - 1, i + 1)).map { a in b * side + a } }
        }
        var best: (count: Int, i: Int, j: Int) = (0, 0, 0)
        for j in 0..<side {
            for i in 0..<side {
                let count = neighbourhood(i, j).reduce(0) { $0 + histogram[$1].count }
                if count > best.count { best = (count, i, j) }
            }
        }
        guard best.count > 0 else { return nil }
        var sx = 0.0, sy = 0.0, count = 0
        for k in neighbourhood(best.i, best.j) {
            for (dx, dy) in histogram[k] { sx += dx; sy += dy; count += 1 }
        }
        return (sx / Double(count), sy / Double(count), best.count)
    }

    /// For each position in order, the index of its nearest reference within `radius` pixels not
    /// taken by an earlier one: (position index, reference index) pairs.
    static func nearest(_ positions: [Point], _ references: [Point], radius: Double) -> [(position: Int, reference: Int)] {
        var used = Set<Int>()
        var out: [(position: Int, reference: Int)] = []
        for (k, p) in positions.enumerated() {
            var best: (index: Int, d2: Double)?
            for (i, r) in references.enumerated() where !used.contains(i) {
                let d2 = (r.x - p.x) * (r.x - p.x) + (r.y - p.y) * (r.y - p.y)
                if d2 <= radius * radius, d2 < (best?.d2 ?? .infinity) { best = (i, d2) }
            }
            guard let best else { continue }
            used.insert(best.index)
            out.append((k, best.index))
        }
        return out
    }

    /// The matches of measured sources at FITS pixels `pixels` to references at `referencePixels`,
    /// with the reference's magnitude in the filter of index `filter`.
    static func match(_ measurements: [Measurement], _ pixels: [Point], _ referencePixels: [Point],
                      _ references: [ReferenceCatalog.Entry], filter: Int, radius: Double) -> [Match] {
        nearest(pixels, referencePixels, radius: radius).map { pair in
            let (p, ref, m) = (pixels[pair.position], references[pair.reference], measurements[pair.position])
            return Match(x: p.x, y: p.y, ra: ref.ra, dec: ref.dec, referenceMagnitude: ref.magnitudes[filter],
                         referenceError: ref.errors?[filter] ?? 0, isStar: ref.isStar, instrumentalFlux: m.psfFlux, signalToNoise: m.signalToNoise,
                         centroidVariance: m.positionVariance)
        }
    }
}
