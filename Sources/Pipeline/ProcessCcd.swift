import Basics
import Foundation
import Sky

/// A processCcd failure, with the words its class's rule recognises in the log.
public struct ProcessCcdFailure: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        case missingFiles = "missing-files"
        case unreadableHeader = "unreadable-header"
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

/// `dcprod pipe processCcd`: the reference single-frame processing. Background, detection,
/// centroids, aperture/PSF/model fluxes, match to the reference catalog, WCS refit (shift and
/// linear terms), photometric zero point; writes a calexp FITS, a source CSV and a CCD summary CSV.
public struct ProcessCcd: Sendable {
    public struct Options: Sendable {
        public var referenceCatalog: String
        public var outputDirectory: URL
        /// Detection threshold, in sigma of the smoothed background.
        public var threshold = 5.0
        public var minimumMatches = 6
        /// Largest accepted RMS of the astrometric residuals, arcsec.
        public var maximumResidual = 0.5

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
        return ["calexp-\(stem).fits", "src-\(stem).csv", "ccd-\(stem).csv"].map { directory.appendingPathComponent($0) }
    }

    /// The SDSS mask file that goes with a frame (`fpM-...`), which processing needs.
    public static func maskPath(for framePath: String) -> String {
        let url = URL(fileURLWithPath: framePath)
        let name = url.lastPathComponent.replacingOccurrences(of: "fpC-", with: "fpM-")
        return url.deletingLastPathComponent().appendingPathComponent(name).path
    }

