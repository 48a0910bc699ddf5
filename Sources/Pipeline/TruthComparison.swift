import Basics
import Foundation
import Sky

/// Measured fluxes of bright stars against the simulator's truth (`truth-objects.csv`), per filter: how
/// processCcd, coadd and forcedPhot are checked, and what the README's photometry figures are.
///
/// A measurement is matched to the nearest reference star within `radius`; galaxies are left out
/// (their PSF flux is not their total flux by design). The offset of a star is its measured flux
/// over its true flux, minus one; the scatter is the robust standard deviation of the offsets
/// (1.4826 × their median absolute deviation), so that a blend or two do not set it.
public struct TruthComparison: Sendable {
    /// The largest radius the comparisons with the simulator's objects search within (10″): their
    /// indexes' zone height.
    static let searchRadius = 1.0 / 360

    /// One measured source, its flux in counts at `zeroPoint` (the magnitude of one count).
    public struct Measurement: Sendable {
        public var ra: Double
        public var dec: Double
        public var filterId: Int
        public var flux: Double
        public var fluxSigma: Double
        public var zeroPoint: Double
        /// The variance of the RA coordinate and of the declination, deg² (NaN where the CSV has none:
        /// forcedPhot's positions are given, not measured).
        public var raVar = Double.nan
        public var declVar = Double.nan
        /// The image it was measured on (its outputs' stem: a calexp's, a coadd's), and the relative
        /// σ of the flux scale common to every flux of that image as its outputs state it
        /// (`measurements(under:)`); 0 where they do not.
        public var image = ""
        public var commonSigma = 0.0
        /// A coadd's: the calexps whose footprints hold it (`measurements(under:)`). Where
        /// a coadd's inputs overlap only in part, each set of them has its own common error (their
        /// zero points' errors with the stack's weights), so it is a part of the image of its own.
        public var coverage = ""
        /// The FITS pixel it was measured at, where the CSV says (NaN elsewhere).
        public var x = Double.nan
        public var y = Double.nan
        /// The part of raVar and declVar that is its image's WCS fit's (deg²): processCcd's, from its
        /// calexp's `ASTCV11`…`ASTCV33` at (x, y) (`measurements(under:)`); NaN where not known.
        public var commonRaVar = Double.nan
        public var commonDeclVar = Double.nan

        /// The flux's own σ: the catalog's with the image's common error taken out,
        /// √(σ² − (F·σ_common)²), as processCcd, coadd and forcedPhot put it in (`addingRelativeFluxError`).
        public var ownFluxSigma: Double {
            let common = flux * commonSigma
            return (max(fluxSigma * fluxSigma - common * common, 0)).squareRoot()
        }

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

    /// The stars, and their positions for matching (a `ZoneIndex`: correct across RA 0).
    let stars: [Star]
    let index: ZoneIndex

    /// Reads the stars of the simulator's exact objects (`truth-objects.csv`; any catalog with the
    /// columns `ReferenceCatalog` reads, but only the truth makes the comparison mean something:
    /// `refcat.csv` has errors of its own).
    ///
    /// - Throws: `ProcessCcdFailure` when the file cannot be read, lacks a column or a line has
    ///   not its header's fields.
    public init(truth path: String) throws {
        let catalog = try ReferenceCatalog(path: path, raMin: -.infinity, raMax: .infinity, decMin: -.infinity, decMax: .infinity)
        stars = catalog.entries.filter(\.isStar).map { Star(ra: $0.ra, dec: $0.dec, magnitudes: $0.magnitudes) }
        index = ZoneIndex(stars.map { SkyPosition(ra: $0.ra, dec: $0.dec) }, radius: Self.searchRadius)
    }

