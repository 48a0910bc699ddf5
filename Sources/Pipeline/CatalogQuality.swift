import Basics
import Foundation

/// Completeness, purity and star/galaxy separation of the three steps' catalogs against the
/// simulator's exact objects (`truth-objects.csv`): what `dcprod pipe photometry` prints beside the
/// photometry, per step and filter.
///
/// Each CSV file is compared with the truth on its own terms. Its footprint is the summary's four
/// corners (processCcd's `ccd-STEM.csv`, coadd's `coadd-STEM.csv`), less `edgeMargin`; the coadd's is
/// further cut to where some calexp of its filter lies. Its noise is the file's own: the PSF flux
/// errors it quotes are fitted as σ² = a + b·F (sky and read noise, then the source's Poisson term),
/// so that a truth object's expected S/N in that file is F / √(a + b·F), F its true flux at the
/// file's zero point; a galaxy's F is what a PSF fit sees of it (`psfFractions`, from the summary's
/// `fwhm`, the calexps' median for a coadd).
///
/// - Completeness: of the truth objects in the footprint whose expected S/N is in a bin, the
///   fraction with a source of the file within `radius` (1″). Reported in the bin around S/N 5.5
///   (5–6), with the S/N where the stars' curve crosses 50 %.
/// - Purity: of the sources with measured S/N > 5, the fraction within `radius` of a truth object
///   the file could see (expected S/N ≥ `visibleSignalToNoise`; a dense sky's fainter objects would
///   otherwise match anything by chance).
/// - Star/galaxy accuracy: of the sources with S/N > 20 matched to a truth object, the fraction whose
///   `extendedness` (1 = extended) says what the truth is; only when the file has that column.
public struct CatalogQuality: Sendable {
    /// The tunables of the comparison.
    public struct Config: Sendable, Equatable {
        /// Match radius, arcsec.
        public var radius = 1.0
        /// Truth objects closer than this to the footprint's edge are not counted, arcsec: a source
        /// there is partly off the image.
        public var edgeMargin = 3.0
        /// The S/N bins of the completeness curve, by expected S/N.
        public var binEdges: [Double] = [2, 3, 4, 5, 6, 7, 8, 10, 12.5, 15, 20, 30, 50, 100, 1e9]
        /// The bin completeness is reported in (S/N 5–6, around the issue's 5.5).
        public var reportedBin = 5.0..<6.0
        /// The measured S/N above which a source counts for purity.
        public var puritySignalToNoise = 5.0
        /// The expected S/N a truth object needs to make a source real.
        public var visibleSignalToNoise = 2.0
        /// The measured S/N above which star/galaxy separation is scored.
        public var starGalaxySignalToNoise = 20.0

        public init() {}
    }

    /// One simulated object.
    public struct Object: Sendable {
        public var ra: Double
        public var dec: Double
        public var isStar: Bool
        public var magnitudes: [Double]
        /// A galaxy's Gaussian σ, arcsec (0 for a star).
        public var size: Double

        public init(ra: Double, dec: Double, isStar: Bool, magnitudes: [Double], size: Double = 0) {
            self.ra = ra
            self.dec = dec
            self.isStar = isStar
            self.magnitudes = magnitudes
            self.size = size
        }
    }

    public let objects: [Object]
    /// The objects' positions.
    let index: ZoneIndex
    public var config = Config()

    /// Reads the exact objects, stars and galaxies.
    ///
    /// - Throws: `ProcessCcdFailure` when the file cannot be read or is not a catalog `ReferenceCatalog` reads.
    public init(truth path: String) throws {
        let catalog = try ReferenceCatalog(path: path, raMin: -.infinity, raMax: .infinity, decMin: -.infinity, decMax: .infinity)
        self.init(objects: catalog.entries.map { Object(ra: $0.ra, dec: $0.dec, isStar: $0.isStar, magnitudes: $0.magnitudes, size: $0.size) })
    }