    public func run(frame path: String) throws -> Result {
        let fileName = URL(fileURLWithPath: path).lastPathComponent
        guard let name = FrameName(fileName: fileName) else {
            throw ProcessCcdFailure(.other, "\(fileName) is not an fpC frame name")
        }
        let fm = FileManager.default
        guard fm.fileExists(atPath: path) else { throw ProcessCcdFailure(.missingFiles, "missing file: \(path)") }
        let mask = Self.maskPath(for: path)
        guard fm.fileExists(atPath: mask) else { throw ProcessCcdFailure(.missingFiles, "missing file: mask \(mask)") }

        // Header, image and initial WCS.
        var timings = StageTimings()
        let file: FITSFile
        let headerWCS: WCS
        var image: Image
        let gain: Double
        do {
            file = try FITSFile.open(path)
            // Inventory made the event from this name and header; a frame replaced since (another
            // filter's) would be calibrated against the wrong magnitudes and catalogued as this one.
            let mismatches = try file.identityMismatches(with: name)
            guard mismatches.isEmpty else {
                throw ProcessCcdFailure(.unreadableHeader, "inconsistent header: \(path): "
                                        + mismatches.map { "\($0) (the file name's)" }.joined(separator: "; "))
            }
            let size = try file.imageSize()
            guard size.count == 2 else { throw ProcessCcdFailure(.unreadableHeader, "unreadable header: NAXIS is \(size.count), not 2") }
            guard size[0] >= 64, size[1] >= 64 else {
                throw ProcessCcdFailure(.unreadableHeader, "unreadable header: an image of \(size[0]) × \(size[1]) pixels is too small for a frame")
            }
            let bias = try file.double("SOFTBIAS") ?? 0
            gain = try file.double("GAIN") ?? 1
            guard bias.isFinite, gain.isFinite, gain > 0 else {
                throw ProcessCcdFailure(.unreadableHeader, "unreadable header: SOFTBIAS \(bias) or GAIN \(gain) is not a finite (positive) number")
            }
            headerWCS = try WCS(file: file)
            image = Image(width: size[0], height: size[1], pixels: try file.readImage().map { $0 - Float(bias) })
            // A pixel that is not a number (a masked one) is the image's median: nothing downstream
            // has to think about NaN.
            if image.pixels.contains(where: { !$0.isFinite }) {
                let median = Float(Background.median(image.pixels.filter(\.isFinite)))
                for k in image.pixels.indices where !image.pixels[k].isFinite { image.pixels[k] = median }
            }
        } catch let failure as ProcessCcdFailure {
            throw failure
        } catch let error as WCSError {
            throw ProcessCcdFailure(.astrometry, "astrometry problem: no initial WCS: \(error)")
        } catch let error as FITSError {
            throw ProcessCcdFailure(.unreadableHeader, "unreadable header: \(error.message)")
        }
        try? file.close()
        timings.lap("read")
        let start = try Self.tangentWCS(headerWCS, width: image.width, height: image.height)
        let scale = (abs(start.cd[0] * start.cd[3] - start.cd[1] * start.cd[2])).squareRoot() * 3600
        // A header whose pixels are no size (or the whole sky) has no WCS to start from.
        guard scale.isFinite, scale > 0.001, scale < 3600 else {
            throw ProcessCcdFailure(.astrometry, "astrometry problem: no initial WCS: the header's pixel scale is \(scale) arcsec")
        }

        // Background, detection, measurement.
        let background = Background(of: image)
        for k in image.pixels.indices { image.pixels[k] -= background.model[k] }
        timings.lap("background")
        let detections = SourceDetector.detect(image, sigma: background.sigma, threshold: options.threshold)
        timings.lap("detection")
        let photometer = Photometer.calibrated(image: image, noise: background.sigma, gain: gain, detections: detections)
        timings.lap("PSF model")
        let measured = detections.compactMap { photometer.measure($0) }.filter { $0.signalToNoise >= options.threshold }
        timings.lap("measurement")
        let bright = measured.filter { $0.signalToNoise >= 10 }.sorted { $0.psfFlux > $1.psfFlux }.prefix(200)

        // Reference objects on the frame, through the header WCS.
        let footprint = try headerWCS.sky([(1, 1), (Double(image.width), 1), (Double(image.width), Double(image.height)), (1, Double(image.height))])
        let margin = 20.0 / 3600
        let cosDec = cos(start.crval2 * .pi / 180)
        let catalog = try ReferenceCatalog(path: options.referenceCatalog,
                                           raMin: footprint.map(\.ra).min()! - margin / cosDec, raMax: footprint.map(\.ra).max()! + margin / cosDec,
                                           decMin: footprint.map(\.dec).min()! - margin, decMax: footprint.map(\.dec).max()! + margin)
        let filter = name.filter.filterId
        let references = catalog.entries.filter { $0.magnitudes[filter] < 22.5 }.sorted { $0.magnitudes[filter] < $1.magnitudes[filter] }.prefix(400)
        let referencePixels = try headerWCS.pixels(references.map { ($0.ra, $0.dec) })
        timings.lap("reference catalog")

        // Coarse shift by voting, then matches, fit, re-match, re-fit.
        let brightPixels = bright.map { (x: $0.x + 1, y: $0.y + 1) }
        let shift = Self.votedShift(from: brightPixels, to: referencePixels, radius: 8 / scale, bin: 1 / scale)
        func insufficient(_ matches: Int) -> ProcessCcdFailure {
            bright.count < 10
                ? ProcessCcdFailure(.matches, "matches problem: \(matches) reference matches for \(bright.count) bright detections (need \(options.minimumMatches))")
                : ProcessCcdFailure(.astrometry, "astrometry problem: no solution: \(matches) reference matches among \(bright.count) bright detections")
        }
        guard let shift, shift.votes >= options.minimumMatches else { throw insufficient(shift?.votes ?? 0) }
        let shiftedReferences = referencePixels.map { (x: $0.x - shift.dx, y: $0.y - shift.dy) }
        var matches = Self.match(bright.map { $0 }, brightPixels, shiftedReferences, references.map { $0 },
                                 filter: filter, radius: 1.5 / scale, wcs: headerWCS)
        guard matches.count >= options.minimumMatches else { throw insufficient(matches.count) }
        var fit = try AstrometricFit(matches: matches, start: start)
        let fitted = try fit.wcs.wcs(width: image.width, height: image.height)
        let measuredPixels = measured.map { (x: $0.x + 1, y: $0.y + 1) }
        let refitPixels = try fitted.pixels(references.map { ($0.ra, $0.dec) })
        matches = Self.match(Array(measured), measuredPixels, refitPixels, references.map { $0 },
                             filter: filter, radius: 1.0 / scale, wcs: fitted)
        guard matches.count >= options.minimumMatches else { throw insufficient(matches.count) }
        fit = try AstrometricFit(matches: matches, start: fit.wcs)
        guard fit.rms <= options.maximumResidual else {
            throw ProcessCcdFailure(.astrometry, String(format: "astrometry problem: residual too large: %.3f arcsec rms over %d matches", fit.rms, fit.used))
        }

        // Photometric zero point from matched stars measured well: a galaxy's PSF flux is not its
        // total flux, and faint sources would weigh noise.
        let zeroPoints = matches.filter { $0.isStar && $0.signalToNoise >= 20 && $0.referenceMagnitude < 30 }
            .map { $0.referenceMagnitude + 2.5 * log10($0.instrumentalFlux) }.sorted()
        guard zeroPoints.count >= 3 else {
            throw ProcessCcdFailure(.matches, "matches problem: \(zeroPoints.count) photometric matches (need 3)")
        }
        let zeroPoint = zeroPoints[zeroPoints.count / 2]
        timings.lap("astrometry and zero point")

        // Outputs.
        let finalWCS = try fit.wcs.wcs(width: image.width, height: image.height)
        let sky = try finalWCS.sky(measuredPixels)
        let urls = Self.outputs(for: name, in: options.outputDirectory)
        try fm.createDirectory(at: options.outputDirectory, withIntermediateDirectories: true)
        let fwhm = 2.3548 * photometer.psfSigma * scale
        try writeCalexp(image, name: name, wcs: fit.wcs, zeroPoint: zeroPoint, fwhm: fwhm, photometer: photometer, sources: measured.count,
                        matches: fit.used, rms: fit.rms, to: urls[0])
        try writeSources(measured, sky: sky, name: name, scale: scale, to: urls[1])
        let corners = try finalWCS.sky([(1, 1), (Double(image.width), 1), (Double(image.width), Double(image.height)), (1, Double(image.height))])
        try writeSummary(name: name, center: (fit.wcs.crval1, fit.wcs.crval2), corners: corners, zeroPoint: zeroPoint,
                         fwhm: fwhm, sources: measured.count, matches: fit.used, rms: fit.rms, to: urls[2])
        timings.lap("outputs")
        return Result(sources: measured.count, matches: fit.used, residualArcsec: fit.rms, zeroPoint: zeroPoint,
                      fwhmArcsec: fwhm, wcs: fit.wcs, outputs: urls.map(\.path), timings: timings)
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

    /// The reference-minus-detection offset most detections agree on, from a 2-D histogram.
    static func votedShift(from detections: [(x: Double, y: Double)], to references: [(x: Double, y: Double)],
                           radius: Double, bin: Double) -> (dx: Double, dy: Double, votes: Int)? {
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
        var best: (count: Int, i: Int, j: Int) = (0, 0, 0)
        for j in 0..<side {
            for i in 0..<side {
                var count = 0
                for b in max(0, j - 1)...min(side - 1, j + 1) { for a in max(0, i - 1)...min(side - 1, i + 1) { count += histogram[b * side + a].count } }
                if count > best.count { best = (count, i, j) }
            }
        }
        guard best.count > 0 else { return nil }
        var sx = 0.0, sy = 0.0, count = 0
        for b in max(0, best.j - 1)...min(side - 1, best.j + 1) {
            for a in max(0, best.i - 1)...min(side - 1, best.i + 1) {
                for (dx, dy) in histogram[b * side + a] { sx += dx; sy += dy; count += 1 }
            }
        }
        return (sx / Double(count), sy / Double(count), best.count)
    }

    /// Each detection's nearest reference within `radius` pixels; a reference is used once.
    static func match(_ measurements: [Measurement], _ pixels: [(x: Double, y: Double)], _ referencePixels: [(x: Double, y: Double)],
                      _ references: [ReferenceCatalog.Entry], filter: Int, radius: Double, wcs: WCS) -> [Match] {
        var used = Set<Int>()
        var out: [Match] = []
        for (k, p) in pixels.enumerated() {
            var best: (index: Int, d2: Double)?
            for (i, r) in referencePixels.enumerated() where !used.contains(i) {
                let d2 = (r.x - p.x) * (r.x - p.x) + (r.y - p.y) * (r.y - p.y)
                if d2 <= radius * radius, d2 < (best?.d2 ?? .infinity) { best = (i, d2) }
            }
            guard let best else { continue }
            used.insert(best.index)
            let ref = references[best.index]
            out.append(Match(x: p.x, y: p.y, ra: ref.ra, dec: ref.dec, referenceMagnitude: ref.magnitudes[filter],
                             isStar: ref.isStar, instrumentalFlux: measurements[k].psfFlux,
                             signalToNoise: measurements[k].signalToNoise))
        }
        return out
    }

    // MARK: - Outputs

    func writeCalexp(_ image: Image, name: FrameName, wcs: TangentWCS, zeroPoint: Double, fwhm: Double, photometer: Photometer,
                     sources: Int, matches: Int, rms: Double, to url: URL) throws {
        let tmp = AtomicFile.temporary(for: url)
        let file = try FITSFile.create(tmp.path)
        try file.createImage(width: image.width, height: image.height)
        try file.write("ORIGIN", "dcprod pipe processCcd")
        try file.write("RUN", name.run)
        try file.write("CAMCOL", name.camcol)
        try file.write("FIELD", name.field)
        try file.write("FILTER", name.filter.rawValue)
        try wcs.write(to: file)
        try file.write("MAGZERO", zeroPoint, comment: "magnitude of one count")
        try file.write("FWHM", fwhm, comment: "PSF FWHM (arcsec)")
        try photometer.write(to: file)
        try file.write("NSOURCE", sources, comment: "sources measured")
        try file.write("NMATCH", matches, comment: "reference matches in the WCS fit")
        try file.write("ASTRMS", rms, comment: "astrometric residual rms (arcsec)")
        try file.writePixels(image.pixels)
        try file.close()
        try AtomicFile.commit(tmp, to: url)
    }

    /// Source ids: run, camcol, field, filter and a running number packed in 64 bits.
    static func sourceId(_ name: FrameName, _ index: Int) -> Int64 {
        ((((Int64(name.run) * 8 + Int64(name.camcol)) * 16384 + Int64(name.field)) * 8 + Int64(name.filter.filterId)) << 16) | Int64(index & 0xFFFF)
    }

    public static let sourceColumns = "sourceId,run,camcol,field,filterId,ra,decl,raVar,declVar,x,y,psfFlux,psfFluxSigma,apFlux,apFluxSigma,modelFlux,modelFluxSigma"

    func writeSources(_ sources: [Measurement], sky: [(ra: Double, dec: Double)], name: FrameName, scale: Double, to url: URL) throws {
        var text = Self.sourceColumns + "\n"
        let degreesPerPixel = scale / 3600
        for (k, (s, p)) in zip(sources, sky).enumerated() {
            let variance = s.positionVariance * degreesPerPixel * degreesPerPixel
            text += "\(Self.sourceId(name, k)),\(name.run),\(name.camcol),\(name.field),\(name.filter.filterId),"
            text += String(format: "%.8f,%.8f,%.4e,%.4e,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f\n",
                           p.ra, p.dec, variance, variance, s.x + 1, s.y + 1, s.psfFlux, s.psfFluxSigma,
                           s.apFlux, s.apFluxSigma, s.modelFlux, s.modelFluxSigma)
        }
        try AtomicFile.write(Data(text.utf8), to: url)
    }

    public static let summaryColumns = "run,camcol,field,filterId,ra,decl,corner1Ra,corner1Decl,corner2Ra,corner2Decl,corner3Ra,corner3Decl,corner4Ra,corner4Decl,zeroPoint,fwhm,nSources,nMatches,astromRms"

    func writeSummary(name: FrameName, center: (Double, Double), corners: [(ra: Double, dec: Double)], zeroPoint: Double,
                      fwhm: Double, sources: Int, matches: Int, rms: Double, to url: URL) throws {
        var fields = ["\(name.run)", "\(name.camcol)", "\(name.field)", "\(name.filter.filterId)",
                      String(format: "%.8f", center.0), String(format: "%.8f", center.1)]
        for c in corners { fields += [String(format: "%.8f", c.ra), String(format: "%.8f", c.dec)] }
        fields += [String(format: "%.4f", zeroPoint), String(format: "%.3f", fwhm), "\(sources)", "\(matches)", String(format: "%.4f", rms)]
        try AtomicFile.write(Data((Self.summaryColumns + "\n" + fields.joined(separator: ",") + "\n").utf8), to: url)
    }
}
