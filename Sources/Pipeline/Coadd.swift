import Basics
import Foundation
import Sky

/// A coadd failure, with the words its class's rule recognises in the log.
public struct CoaddFailure: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        /// No calexp given, or none of them overlaps the patch.
        case noInput = "no-input"
        /// Fewer overlapping calexps than the coadd needs.
        case tooFewInputs = "too-few-inputs"
        /// A calexp that cannot be read (missing, no WCS, no zero point), or that is another
        /// filter's (`wrong input:`): either way the coadd cannot be made until the calexp is
        /// made again, so retrying it alone would only fail again.
        case unreadableInput = "unreadable-input"
    }

    public var kind: Kind
    public var message: String

    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// `dcprod pipe coadd`: the reference coaddition of one (tract, patch, filter).
///
/// Each calexp that overlaps the patch's outer box is warped onto the patch's pixel grid and
/// scaled to a common zero point (`Options.zeroPoint`, DC2013's fluxMag0 of 10^(0.4·27)); the
/// warped frames are stacked as a weighted mean (weights 1/σ², σ the frame's background noise after
/// scaling) with σ-clipping; sources are detected and measured on the stack as processCcd does.
///
/// Warping: the mapping from a patch pixel to a calexp pixel goes through wcslib (patch pixel → sky
/// → calexp pixel) at the nodes of a grid every `Options.mappingStep` pixels, and is interpolated
/// bilinearly in between (at 16 pixels the interpolation error is below 10⁻⁵ pixel for these
/// projections); the calexp is then sampled with a bilinear kernel (4 nearest pixels). A bilinear
/// kernel correlates neighbouring pixels and lowers the per-pixel noise of each warped frame by the
/// same factor whatever the number of frames, so the coadd's noise still falls as 1/√N.
///
/// Clipping: a first pass makes the unclipped weighted mean; the second leaves out, pixel by pixel,
/// a frame whose value is more than `Options.clip` times its noise plus 1.5 times the mean away from
/// that mean: satellite trails and cosmic rays on the sky. The second term keeps stars whole: a star's
/// core seen in the best seeing is two or three times the mean of its epochs, and clipping it (as a
/// tolerance of 10 % of the mean did) made bright stars' fluxes wrong by several percent.
public struct Coadd {
    public struct Options {
        public var skyMap: SkyMap
        public var patch: PatchId
        public var filter: Filter
        public var outputDirectory: URL
        /// The common zero point, magnitudes (fluxMag0 = 10^(0.4·zeroPoint)).
        public var zeroPoint = 27.0
        /// Detection threshold, in sigma of the stack's background.
        public var threshold = 5.0
        /// Clipping threshold, in sigma of each frame.
        public var clip = 4.0
        /// The fewest overlapping calexps a coadd is made of.
        public var minimumInputs = 1
        /// Pixels between the nodes where the warp's mapping is computed by wcslib.
        public var mappingStep = 16

        public init(skyMap: SkyMap, patch: PatchId, filter: Filter, outputDirectory: URL) {
            self.skyMap = skyMap
            self.patch = patch
            self.filter = filter
            self.outputDirectory = outputDirectory
        }
    }

    public struct Result: Sendable {
        /// Calexps that overlap the patch and went into the stack.
        public var inputs: Int
        public var sources: Int
        /// Standard deviation of a background pixel of the stack, at the common zero point.
        public var noise: Double
        public var outputs: [String]

        public var line: String {
            String(format: "coadd: ok: %d calexps, %d sources, background noise %.3f", inputs, sources, noise)
        }
    }

    public let options: Options

    public init(options: Options) { self.options = options }

    /// The output files of a patch in a filter: the deepCoadd FITS, the DeepSource CSV, the DeepCoadd row CSV.
    public static func outputs(for patch: PatchId, filter: Filter, in directory: URL) -> [URL] {
        let stem = "\(patch.tract)-\(patch.x),\(patch.y)-\(filter.rawValue)"
        return ["deepCoadd-\(stem).fits", "deepsrc-\(stem).csv", "coadd-\(stem).csv"].map { directory.appendingPathComponent($0) }
    }

    /// A calexp read for warping.
    struct Input {
        var path: String
        var image: Image
        var wcs: WCS
        /// Counts at the common zero point per calexp count.
        var scale: Double
        /// Background noise after scaling.
        var sigma: Double
        /// The PSF model processCcd fitted, nil for a calexp written before it did.
        var psf: MoffatPSF?
        /// Electrons per calexp count (infinite when the header does not say).
        var gain: Double
    }

