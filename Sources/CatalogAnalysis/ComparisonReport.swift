import Basics
import Catalog
import Foundation
import Production
import Views

extension ProductionComparison {
    /// Compares two productions: the events of their state stores, and each table's sources in each
    /// filter of their catalogs.
    ///
    /// - Parameters:
    ///   - a: The first production's state store and catalog (the reference: an earlier release).
    ///   - b: The second's.
    ///   - tables: The catalog tables to compare.
    ///   - filters: The filters to compare.
    ///   - tolerance: How far apart, on each axis, in degrees, two productions' measurements of a source may be.
    public static func make(a: (store: StateStore, catalog: CatalogDatabase), b: (store: StateStore, catalog: CatalogDatabase),
                            tables: [CatalogSelection.Table], filters: [Filter], tolerance: Double) throws -> ProductionComparison {
        let (rows, changed) = outcomes(try a.store.eventResults(), try b.store.eventResults())
        var catalogs: [SourceComparison] = []
        for table in tables {
            let selection = CatalogSelection(table: table, area: .everywhere, filters: filters)
            let sourcesA = try Crossmatch.sources(of: selection, in: a.catalog), sourcesB = try Crossmatch.sources(of: selection, in: b.catalog)
            for filter in selection.selectedFilters {
                let inA = sourcesA.filter { $0.filter == filter }, inB = sourcesB.filter { $0.filter == filter }
                guard !inA.isEmpty || !inB.isEmpty else { continue }
                catalogs.append(SourceComparison(table: table, filter: filter, a: inA, b: inB, tolerance: tolerance))
            }
        }
        return ProductionComparison(outcomes: rows, changed: changed, catalogs: catalogs)
    }

    /// What makes a release fail the comparison.
    public struct Thresholds: Sendable, Equatable {
        /// The largest |median B/A − 1| of the bright sources' calibrated fluxes.
        public var fluxOffset = 0.005
        /// The largest median offset of the bright sources' positions, arcsec.
        public var positionOffset = 0.02
        /// The largest drop of a step and filter's ok fraction.
        public var okDrop = 0.001

        public init(fluxOffset: Double = 0.005, positionOffset: Double = 0.02, okDrop: Double = 0.001) {
            self.fluxOffset = fluxOffset
            self.positionOffset = positionOffset
            self.okDrop = okDrop
        }
    }

    /// Each threshold passed, one line each: empty when the comparison passes.
    public func violations(_ thresholds: Thresholds) -> [String] {
        var out: [String] = []
        for row in outcomes where row.okDrop > thresholds.okDrop {
            out.append(String(format: "%@ %@: the ok fraction dropped by %.2f %% (at most %.2f %%)", row.step, row.filter,
                              100 * row.okDrop, 100 * thresholds.okDrop))
        }
        for c in catalogs {
            if let offset = c.fluxOffset, abs(offset) > thresholds.fluxOffset {
                out.append(String(format: "%@ %@: the bright sources' flux B/A − 1 is %+.3f %% (at most ±%.3f %%)", c.table.rawValue,
                                  c.filter.rawValue, 100 * offset, 100 * thresholds.fluxOffset))
            }
            if let offset = c.positionOffset, offset > thresholds.positionOffset {
                out.append(String(format: "%@ %@: the bright sources moved by %.4f″ (at most %.4f″)", c.table.rawValue,
                                  c.filter.rawValue, offset, thresholds.positionOffset))
            }
        }
        return out
    }

