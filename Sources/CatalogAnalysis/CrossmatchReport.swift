import Basics
import Foundation
import Views

extension Crossmatch.Result {
    /// The fraction of reference objects matched, in bins of `width` magnitudes: (bin centre, fraction, count).
    public func completeness(width: Double = 0.5, starsOnly: Bool = false) -> [(magnitude: Double, fraction: Double, count: Int)] {
        var bins: [Int: (found: Int, all: Int)] = [:]
        for (index, object) in reference.enumerated() where !starsOnly || object.isStar == true {
            guard let m = object.magnitude(in: filter) else { continue }
            let bin = Int((m / width).rounded(.down))
            bins[bin, default: (0, 0)].all += 1
            if isReferenceMatched[index] { bins[bin, default: (0, 0)].found += 1 }
        }
        return bins.keys.sorted().map { bin in
            let b = bins[bin]!
            return ((Double(bin) + 0.5) * width, Double(b.found) / Double(b.all), b.all)
        }
    }

    /// Matched over all, of the reference objects brighter than `magnitude` by three times their
    /// magnitude's error where the reference gives one (so that a faint u star whose reference magnitude
    /// is 1.5 mag too bright is not counted as missed), stars only when asked and known.
    public func matchedFraction(brighterThan magnitude: Double, starsOnly: Bool = false) -> (matched: Int, total: Int) {
        var total = 0, found = 0
        for (index, object) in reference.enumerated() where !starsOnly || object.isStar == true {
            guard let m = object.magnitude(in: filter), m + 3 * (object.magnitudeError(in: filter) ?? 0) < magnitude else { continue }
            total += 1
            if isReferenceMatched[index] { found += 1 }
        }
        return (found, total)
    }

    /// What `dcprod crossmatch` prints for the filter: the seed's three counts, then the completeness
    /// above the catalog's 5σ limit and the pairs' offsets.
    public var lines: [String] {
        let unmatched = unmatchedReference.prefix(1)
        let unmatchedCount = reference.count - pairs.count
        let percent = reference.isEmpty ? "–" : String(format: "%.1f %%", 100 * Double(pairs.count) / Double(reference.count))
        var out = ["filter \(filter.rawValue):",
                   "reference objects in the region: \(reference.count)",
                   "catalog sources matched (unique): \(pairs.count) (\(percent))"]
        let first = unmatched.map { i -> String in
            let o = reference[i]
            return String(format: "first: ra %.6f dec %.6f mag %.2f, …", o.position.ra, o.position.dec, o.magnitude(in: filter) ?? .nan)
        }
        out.append("reference objects unmatched: \(unmatchedCount)" + (first.isEmpty ? "" : " (\(first[0]))"))
        out.append("catalog sources unmatched: \(sources.count - pairs.count) of \(sources.count)")
        if referenceWithoutMagnitude > 0 {
            out.append("reference objects in the region without a \(filter.rawValue) magnitude (left out): \(referenceWithoutMagnitude)")
        }
        if let limit = fiveSigmaLimit {
            let all = matchedFraction(brighterThan: limit), stars = matchedFraction(brighterThan: limit, starsOnly: true)
            var line = String(format: "surely brighter than the catalog's 5σ limit (%.2f, by 3σ of the reference): %@ matched", limit, Self.fraction(all))
            if stars.total > 0 { line += ", stars \(Self.fraction(stars))" }
            out.append(line)
        }
        if !pairs.isEmpty {
            let east = pairs.map { $0.east * 3600 }, north = pairs.map { $0.north * 3600 }
            out.append(String(format: "offsets (catalog − reference): ΔRA·cos Dec median %+.3f″ rms %.3f″, ΔDec median %+.3f″ rms %.3f″",
                              Statistics.median(east) ?? .nan, Self.rms(east), Statistics.median(north) ?? .nan, Self.rms(north)))
        }
        return out
    }

    static func fraction(_ f: (matched: Int, total: Int)) -> String {
        f.total == 0 ? "0 of 0" : String(format: "%d of %d (%.1f %%)", f.matched, f.total, 100 * Double(f.matched) / Double(f.total))
    }

    static func rms(_ values: [Double]) -> Double {
        values.isEmpty ? .nan : (values.reduce(0) { $0 + $1 * $1 } / Double(values.count)).squareRoot()
    }
}

/// The files a crossmatch writes for a filter, in one directory: the matched pairs and both unmatched
/// lists as CSV, and the control plots as one SVG.
public struct CrossmatchFiles: Sendable {
    public var matched: URL
    public var unmatchedReference: URL
    public var unmatchedSources: URL
    public var figure: URL

