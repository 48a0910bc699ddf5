import Basics
import Foundation
import Sky

/// A processCcd failure, with the words its class's rule recognises in the log.
public struct ProcessCcdFailure: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        case missingFiles
        case unreadableHeader
        case astrometry
        case matches
        case other
    }

    public var kind: Kind
    public var message: String

    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// `dcprod pipe processCcd`: the reference single-frame processing, a composition of stages
/// (LSST's `ProcessCcdTask`: `CharacterizeImageTask` then `CalibrateTask`), each in its own type:
///
/// 1. read: the frame, its header's identity, bias, gain and WCS (`readFrame`);
/// 2. background: `Background`, subtracted;
/// 3. detection: `SourceDetector`, a first pass for the bright stars the PSF is modelled on;
/// 4. PSF model and aperture correction: `PSFModeling` (`PSFModelFit`, `ApertureCorrection`), then
///    detection again on the image filtered by that PSF (counted in the measurement's time);
/// 5. measurement: `Photometer.measure`, sources below the detection threshold's S/N dropped;
/// 6. reference catalog: the objects on the frame through the header's WCS;
/// 7. astrometry: `AstrometricMatcher` (voted shift, then matches) and `AstrometricFit`, twice;
/// 8. zero point: `PhotometricCalibration`;
/// 9. outputs: a calexp FITS, a source CSV and a CCD summary CSV.
///
/// Every tunable is a field of `ProcessCcdConfig`, with its default.
public struct ProcessCcd: Sendable {
    public struct Options: Sendable {
        public var referenceCatalog: String
        public var outputDirectory: URL
        /// Every stage's tunables.
        public var config = ProcessCcdConfig()

        /// Detection threshold, in sigma of the smoothed background (`config.detection.threshold`).
        public var threshold: Double {
            get { config.detection.threshold }
            set { config.detection.threshold = newValue }
        }
        /// The fewest reference matches (`config.astrometry.minimumMatches`).
        public var minimumMatches: Int {
            get { config.astrometry.minimumMatches }
            set { config.astrometry.minimumMatches = newValue }
        }
        /// Largest accepted RMS of the astrometric residuals, arcsec (`config.astrometry.maximumResidual`).
        public var maximumResidual: Double {
            get { config.astrometry.maximumResidual }
            set { config.astrometry.maximumResidual = newValue }
        }

        public init(referenceCatalog: String, outputDirectory: URL) {
            self.referenceCatalog = referenceCatalog
            self.outputDirectory = outputDirectory
        }
    }

    public struct Result: Sendable {
        public var sources: Int
        public var matches: Int
        public var residualArcsec: Double
        public var zeroPoint: Double
        public var fwhmArcsec: Double
        public var wcs: TangentWCS
        public var outputs: [String]
        /// Seconds spent in each stage, in order (`--timings`).
        public var timings: StageTimings

        public var line: String {
            String(format: "processCcd: ok: %d sources, %d reference matches, astrometric rms %.3f arcsec, zero point %.3f, FWHM %.2f arcsec",
                   sources, matches, residualArcsec, zeroPoint, fwhmArcsec)
        }
    }

    public let options: Options

    public init(options: Options) { self.options = options }

    /// The output file names of a frame: calexp, source CSV, CCD summary CSV.
    public static func outputs(for name: FrameName, in directory: URL) -> [URL] {
        let stem = name.stem
        return Step.processCcd.outputs.map { directory.appendingPathComponent($0.fileName(stem)) }
    }

    /// The SDSS mask file that goes with a frame (`fpM-...`), which processing needs.
    public static func maskPath(for framePath: String) -> String {
        let url = URL(fileURLWithPath: framePath)
        let name = url.lastPathComponent.replacingOccurrences(of: "fpC-", with: "fpM-")
        return url.deletingLastPathComponent().appendingPathComponent(name).path
    }

