import Basics
import Foundation
import Pipeline
import Sky

/// A defect injected into a simulated frame, so that every failure class occurs.
public enum Defect: String, CaseIterable, Sendable {
    /// The frame is written but its mask (`fpM-...`), which processing needs, is not:
    /// inventory accepts the frame, processCcd reports a missing file.
    case missingFile = "missing-file"
    /// The header's CD matrix is turned by ~25° and scaled by 8 %: inventory accepts the
    /// frame (its centre is right), the astrometric fit of processCcd cannot.
    case brokenWCS = "broken-wcs"
    /// Clouds: the frame is ~6 magnitudes shallower, leaving too few stars to match.
    case fewStars = "few-stars"
    /// The first header card is overwritten: cfitsio cannot open the file.
    case corruptedHeader = "corrupted-header"

    /// What `dcprod inventory` must make of a frame with this defect.
    public var inventoryExpectation: String {
        switch self {
        case .corruptedHeader: "failure"
        case .missingFile, .brokenWCS, .fewStars: "event"
        }
    }
}

/// Photometric and noise properties of the simulated camera, per filter (u, g, r, i, z).
public enum Camera {
    public static let softBias = 1000
    public static let gain = 4.7
    public static let exposure = 53.907456
    /// Magnitude giving one count in one exposure: 5σ point-source depths near SDSS's
    /// (u 22.0, g 22.6, r 22.0, i 21.6, z 20.5) for 1.4″ seeing.
    public static let zeroPoint = [26.7, 27.8, 27.4, 27.2, 26.1]
    public static let skyCounts = [30.0, 70.0, 110.0, 160.0, 150.0]
    public static let sdssScale = 0.396
}

/// `dcprod pipe simulate`: SDSS-like `fpC` frames over a region, a reference catalog with its own
/// errors (`refcat.csv`), the exact objects (`truth-objects.csv`) and the frames' truth (`truth.csv`).
/// The same options and seed give byte-identical files.
public struct Simulation: Sendable {
    public struct Options: Sendable {
        public var directory: URL
        public var frames: Int
        public var seed: UInt64
        public var defects: Double
        public var region: Region
        public var width: Int
        public var height: Int
        /// Arcsec per pixel.
        public var pixelScale: Double
        public var filters: [Filter]
        /// The sky's number counts and galaxy sizes (`--density`).
        public var density: SkyDensity
        /// How the reference catalog departs from the truth.
        public var reference = ReferenceCatalogErrors()
        /// Seeds the headers' pointing errors alone (`--pointing-seed`): the same sky, pixels and noise
        /// with other starting WCSs, as two productions of the same frames that `dcprod compare` can
        /// tell apart only by their noise. nil: `seed` does.
        public var pointingSeed: UInt64?
        /// Isolated bright stars added to the sky (tests' only: the demo's and `pipe simulate`'s sky
        /// has none); nil: none.
        public var brightStars: BrightStars?
        /// Each frame the mean of this many exposures of one pointing under one seeing (tests' only:
        /// `pipe simulate` writes single exposures, 1): its counts are one exposure's, its noise
        /// 1/√n of one exposure's, and its header's GAIN n times the camera's, as the mean of n
        /// exposures has n times the electrons per count; processCcd's variance follows the header.
        /// A coadd of e such frames is as deep as one of n·e exposures (1.25·log₁₀ n magnitudes
        /// deeper than e single ones) at e frames' cost; it lacks only the seeing's spread between
        /// the n exposures, which its e frames still have between them.
        public var exposuresPerFrame = 1

        public init(directory: URL, frames: Int, seed: UInt64 = 7, defects: Double = 0, region: Region = .stripe82,
                    width: Int = 2048, height: Int = 1489, pixelScale: Double = Camera.sdssScale, filters: [Filter] = Filter.allCases,
                    density: SkyDensity = .sparse) {
            self.directory = directory
            self.frames = frames
            self.seed = seed
            self.defects = defects
            self.region = region
            self.width = width
            self.height = height
            self.pixelScale = pixelScale
            self.filters = filters
            self.density = density
        }
    }

    public struct Summary: Sendable {
        public var framesWritten = 0
        public var defects: [Defect: Int] = [:]
        public var referenceObjects = 0
        public var runs: Set<Int> = []