    /// What `dcprod compare` prints: the outcomes side by side, the changed events (the first ten),
    /// then each table and filter.
    public var lines: [String] {
        var out = ["outcomes (A / B):"]
        for row in outcomes {
            let names = Set(row.a.keys).union(row.b.keys).sorted { ($0 == "ok" ? 0 : 1, $0) < ($1 == "ok" ? 0 : 1, $1) }
            let counts = names.map { "\($0) \(row.a[$0, default: 0]) / \(row.b[$0, default: 0])" }
            out.append("  \(row.step) \(row.filter): events \(row.totalA) / \(row.totalB), " + counts.joined(separator: ", "))
        }
        out.append("events whose outcome changed: \(changed.count)")
        for event in changed.prefix(10) {
            out.append("  \(event.step) \(event.filter) \(event.key): \(event.a ?? "absent") → \(event.b ?? "absent")")
        }
        if changed.count > 10 { out.append("  … (all in changed-events.csv)") }
        out.append("sources (A / B; the bright ones: S/N > 50 in A):")
        for c in catalogs {
            var line = "  \(c.table.rawValue) \(c.filter.rawValue): \(c.countA) / \(c.countB), matched \(c.pairs.count), "
                + "only in A \(c.onlyA), only in B \(c.onlyB)"
            if let flux = c.fluxOffset, let scatter = c.fluxScatter, let moved = c.positionOffset, let spread = c.positionScatter {
                line += String(format: "; %d bright: flux B/A − 1 median %+.3f %% scatter %.3f %%, position offset %.4f″ scatter %.4f″",
                               c.bright().count, 100 * flux, 100 * scatter, moved, spread)
            }
            out.append(line)
            let bins = c.byMagnitude().map { String(format: "%.0f–%.0f %+.2f ± %.2f %% (%d)", $0.magnitude - 0.5, $0.magnitude + 0.5, 100 * $0.median, 100 * $0.scatter, $0.count) }
            if !bins.isEmpty { out.append("    flux B/A − 1 by magnitude: " + bins.joined(separator: ", ")) }
        }
        return out
    }

    /// Writes `changed-events.csv` and a page of control plots per table (`compare-TABLE.svg`) into
    /// `directory`; returns their paths.
    public func write(to directory: URL) throws -> [URL] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var csv = CSVText(header: "step,filter,key,a,b")
        for event in changed {
            csv.row { row in
                row.text(event.step); row.text(event.filter); row.text(event.key); row.text(event.a ?? ""); row.text(event.b ?? "")
            }
        }
        let events = directory.appendingPathComponent("changed-events.csv")
        try AtomicFile.write(Data(csv.text.utf8), to: events)
        var files = [events]
        for table in CatalogSelection.Table.allCases {
            let figures = catalogs.filter { $0.table == table }.flatMap(Self.figures)
            guard !figures.isEmpty else { continue }
            let file = directory.appendingPathComponent("compare-\(table.rawValue).svg")
            try AtomicFile.write(Data(Figure.stacked(figures).utf8), to: file)
            files.append(file)
        }
        return files
    }

    /// B/A − 1 of the flux against A's magnitude, with the bins' medians; the position offsets against it.
    static func figures(_ c: SourceComparison) -> [String] {
        let name = "\(c.table.rawValue) \(c.filter.rawValue)"
        let medians = c.byMagnitude().map { (x: $0.magnitude, y: 100 * $0.median) }
        return [
            Figure.scatter(title: "\(name): flux of B over A's, − 1", xAxis: "magnitude in A", yAxis: "B/A − 1 (%)",
                           series: [.init(label: "pairs", color: "#4c78a8", points: c.pairs.map { ($0.magnitude, 100 * $0.fluxOffset) }),
                                    .init(label: "median of the bin", color: "#d62728", points: medians, joined: true)],
                           yRange: -5...5),
            Figure.scatter(title: "\(name): position of B from A's", xAxis: "magnitude in A", yAxis: "offset (arcsec)",
                           series: [.init(label: "ΔRA·cos Dec", color: "#4c78a8", points: c.pairs.map { ($0.magnitude, $0.east) }),
                                    .init(label: "ΔDec", color: "#f58518", points: c.pairs.map { ($0.magnitude, $0.north) })],
                           yRange: -0.5...0.5),
        ]
    }
}