    public func run(frame path: String) throws -> Result {
        let config = options.config
        var timings = StageTimings()
        var frame = try readFrame(path)
        timings.lap("read")
        let background = Background(of: frame.image, config: config.background)
        for k in frame.image.pixels.indices { frame.image.pixels[k] -= background.model[k] }
        timings.lap("background")
        let firstPass = SourceDetector.detect(frame.image, sigma: background.sigma, config: config.detection)
        timings.lap("detection")
        let photometer = PSFModeling(config: config.photometry).photometer(image: frame.image, noise: background.sigma,
                                                                          gain: frame.gain, detections: firstPass)
        timings.lap("PSF model")
        // The first pass finds the bright stars the PSF is modelled on; the sources are those of the image filtered by that PSF.
        let detections = !config.detection.matchedFilter ? firstPass
            : SourceDetector.detect(frame.image, sigma: background.sigma, psfSigma: photometer.psfSigma, config: config.detection)
        let measured = classified(detections.compactMap { photometer.measure($0) }.filter { $0.signalToNoise >= config.detection.threshold },
                                  on: frame, photometer: photometer, detections: detections)
        timings.lap("measurement")
        let references = try referenceObjects(on: frame)
        timings.lap("reference catalog")
        let (fit, matches) = try astrometry(measured, references, on: frame)
        let calibration = PhotometricCalibration(config: config.calibration)
        guard let calibrated = calibration.zeroPoint(matches) else {
            throw ProcessCcdFailure(.matches, "matches problem: \(calibration.zeroPoints(matches).count) photometric matches (need \(config.calibration.minimumStars))")
        }
        let zeroPoint = calibrated.value
        // What is written is calibrated: each position's variance has the fitted WCS's at the source
        // added (pixels², FITS pixel = 0-based + 1), each flux σ the zero point's (σ_zp·ln10/2.5 of the flux).
        let relative = relativeFluxError(magnitudes: calibrated.sigma)
        let sources = measured.map { source in
            var out = source.addingRelativeFluxError(relative)
            out.positionVariance += fit.variance(atPixel: (source.x + 1, source.y + 1))
            return out
        }
        timings.lap("astrometry and zero point")
        let fwhm = Gaussian.sigmaToFWHM * photometer.psfSigma * frame.scale
        let urls = try writeOutputs(frame, photometer: photometer, measured: sources, fit: fit, zeroPoint: zeroPoint,
                                    zeroPointSigma: calibrated.sigma, fwhm: fwhm)
        timings.lap("outputs")
        return Result(sources: measured.count, matches: fit.used, residualArcsec: fit.rms, zeroPoint: zeroPoint,
                      fwhmArcsec: fwhm, wcs: fit.wcs, outputs: urls.map(\.path), timings: timings)
    }

    // MARK: - Read

    /// A frame read, its bias subtracted, with what the stages need of its header.
    struct Frame {
        var name: FrameName
        var image: Image
        /// Electrons per count.
        var gain: Double
        /// The header's WCS, through wcslib.
        var headerWCS: WCS
        /// The header's WCS as a TAN WCS with a CD matrix: the fit's start.
        var start: TangentWCS
        /// The header's pixel scale, arcsec.
        var scale: Double
        /// The level at and above which a pixel (bias subtracted) is saturated: the header's
        /// `SATURATE`; nil when it does not say.
        var saturation: Float?

        /// The FITS pixels of the image's corners.
        var corners: [(x: Double, y: Double)] {
            [(1, 1), (Double(image.width), 1), (Double(image.width), Double(image.height)), (1, Double(image.height))]
        }
    }

