import Basics
import Foundation

extension CatalogQuality {
    /// Found over total.
    public struct Fraction: Sendable, Equatable {
        public var found = 0
        public var total = 0

        public var value: Double? { total > 0 ? Double(found) / Double(total) : nil }

        mutating func count(_ isFound: Bool) {
            total += 1
            if isFound { found += 1 }
        }

        /// "62 % of 150", or "– of 0".
        var text: String { value.map { String(format: "%.0f %% of %d", 100 * $0, total) } ?? "– of 0" }
    }

    /// One bin of the completeness curve: expected S/N in `range`.
    public struct CompletenessBin: Sendable {
        public var range: Range<Double>
        public var stars = Fraction()
        public var all = Fraction()
    }

    /// The completeness curve of one filter's samples, by expected S/N (`config.binEdges`).
    ///
    /// With `coverage` (a coadd's calexps), an object counts only where some calexp lies, and its
    /// expected S/N is scaled by √(n / n₀), n the calexps over it and n₀ the median over the file's
    /// sources: a coadd is shallower where fewer frames overlap, which one noise model cannot say.
    public func completeness(_ samples: [Sample], filterId: Int, coverage: [Footprint]? = nil) -> [CompletenessBin] {
        let edges = config.binEdges
        var bins = zip(edges, edges.dropFirst()).map { CompletenessBin(range: $0..<$1) }
        let radius = config.radius / 3600, margin = config.edgeMargin / 3600
        func depth(_ ra: Double, _ dec: Double) -> Int { coverage?.filter { $0.contains(ra, dec, margin: margin) }.count ?? 1 }
        for sample in samples where sample.filterId == filterId {
            let detected = ZoneIndex(sample.sources.map { SkyPosition(ra: $0.ra, dec: $0.dec) }, radius: TruthComparison.searchRadius)
            let typical = coverage == nil ? 1 : max(1, RobustStatistics.median(sample.sources.map { Float(depth($0.ra, $0.dec)) }))
            for k in objectIndices(in: sample.footprint, margin: margin) {
                let object = objects[k], n = depth(object.ra, object.dec)
                guard n > 0 else { continue }
                let snr = sample.expectedSignalToNoise(object) * (Double(n) / typical).squareRoot()
                guard let b = bins.firstIndex(where: { $0.range.contains(snr) }) else { continue }
                let found = detected.nearest(SkyPosition(ra: object.ra, dec: object.dec), within: radius) != nil
                bins[b].all.count(found)
                if object.isStar { bins[b].stars.count(found) }
            }
        }
        return bins
    }

    /// The objects inside a footprint, at least `margin` degrees from its edges.
    func objectIndices(in footprints: [Footprint], margin: Double) -> [Int] {
        guard let footprint = footprints.first else { return [] }
        let box = footprint.box
        return index.indices(inRA: box.ra, dec: box.dec).filter { footprint.contains(objects[$0].ra, objects[$0].dec, margin: margin) }
    }

    /// The S/N where a completeness curve first rises through 50 %, interpolated between the bins'
    /// middles; nil when it never does.
    public static func halfCompleteness(_ bins: [CompletenessBin], stars: Bool) -> Double? {
        let points = bins.compactMap { bin -> (snr: Double, value: Double)? in
            guard let value = (stars ? bin.stars : bin.all).value, bin.range.upperBound < 1e6 else { return nil }
            return ((bin.range.lowerBound + bin.range.upperBound) / 2, value)
        }
        if let first = points.first, first.value >= 0.5 { return first.snr }
        for (a, b) in zip(points, points.dropFirst()) where a.value < 0.5 && b.value >= 0.5 {
            return a.snr + (b.snr - a.snr) * (0.5 - a.value) / (b.value - a.value)
        }
        return nil
    }

    /// Of one filter's sources with measured S/N above `config.puritySignalToNoise`, those within
    /// the match radius of a truth object the file could see.
    public func purity(_ samples: [Sample], filterId: Int) -> Fraction {
        var out = Fraction()
        let radius = config.radius / 3600
        for sample in samples where sample.filterId == filterId {
            for source in sample.sources where source.signalToNoise > config.puritySignalToNoise {
                let near = objects(near: source.ra, source.dec, within: radius)
                out.count(near.contains { sample.expectedSignalToNoise(objects[$0.index]) >= config.visibleSignalToNoise })
            }
        }
        return out
    }

    /// Of one filter's sources with S/N above `config.starGalaxySignalToNoise` and an
    /// `extendedness`, matched to the nearest visible truth object: stars and galaxies called right.
    /// Nil when no file has the column.
    public func starGalaxy(_ samples: [Sample], filterId: Int) -> (stars: Fraction, galaxies: Fraction)? {
        var stars = Fraction(), galaxies = Fraction(), any = false
        let radius = config.radius / 3600
        for sample in samples where sample.filterId == filterId {
            for source in sample.sources where source.signalToNoise > config.starGalaxySignalToNoise {
                guard let extendedness = source.extendedness else { continue }
                any = true
                guard let match = objects(near: source.ra, source.dec, within: radius)
                    .first(where: { sample.expectedSignalToNoise(objects[$0.index]) >= config.visibleSignalToNoise }) else { continue }
                if objects[match.index].isStar { stars.count(extendedness < 0.5) } else { galaxies.count(extendedness >= 0.5) }
            }
        }
        return any ? (stars, galaxies) : nil
    }

    /// The lines of each filter measured: completeness, purity and star/galaxy accuracy.
    public func lines(_ samples: [Sample], coverage: [Int: [Footprint]]? = nil) -> [Filter: [String]] {
        var out: [Filter: [String]] = [:]
        for filter in Filter.allCases where samples.contains(where: { $0.filterId == filter.filterId }) {
            let bins = completeness(samples, filterId: filter.filterId, coverage: coverage.map { $0[filter.filterId] ?? [] })
            let reported = bins.filter { config.reportedBin.contains($0.range.lowerBound) }
            let stars = reported.reduce(into: Fraction()) { $0.found += $1.stars.found; $0.total += $1.stars.total }
            let all = reported.reduce(into: Fraction()) { $0.found += $1.all.found; $0.total += $1.all.total }
            let half = [true, false].map { Self.halfCompleteness(bins, stars: $0).map { String(format: "%.1f", $0) } ?? "–" }
            let bin = config.reportedBin
            var lines = [String(format: "completeness at S/N %g–%g: stars %@, all %@; 50 %% at S/N %@ (stars), %@ (all)",
                                bin.lowerBound, bin.upperBound, stars.text, all.text, half[0], half[1])]
            lines.append(String(format: "purity at S/N > %g: %@ within %g″ of a true object",
                                config.puritySignalToNoise, purity(samples, filterId: filter.filterId).text, config.radius))
            if let (s, g) = starGalaxy(samples, filterId: filter.filterId) {
                let right = Fraction(found: s.found + g.found, total: s.total + g.total)
                lines.append(String(format: "star/galaxy at S/N > %g: %@ right (stars %@, galaxies %@)",
                                    config.starGalaxySignalToNoise, right.text, s.text, g.text))
            }
            out[filter] = lines
        }
        return out
    }
}
