import Basics
import Foundation
import Sky

/// `dcprod pipe forcedPhot`: measures a calexp at given sky positions (DeepSource's, from the
/// coadds), whether or not anything is detected there: a PSF flux at the fixed position and an
/// aperture flux as the model flux, with the calexp's background noise.
///
/// The positions come in a file the manager wrote from the catalog before it submitted the job
/// (`deepSourceId,ra,decl` lines), or, when the coadds are made in the same batch job
/// (`run --by-patch`), in their deepsrc files, which a `.sources` file names: a batch job never
/// opens a database.
public struct ForcedPhot {
    public struct Options: Sendable {
        public var positions: String
        public var outputDirectory: URL
        /// The tunables: the edge margin, the noise's sampling, the photometry's.
        public var config = ForcedPhotConfig()

        public init(positions: String, outputDirectory: URL) {
            self.positions = positions
            self.outputDirectory = outputDirectory
        }
    }

    public struct Result: Sendable {
        /// Positions on the calexp, measured.
        public var measured: Int
        /// Positions in the file.
        public var positions: Int
        public var outputs: [String]

        public var line: String { "forcedPhot: ok: \(measured) of \(positions) positions on the calexp measured" }
    }

    public let options: Options

    public init(options: Options) { self.options = options }

    /// The output of a calexp: `forced-STEM.csv`.
    public static func output(for name: FrameName, in directory: URL) -> URL {
        directory.appendingPathComponent(StepOutput.forced.fileName(name.stem))
    }

    /// The flags a forced measurement carries: where its footprint lies and what its pixels are; it
    /// has no centroid of its own, and its neighbours are the DeepSource's business.
    static let flagColumns = ["flagPixEdge", "flagPixSaturCen", "flagBadPsfFlux"]

    public static let columns = "deepForcedSourceId,deepSourceId,run,camcol,field,filterId,ra,decl,psfFlux,psfFluxSigma,modelFlux,modelFluxSigma,"
        + "objectId,scienceCcdExposureId," + flagColumns.joined(separator: ",")

    /// Measures the calexp at the positions that fall on it and writes `forced-STEM.csv`.
    ///
    /// - Parameter calexp: processCcd's `calexp-RRRRRR-Fc-FFFF.fits`.
    /// - Returns: How many positions were measured.
    /// - Throws: `ProcessCcdFailure` (`missing file:`, `unreadable header:`) when the calexp or the
    ///   positions cannot be read; `inconsistent header:` when the calexp's RUN, CAMCOL, FIELD or FILTER
    ///   is not its name's (FILTER must be there).
    public func run(calexp path: String) throws -> Result {
        let fileName = URL(fileURLWithPath: path).lastPathComponent
        guard let name = FrameName(fileName: fileName.replacingOccurrences(of: StepOutput.calexp.prefix, with: "fpC-").replacingOccurrences(of: ".fits", with: ".fit")) else {
            throw ProcessCcdFailure(.other, "\(fileName) is not a calexp name")
        }
        guard FileManager.default.fileExists(atPath: path) else { throw ProcessCcdFailure(.missingFiles, "missing file: \(path)") }
        if let kind = specialFileKind(atPath: options.positions) {
            throw ProcessCcdFailure(.missingFiles, "missing file: positions \(options.positions) is a \(kind), not a regular file; not opened")
        }
        guard let listed = try? String(contentsOfFile: options.positions, encoding: .utf8) else {
            throw ProcessCcdFailure(.missingFiles, "missing file: positions \(options.positions)")
        }
        let positions = options.positions.hasSuffix(".sources") ? try Self.positions(fromSources: listed, file: options.positions)
                                                                : try Self.positions(listed, file: options.positions)
        let (wcs, photometer, saturation) = try readCalexp(path, name: name)
        let pixels = try wcs.pixels(positions.map { (ra: $0.ra, dec: $0.dec) })
        let (text, measured) = measure(positions, at: pixels, with: photometer, name: name, saturation: saturation)
        let output = Self.output(for: name, in: options.outputDirectory)
        try OutputFiles.writeAll([output], in: options.outputDirectory) { try AtomicFile.write(Data(text.utf8), to: output) }
        return Result(measured: measured, positions: positions.count, outputs: [output.path])
    }