    /// The frame at `path` and its mask beside it, each failure with its class.
    func readFrame(_ path: String) throws -> Frame {
        let fileName = URL(fileURLWithPath: path).lastPathComponent
        guard let name = FrameName(fileName: fileName) else {
            throw ProcessCcdFailure(.other, "\(fileName) is not an fpC frame name")
        }
        let fm = FileManager.default
        guard fm.fileExists(atPath: path) else { throw ProcessCcdFailure(.missingFiles, "missing file: \(path)") }
        let mask = Self.maskPath(for: path)
        guard fm.fileExists(atPath: mask) else { throw ProcessCcdFailure(.missingFiles, "missing file: mask \(mask)") }
        let file: FITSFile
        let read: (image: Image, gain: Double, wcs: WCS, saturation: Float?)
        do {
            file = try FITSFile.open(path)
            read = try readImage(file, name: name, path: path)
        } catch let failure as ProcessCcdFailure {
            throw failure
        } catch let error as WCSError {
            throw ProcessCcdFailure(.astrometry, "astrometry problem: no initial WCS: \(error)")
        } catch let error as FITSError {
            throw ProcessCcdFailure(.unreadableHeader, "unreadable header: \(error.message)")
        }
        try? file.close()
        let start = try Self.tangentWCS(read.wcs, width: read.image.width, height: read.image.height)
        let scale = start.pixelScale
        // A header whose pixels are no size (or the whole sky) has no WCS to start from.
        guard scale.isFinite, scale > options.config.minimumPixelScale, scale < options.config.maximumPixelScale else {
            throw ProcessCcdFailure(.astrometry, "astrometry problem: no initial WCS: the header's pixel scale is \(scale) arcsec")
        }
        return Frame(name: name, image: read.image, gain: read.gain, headerWCS: read.wcs, start: start, scale: scale,
                     saturation: read.saturation)
    }

    /// The image of an open frame, its bias subtracted and its NaNs replaced; its gain, WCS and saturation level.
    func readImage(_ file: FITSFile, name: FrameName, path: String) throws -> (image: Image, gain: Double, wcs: WCS, saturation: Float?) {
        // Inventory made the event from this name and header; a frame replaced since (another
        // filter's) would be calibrated against the wrong magnitudes and catalogued as this one.
        let mismatches = try file.identityMismatches(with: name)
        guard mismatches.isEmpty else {
            throw ProcessCcdFailure(.unreadableHeader, "inconsistent header: \(path): "
                                    + mismatches.map { "\($0) (the file name's)" }.joined(separator: "; "))
        }
        let size = try file.imageSize()
        guard size.count == 2 else { throw ProcessCcdFailure(.unreadableHeader, "unreadable header: NAXIS is \(size.count), not 2") }
        let side = options.config.minimumImageSide
        guard size[0] >= side, size[1] >= side else {
            throw ProcessCcdFailure(.unreadableHeader, "unreadable header: an image of \(size[0]) × \(size[1]) pixels is too small for a frame")
        }
        let bias = try file.double("SOFTBIAS") ?? 0
        let gain = try file.double("GAIN") ?? 1
        guard bias.isFinite, gain.isFinite, gain > 0 else {
            throw ProcessCcdFailure(.unreadableHeader, "unreadable header: SOFTBIAS \(bias) or GAIN \(gain) is not a finite (positive) number")
        }
        let wcs = try WCS(file: file)
        var image = Image(width: size[0], height: size[1], pixels: try file.readImage().map { $0 - Float(bias) })
        // A pixel that is not a number (a masked one) is the image's median: nothing downstream
        // has to think about NaN.
        if image.pixels.contains(where: { !$0.isFinite }) {
            let median = Float(RobustStatistics.median(image.pixels.filter(\.isFinite)))
            for k in image.pixels.indices where !image.pixels[k].isFinite { image.pixels[k] = median }
        }
        let saturation = try file.double("SATURATE").flatMap { $0.isFinite ? Float($0 - bias) : nil }
        return (image, gain, wcs, saturation)
    }

    // MARK: - Astrometry

    /// The reference objects on the frame (its header's footprint and `referenceMargin`) brighter
    /// than `referenceMagnitudeLimit`, brightest first, and their FITS pixels through the header's WCS.
    func referenceObjects(on frame: Frame) throws -> (entries: [ReferenceCatalog.Entry], pixels: [(x: Double, y: Double)]) {
        let astrometry = options.config.astrometry
        let footprint = try frame.headerWCS.sky(frame.corners)
        let margin = astrometry.referenceMargin / 3600
        let cosDec = cos(frame.start.crval2 * .pi / 180)
        // A frame across RA 0 spans 359.9 to 0.1, not 0.1 to 359.9 (which would hold all but it).
        let span = RightAscension.span(footprint.map(\.ra))
        let raMin = RightAscension.turned(span.low - margin / cosDec), raMax = RightAscension.turned(span.high + margin / cosDec)
        let catalog = try ReferenceCatalog(path: options.referenceCatalog, raMin: raMin, raMax: raMax,
                                           decMin: footprint.map(\.dec).min()! - margin, decMax: footprint.map(\.dec).max()! + margin)
        let filter = frame.name.filter.filterId
        let references = catalog.entries.filter { $0.magnitudes[filter] < astrometry.referenceMagnitudeLimit }
            .sorted { $0.magnitudes[filter] < $1.magnitudes[filter] }.prefix(astrometry.references)
        return (Array(references), try frame.headerWCS.pixels(references.map { ($0.ra, $0.dec) }))
    }