    /// The figures of every filter measured, for stars of at least `minimumSignalToNoise` in their
    /// own noise (`Measurement.ownFluxSigma`): a star's brightness, not its image's calibration (whose
    /// error, common to the image, caps the S/N of σ near 1/σ_common: 95 for u's coadd of four epochs).
    public func figures(_ measurements: [Measurement], minimumSignalToNoise: Double = 100, radiusArcsec: Double = 1) -> [Figures] {
        var offsets: [Int: [Float]] = [:], errors: [Int: [Float]] = [:]
        let radius = radiusArcsec / 3600
        for m in measurements where m.fluxSigma > 0 && m.ownFluxSigma > 0 && m.flux / m.ownFluxSigma >= minimumSignalToNoise {
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

    /// The star nearest a measurement within `radius` degrees.
    func nearestStar(to m: Measurement, within radius: Double) -> Star? {
        index.nearest(SkyPosition(ra: m.ra, dec: m.dec), within: radius).map { stars[$0] }
    }

    /// The PSF fluxes of the three steps' CSV files under some directories, by step, each with its
    /// image and that image's common error.
    ///
    /// processCcd's `src-STEM.csv` and forcedPhot's `forced-STEM.csv` take their zero point from
    /// processCcd's `ccd-STEM.csv`, and their common error from its `fluxMag0Sigma` over `fluxMag0`
    /// (the zero point's σ: the calibrated fluxes are free of the aperture correction's, which the
    /// zero point was fitted through); coadd's `deepsrc-STEM.csv` from its `coadd-STEM.csv` and its
    /// `deepCoadd-STEM.fits`'s `MAGZERR` (`Calibration.read`). A file whose zero point is not found
    /// is left out.
    ///
    /// - Returns: The measurements of `processCcd`, `coadd` and `forcedPhot`, in that order.
    /// - Throws: `ProcessCcdFailure` when a file cannot be read.
    public static func measurements(under directories: [URL]) throws -> [(step: String, measurements: [Measurement])] {
        var files: [String: String] = [:]
        for directory in directories {
            let walk = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)
            while let url = walk?.nextObject() as? URL {
                if ["csv", "fits"].contains(url.pathExtension) { files[url.lastPathComponent] = url.path }
            }
        }
        // Each step's measurements, and the summary whose zero point calibrates them.
        let steps: [(step: Step, measured: StepOutput, calibration: StepOutput)] =
            [(.processCcd, .src, .ccd), (.coadd, .deepsrc, .coadd), (.forcedPhot, .forced, .ccd)]
        var out = try steps.map { step, measured, calibration in
            var out: [Measurement] = []
            for (name, path) in files.sorted(by: { $0.key < $1.key }) {
                guard let stem = measured.stem(of: name),
                      let image = try Calibration.read(files[calibration.fileName(stem)], image: files[StepOutput.deepCoadd.fileName(stem)]) else { continue }
                let astrometry = step == .processCcd ? try WCSFitError.read(files[StepOutput.calexp.fileName(stem)]) : nil
                out += try measurements(csv: path, zeroPoint: image.zeroPoint).map { m in
                    var m = m
                    (m.image, m.commonSigma) = (stem, image.commonSigma)
                    if let astrometry { (m.commonRaVar, m.commonDeclVar) = astrometry.variance(at: m) }
                    return m
                }
            }
            return (step.rawValue, out)
        }
        let footprints = try files.compactMap { name, path in try StepOutput.ccd.stem(of: name).flatMap { try Footprint.read(path, image: $0) } }
        out[1].1 = withCoverage(out[1].1, footprints: footprints)
        return out
    }

    /// The coadd's measurements, each with the calexps of its filter whose footprints hold it (`Measurement.coverage`).
    static func withCoverage(_ coadd: [Measurement], footprints: [Footprint]) -> [Measurement] {
        coadd.map { m in
            var m = m
            m.coverage = footprints.filter { $0.filterId == m.filterId && $0.contains(m) }.map(\.image).sorted().joined(separator: " ")
            return m
        }
    }

    /// A calexp's footprint as processCcd's summary (`ccd-STEM.csv`) gives it: its four corners.
    struct Footprint {
        var image: String
        var filterId: Int
        var corners: [(ra: Double, dec: Double)]

        /// Whether the quadrilateral of the corners holds the measurement (on the tangent plane at its
        /// first corner; RA differences taken across RA 0).
        func contains(_ m: Measurement) -> Bool {
            let origin = corners[0], cosine = cos(origin.dec * .pi / 180)
            func plane(_ ra: Double, _ dec: Double) -> (x: Double, y: Double) {
                (((ra - origin.ra + 540).truncatingRemainder(dividingBy: 360) - 180) * cosine, dec - origin.dec)
            }
            let p = plane(m.ra, m.dec), q = corners.map { plane($0.ra, $0.dec) }
            let sides = (0..<4).map { k -> Double in
                let a = q[k], b = q[(k + 1) % 4]
                return (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x)
            }
            return sides.allSatisfy { $0 >= 0 } || sides.allSatisfy { $0 <= 0 }
        }

        /// The summary's footprint, nil when it lacks a column.
        static func read(_ path: String, image: String) throws -> Footprint? {
            let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            guard lines.count >= 2 else { return nil }
            let header = lines[0].split(separator: ",").map(String.init), fields = CSVLine.fields(lines[1])
            func value(_ name: String) -> Double? { header.firstIndex(of: name).flatMap { $0 < fields.count ? Double(fields[$0]) : nil } }
            guard let filterId = value("filterId") else { return nil }
            let corners = (1...4).compactMap { k in value("corner\(k)Ra").flatMap { ra in value("corner\(k)Decl").map { (ra: ra, dec: $0) } } }
            return corners.count == 4 ? Footprint(image: image, filterId: Int(filterId), corners: corners) : nil
        }
    }

    /// A calexp's WCS fit's error as its header states it: the fit's covariance about CRPIX
    /// (`AstrometricFit.pixelCovariance`, pixels² on each axis) and the pixel scale.
    struct WCSFitError {
        var covariance: [Double]
        var crpix: (x: Double, y: Double)
        var scale: Double

        /// The variance the fit adds to a measurement's RA and declination at its pixel, deg² (as
        /// processCcd adds it: `PositionVariance`).
        func variance(at m: Measurement) -> (ra: Double, dec: Double) {
            let pixels = AstrometricFit.variance(covariance, dx: m.x - crpix.x, dy: m.y - crpix.y)
            let variance = PositionVariance(pixels: pixels, scale: scale, declination: m.dec)
            return (variance.ra, variance.dec)
        }

        /// The calexp's, nil when it or its keywords are missing.
        static func read(_ path: String?) throws -> WCSFitError? {
            guard let path, let file = try? FITSFile.open(path) else { return nil }
            defer { try? file.close() }
            guard let fit = try Coadd.astrometricCovariance(file) else { return nil }
            let cd = try ["CD1_1", "CD1_2", "CD2_1", "CD2_2"].compactMap { try file.double($0) }
            guard cd.count == 4 else { return nil }
            return WCSFitError(covariance: fit.covariance, crpix: fit.crpix, scale: TangentWCS.pixelScale(cd: cd))
        }
    }

    /// An image's calibration as its outputs state it: the zero point (magnitude of one count) and
    /// the relative σ common to its fluxes.
    struct Calibration {
        var zeroPoint: Double
        var commonSigma: Double

        /// The summary's `zeroPoint`, and the PSF fluxes' common σ from its `fluxMag0Sigma`/`fluxMag0`
        /// (a CCD summary) or from the coadd image's `MAGZERR` (a coadd's summary has no σ); 0 when
        /// neither says. Nil without a summary or its zero point.
        static func read(_ summary: String?, image: String?) throws -> Calibration? {
            guard let summary else { return nil }
            let lines = try String(contentsOfFile: summary, encoding: .utf8).split(separator: "\n")
            guard lines.count >= 2 else { return nil }
            let header = lines[0].split(separator: ",").map(String.init), fields = CSVLine.fields(lines[1])
            func value(_ name: String) -> Double? {
                header.firstIndex(of: name).flatMap { $0 < fields.count ? Double(fields[$0]) : nil }
            }
            guard let zeroPoint = value("zeroPoint") else { return nil }
            if let fluxMag0 = value("fluxMag0"), let sigma = value("fluxMag0Sigma"), fluxMag0 > 0 {
                return Calibration(zeroPoint: zeroPoint, commonSigma: sigma / fluxMag0)
            }
            guard let image, let file = try? FITSFile.open(image) else { return Calibration(zeroPoint: zeroPoint, commonSigma: 0) }
            defer { try? file.close() }
            func keyword(_ name: String) -> Double? { (try? file.double(name)).flatMap { $0 }.flatMap { $0.isFinite ? $0 : nil } }
            return Calibration(zeroPoint: zeroPoint, commonSigma: relativeFluxError(magnitudes: keyword("MAGZERR") ?? 0))
        }
    }

    /// The measurements of a CSV written by processCcd, coadd or forcedPhot, found by column name
    /// (`ra`, `decl`, `filterId` and the named flux with its `Sigma`). A coadd's border copies
    /// (`isPrimary` 0) are left out, as `WHERE isPrimary = 1` leaves them: each is its neighbour
    /// patch's primary source again, measured on the same calexps, and would count that star twice.
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
        let variances = (header.firstIndex(of: "raVar"), header.firstIndex(of: "declVar"))
        let pixel = (header.firstIndex(of: "x"), header.firstIndex(of: "y"))
        let primary = header.firstIndex(of: "isPrimary")
        var out: [Measurement] = []
        while let line = lines.next() {
            let fields = CSVLine.fields(line)
            guard fields.count == header.count, let ra = Double(fields[columns[0]]), let dec = Double(fields[columns[1]]),
                  let filterId = Int(fields[columns[2]]), let value = Double(fields[columns[3]]), let sigma = Double(fields[columns[4]]) else {
                throw ProcessCcdFailure(.other, "\(path): unreadable line: \(line)")
            }
            if let primary, fields[primary] == "0" { continue }
            var measurement = Measurement(ra: ra, dec: dec, filterId: filterId, flux: value, fluxSigma: sigma, zeroPoint: zeroPoint)
            if let ra = variances.0, let dec = variances.1 {
                measurement.raVar = Double(fields[ra]) ?? .nan
                measurement.declVar = Double(fields[dec]) ?? .nan
            }
            if let x = pixel.0, let y = pixel.1 {
                measurement.x = Double(fields[x]) ?? .nan
                measurement.y = Double(fields[y]) ?? .nan
            }
            out.append(measurement)
        }
        return out
    }
}

// MARK: - Pulls

extension TruthComparison {
    /// The S/N bins pulls are figured in: 5–20, 20–100, 100–300 and above 300.
    public static let signalToNoiseBins: [Range<Double>] = [5..<20, 20..<100, 100..<300, 300..<Double.infinity]