    /// Coadds the calexps, writes the outputs.
    ///
    /// - Parameter calexps: The calexps of processCcd that may overlap the patch (those that do not are left out).
    /// - Returns: What went in and what came out.
    /// - Throws: `CoaddFailure` when an input cannot be read or is not of the coadd's filter (its FILTER keyword), or
    ///   too few overlap; file system errors writing the outputs.
    public func run(calexps: [String]) throws -> Result {
        guard !calexps.isEmpty else { throw CoaddFailure(.noInput, "no input calexp: none given for \(options.patch)") }
        let map = options.skyMap
        let patch = options.patch
        let grid = try WCS(header: map.header(of: patch))
        let (width, height) = map.size(of: patch)

        // Only where each overlapping calexp falls is kept between the passes, not its pixels: a patch
        // of Stripe 82 has ~80 epochs per filter.
        var inputs: [(path: String, region: Region, sigma: Double)] = []
        var components: [CoaddPSF.Component?] = []
        // Σw and Σw²·(patch counts per electron) over the inputs, for the stack's effective gain.
        var weightSum = 0.0, sourceVariance = 0.0
        for path in calexps {
            let input = try read(path)
            guard let region = try overlap(of: input, on: grid, width: width, height: height) else { continue }
            // Noise of a warped pixel: the calexp's, times the calexp pixels one patch pixel holds.
            let jacobian = try Self.jacobian(of: input, on: grid, at: region)
            let sigma = input.sigma * jacobian, weight = 1 / (sigma * sigma)
            inputs.append((path, region, sigma))
            components.append(input.psf.map { CoaddPSF.Component(wcs: input.wcs, psf: $0, width: input.image.width,
                                                                  height: input.image.height, weight: weight) })
            weightSum += weight
            sourceVariance += weight * weight * input.scale * jacobian / input.gain
        }
        guard !inputs.isEmpty else { throw CoaddFailure(.noInput, "no input calexp: none of \(calexps.count) overlaps \(patch)") }
        guard inputs.count >= options.minimumInputs else {
            throw CoaddFailure(.tooFewInputs, "too few inputs: \(inputs.count) calexps overlap \(patch), \(options.minimumInputs) needed")
        }

        // Two passes: the unclipped weighted mean, then the mean of what is near it.
        var first = Stack(width: width, height: height)
        for input in inputs {
            let weight = 1 / (input.sigma * input.sigma)
            try warp(try read(input.path, measuringNoise: false), input.region, grid: grid, width: width) { k, value in first.add(k, value, weight: weight) }
        }
        let reference = first.mean()
        var second = Stack(width: width, height: height)
        for input in inputs {
            let weight = 1 / (input.sigma * input.sigma), cut = options.clip * input.sigma
            try warp(try read(input.path, measuringNoise: false), input.region, grid: grid, width: width) { k, value in
                let mean = reference[k]
                if mean.isNaN || abs(Double(value) - Double(mean)) <= cut + 1.5 * abs(Double(mean)) {
                    second.add(k, value, weight: weight)
                }
            }
        }
        let stack = second.mean()
        let variance = second.variance()

        // Detection and measurement on the stack, where it has data.
        var image = Image(width: width, height: height, pixels: stack.map { $0.isNaN ? 0 : $0 })
        let background = Background(of: image)
        for k in image.pixels.indices { image.pixels[k] -= background.model[k] }
        // The stack's depth varies across the patch (fewer frames at the edges of the survey): each
        // pixel's noise is its variance plane's, scaled by what the pixels show (warping correlates
        // neighbours). Detection runs on the signal-to-noise image; each source is measured with the
        // noise where it is.
        var significance = Image(width: width, height: height, pixels: [Float](repeating: 0, count: width * height))
        var ratios: [Float] = []
        for k in stack.indices where !stack[k].isNaN && variance[k] > 0 {
            significance.pixels[k] = image.pixels[k] / variance[k].squareRoot()
            if k % 3 == 0 { ratios.append(significance.pixels[k]) }
        }
        guard !ratios.isEmpty else {
            throw CoaddFailure(.noInput, "no input calexp: none of \(calexps.count) covers a pixel of \(patch)")
        }
        let scale = Background.robustSigma(ratios)
        let noiseMap = { (k: Int) -> Double in scale * Double(variance[k]).squareRoot() }
        // The detector cuts its 3×3 mean at threshold·σ/3, as if pixels were independent; warped pixels
        // are not, so σ is given as three times the noise of that mean, measured.
        var means: [Float] = []
        for k in stride(from: width + 1, to: stack.count - width - 1, by: 5) where !stack[k].isNaN {
            var sum: Float = 0
            for d in [-width - 1, -width, -width + 1, -1, 0, 1, width - 1, width, width + 1] { sum += significance.pixels[k + d] }
            means.append(sum / 9)
        }
        let smoothedNoise = Background.robustSigma(means)
        let detections = SourceDetector.detect(significance, sigma: 3 * smoothedNoise, threshold: options.threshold).compactMap { found -> Detection? in
            let k = found.peakY * width + found.peakX
            guard !stack[k].isNaN else { return nil }
            return Detection(peakX: found.peakX, peakY: found.peakY, peak: image.pixels[k], pixels: found.pixels)
        }
        let noise = Background.median(stack.indices.filter { $0 % 7 == 0 && !stack[$0].isNaN }.map { Float(noiseMap($0)) })
        // A source's own noise: counts of the stack per electron, as if every input covered it.
        let gain = weightSum * weightSum / sourceVariance
        let coaddPSF = components.contains { $0 == nil } ? nil : CoaddPSF(grid: grid, components: components.compactMap { $0 })
        let photometer = Photometer.calibrated(image: image, noise: noise, gain: gain, detections: detections,
                                               localPSF: coaddPSF.map { psf in { c, r in try? psf.stamp(at: c, radius: r) } })
        let correlation = Self.noiseCorrelation(of: photometer, noiseMap: noiseMap, valid: { !stack[$0].isNaN })
        let measured = detections.compactMap { detection in
            var local = photometer
            local.noise = correlation * noiseMap(detection.peakY * width + detection.peakX)
            return local.measure(detection)
        }.filter { $0.signalToNoise >= options.threshold }
        let sky = try grid.sky(measured.map { (x: $0.x + 1, y: $0.y + 1) })

        let outputs = Self.outputs(for: patch, filter: options.filter, in: options.outputDirectory)
        try FileManager.default.createDirectory(at: options.outputDirectory, withIntermediateDirectories: true)
        try writeImage(image.pixels, variance: variance, inputs: inputs.count, to: outputs[0])
        try writeSources(measured, sky: sky, to: outputs[1])
        try writeRow(inputs: inputs.count, image: outputs[0], to: outputs[2])
        return Result(inputs: inputs.count, sources: measured.count, noise: noise, outputs: outputs.map(\.path))
    }