        public var line: String {
            let list = Defect.allCases.compactMap { d in defects[d].map { "\(d.rawValue) \($0)" } }.joined(separator: ", ")
            return "simulate: \(framesWritten) frames written, \(defects.values.reduce(0, +)) defects"
                + (list.isEmpty ? "" : " (\(list))") + ", \(referenceObjects) reference objects, \(runs.count) runs"
        }
    }

    /// One planned frame: where it is, what it truly looks like and what its header says.
    struct Plan: Sendable {
        var name: FrameName
        var trueWCS: TangentWCS
        var headerWCS: TangentWCS
        var fwhm: Double
        var defect: Defect?

        var relativePath: String { "\(name.run)/\(name.camcol)/\(name.description)" }
    }

    public let options: Options
    let sky: SkyModel

    public init(options: Options) {
        self.options = options
        sky = SkyModel(seed: options.seed, density: options.density, brightStars: options.brightStars)
    }

    var scaleDegrees: Double { options.pixelScale / 3600 }

    /// Electrons per count of a frame: the camera's, times the exposures it is the mean of.
    var gain: Double { Camera.gain * Double(options.exposuresPerFrame) }

    var layout: SurveyLayout {
        SurveyLayout(region: options.region, width: options.width, height: options.height, scale: scaleDegrees)
    }

    func plans() -> [Plan] {
        var out: [Plan] = []
        var n = 0
        while out.count < options.frames {
            let pointing = layout.pointing(n)
            n += 1
            for filter in options.filters where out.count < options.frames {
                let name = FrameName(run: pointing.run, filter: filter, camcol: pointing.camcol, field: pointing.field)
                var random = SeededRandom(seed: options.seed, stream: [0xF4A, name.run, name.camcol, name.field, filter.filterId])
                let rotation = random.uniform(-0.05, 0.05)
                let truth = TangentWCS(center: pointing.center, width: options.width, height: options.height,
                                       scale: scaleDegrees, rotation: rotation)
                // Pointing error: ~1.5 arcsec rms on each axis, drawn from the frame's stream whatever
                // seeds it, so that the draws after it (the seeing) do not change with the pointing seed.
                var error = (dec: random.gaussian(), ra: random.gaussian())
                if let seed = options.pointingSeed {
                    var own = SeededRandom(seed: seed, stream: [0xF4B, name.run, name.camcol, name.field, filter.filterId])
                    error = (own.gaussian(), own.gaussian())
                }
                var header = truth
                header.crval2 += error.dec * 1.5 / 3600
                header.crval1 = RightAscension.turned(header.crval1 + error.ra * 1.5 / 3600 / cos(truth.crval2 * .pi / 180))
                out.append(Plan(name: name, trueWCS: truth, headerWCS: header,
                                fwhm: random.uniform(1.0, 1.8), defect: nil))
            }
        }
        // Defects: in each block of 20 frames, the fraction's share of frames at seeded positions,
        // the kinds in turn. Blocks are keyed by their index, so simulating more frames with the same
        // seed leaves the first frames, defects included, unchanged.
        let block = 20
        for start in stride(from: 0, to: out.count, by: block) {
            let k = start / block
            let before = Int((Double(k * block) * options.defects).rounded(.down))
            let count = Int((Double((k + 1) * block) * options.defects).rounded(.down)) - before
            var positions = Array(0..<block)
            var random = SeededRandom(seed: options.seed, stream: [0xDEF, k])
            positions.shuffle(using: &random)
            for (j, position) in positions.prefix(count).enumerated() where start + position < out.count {
                let defect = Defect.allCases[(before + j) % Defect.allCases.count]
                out[start + position].defect = defect
                if defect == .brokenWCS {
                    out[start + position].headerWCS = out[start + position].headerWCS.distorted(rotation: 25, factor: 1.08)
                }
            }
        }
        return out
    }