    /// What a pull is of: a flux, or a coordinate.
    public enum PullQuantity: String, Sendable, CaseIterable {
        case flux, ra, decl
    }

    /// The pulls (measured − true)/σ of one quantity of one filter's stars in one S/N bin.
    public struct Pulls: Sendable {
        public var filter: Filter
        public var quantity: PullQuantity
        /// The bin, in the true flux over the quoted σ, or over the own σ for `ownNoise` (binning on
        /// the measured S/N would cut each bin's pulls at its edges).
        public var bin: Range<Double>
        public var values: [Double]
        /// Their median.
        public var median: Double { Self.median(values) }
        /// Their robust standard deviation: the standard deviation about the median of those within
        /// 4 robust σ (1.4826 × MAD) of it. A blend or a mismatch does not set it, and it is nearly
        /// as efficient as the plain one (the MAD alone would need 2.7 times the stars for the same
        /// precision), 1/√(2N) relative.
        public var sigma: Double { Self.clippedSigma(values) }
        /// The relative standard error of `sigma`, 1/√(2N).
        public var sigmaError: Double { 1 / (2 * Double(max(values.count, 1))).squareRoot() }

        public var line: String {
            let top = bin.upperBound.isFinite ? String(format: "%.0f", bin.upperBound) : "∞"
            return String(format: "%@ %-4@ S/N %3.0f–%@: %5d, pull median %+.2f, σ %.2f ± %.2f",
                          filter.rawValue, quantity.rawValue, bin.lowerBound, top, values.count, median, sigma, sigma * sigmaError)
        }