    /// How much more a PSF flux varies than its pixels' noise says: warped pixels are correlated,
    /// so a sum over them is noisier than over independent pixels. It is the robust spread of PSF
    /// fluxes measured on a grid of positions, over their predicted σ (a few sources on the
    /// grid are outliers the median ignores); 1 when the grid is too small.
    static func noiseCorrelation(of photometer: Photometer, noiseMap: (Int) -> Double, valid: (Int) -> Bool) -> Double {
        var blank = photometer
        blank.localPSF = nil
        blank.apertureCorrection = 1
        let (width, height) = (blank.image.width, blank.image.height)
        // About 2,000 positions, a PSF apart at least.
        let margin = Int(3 * blank.psf.fwhm) + 2
        let step = max(Int(3 * blank.psf.fwhm) + 1, Int((Double(width * height) / 2000).squareRoot()))
        var ratios: [Float] = []
        for y in stride(from: margin, to: height - margin, by: step) {
            for x in stride(from: margin, to: width - margin, by: step) where valid(y * width + x) {
                blank.noise = noiseMap(y * width + x)
                let fit = blank.psfFit(at: (Double(x), Double(y)))
                if fit.sigma > 0, fit.sigma.isFinite { ratios.append(Float(fit.flux / fit.sigma)) }
            }
        }
        guard ratios.count >= 100 else { return 1 }
        return max(1, Background.robustSigma(ratios))
    }

    // MARK: - Inputs and warping

    /// The calexps of an input list: one path per line; a line `?PATH` names a calexp that the same
    /// batch job made just before (`run --by-patch`), whose processCcd may have failed: it is taken
    /// if it exists, as a step-by-step run would have taken it only if verified ok.
    public static func inputList(_ text: String) -> [String] {
        text.split(separator: "\n").compactMap { line in
            guard line.first == "?" else { return String(line) }
            let path = String(line.dropFirst())
            return FileManager.default.fileExists(atPath: path) ? path : nil
        }
    }

