import Basics
import Foundation

/// Measured fluxes of bright stars against the simulator's truth (`truth-objects.csv`), per filter: how
/// processCcd, coadd and forcedPhot are checked, and what the README's photometry figures are.
///
/// A measurement is matched to the nearest reference star within `radius`; galaxies are left out
/// (their PSF flux is not their total flux by design). The offset of a star is its measured flux
/// over its true flux, minus one; the scatter is the robust standard deviation of the offsets
/// (1.4826 × their median absolute deviation), so that a blend or two do not set it.
public struct TruthComparison: Sendable {
    /// One measured source, its flux in counts at `zeroPoint` (the magnitude of one count).
    public struct Measurement: Sendable {
        public var ra: Double
        public var dec: Double
        public var filterId: Int
        public var flux: Double
        public var fluxSigma: Double
        public var zeroPoint: Double

        public init(ra: Double, dec: Double, filterId: Int, flux: Double, fluxSigma: Double, zeroPoint: Double) {
            self.ra = ra
            self.dec = dec
            self.filterId = filterId
            self.flux = flux
            self.fluxSigma = fluxSigma
            self.zeroPoint = zeroPoint
        }
    }

    /// The offsets of one filter's bright stars.
    public struct Figures: Sendable {
        public var filter: Filter
        public var stars: Int
        /// Median of measured/true − 1, percent.
        public var medianPercent: Double
        /// Robust standard deviation of measured/true − 1, percent.
        public var scatterPercent: Double
        /// The median of the stars' own flux errors, percent: what noise alone would scatter.
        public var noisePercent: Double

        public var line: String {
            String(format: "%@: %5d stars, median %+.2f %%, scatter %.2f %% (noise %.2f %%)",
                   filter.rawValue, stars, medianPercent, scatterPercent, noisePercent)
        }
    }

    struct Star {
        var ra: Double
        var dec: Double
        var magnitudes: [Double]
    }

    /// Stars by cell of `cellSize` degrees, for matching.
    let cells: [Int64: [Star]]
    static let cellSize = 1.0 / 360

    /// Reads the stars of the simulator's exact objects (`truth-objects.csv`; any catalog with the
    /// columns `ReferenceCatalog` reads, but only the truth makes the comparison mean something:
    /// `refcat.csv` has errors of its own).
    ///
    /// - Throws: `ProcessCcdFailure` when the file cannot be read, lacks a column or a line has
    ///   not its header's fields.
    public init(truth path: String) throws {
        let catalog = try ReferenceCatalog(path: path, raMin: -.infinity, raMax: .infinity, decMin: -.infinity, decMax: .infinity)
        var cells: [Int64: [Star]] = [:]
        for entry in catalog.entries where entry.isStar {
            cells[Self.cell(entry.ra, entry.dec), default: []].append(Star(ra: entry.ra, dec: entry.dec, magnitudes: entry.magnitudes))
        }
        self.cells = cells
    }

    static func cell(_ ra: Double, _ dec: Double) -> Int64 {
        Int64((ra / cellSize).rounded(.down)) << 20 + Int64((dec / cellSize).rounded(.down)) + 1 << 19
    }

    /// The figures of every filter measured, for stars of at least `minimumSignalToNoise`.
    public func figures(_ measurements: [Measurement], minimumSignalToNoise: Double = 100, radiusArcsec: Double = 1) -> [Figures] {
        var offsets: [Int: [Float]] = [:], errors: [Int: [Float]] = [:]
        let radius = radiusArcsec / 3600
        for m in measurements where m.fluxSigma > 0 && m.flux / m.fluxSigma >= minimumSignalToNoise {
            guard let star = nearestStar(to: m, within: radius) else { continue }
            let truth = pow(10, -0.4 * (star.magnitudes[m.filterId] - m.zeroPoint))
            offsets[m.filterId, default: []].append(Float(m.flux / truth - 1))
            errors[m.filterId, default: []].append(Float(m.fluxSigma / m.flux))
        }
        return Filter.allCases.compactMap { filter in
            guard let values = offsets[filter.filterId], !values.isEmpty else { return nil }
            return Figures(filter: filter, stars: values.count, medianPercent: 100 * Background.median(values),
                           scatterPercent: 100 * Background.robustSigma(values),
                           noisePercent: 100 * Background.median(errors[filter.filterId] ?? []))
        }
    }