        static func median(_ values: [Double]) -> Double { Statistics.median(values) ?? .nan }

        static func clippedSigma(_ values: [Double]) -> Double {
            guard values.count >= 2 else { return .nan }
            let m = median(values), mad = MAD.toSigma * median(values.map { abs($0 - m) })
            let kept = values.filter { abs($0 - m) <= 4 * mad }
            guard kept.count >= 2 else { return mad }
            return (kept.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(kept.count - 1)).squareRoot()
        }
    }

    /// The pulls of the measurements matched to a star within `radiusArcsec`, by filter, quantity
    /// and S/N bin (`signalToNoiseBins`): the flux's (measured − true)/fluxSigma, the true flux at
    /// the measurement's zero point; the RA's (ra − true ra)/√raVar and the declination's alike
    /// where the measurement has variances (raVar the RA coordinate's own, in deg²).
    public func pulls(_ measurements: [Measurement], radiusArcsec: Double = 1) -> [Pulls] {
        var values: [(Filter, PullQuantity, Range<Double>, Double)] = []
        for match in matched(measurements, radiusArcsec: radiusArcsec) {
            let (m, star, truth) = (match.measurement, match.star, match.truth)
            guard let bin = Self.signalToNoiseBins.first(where: { $0.contains(truth / m.fluxSigma) }) else { continue }
            values.append((match.filter, .flux, bin, (m.flux - truth) / m.fluxSigma))
            if m.raVar > 0, m.declVar > 0 {
                values += [(match.filter, .ra, bin, (m.ra - star.ra) / m.raVar.squareRoot()),
                           (match.filter, .decl, bin, (m.dec - star.dec) / m.declVar.squareRoot())]
            }
        }
        return Self.grouped(values)
    }