    /// Reads a calexp, and measures its noise unless told not to (a pass reads it again and needs none).
    func read(_ path: String, measuringNoise: Bool = true) throws -> Input {
        guard FileManager.default.fileExists(atPath: path) else { throw CoaddFailure(.unreadableInput, "unreadable input: missing \(path)") }
        do {
            let file = try FITSFile.open(path)
            defer { try? file.close() }
            let size = try file.imageSize()
            guard size.count == 2 else { throw CoaddFailure(.unreadableInput, "unreadable input: \(path) is not a 2-D image") }
            guard let magzero = try file.double("MAGZERO") else {
                throw CoaddFailure(.unreadableInput, "unreadable input: \(path) has no MAGZERO (not a calexp)")
            }
            // Another filter's calexp (one replaced after it was planned) would be stacked into this
            // filter's coadd without a word: the event fails instead, so that the manager sees it.
            if let mismatch = try file.filterMismatch(with: options.filter, required: true) {
                throw CoaddFailure(.unreadableInput, "wrong input: \(path): \(mismatch) (the coadd's --filter)")
            }
            let image = Image(width: size[0], height: size[1], pixels: try file.readImage())
            let scale = pow(10, 0.4 * (options.zeroPoint - magzero))
            let noise = measuringNoise ? Self.robustSigma(image.pixels) * scale : 0
            guard !measuringNoise || noise > 0, noise.isFinite else { throw CoaddFailure(.unreadableInput, "unreadable input: \(path) has no noise (a blank image)") }
            return Input(path: path, image: image, wcs: try WCS(file: file), scale: scale, sigma: noise,
                         psf: try MoffatPSF.read(from: file), gain: try file.double("GAIN") ?? .infinity)
        } catch let failure as CoaddFailure {
            throw failure
        } catch {
            throw CoaddFailure(.unreadableInput, "unreadable input: \(path): \(error)")
        }
    }

    /// The noise of a background-subtracted calexp's pixels: 1.4826 × the median absolute deviation
    /// of one pixel in 11 (its sources bias it by little, and a full background model costs 20 times more).
    static func robustSigma(_ pixels: [Float]) -> Double {
        let sample = stride(from: 0, to: pixels.count, by: 11).map { pixels[$0] }
        return sample.isEmpty ? 0 : Background.robustSigma(sample)
    }

    /// Calexp pixels per patch pixel at the middle of the region: the factor that keeps a warped
    /// image's fluxes (counts per pixel are counts per calexp pixel times this).
    static func jacobian(of input: Input, on grid: WCS, at region: Region) throws -> Double {
        let (x, y) = (Double(region.x.lowerBound + region.x.count / 2) + 1, Double(region.y.lowerBound + region.y.count / 2) + 1)
        let p = try input.wcs.pixels(try grid.sky([(x, y), (x + 1, y), (x, y + 1)]))
        return area(p[0], p[1], p[2])
    }

    /// The area of the parallelogram on a corner `a` and its neighbours `b` and `c`: how many calexp
    /// pixels the patch pixels between them map onto.
    static func area(_ a: (x: Double, y: Double), _ b: (x: Double, y: Double), _ c: (x: Double, y: Double)) -> Double {
        abs((b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x))
    }

    /// The patch pixels (0-based, half-open) an input may cover.
    struct Region {
        var x: Range<Int>
        var y: Range<Int>
    }

    /// The part of the patch grid that the calexp's edges enclose, or nil when it misses the patch.
    func overlap(of input: Input, on grid: WCS, width: Int, height: Int) throws -> Region? {
        let (w, h) = (Double(input.image.width), Double(input.image.height))
        var edge: [(x: Double, y: Double)] = []
        for t in stride(from: 0.0, through: 1.0, by: 0.125) {
            edge += [(0.5 + t * w, 0.5), (0.5 + t * w, h + 0.5), (0.5, 0.5 + t * h), (w + 0.5, 0.5 + t * h)]
        }
        let onGrid = try grid.pixels(try input.wcs.sky(edge))
        guard onGrid.allSatisfy({ $0.x.isFinite && $0.y.isFinite }) else { return nil }
        // FITS pixel p is 0-based index p - 1.
        let xs = onGrid.map { $0.x - 1 }, ys = onGrid.map { $0.y - 1 }
        // Cut to the patch while still Doubles: a calexp far off the patch has pixels beyond any Int.
        let x0 = max(0, xs.min()!.rounded(.down)), x1 = min(Double(width), xs.max()!.rounded(.up) + 1)
        let y0 = max(0, ys.min()!.rounded(.down)), y1 = min(Double(height), ys.max()!.rounded(.up) + 1)
        guard x0 < x1, y0 < y1 else { return nil }
        return Region(x: Int(x0)..<Int(x1), y: Int(y0)..<Int(y1))
    }