    /// The calexp's WCS and photometer: the PSF model and aperture correction processCcd fitted; a
    /// calexp written before it fitted them gets its own, from what it shows; and its saturation
    /// level (`SATURATE`), when it has one.
    func readCalexp(_ path: String, name: FrameName) throws -> (WCS, Photometer, Float?) {
        let config = options.config
        do {
            let file = try FITSFile.open(path)
            defer { try? file.close() }
            // The calexp's name says which frame and filter its measurements are catalogued as; its
            // header must say the same (processCcd writes all four keywords).
            let mismatches = try file.identityMismatches(with: name, requiringFilter: true)
            guard mismatches.isEmpty else {
                throw ProcessCcdFailure(.unreadableHeader, "inconsistent header: \(path): "
                                        + mismatches.map { "\($0) (the file name's)" }.joined(separator: "; "))
            }
            let size = try file.imageSize()
            guard size.count == 2 else { throw ProcessCcdFailure(.unreadableHeader, "unreadable header: \(path) is not a 2-D image") }
            let image = Image(width: size[0], height: size[1], pixels: try file.readImage())
            let wcs = try WCS(file: file)
            let noise = Coadd.robustSigma(image.pixels, sampling: config.noiseSampling)
            var photometer = try Photometer.read(from: file, image: image, noise: noise, config: config.photometry.measurement)
                ?? PSFModeling(config: config.photometry)
                    .photometer(image: image, noise: noise, gain: .infinity,
                                detections: SourceDetector.detect(image, sigma: noise, config: config.detection))
            // The fluxes are quoted at the calexp's zero point: its σ (MAGZERR; none before processCcd
            // wrote it) is part of each flux's σ.
            if let sigma = try file.double("MAGZERR"), sigma.isFinite, sigma >= 0 { photometer.zeroPointSigma = sigma }
            return (wcs, photometer, try file.double("SATURATE").flatMap { $0.isFinite ? Float($0) : nil })
        } catch let failure as ProcessCcdFailure {
            throw failure
        } catch {
            throw ProcessCcdFailure(.unreadableHeader, "unreadable header: \(path): \(FileSystemProblem.text(of: error))")
        }
    }

    /// The CSV text of the positions that lie `edgeMargin` inside the calexp, each with its PSF
    /// flux at the fixed position and its model flux, and how many they are.
    func measure(_ positions: [(id: Int64, ra: Double, dec: Double)], at pixels: [(x: Double, y: Double)],
                 with photometer: Photometer, name: FrameName, saturation: Float? = nil) -> (text: String, measured: Int) {
        let image = photometer.image, psfSigma = photometer.psfSigma, m = photometer.config
        let flagging = SourceFlagging(photometer: photometer, saturation: saturation)
        var text = Self.columns + "\n"
        var measured = 0
        for (position, pixel) in zip(positions, pixels) {
            // FITS pixel p is 0-based p - 1; a position must lie a PSF away from the edges.
            let c = (x: pixel.x - 1, y: pixel.y - 1), margin = options.config.edgeMargin * psfSigma
            guard c.x >= margin, c.y >= margin, c.x <= Double(image.width - 1) - margin, c.y <= Double(image.height - 1) - margin else { continue }
            let psf = photometer.psf(at: c)
            // (3 × 2.3548) × σ where `Photometer.measure` has 3 × (2.3548 × σ): the same radius but
            // for its last bit, which decides a pixel on the edge now and then; kept as it was.
            let model = photometer.aperture(at: c, radius: max(m.minimumModelRadius, m.modelRadius * Gaussian.sigmaToFWHM * psfSigma))
            let at = Measurement(x: c.x, y: c.y, positionVariance: 0, apFlux: 0, apFluxSigma: 0, psfFlux: psf.flux, psfFluxSigma: psf.sigma,
                                 modelFlux: model.flux, modelFluxSigma: model.sigma)
            text += "\(ProcessCcd.sourceId(name, measured)),\(position.id),\(name.run),\(name.camcol),\(name.field),\(name.filter.filterId),"
            text += String(format: "%.8f,%.8f,%.3f,%.3f,%.3f,%.3f,", position.ra, position.dec, psf.flux, psf.sigma, model.flux, model.sigma)
            text += "\(position.id),\(name.scienceCcdExposureId)," + flagging.flags(at, image: image, neighbours: nil).fields(Self.flagColumns) + "\n"
            measured += 1
        }
        return (text, measured)
    }

