import Basics
import Catalog
import Foundation
import Production

/// Two productions of the same sky side by side — two software releases, configs or sites — as the
/// DESC reprocessing wanted to "systematically test the weeklies": what their steps made of the same
/// events, and how their catalogs' sources differ, with thresholds that make a release gate of it.
public struct ProductionComparison: Sendable {
    /// One step and filter: each outcome's count in the two productions.
    public struct OutcomeRow: Sendable, Equatable {
        public var step: String
        public var filter: String
        /// Outcome (`ok`, a failure class, `planned`, …) → events, in A and in B.
        public var a: [String: Int]
        public var b: [String: Int]

        public var totalA: Int { a.values.reduce(0, +) }
        public var totalB: Int { b.values.reduce(0, +) }
        /// The ok fraction of B below A's (positive when B did worse).
        public var okDrop: Double {
            func fraction(_ counts: [String: Int], _ total: Int) -> Double { total == 0 ? 0 : Double(counts["ok", default: 0]) / Double(total) }
            return fraction(a, totalA) - fraction(b, totalB)
        }
    }

    /// An event whose outcome is not the same in both (or that only one has).
    public struct ChangedEvent: Sendable, Equatable {
        public var step: String
        public var filter: String
        public var key: String
        /// Its outcome in A and in B; nil where that production has no such event.
        public var a: String?
        public var b: String?
    }

    public var outcomes: [OutcomeRow]
    public var changed: [ChangedEvent]
    public var catalogs: [SourceComparison]

    /// Compares the events of two state stores.
    public static func outcomes(_ a: [EventResult], _ b: [EventResult]) -> (rows: [OutcomeRow], changed: [ChangedEvent]) {
        struct Key: Hashable { var step, filter, key: String }
        var rows: [String: OutcomeRow] = [:]
        var byKey: [Key: (a: String?, b: String?)] = [:]
        for (side, events) in [(0, a), (1, b)] {
            for e in events {
                let id = "\(e.step)\u{0}\(e.filter)"
                var row = rows[id] ?? OutcomeRow(step: e.step, filter: e.filter, a: [:], b: [:])
                if side == 0 { row.a[e.outcome, default: 0] += 1 } else { row.b[e.outcome, default: 0] += 1 }
                rows[id] = row
                let key = Key(step: e.step, filter: e.filter, key: e.key)
                if side == 0 { byKey[key, default: (nil, nil)].a = e.outcome } else { byKey[key, default: (nil, nil)].b = e.outcome }
            }
        }
        let order = Step.allCases.map(\.rawValue)
        let sortedRows = rows.values.sorted {
            (order.firstIndex(of: $0.step) ?? order.count, Self.filterOrder($0.filter)) < (order.firstIndex(of: $1.step) ?? order.count, Self.filterOrder($1.filter))
        }
        let changed = byKey.filter { $0.value.a != $0.value.b }
            .map { ChangedEvent(step: $0.key.step, filter: $0.key.filter, key: $0.key.key, a: $0.value.a, b: $0.value.b) }
            .sorted { ($0.step, Self.filterOrder($0.filter), $0.key) < ($1.step, Self.filterOrder($1.filter), $1.key) }
        return (sortedRows, changed)
    }

    static func filterOrder(_ name: String) -> Int { Filter(rawValue: name)?.filterId ?? 9 }
}

/// One catalog table in one filter of two productions: their sources matched one-to-one by position
/// within each coadd or exposure, and how the matched ones differ.
public struct SourceComparison: Sendable {
    public var table: CatalogSelection.Table
    public var filter: Filter
    public var countA: Int
    public var countB: Int
    /// For each matched pair: A's magnitude and S/N, B − A in magnitude, and B's offset from A in arcsec.
    public var pairs: [Pair]

    public struct Pair: Sendable, Equatable {
        public var magnitude: Double
        public var signalToNoise: Double
        /// Calibrated flux of B over A's, minus 1.
        public var fluxOffset: Double
        public var east: Double
        public var north: Double
    }

    /// The sources of A that B has not, and those of B that A has not.
    public var onlyA: Int { countA - pairs.count }
    public var onlyB: Int { countB - pairs.count }

    /// Matches the sources of two productions, within each coadd or exposure (`Source.group`).
    public init(table: CatalogSelection.Table, filter: Filter, a: [Crossmatch.Source], b: [Crossmatch.Source], tolerance: Double) {
        self.table = table
        self.filter = filter
        countA = a.count
        countB = b.count
        let groupsB = Dictionary(grouping: b.indices, by: { b[$0].group })
        var pairs: [Pair] = []
        for (group, indicesA) in Dictionary(grouping: a.indices, by: { a[$0].group }) {
            guard let indicesB = groupsB[group] else { continue }
            let matched = SkyMatch.oneToOne(reference: indicesA.map { a[$0].position }, catalog: indicesB.map { b[$0].position },
                                            tolerance: tolerance)
            for pair in matched {
                let sa = a[indicesA[pair.reference]], sb = b[indicesB[pair.catalog]]
                guard let ma = sa.magnitude, let mb = sb.magnitude, let flux = sa.flux, let sigma = sa.fluxSigma, sigma > 0 else { continue }
                pairs.append(Pair(magnitude: ma, signalToNoise: flux / sigma, fluxOffset: pow(10, -0.4 * (mb - ma)) - 1,
                                  east: pair.east * 3600, north: pair.north * 3600))
            }
        }
        self.pairs = pairs.sorted { $0.magnitude < $1.magnitude }
    }

    /// The pairs of S/N above `minimum` in A: those whose comparison is not dominated by noise.
    public func bright(_ minimum: Double = 50) -> [Pair] { pairs.filter { $0.signalToNoise > minimum } }

    /// Median of B/A − 1 over the bright pairs; nil without any.
    public var fluxOffset: Double? { Statistics.median(bright().map(\.fluxOffset)) }
    /// Robust scatter (1.4826 MAD) of B/A − 1 over the bright pairs.
    public var fluxScatter: Double? { Statistics.robustSigma(bright().map(\.fluxOffset)) }
    /// The median offset of B's positions from A's over the bright pairs, arcsec (its length).
    public var positionOffset: Double? {
        let b = bright()
        guard let east = Statistics.median(b.map(\.east)), let north = Statistics.median(b.map(\.north)) else { return nil }
        return (east * east + north * north).squareRoot()
    }
    /// Robust scatter of the bright pairs' offsets on each axis, arcsec.
    public var positionScatter: Double? {
        let b = bright()
        guard let east = Statistics.robustSigma(b.map(\.east)), let north = Statistics.robustSigma(b.map(\.north)) else { return nil }
        return ((east * east + north * north) / 2).squareRoot()
    }

    /// By magnitude bins of `width`: the bin's centre, pairs, median and robust scatter of B/A − 1.
    public func byMagnitude(width: Double = 1) -> [(magnitude: Double, count: Int, median: Double, scatter: Double)] {
        let bins = Dictionary(grouping: pairs, by: { Int(($0.magnitude / width).rounded(.down)) })
        return bins.keys.sorted().compactMap { bin in
            let offsets = bins[bin]!.map(\.fluxOffset)
            guard let median = Statistics.median(offsets), let scatter = Statistics.robustSigma(offsets) else { return nil }
            return ((Double(bin) + 0.5) * width, offsets.count, median, scatter)
        }
    }
}