    /// Writes them (each to a temporary name, then renamed).
    ///
    /// - Parameters:
    ///   - result: The filter's crossmatch.
    ///   - directory: Where; made if missing.
    ///   - idColumn: The catalog table's key column, for the CSV headers.
    public static func write(_ result: Crossmatch.Result, to directory: URL, idColumn: String) throws -> CrossmatchFiles {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let f = result.filter.rawValue
        let files = CrossmatchFiles(matched: directory.appendingPathComponent("matched-\(f).csv"),
                                    unmatchedReference: directory.appendingPathComponent("unmatched-reference-\(f).csv"),
                                    unmatchedSources: directory.appendingPathComponent("unmatched-catalog-\(f).csv"),
                                    figure: directory.appendingPathComponent("crossmatch-\(f).svg"))
        try AtomicFile.write(Data(matchedText(result, idColumn: idColumn).utf8), to: files.matched)
        var reference = CSVText(header: "referenceId,ra,decl,mag,isStar")
        for i in result.unmatchedReference {
            let o = result.reference[i]
            reference.row { row in
                row.text(o.id); row.position(o.position); row.fixed(o.magnitude(in: result.filter), 4)
                row.text(o.isStar.map { $0 ? "1" : "0" } ?? "")
            }
        }
        try AtomicFile.write(Data(reference.text.utf8), to: files.unmatchedReference)
        var sources = CSVText(header: "\(idColumn),ra,decl,mag,psfFlux,psfFluxSigma")
        for i in result.unmatchedSources {
            let s = result.sources[i]
            sources.row { row in
                row.text(s.id); row.position(s.position); row.fixed(s.magnitude, 4); row.number(s.flux); row.number(s.fluxSigma)
            }
        }
        try AtomicFile.write(Data(sources.text.utf8), to: files.unmatchedSources)
        try AtomicFile.write(Data(figure(result).utf8), to: files.figure)
        return files
    }

    static func matchedText(_ result: Crossmatch.Result, idColumn: String) -> String {
        var csv = CSVText(header: "referenceId,referenceRa,referenceDecl,referenceMag,\(idColumn),ra,decl,mag,psfFlux,psfFluxSigma,dRaCosDecl,dDecl,dMag")
        for pair in result.pairs {
            let o = result.reference[pair.reference], s = result.sources[pair.catalog]
            let reference = o.magnitude(in: result.filter)
            csv.row { row in
                row.text(o.id); row.position(o.position); row.fixed(reference, 4)
                row.text(s.id); row.position(s.position); row.fixed(s.magnitude, 4); row.number(s.flux); row.number(s.fluxSigma)
                row.fixed(pair.east * 3600, 4); row.fixed(pair.north * 3600, 4)
                row.fixed(s.magnitude.flatMap { m in reference.map { m - $0 } }, 4)
            }
        }
        return csv.text
    }

    /// ΔRA·cos Dec against ΔDec, Δmag against the reference's magnitude, and the completeness against it.
    static func figure(_ result: Crossmatch.Result) -> String {
        let f = result.filter.rawValue, limit = 3600 * 0.0005
        let offsets = result.pairs.map { (x: $0.east * 3600, y: $0.north * 3600) }
        let magnitudes = result.pairs.compactMap { pair -> (x: Double, y: Double)? in
            guard let ref = result.reference[pair.reference].magnitude(in: result.filter), let m = result.sources[pair.catalog].magnitude else { return nil }
            return (ref, m - ref)
        }
        var curves = [Figure.PointSeries(label: "all", color: "#4c78a8", points: result.completeness().map { ($0.magnitude, $0.fraction) }, joined: true)]
        let stars = result.completeness(starsOnly: true)
        if !stars.isEmpty { curves.append(Figure.PointSeries(label: "stars", color: "#d62728", points: stars.map { ($0.magnitude, $0.fraction) }, joined: true)) }
        return Figure.stacked([
            Figure.scatter(title: "\(f): position offsets of the matched pairs", xAxis: "ΔRA·cos Dec (arcsec)", yAxis: "ΔDec (arcsec)",
                           series: [.init(label: "pairs", color: "#4c78a8", points: offsets)], xRange: -limit...limit, yRange: -limit...limit),
            Figure.scatter(title: "\(f): catalog − reference magnitude", xAxis: "reference \(f) (mag)", yAxis: "Δmag",
                           series: [.init(label: "pairs", color: "#4c78a8", points: magnitudes)]),
            Figure.scatter(title: "\(f): reference objects matched", xAxis: "reference \(f) (mag)", yAxis: "fraction matched",
                           series: curves, yRange: 0...1),
        ])
    }

}

/// CSV text built row by row, numbers written with fixed decimals by integer arithmetic: Foundation's
/// `String(format:)` takes a microsecond a number, which is seconds for a million pairs.
struct CSVText {
    private(set) var text: String

    init(header: String) { text = header + "\n" }

    /// One row: `body` appends its fields, which are separated by commas.
    mutating func row(_ body: (inout Row) -> Void) {
        var row = Row()
        body(&row)
        text += row.text
        text += "\n"
    }

    struct Row {
        fileprivate var text = ""
        private var first = true

        private mutating func separate() {
            if !first { text += "," }
            first = false
        }

        /// A field as it is (the ids, which come from the catalog or the reference's CSV).
        mutating func text(_ field: String) {
            separate()
            text += field
        }

        /// RA and Dec, degrees to 8 decimals (0.04 mas).
        mutating func position(_ p: SkyPosition) {
            fixed(p.ra, 8)
            fixed(p.dec, 8)
        }

        /// A number as Swift writes it, exactly; empty for nil.
        mutating func number(_ value: Double?) {
            separate()
            if let value { text += value.description }
        }

        /// A number to `decimals` decimals; empty for nil or not finite.
        mutating func fixed(_ value: Double?, _ decimals: Int) {
            separate()
            guard let value, value.isFinite else { return }
            let scale = Self.powers[decimals], units = (abs(value) * Double(scale)).rounded()
            guard units < 9e15 else { text += value.description; return }
            let n = Int64(units), whole = n / scale, fraction = String(n % scale)
            if value < 0 && n != 0 { text += "-" }
            text += String(whole)
            guard decimals > 0 else { return }
            text += "."
            text += String(repeating: "0", count: decimals - fraction.count)
            text += fraction
        }

        private static let powers: [Int64] = (0...12).map { Int64(pow(10, Double($0))) }
    }
}