    /// The WCS fitted to the matches and the matches: a coarse shift voted for by the bright
    /// detections, their matches and a first fit, then every source matched through that fit and
    /// fitted again.
    func astrometry(_ measured: [Measurement], _ references: (entries: [ReferenceCatalog.Entry], pixels: [(x: Double, y: Double)]),
                    on frame: Frame) throws -> (fit: AstrometricFit, matches: [Match]) {
        let config = options.config.astrometry, scale = frame.scale, filter = frame.name.filter.filterId
        let bright = Array(measured.filter { $0.signalToNoise >= config.brightSignalToNoise }.sorted { $0.psfFlux > $1.psfFlux }
            .prefix(config.brightest))
        func insufficient(_ matches: Int) -> ProcessCcdFailure {
            bright.count < config.starPoorFrame
                ? ProcessCcdFailure(.matches, "matches problem: \(matches) reference matches for \(bright.count) bright detections (need \(config.minimumMatches))")
                : ProcessCcdFailure(.astrometry, "astrometry problem: no solution: \(matches) reference matches among \(bright.count) bright detections")
        }
        let brightPixels = bright.map { (x: $0.x + 1, y: $0.y + 1) }
        let shift = AstrometricMatcher.votedShift(from: brightPixels, to: references.pixels,
                                                  radius: config.shiftSearchRadius / scale, bin: config.shiftBin / scale)
        guard let shift, shift.votes >= config.minimumMatches else { throw insufficient(shift?.votes ?? 0) }
        let shiftedReferences = references.pixels.map { (x: $0.x - shift.dx, y: $0.y - shift.dy) }
        var matches = AstrometricMatcher.match(bright, brightPixels, shiftedReferences, references.entries,
                                               filter: filter, radius: config.firstMatchRadius / scale)
        guard matches.count >= config.minimumMatches else { throw insufficient(matches.count) }
        var fit = try AstrometricFit(matches: matches, start: frame.start, config: config.fit)
        let fitted = try fit.wcs.wcs(width: frame.image.width, height: frame.image.height)
        let measuredPixels = measured.map { (x: $0.x + 1, y: $0.y + 1) }
        let refitPixels = try fitted.pixels(references.entries.map { ($0.ra, $0.dec) })
        matches = AstrometricMatcher.match(measured, measuredPixels, refitPixels, references.entries,
                                           filter: filter, radius: config.secondMatchRadius / scale)
        guard matches.count >= config.minimumMatches else { throw insufficient(matches.count) }
        fit = try AstrometricFit(matches: matches, start: fit.wcs, config: config.fit)
        guard fit.rms <= config.maximumResidual else {
            throw ProcessCcdFailure(.astrometry, String(format: "astrometry problem: residual too large: %.3f arcsec rms over %d matches", fit.rms, fit.used))
        }
        return (fit, matches)
    }

    /// The header's WCS as a TAN WCS with a CD matrix (read back through wcslib).
    static func tangentWCS(_ wcs: WCS, width: Int, height: Int) throws -> TangentWCS {
        let cx = (Double(width) + 1) / 2, cy = (Double(height) + 1) / 2
        let points = try wcs.sky([(cx, cy), (cx + 1, cy), (cx, cy + 1)])
        let plane = try AstrometricFit.tangentPlane(at: points[0])
        let xi = try plane.pixels(points)
        var out = TangentWCS(center: points[0], width: width, height: height, scale: 1, rotation: 0)
        out.cd = [xi[1].x - xi[0].x, xi[2].x - xi[0].x, xi[1].y - xi[0].y, xi[2].y - xi[0].y]
        return out
    }

    // MARK: - Outputs