    public func run(progress: (Int, Int) -> Void = { _, _ in }) throws -> Summary {
        // Frame names have six digits of run and four of field: a region too wide for them, or more
        // epochs than runs hold, would give names inventory cannot read, or the same name twice.
        guard let capacity = layout.capacity, options.frames <= capacity * options.filters.count else {
            let most = layout.capacity.map { "at most \($0 * options.filters.count) frames fit" }
                ?? "it has more fields along RA or strips across Dec than frame names number"
            throw SurveyLayout.Overflow(description: "the region \(options.region) at this frame size cannot hold \(options.frames) frames: \(most)")
        }
        let fm = FileManager.default
        try fm.createDirectory(at: options.directory, withIntermediateDirectories: true)
        let plans = plans()
        var summary = Summary()
        var cells: Set<[Int]> = []
        for (index, plan) in plans.enumerated() {
            cells.formUnion(cellsCovered(by: plan))
            summary.runs.insert(plan.name.run)
            if let defect = plan.defect { summary.defects[defect, default: 0] += 1 }
            try write(plan)
            summary.framesWritten += 1
            if plan.defect == .missingFile {
                try? FileManager.default.removeItem(at: maskURL(plan))
            } else {
                try writeMask(plan)
            }
            progress(index + 1, plans.count)
        }
        summary.referenceObjects = try writeReferenceCatalog(cells: cells)
        try writeTruth(plans)
        return summary
    }

    // MARK: - Frames

    func render(_ plan: Plan) throws -> [Float] {
        let (w, h) = (options.width, options.height)
        let filter = plan.name.filter.filterId
        let sky = Camera.skyCounts[filter]
        let transparency = plan.defect == .fewStars ? 0.004 : 1.0
        var image = [Float](repeating: 0, count: w * h)

        let fwhmPixels = plan.fwhm / options.pixelScale
        let objects = objectsNear(plan)
        let positions = try plan.trueWCS.wcs(width: w, height: h).pixels(objects.map { ($0.ra, $0.dec) })
        for (object, position) in zip(objects, positions) {
            let flux = pow(10, -0.4 * (object.magnitudes[filter] - Camera.zeroPoint[filter])) * transparency
            let profile: Profile = object.isStar
                ? .moffat(MoffatPSF(fwhm: fwhmPixels, beta: 3))
                : .galaxy(SeenGalaxy(psf: MoffatPSF(fwhm: fwhmPixels, beta: 3), sigma: object.size / options.pixelScale))
            profile.add(flux: flux, at: (position.x - 1, position.y - 1), to: &image, width: w, height: h)
        }

        var random = SeededRandom(seed: options.seed, stream: [0x9015E, plan.name.run, plan.name.camcol, plan.name.field, filter])
        let bias = Double(Camera.softBias), gain = self.gain
        for k in image.indices {
            let signal = sky + Double(image[k])
            let noise = (max(signal, 0) / gain).squareRoot() * random.gaussian()
            image[k] = Float(bias + signal + noise)
        }
        return image
    }

    func write(_ plan: Plan) throws {
        let url = options.directory.appendingPathComponent(plan.relativePath)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let pixels = try render(plan)
        try AtomicFile.write(to: url, size: Int64(pixels.count) * 4 + 2 * 2880) { temporary in
            let file = try FITSFile.create(temporary.path)
            try file.createImage(width: options.width, height: options.height)
            try file.write("ORIGIN", "dcprod pipe simulate")
            try file.write("RUN", plan.name.run, comment: "imaging run")
            try file.write("CAMCOL", plan.name.camcol, comment: "camera column")
            try file.write("FIELD", plan.name.field, comment: "field number")
            try file.write("FILTER", plan.name.filter.rawValue, comment: "filter")
            try file.write("SOFTBIAS", Camera.softBias, comment: "software bias added to all pixels")
            try file.write("GAIN", gain, comment: "electrons per count")
            try file.write("EXPTIME", Camera.exposure, comment: "exposure time (s)")
            try file.write("SKY", Camera.skyCounts[plan.name.filter.filterId], comment: "sky level (counts)")
            for card in plan.headerWCS.cards { try file.write(card) }
            try file.writePixels(pixels)
            try file.close()
            if plan.defect == .corruptedHeader { try corruptFirstCard(temporary) }
        }
    }

    /// The frame's mask file, `fpM-...` beside it: an empty primary HDU saying no pixel is masked.
    func maskURL(_ plan: Plan) -> URL {
        options.directory.appendingPathComponent(plan.relativePath.replacingOccurrences(of: "fpC-", with: "fpM-"))
    }