    /// The positions of a `.sources` file: a `box RAMIN RAMAX DECMIN DECMAX` line (RAMIN above RAMAX
    /// through RA 0), then deepsrc files (`Coadd.sourceColumns`); the primary rows inside the box (bounds included), by deepSourceId —
    /// what the manager would have read from the catalog's DeepSource. A deepsrc file that is not
    /// there is a coadd that failed, whose sources the catalog would not have either.
    static func positions(fromSources text: String, file: String) throws -> [(id: Int64, ra: Double, dec: Double)] {
        var box: [Double] = []
        var out: [(id: Int64, ra: Double, dec: Double)] = []
        for (index, line) in text.split(separator: "\n").enumerated() where !line.hasPrefix("#") {
            if line.hasPrefix("box ") {
                box = line.split(separator: " ").dropFirst().compactMap { Double($0) }
                continue
            }
            guard box.count == 4 else { throw ProcessCcdFailure(.other, "\(file):\(index + 1): a deepsrc file before the box line") }
            // A deepsrc file not made (yet) is passed over; so is one that is not a regular file, unopened.
            guard specialFileKind(atPath: String(line)) == nil,
                  let sources = try? String(contentsOfFile: String(line), encoding: .utf8) else { continue }
            let rows = sources.split(separator: "\n")
            let columns = rows.first.map { CSVLine.fields($0) } ?? []
            guard let id = columns.firstIndex(of: "deepSourceId"), let ra = columns.firstIndex(of: "ra"),
                  let dec = columns.firstIndex(of: "decl") else {
                throw ProcessCcdFailure(.other, "\(line):1: no deepSourceId, ra and decl columns")
            }
            // The primary copies only, as the manager's query takes them: a border copy is the same
            // object as its neighbour patch's primary one, and measuring both counts an epoch twice.
            let primary = columns.firstIndex(of: "isPrimary")
            for (number, row) in rows.enumerated().dropFirst() {
                let fields = CSVLine.fields(row)
                guard fields.count == columns.count, let sourceId = Int64(fields[id]), let r = Double(fields[ra]), let d = Double(fields[dec]),
                      r.isFinite, d.isFinite else {
                    throw ProcessCcdFailure(.other, "\(line):\(number + 1): expected a DeepSource row")
                }
                guard primary.map({ fields[$0] == "1" }) ?? true else { continue }
                if RightAscension.isWithin(r, box[0], box[1]) && d >= box[2] && d <= box[3] { out.append((sourceId, r, d)) }
            }
        }
        return out.sorted { $0.id < $1.id }
    }

    /// `deepSourceId,ra,decl` lines after a header.
    static func positions(_ text: String, file: String) throws -> [(id: Int64, ra: Double, dec: Double)] {
        var out: [(id: Int64, ra: Double, dec: Double)] = []
        for (index, line) in text.split(separator: "\n").enumerated() where index > 0 {
            let fields = line.split(separator: ",")
            guard fields.count == 3, let id = Int64(fields[0]), let ra = Double(fields[1]), let dec = Double(fields[2]),
                  ra.isFinite, dec.isFinite else {
                throw ProcessCcdFailure(.other, "\(file):\(index + 1): expected deepSourceId,ra,decl")
            }
            out.append((id, ra, dec))
        }
        return out
    }
}