    /// Writes the calexp, the source CSV and the CCD summary; their URLs.
    func writeOutputs(_ frame: Frame, photometer: Photometer, measured: [Measurement], fit: AstrometricFit,
                      zeroPoint: Double, zeroPointSigma: Double = 0, fwhm: Double) throws -> [URL] {
        let (image, name) = (frame.image, frame.name)
        let finalWCS = try fit.wcs.wcs(width: image.width, height: image.height)
        let sky = try finalWCS.sky(measured.map { (x: $0.x + 1, y: $0.y + 1) })
        let urls = Self.outputs(for: name, in: options.outputDirectory)
        let corners = try finalWCS.sky(frame.corners)
        try OutputFiles.writeAll(urls, in: options.outputDirectory) {
            try writeCalexp(image, name: name, wcs: fit.wcs, zeroPoint: (zeroPoint, zeroPointSigma), fwhm: fwhm, photometer: photometer, sources: measured.count,
                            matches: fit.used, rms: fit.rms, astrometricCovariance: fit.pixelCovariance,
                            referenceShare: fit.referenceShare, saturation: frame.saturation, to: urls[0])
            try writeSources(measured, sky: sky, name: name, scale: frame.scale, to: urls[1])
            try writeSummary(name: name, center: (fit.wcs.crval1, fit.wcs.crval2), corners: corners, zeroPoint: (zeroPoint, zeroPointSigma),
                             fwhm: fwhm, sources: measured.count, matches: fit.used, rms: fit.rms, to: urls[2])
        }
        return urls
    }

    /// The calexp: the background-subtracted image, its identity, fitted WCS, zero point and its σ
    /// (`MAGZERO`, `MAGZERR`: forcedPhot adds the latter to its fluxes' σ, coadd combines them), the
    /// photometer's keywords and the aperture correction's σ (`APCERR`: the zero point, fitted to
    /// corrected fluxes, takes that error into the image's scale, which the coadd inherits), the WCS
    /// fit's covariance (`ASTCV11`…`ASTCV33`) and the share of it its reference stars' errors make (`ASTCVREF`).
    func writeCalexp(_ image: Image, name: FrameName, wcs: TangentWCS, zeroPoint: (value: Double, sigma: Double), fwhm: Double, photometer: Photometer,
                     sources: Int, matches: Int, rms: Double, astrometricCovariance: [Double] = [], referenceShare: Double? = nil, saturation: Float? = nil,
                     to url: URL) throws {
        try AtomicFile.write(to: url, size: OutputFiles.imageBytes(width: image.width, height: image.height)) { tmp in
            let file = try FITSFile.create(tmp.path)
            try file.createImage(width: image.width, height: image.height)
            try file.write("ORIGIN", "dcprod pipe processCcd")
            try file.write("RUN", name.run)
            try file.write("CAMCOL", name.camcol)
            try file.write("FIELD", name.field)
            try file.write("FILTER", name.filter.rawValue)
            try wcs.write(to: file)
            try file.write("MAGZERO", zeroPoint.value, comment: "magnitude of one count")
            try file.write("MAGZERR", zeroPoint.sigma, comment: "sigma of MAGZERO (mag)")
            // The frame's saturation level, bias subtracted, for forcedPhot's flagPixSaturCen.
            if let saturation { try file.write("SATURATE", Double(saturation), comment: "saturation level (counts)") }
            try file.write("FWHM", fwhm, comment: "PSF FWHM (arcsec)")
            try photometer.write(to: file)
            try file.write("APCERR", photometer.apertureCorrectionSigma, comment: "sigma of APCORR")
            try file.write("NSOURCE", sources, comment: "sources measured")
            try file.write("NMATCH", matches, comment: "reference matches in the WCS fit")
            try file.write("ASTRMS", rms, comment: "astrometric residual rms (arcsec)")
            // The fitted WCS's covariance (`AstrometricFit.pixelCovariance`): the coadd adds its inputs' error at each source.
            if astrometricCovariance.count == 9 {
                for (key, index) in zip(AstrometricFit.covarianceKeywords, AstrometricFit.covarianceIndices) {
                    try file.write(key, astrometricCovariance[index], comment: "WCS fit covariance (pixels^2)")
                }
                if let referenceShare {
                    try file.write(AstrometricFit.referenceShareKeyword, referenceShare, comment: "share of it the reference positions make")
                }
        }
        try file.writePixels(image.pixels)
        try file.close()
        }
    }