    func nearestStar(to m: Measurement, within radius: Double) -> Star? {
        let scale = cos(m.dec * .pi / 180)
        var best: (star: Star, d2: Double)?
        for i in -1...1 {
            for j in -1...1 {
                for star in cells[Self.cell(m.ra + Double(i) * Self.cellSize, m.dec + Double(j) * Self.cellSize)] ?? [] {
                    let dx = (star.ra - m.ra) * scale, dy = star.dec - m.dec
                    let d2 = dx * dx + dy * dy
                    if d2 <= radius * radius, d2 < (best?.d2 ?? .infinity) { best = (star, d2) }
                }
            }
        }
        return best?.star
    }

    /// The PSF fluxes of the three steps' CSV files under some directories, by step.
    ///
    /// processCcd's `src-STEM.csv` and forcedPhot's `forced-STEM.csv` take their zero point from
    /// processCcd's `ccd-STEM.csv`, coadd's `deepsrc-STEM.csv` from its `coadd-STEM.csv`; a file
    /// whose zero point is not found is left out.
    ///
    /// - Returns: The measurements of `processCcd`, `coadd` and `forcedPhot`, in that order.
    /// - Throws: `ProcessCcdFailure` when a file cannot be read.
    public static func measurements(under directories: [URL]) throws -> [(step: String, measurements: [Measurement])] {
        var files: [String: String] = [:]
        for directory in directories {
            let walk = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)
            while let url = walk?.nextObject() as? URL {
                if url.pathExtension == "csv" { files[url.lastPathComponent] = url.path }
            }
        }
        func zeroPoint(_ file: String?) throws -> Double? {
            guard let file else { return nil }
            let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
            guard lines.count >= 2, let column = lines[0].split(separator: ",").firstIndex(of: "zeroPoint") else { return nil }
            return Double(CSVLine.fields(lines[1])[column])
        }
        // Each step's measurements, and the summary whose zero point calibrates them.
        let steps: [(step: Step, measured: StepOutput, calibration: StepOutput)] =
            [(.processCcd, .src, .ccd), (.coadd, .deepsrc, .coadd), (.forcedPhot, .forced, .ccd)]
        return try steps.map { step, measured, calibration in
            var out: [Measurement] = []
            for (name, path) in files.sorted(by: { $0.key < $1.key }) {
                guard let stem = measured.stem(of: name),
                      let zeroPoint = try zeroPoint(files[calibration.fileName(stem)]) else { continue }
                out += try measurements(csv: path, zeroPoint: zeroPoint)
            }
            return (step.rawValue, out)
        }
    }

    /// The measurements of a CSV written by processCcd, coadd or forcedPhot, found by column name
    /// (`ra`, `decl`, `filterId` and the named flux with its `Sigma`).
    ///
    /// - Parameters:
    ///   - path: The CSV file.
    ///   - zeroPoint: The magnitude of one count of its fluxes (the calexp's MAGZERO, the coadd's 27).
    ///   - flux: The flux column: `psfFlux`, `apFlux` or `modelFlux`.
    /// - Throws: `ProcessCcdFailure` when the file cannot be read or lacks a column.
    public static func measurements(csv path: String, zeroPoint: Double, flux: String = "psfFlux") throws -> [Measurement] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ProcessCcdFailure(.missingFiles, "missing file: \(path)")
        }
        var lines = text.split(separator: "\n").makeIterator()
        guard let header = lines.next()?.split(separator: ",").map(String.init) else { return [] }
        let names = ["ra", "decl", "filterId", flux, flux + "Sigma"]
        let columns = try names.map { name in
            guard let index = header.firstIndex(of: name) else { throw ProcessCcdFailure(.other, "\(path): no column \(name)") }
            return index
        }
        var out: [Measurement] = []
        while let line = lines.next() {
            let fields = CSVLine.fields(line)
            guard fields.count == header.count, let ra = Double(fields[columns[0]]), let dec = Double(fields[columns[1]]),
                  let filterId = Int(fields[columns[2]]), let value = Double(fields[columns[3]]), let sigma = Double(fields[columns[4]]) else {
                throw ProcessCcdFailure(.other, "\(path): unreadable line: \(line)")
            }
            out.append(Measurement(ra: ra, dec: dec, filterId: filterId, flux: value, fluxSigma: sigma, zeroPoint: zeroPoint))
        }
        return out
    }
}