    public init(objects: [Object]) {
        self.objects = objects
        index = ZoneIndex(objects.map { SkyPosition(ra: $0.ra, dec: $0.dec) }, radius: TruthComparison.searchRadius)
    }

    /// The indices of the objects within `radius` degrees of a position, nearest first.
    func objects(near ra: Double, _ dec: Double, within radius: Double) -> [(index: Int, d2: Double)] {
        index.near(SkyPosition(ra: ra, dec: dec), within: radius)
    }

    /// The sizes of `psfFractions`' table, arcsec apart.
    static let sizeStep = 0.05
    /// The simulator's stars' Moffat β.
    static let simulatedBeta = 3.0

    /// What a PSF fit sees of a simulated galaxy, its Gaussian of σ s = 0, `sizeStep`, … 5″ seen through
    /// the stars' Moffat of this FWHM and β 3 (`SeenGalaxy`): Σ p g / Σ p² (the PSF flux of a star, its
    /// aperture correction included, is its total flux), integrated over radius since both are round
    /// and concentric. 1 for s = 0: a point-like galaxy is seen as a star.
    static func psfFractions(fwhm: Double) -> [Double] {
        let psf = MoffatPSF(fwhm: fwhm, beta: simulatedBeta), beta = psf.beta, alpha = psf.alpha
        let p2 = (beta - 1) * (beta - 1) / (.pi * alpha * alpha * (2 * beta - 1))
        return (0...Int((5 / sizeStep).rounded())).map { k in
            let galaxy = SeenGalaxy(psf: psf, sigma: Double(k) * sizeStep)
            let steps = 2000, h = 10 * (fwhm + galaxy.sigma) / Double(steps)
            var sum = 0.0
            for i in 0..<steps {
                let r = (Double(i) + 0.5) * h, r2 = r * r
                sum += 2 * .pi * r * psf.value(r2) * galaxy.value(r2) * h
            }
            return sum / p2
        }
    }
}

// MARK: - The files

extension CatalogQuality {
    /// One measured source of a file.
    public struct Source: Sendable {
        public var ra: Double
        public var dec: Double
        public var flux: Double
        public var fluxSigma: Double
        /// 1 extended, 0 point-like; nil when the file has no `extendedness`.
        public var extendedness: Double?

        public init(ra: Double, dec: Double, flux: Double, fluxSigma: Double, extendedness: Double? = nil) {
            self.ra = ra
            self.dec = dec
            self.flux = flux
            self.fluxSigma = fluxSigma
            self.extendedness = extendedness
        }

        var signalToNoise: Double { fluxSigma > 0 ? flux / fluxSigma : 0 }
    }

    /// One CSV file's sources, with its filter, zero point, footprint and noise.
    public struct Sample: Sendable {
        public var filterId: Int
        /// The magnitude of one count of its fluxes.
        public var zeroPoint: Double
        /// The four corners of the image it was measured on.
        public var footprint: [Footprint]
        public var sources: [Source]
        public var noise: NoiseModel
        /// The PSF's FWHM, arcsec (nil: galaxies are expected at their total flux).
        public var fwhm: Double? {
            didSet { galaxyFractions = fwhm.map { CatalogQuality.psfFractions(fwhm: $0) } ?? [] }
        }
        /// What a PSF fit sees of a galaxy of size 0, `sizeStep`, 2 `sizeStep`, … (`psfFractions`).
        var galaxyFractions: [Double]

        public init(filterId: Int, zeroPoint: Double, footprint: [Footprint], sources: [Source], fwhm: Double? = nil) {
            self.fwhm = fwhm
            galaxyFractions = fwhm.map { CatalogQuality.psfFractions(fwhm: $0) } ?? []
            self.filterId = filterId
            self.zeroPoint = zeroPoint
            self.footprint = footprint
            self.sources = sources
            noise = NoiseModel(sources)
        }