    func writeMask(_ plan: Plan) throws {
        try AtomicFile.write(to: maskURL(plan), size: 2880) { temporary in
            let file = try FITSFile.create(temporary.path)
            try file.createImage(width: 0, height: 0)
            try file.write("ORIGIN", "dcprod pipe simulate")
            try file.write("RUN", plan.name.run)
            try file.write("CAMCOL", plan.name.camcol)
            try file.write("FIELD", plan.name.field)
            try file.write("FILTER", plan.name.filter.rawValue)
            try file.write("NMASK", 0, comment: "masked regions")
            try file.close()
        }
    }

    private func corruptFirstCard(_ url: URL) throws {
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        let card = "XIMPLE  = corrupted by dcprod pipe simulate (defect corrupted-header)"
        try handle.write(contentsOf: Data(card.padding(toLength: 80, withPad: " ", startingAt: 0).utf8))
    }

    /// The sky box around a frame, wide enough for its corners and PSF wings.
    private func box(_ plan: Plan) -> (raMin: Double, raMax: Double, decMin: Double, decMax: Double) {
        let half = 0.5 * Double(max(options.width, options.height)) * 1.5 * scaleDegrees + 30 / 3600
        let ra = plan.trueWCS.crval1, dec = plan.trueWCS.crval2
        let halfRA = half / cos(dec * .pi / 180)
        return (ra - halfRA, ra + halfRA, dec - half, dec + half)
    }

    private func objectsNear(_ plan: Plan) -> [SkyObject] {
        let b = box(plan)
        return sky.objects(raMin: b.raMin, raMax: b.raMax, decMin: b.decMin, decMax: b.decMax)
    }

    private func cellsCovered(by plan: Plan) -> [[Int]] {
        let b = box(plan), size = SkyModel.cellSize
        let iRange = Int((b.raMin / size).rounded(.down))...Int((b.raMax / size).rounded(.down))
        let jRange = Int(((b.decMin + 90) / size).rounded(.down))...Int(((b.decMax + 90) / size).rounded(.down))
        return jRange.flatMap { j in iRange.map { i in [SkyModel.column(i), j] } }
    }

    // MARK: - Catalogs

    /// `truth.csv`: every planned frame, its defect, what inventory must make of it, and its true WCS.
    func writeTruth(_ plans: [Plan]) throws {
        var text = "file,run,camcol,field,filter,defect,inventory,crval1,crval2,crpix1,crpix2,cd1_1,cd1_2,cd2_1,cd2_2,fwhm\n"
        for plan in plans {
            let t = plan.trueWCS
            let fields: [String] = [
                plan.relativePath, String(plan.name.run), String(plan.name.camcol), String(plan.name.field),
                plan.name.filter.rawValue, plan.defect?.rawValue ?? "none", plan.defect?.inventoryExpectation ?? "event",
            ] + [t.crval1, t.crval2, t.crpix1, t.crpix2].map { String(format: "%.10f", $0) }
              + t.cd.map { String(format: "%.12e", $0) } + [String(format: "%.3f", plan.fwhm)]
            text += fields.joined(separator: ",") + "\n"
        }
        try AtomicFile.write(Data(text.utf8), to: options.directory.appendingPathComponent("truth.csv"))
    }
}

/// A point-spread or galaxy profile, normalised to unit total flux: a star is the PSF, a galaxy
/// the PSF convolved with its own Gaussian (`SeenGalaxy`).
enum Profile {
    case moffat(MoffatPSF)
    case galaxy(SeenGalaxy)

    var radius: Int {
        switch self {
        case .moffat(let psf): Int((4 * psf.fwhm).rounded(.up)) + 2
        case .galaxy(let galaxy): galaxy.radius
        }
    }

    func value(_ r2: Double) -> Double {
        switch self {
        case .moffat(let psf):
            return psf.value(r2)
        case .galaxy(let galaxy):
            return galaxy.value(r2)
        }
    }

    /// Adds `flux` counts centred at 0-based pixel coordinates `center`.
    func add(flux: Double, at center: (x: Double, y: Double), to image: inout [Float], width: Int, height: Int) {
        let r = radius
        let cx = Int(center.x.rounded()), cy = Int(center.y.rounded())
        guard cx + r >= 0, cx - r < width, cy + r >= 0, cy - r < height else { return }
        for y in max(0, cy - r)...min(height - 1, cy + r) {
            let dy = Double(y) - center.y
            for x in max(0, cx - r)...min(width - 1, cx + r) {
                let dx = Double(x) - center.x
                image[y * width + x] += Float(flux * value(dx * dx + dy * dy))
            }
        }
    }
}