    /// Source ids: run, camcol, field, filter and a running number packed in 64 bits.
    static func sourceId(_ name: FrameName, _ index: Int) -> Int64 {
        ((((Int64(name.run) * 8 + Int64(name.camcol)) * 16384 + Int64(name.field)) * 8 + Int64(name.filter.filterId)) << 16) | Int64(index & 0xFFFF)
    }

    /// The measured sources with their flags (`SourceFlagging`) and extendedness (`Extendedness`).
    func classified(_ measured: [Measurement], on frame: Frame, photometer: Photometer, detections: [Detection]) -> [Measurement] {
        SourceFlagging.classified(measured, photometer: photometer, detections: detections, saturation: frame.saturation,
                                  extendedness: options.config.extendedness) { _ in photometer.noise }
    }

    public static let sourceColumns = "sourceId,scienceCcdExposureId,run,camcol,field,filterId,ra,decl,raVar,declVar,x,y,"
        + "psfFlux,psfFluxSigma,apFlux,apFluxSigma,modelFlux,modelFluxSigma,extendedness,"
        + SourceFlags.columns.map(\.name).joined(separator: ",")

    func writeSources(_ sources: [Measurement], sky: [(ra: Double, dec: Double)], name: FrameName, scale: Double, to url: URL) throws {
        var text = Self.sourceColumns + "\n"
        let flags = SourceFlags.columns.map(\.name)
        for (k, (s, p)) in zip(sources, sky).enumerated() {
            let variance = PositionVariance(pixels: s.positionVariance, scale: scale, declination: p.dec)
            text += "\(Self.sourceId(name, k)),\(name.scienceCcdExposureId),\(name.run),\(name.camcol),\(name.field),\(name.filter.filterId),"
            text += String(format: "%.8f,%.8f,%.4e,%.4e,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.0f,",
                           p.ra, p.dec, variance.ra, variance.dec, s.x + 1, s.y + 1, s.psfFlux, s.psfFluxSigma,
                           s.apFlux, s.apFluxSigma, s.modelFlux, s.modelFluxSigma, s.extendedness)
            text += s.flags.fields(flags) + "\n"
        }
        try AtomicFile.write(Data(text.utf8), to: url)
    }

    /// The CCD summary's columns: DC2013's Science_Ccd_Exposure, `fluxMag0` the counts of a
    /// magnitude-0 source (10^(0.4·zeroPoint)) and `fluxMag0Sigma` its σ (fluxMag0·ln10/2.5·σ_zp).
    public static let summaryColumns = "scienceCcdExposureId,run,camcol,field,filterId,ra,decl,corner1Ra,corner1Decl,corner2Ra,corner2Decl,corner3Ra,corner3Decl,corner4Ra,corner4Decl,zeroPoint,fwhm,nSources,nMatches,astromRms,fluxMag0,fluxMag0Sigma"

    func writeSummary(name: FrameName, center: (Double, Double), corners: [(ra: Double, dec: Double)], zeroPoint: (value: Double, sigma: Double),
                      fwhm: Double, sources: Int, matches: Int, rms: Double, to url: URL) throws {
        var fields = ["\(name.scienceCcdExposureId)", "\(name.run)", "\(name.camcol)", "\(name.field)", "\(name.filter.filterId)",
                      String(format: "%.8f", center.0), String(format: "%.8f", center.1)]
        for c in corners { fields += [String(format: "%.8f", c.ra), String(format: "%.8f", c.dec)] }
        fields += [String(format: "%.4f", zeroPoint.value), String(format: "%.3f", fwhm), "\(sources)", "\(matches)", String(format: "%.4f", rms)]
        let fluxMag0 = pow(10, 0.4 * zeroPoint.value)
        fields += [String(format: "%.6e", fluxMag0), String(format: "%.6e", fluxMag0 * relativeFluxError(magnitudes: zeroPoint.sigma))]
        try AtomicFile.write(Data((Self.summaryColumns + "\n" + fields.joined(separator: ",") + "\n").utf8), to: url)
    }
}
