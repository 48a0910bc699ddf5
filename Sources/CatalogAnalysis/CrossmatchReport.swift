import Basics
import Foundation
import Views

extension Crossmatch.Result {
    /// The fraction of reference objects matched, in bins of `width` magnitudes: (bin centre, fraction, count).
    public func completeness(width: Double = 0.5, starsOnly: Bool = false) -> [(magnitude: Double, fraction: Double, count: Int)] {
        let matched = Set(pairs.map(\.reference))
        var bins: [Int: (found: Int, all: Int)] = [:]
        for (index, object) in reference.enumerated() where !starsOnly || object.isStar == true {
            guard let m = object.magnitude(in: filter) else { continue }
            let bin = Int((m / width).rounded(.down))
            bins[bin, default: (0, 0)].all += 1
            if matched.contains(index) { bins[bin, default: (0, 0)].found += 1 }
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
        let matched = Set(pairs.map(\.reference))
        var total = 0, found = 0
        for (index, object) in reference.enumerated() where !starsOnly || object.isStar == true {
            guard let m = object.magnitude(in: filter), m + 3 * (object.magnitudeError(in: filter) ?? 0) < magnitude else { continue }
            total += 1
            if matched.contains(index) { found += 1 }
        }
        return (found, total)
    }

    /// What `dcprod crossmatch` prints for the filter: the seed's three counts, then the completeness
    /// above the catalog's 5σ limit and the pairs' offsets.
    public var lines: [String] {
        let unmatched = unmatchedReference
        let percent = reference.isEmpty ? "–" : String(format: "%.1f %%", 100 * Double(pairs.count) / Double(reference.count))
        var out = ["filter \(filter.rawValue):",
                   "reference objects in the region: \(reference.count)",
                   "catalog sources matched (unique): \(pairs.count) (\(percent))"]
        let first = unmatched.prefix(1).map { i -> String in
            let o = reference[i]
            return String(format: "first: ra %.6f dec %.6f mag %.2f, …", o.position.ra, o.position.dec, o.magnitude(in: filter) ?? .nan)
        }
        out.append("reference objects unmatched: \(unmatched.count)" + (first.isEmpty ? "" : " (\(first[0]))"))
        out.append("catalog sources unmatched: \(unmatchedSources.count) of \(sources.count)")
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
                              Self.median(east), Self.rms(east), Self.median(north), Self.rms(north)))
        }
        return out
    }

    static func fraction(_ f: (matched: Int, total: Int)) -> String {
        f.total == 0 ? "0 of 0" : String(format: "%d of %d (%.1f %%)", f.matched, f.total, 100 * Double(f.matched) / Double(f.total))
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
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
        try write(matchedLines(result, idColumn: idColumn), to: files.matched)
        var reference = ["referenceId,ra,decl,mag,isStar"]
        for i in result.unmatchedReference {
            let o = result.reference[i]
            reference.append("\(o.id),\(o.position.ra),\(o.position.dec),\(Self.text(o.magnitude(in: result.filter))),\(o.isStar.map { $0 ? "1" : "0" } ?? "")")
        }
        try write(reference, to: files.unmatchedReference)
        var sources = ["\(idColumn),ra,decl,mag,psfFlux,psfFluxSigma"]
        for i in result.unmatchedSources {
            let s = result.sources[i]
            sources.append("\(s.id),\(s.position.ra),\(s.position.dec),\(Self.text(s.magnitude)),\(Self.text(s.flux)),\(Self.text(s.fluxSigma))")
        }
        try write(sources, to: files.unmatchedSources)
        try AtomicFile.write(Data(figure(result).utf8), to: files.figure)
        return files
    }

    static func matchedLines(_ result: Crossmatch.Result, idColumn: String) -> [String] {
        var lines = ["referenceId,referenceRa,referenceDecl,referenceMag,\(idColumn),ra,decl,mag,psfFlux,psfFluxSigma,dRaCosDecl,dDecl,dMag"]
        for pair in result.pairs {
            let o = result.reference[pair.reference], s = result.sources[pair.catalog]
            let dMag = s.magnitude.flatMap { m in o.magnitude(in: result.filter).map { m - $0 } }
            lines.append("\(o.id),\(o.position.ra),\(o.position.dec),\(Self.text(o.magnitude(in: result.filter))),\(s.id),"
                         + "\(s.position.ra),\(s.position.dec),\(Self.text(s.magnitude)),\(Self.text(s.flux)),\(Self.text(s.fluxSigma)),"
                         + String(format: "%.4f,%.4f,", pair.east * 3600, pair.north * 3600) + Self.text(dMag))
        }
        return lines
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

    private static func text(_ value: Double?) -> String { value.map { String($0) } ?? "" }

    private static func write(_ lines: [String], to url: URL) throws {
        try AtomicFile.write(Data((lines.joined(separator: "\n") + "\n").utf8), to: url)
    }
}