        /// A truth object's expected S/N in this file.
        func expectedSignalToNoise(_ object: Object) -> Double {
            var flux = pow(10, -0.4 * (object.magnitudes[filterId] - zeroPoint))
            if !object.isStar, !galaxyFractions.isEmpty {
                let x = object.size / CatalogQuality.sizeStep, k = min(Int(x), galaxyFractions.count - 2), t = min(x - Double(k), 1)
                flux *= galaxyFractions[k] * (1 - t) + galaxyFractions[k + 1] * t
            }
            return flux / noise.sigma(flux)
        }
    }

    /// A convex quadrilateral on the sky, its corners in order.
    public struct Footprint: Sendable {
        public var corners: [(ra: Double, dec: Double)]

        public init(corners: [(ra: Double, dec: Double)]) { self.corners = corners }

        /// Whether a position is inside and at least `margin` degrees from every edge (a local
        /// tangent plane at the first corner; footprints are a fraction of a degree).
        func contains(_ ra: Double, _ dec: Double, margin: Double) -> Bool {
            let origin = corners[0], scale = cos(origin.dec * .pi / 180)
            func plane(_ p: (ra: Double, dec: Double)) -> (x: Double, y: Double) {
                (RightAscension.difference(p.ra - origin.ra) * scale, p.dec - origin.dec)
            }
            let points = corners.map(plane), p = plane((ra, dec))
            var sign = 0.0
            for k in points.indices {
                let a = points[k], b = points[(k + 1) % points.count]
                let length = ((b.x - a.x) * (b.x - a.x) + (b.y - a.y) * (b.y - a.y)).squareRoot()
                guard length > 0 else { continue }
                let distance = ((b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x)) / length
                if sign == 0 { sign = distance < 0 ? -1 : 1 }
                if distance * sign < margin { return false }
            }
            return true
        }

        /// The box around the corners: RA (unwrapped from the first corner's) and Dec ranges.
        var box: (ra: ClosedRange<Double>, dec: ClosedRange<Double>) {
            let ras = corners.map { corners[0].ra + RightAscension.difference($0.ra - corners[0].ra) }
            return (ras.min()!...ras.max()!, corners.map(\.dec).min()!...corners.map(\.dec).max()!)
        }
    }

    /// The noise of a file's PSF fluxes, σ² = a + b·F, fitted to the errors it quotes: a is the
    /// median σ² of its sources of S/N under 10 (sky-dominated), b the median of (σ² − a)/F over
    /// those of S/N above 50 (0 when there are none).
    public struct NoiseModel: Sendable {
        public var skyVariance: Double
        public var sourceVariancePerFlux: Double

        init(_ sources: [Source]) {
            let faint = sources.filter { $0.fluxSigma > 0 && $0.signalToNoise < 10 }.map { Float($0.fluxSigma * $0.fluxSigma) }
            let all = sources.filter { $0.fluxSigma > 0 }.map { Float($0.fluxSigma * $0.fluxSigma) }
            let sky = faint.isEmpty ? (all.min().map(Double.init) ?? 1) : RobustStatistics.median(faint)
            let bright = sources.filter { $0.signalToNoise > 50 }.map { Float(($0.fluxSigma * $0.fluxSigma - sky) / $0.flux) }
            skyVariance = sky
            sourceVariancePerFlux = bright.isEmpty ? 0 : max(0, RobustStatistics.median(bright))
        }

        func sigma(_ flux: Double) -> Double { (skyVariance + sourceVariancePerFlux * max(flux, 0)).squareRoot() }
    }
}

// MARK: - Reading the steps' files