    /// Calls `add(index, value)` for every pixel of the region whose mapping falls on the calexp,
    /// with the calexp's bilinearly interpolated value at the common zero point.
    func warp(_ input: Input, _ region: Region, grid: WCS, width: Int, add: (Int, Float) -> Void) throws {
        let step = options.mappingStep
        let nodesX = Array(stride(from: region.x.lowerBound, to: region.x.upperBound, by: step)) + [region.x.upperBound]
        let nodesY = Array(stride(from: region.y.lowerBound, to: region.y.upperBound, by: step)) + [region.y.upperBound]
        var nodes: [(x: Double, y: Double)] = []
        nodes.reserveCapacity(nodesX.count * nodesY.count)
        for y in nodesY { for x in nodesX { nodes.append((Double(x + 1), Double(y + 1))) } }
        let mapped = try input.wcs.pixels(try grid.sky(nodes)).map { (x: $0.x - 1, y: $0.y - 1) }
        let image = input.image
        let (w, h) = (image.width, image.height)
        let scale = Float(input.scale)
        for (j, y0) in nodesY.dropLast().enumerated() {
            let y1 = nodesY[j + 1]
            for (i, x0) in nodesX.dropLast().enumerated() {
                let x1 = nodesX[i + 1]
                let a = mapped[j * nodesX.count + i], b = mapped[j * nodesX.count + i + 1]
                let c = mapped[(j + 1) * nodesX.count + i], d = mapped[(j + 1) * nodesX.count + i + 1]
                // Calexp pixels per patch pixel in this cell: sampling keeps surface brightness, this keeps flux.
                let jacobian = Self.area(a, b, c) / Double((x1 - x0) * (y1 - y0))
                let factor = scale * Float(jacobian)
                for y in y0..<y1 {
                    let ty = Double(y - y0) / Double(y1 - y0)
                    for x in x0..<x1 {
                        let tx = Double(x - x0) / Double(x1 - x0)
                        let u = (a.x * (1 - tx) + b.x * tx) * (1 - ty) + (c.x * (1 - tx) + d.x * tx) * ty
                        let v = (a.y * (1 - tx) + b.y * tx) * (1 - ty) + (c.y * (1 - tx) + d.y * tx) * ty
                        guard u >= 0, v >= 0, u <= Double(w - 1), v <= Double(h - 1) else { continue }
                        let ix = min(Int(u), w - 2), iy = min(Int(v), h - 2)
                        let fx = Float(u - Double(ix)), fy = Float(v - Double(iy))
                        let top = image[ix, iy] * (1 - fx) + image[ix + 1, iy] * fx
                        let bottom = image[ix, iy + 1] * (1 - fx) + image[ix + 1, iy + 1] * fx
                        add(y * width + x, (top * (1 - fy) + bottom * fy) * factor)
                    }
                }
            }
        }
    }

    /// Running weighted sums per pixel.
    struct Stack {
        var weights: [Double]
        var sums: [Double]

        init(width: Int, height: Int) {
            weights = [Double](repeating: 0, count: width * height)
            sums = weights
        }

        mutating func add(_ k: Int, _ value: Float, weight: Double) {
            weights[k] += weight
            sums[k] += weight * Double(value)
        }

        /// The weighted mean; NaN where no frame gave a value.
        func mean() -> [Float] { zip(sums, weights).map { $1 > 0 ? Float($0 / $1) : .nan } }
        /// The variance of the mean, 1/Σw; NaN where no frame gave a value.
        func variance() -> [Float] { weights.map { $0 > 0 ? Float(1 / $0) : .nan } }
    }

    // MARK: - Outputs