    /// A measurement matched to a star, with the star's true flux at its zero point.
    struct Match {
        var measurement: Measurement
        var star: Star
        var truth: Double
        var filter: Filter
        /// measured/true − 1.
        var offset: Double { measurement.flux / truth - 1 }
    }

    /// The measurements of positive σ matched to a star within `radiusArcsec`.
    func matched(_ measurements: [Measurement], radiusArcsec: Double) -> [Match] {
        let radius = radiusArcsec / 3600
        return measurements.compactMap { m in
            guard m.fluxSigma > 0, let star = nearestStar(to: m, within: radius),
                  let filter = Filter.allCases.first(where: { $0.filterId == m.filterId }) else { return nil }
            return Match(measurement: m, star: star, truth: pow(10, -0.4 * (star.magnitudes[m.filterId] - m.zeroPoint)), filter: filter)
        }
    }

    /// Pull values gathered by filter, quantity and bin, in that order; non-finite ones left out.
    static func grouped(_ values: [(filter: Filter, quantity: PullQuantity, bin: Range<Double>, value: Double)]) -> [Pulls] {
        var out: [String: Pulls] = [:]
        for v in values where v.value.isFinite {
            let key = "\(v.filter.filterId) \(v.quantity.rawValue) \(v.bin.lowerBound)"
            out[key, default: Pulls(filter: v.filter, quantity: v.quantity, bin: v.bin, values: [])].values.append(v.value)
        }
        return out.values.sorted { ($0.filter.filterId, $0.quantity.rawValue, $0.bin.lowerBound) < ($1.filter.filterId, $1.quantity.rawValue, $1.bin.lowerBound) }
    }

    /// A coadd's fluxes against the inverse-variance mean of its inputs' calibrated fluxes, per
    /// filter, for the coadd's sources of S/N at least `minimumSignalToNoise` that have `minimumInputs`
    /// input measurements within `radiusArcsec`; the inputs' fluxes brought to the coadd's zero point.
    ///
    /// - Returns: Each filter's relative differences coadd/mean − 1, their pulls (the difference
    ///   over the coadd's quoted σ) and the coadd's quoted σ over the mean's (1/√Σσ⁻²).
    public static func coaddAgainstInputs(_ coadd: [Measurement], inputs: [Measurement], minimumSignalToNoise: Double = 100,
                                          minimumInputs: Int = 2, radiusArcsec: Double = 1) -> [Filter: (offsets: [Double], pulls: [Double], sigmaRatios: [Double])] {
        let index = ZoneIndex(inputs.map { SkyPosition(ra: $0.ra, dec: $0.dec) }, radius: searchRadius)
        let radius = radiusArcsec / 3600
        var out: [Filter: (offsets: [Double], pulls: [Double], sigmaRatios: [Double])] = [:]
        for c in coadd where c.fluxSigma > 0 && c.flux / c.fluxSigma >= minimumSignalToNoise {
            guard let filter = Filter.allCases.first(where: { $0.filterId == c.filterId }) else { continue }
            var sum = 0.0, weights = 0.0, count = 0
            for (k, _) in index.near(SkyPosition(ra: c.ra, dec: c.dec), within: radius) where inputs[k].filterId == c.filterId && inputs[k].fluxSigma > 0 {
                let m = inputs[k]
                let factor = pow(10, 0.4 * (c.zeroPoint - m.zeroPoint)), sigma = m.fluxSigma * factor
                sum += m.flux * factor / (sigma * sigma)
                weights += 1 / (sigma * sigma)
                count += 1
            }
            guard count >= minimumInputs else { continue }
            let mean = sum / weights
            out[filter, default: ([], [], [])].offsets.append(c.flux / mean - 1)
            out[filter, default: ([], [], [])].pulls.append((c.flux - mean) / c.fluxSigma)
            out[filter, default: ([], [], [])].sigmaRatios.append(c.fluxSigma * weights.squareRoot())
        }
        return out
    }
}