extension CatalogQuality {
    /// The samples of the three steps' CSV files under some directories, by step (`processCcd`,
    /// `coadd`, `forcedPhot`), and processCcd's footprints by filter id: where the coadd has inputs.
    ///
    /// Each `src-`, `deepsrc-` and `forced-STEM.csv` goes with the summary beside it that gives its
    /// zero point and corners (`ccd-STEM.csv`, `coadd-STEM.csv`, `ccd-STEM.csv`); a file without one is left out.
    ///
    /// - Throws: `ProcessCcdFailure` when a file cannot be read or lacks a column.
    public static func samples(under directories: [URL]) throws -> (steps: [(step: String, samples: [Sample])], calexps: [Int: [Footprint]]) {
        var files: [String: String] = [:]
        for directory in directories {
            let walk = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)
            while let url = walk?.nextObject() as? URL {
                if url.pathExtension == "csv" { files[url.lastPathComponent] = url.path }
            }
        }
        let steps: [(step: Step, measured: StepOutput, summary: StepOutput)] =
            [(.processCcd, .src, .ccd), (.coadd, .deepsrc, .coadd), (.forcedPhot, .forced, .ccd)]
        var out = try steps.map { step, measured, summary in
            var samples: [Sample] = []
            for (name, path) in files.sorted(by: { $0.key < $1.key }) {
                guard let stem = measured.stem(of: name), let summaryPath = files[summary.fileName(stem)],
                      let sample = try sample(csv: path, summary: summaryPath) else { continue }
                samples.append(sample)
            }
            return (step.rawValue, samples)
        }
        var calexps: [Int: [Footprint]] = [:], seeing: [Int: [Float]] = [:]
        for sample in out[0].1 {
            calexps[sample.filterId, default: []] += sample.footprint
            if let fwhm = sample.fwhm { seeing[sample.filterId, default: []].append(Float(fwhm)) }
        }
        // A coadd's PSF is about its inputs' median.
        for k in out[1].1.indices where out[1].1[k].fwhm == nil {
            out[1].1[k].fwhm = seeing[out[1].1[k].filterId].map { RobustStatistics.median($0) }
        }
        return (out, calexps)
    }

    /// The sample of one CSV file, its zero point, filter and corners from its summary (nil when
    /// the summary has none).
    public static func sample(csv path: String, summary: String) throws -> Sample? {
        let (summaryHeader, summaryRows) = try table(summary)
        guard let row = summaryRows.first else { return nil }
        func value(_ name: String) -> Double? { summaryHeader.firstIndex(of: name).flatMap { Double(row[$0]) } }
        let corners = (1...4).compactMap { k in value("corner\(k)Ra").flatMap { ra in value("corner\(k)Decl").map { (ra: ra, dec: $0) } } }
        guard let zeroPoint = value("zeroPoint"), let filterId = value("filterId").map({ Int($0) }), corners.count == 4 else { return nil }
        let (header, rows) = try table(path)
        let columns = try ["ra", "decl", "psfFlux", "psfFluxSigma"].map { name in
            guard let index = header.firstIndex(of: name) else { throw ProcessCcdFailure(.other, "\(path): no column \(name)") }
            return index
        }
        let extendedness = header.firstIndex(of: "extendedness")
        let sources = try rows.map { fields in
            guard let ra = Double(fields[columns[0]]), let dec = Double(fields[columns[1]]),
                  let flux = Double(fields[columns[2]]), let sigma = Double(fields[columns[3]]) else {
                throw ProcessCcdFailure(.other, "\(path): unreadable line: \(fields.joined(separator: ","))")
            }
            return Source(ra: ra, dec: dec, flux: flux, fluxSigma: sigma, extendedness: extendedness.flatMap { Double(fields[$0]) })
        }
        return Sample(filterId: filterId, zeroPoint: zeroPoint, footprint: [Footprint(corners: corners)], sources: sources,
                      fwhm: value("fwhm"))
    }

    /// A CSV file's header and rows (each of the header's field count).
    static func table(_ path: String) throws -> (header: [String], rows: [[Substring]]) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ProcessCcdFailure(.missingFiles, "missing file: \(path)")
        }
        var lines = text.split(separator: "\n").makeIterator()
        guard let header = lines.next().map({ CSVLine.fields($0).map(String.init) }) else { return ([], []) }
        var rows: [[Substring]] = []
        while let line = lines.next() {
            let fields = CSVLine.fields(line)
            guard fields.count == header.count else { throw ProcessCcdFailure(.other, "\(path): unreadable line: \(line)") }
            rows.append(fields)
        }
        return (header, rows)
    }
}