    func writeImage(_ pixels: [Float], variance: [Float], inputs: Int, to url: URL) throws {
        let tmp = AtomicFile.temporary(for: url)
        let file = try FITSFile.create(tmp.path)
        let size = options.skyMap.size(of: options.patch)
        try file.createImage(width: size.x, height: size.y)
        try file.write("ORIGIN", "dcprod pipe coadd")
        try file.write("TRACT", options.patch.tract)
        try file.write("PATCH", options.patch.name)
        try file.write("FILTER", options.filter.rawValue)
        for card in try options.skyMap.wcsCards(of: options.patch) { try file.write(card) }
        try file.write("MAGZERO", options.zeroPoint, comment: "magnitude of one count")
        try file.write("NCALEXP", inputs, comment: "calexps stacked")
        try file.writePixels(pixels)
        try file.createImage(width: size.x, height: size.y)
        try file.write("EXTNAME", "VARIANCE")
        try file.writePixels(variance)
        try file.close()
        try AtomicFile.commit(tmp, to: url)
    }

    public static let sourceColumns = "deepSourceId,deepCoaddId,tract,patch,filterId,ra,decl,raVar,declVar,x,y,psfFlux,psfFluxSigma,apFlux,apFluxSigma,modelFlux,modelFluxSigma,isPrimary"

    /// Source ids: the patch's deepCoaddId and a running number.
    static func sourceId(_ patch: PatchId, _ filter: Filter, _ index: Int) -> Int64 {
        patch.deepCoaddId(filterId: filter.filterId) << 20 | Int64(index & 0xFFFFF)
    }

    func writeSources(_ sources: [Measurement], sky: [(ra: Double, dec: Double)], to url: URL) throws {
        var text = Self.sourceColumns + "\n"
        let degreesPerPixel = options.skyMap.geometry.pixelScale / 3600
        let patch = options.patch
        // A source in the patch's border is also in its neighbour's: isPrimary marks the copy whose
        // centroid is in the patch's inner box, so that `WHERE isPrimary = 1` counts each source once.
        let (border, size) = (Double(options.skyMap.geometry.border), options.skyMap.geometry.patchSize)
        let inner = (x: (border - 0.5)..<(border - 0.5 + Double(size.x)), y: (border - 0.5)..<(border - 0.5 + Double(size.y)))
        for (k, (s, p)) in zip(sources, sky).enumerated() {
            let variance = s.positionVariance * degreesPerPixel * degreesPerPixel
            let primary = inner.x.contains(s.x) && inner.y.contains(s.y)
            text += "\(Self.sourceId(patch, options.filter, k)),\(patch.deepCoaddId(filterId: options.filter.filterId)),"
            text += "\(patch.tract),\"\(patch.name)\",\(options.filter.filterId),"
            text += String(format: "%.8f,%.8f,%.4e,%.4e,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%d\n",
                           p.ra, p.dec, variance, variance, s.x + 1, s.y + 1, s.psfFlux, s.psfFluxSigma,
                           s.apFlux, s.apFluxSigma, s.modelFlux, s.modelFluxSigma, primary ? 1 : 0)
        }
        try AtomicFile.write(Data(text.utf8), to: url)
    }

    public static let rowColumns = "deepCoaddId,tract,patch,filterId,ra,decl,corner1Ra,corner1Decl,corner2Ra,corner2Decl,corner3Ra,corner3Decl,corner4Ra,corner4Decl,zeroPoint,fluxMag0,nCalexps,path"

    /// The DeepCoadd row: the patch's centre and corners, its zero point as DC2013's fluxMag0 (the
    /// flux of a magnitude 0 source, in coadd counts), the calexps stacked and the deepCoadd's path.
    func writeRow(inputs: Int, image: URL, to url: URL) throws {
        let patch = options.patch
        let center = try options.skyMap.center(of: patch)
        var fields = ["\(patch.deepCoaddId(filterId: options.filter.filterId))", "\(patch.tract)", "\"\(patch.name)\"",
                      "\(options.filter.filterId)", String(format: "%.8f", center.ra), String(format: "%.8f", center.dec)]
        for c in try options.skyMap.corners(of: patch) { fields += [String(format: "%.8f", c.ra), String(format: "%.8f", c.dec)] }
        let quotedPath = "\"" + image.path.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        fields += [String(format: "%.4f", options.zeroPoint), String(format: "%.6e", pow(10, 0.4 * options.zeroPoint)), "\(inputs)", quotedPath]
        try AtomicFile.write(Data((Self.rowColumns + "\n" + fields.joined(separator: ",") + "\n").utf8), to: url)
    }
}
