import Basics
import Foundation
import Sky

/// A coadd failure, with the words its class's rule recognises in the log.
public struct CoaddFailure: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        /// No calexp given, or none of them overlaps the patch.
        case noInput
        /// Fewer overlapping calexps than the coadd needs.
        case tooFewInputs
        /// A calexp that cannot be read (missing, no WCS, no zero point), or that is another
        /// filter's (`wrong input:`): either way the coadd cannot be made until the calexp is
        /// made again, so retrying it alone would only fail again.
        case unreadableInput
    }

    public var kind: Kind
    public var message: String

    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// `dcprod pipe coadd`: the reference coaddition of one (tract, patch, filter), a composition of
/// stages (LSST's `MakeWarpTask`, `AssembleCoaddTask`, then detection and measurement as on a calexp):
///
/// 1. overlaps: each calexp that overlaps the patch's outer box, its noise at the common zero point
///    (`CoaddConfig.zeroPoint`) once warped (`overlaps`);
/// 2. warp: `Warper`, through the mapping wcslib gives at a grid of nodes (`warp`);
/// 3. stack: `Stack`, a weighted mean in two passes with clipping (`stack`);
/// 4. background: `Background`, subtracted;
/// 5. detection: `CoaddDetection`, on the significance image, a first pass for the stars the PSF is
///    modelled on, then on that image filtered by the PSF (`detected`);
/// 6. PSF model, aperture correction, measurement: `PSFModeling` with the coadd's own PSF
///    (`CoaddPSF`), each source with the noise where it is, times the warp's correlation (`measure`),
///    measured at the same blank positions as the filtered image's noise;
/// 7. outputs: the deepCoadd FITS, the DeepSource CSV, the DeepCoadd row CSV.
///
/// Every tunable is a field of `CoaddConfig`, with its default.
public struct Coadd {
    public struct Options {
        public var skyMap: SkyMap
        public var patch: PatchId
        public var filter: Filter
        public var outputDirectory: URL
        /// Every stage's tunables.
        public var config = CoaddConfig()

        /// The common zero point, magnitudes (`config.zeroPoint`).
        public var zeroPoint: Double {
            get { config.zeroPoint }
            set { config.zeroPoint = newValue }
        }
        /// Detection threshold, in sigma of the stack's background (`config.detection.detection.threshold`).
        public var threshold: Double {
            get { config.detection.detection.threshold }
            set { config.detection.detection.threshold = newValue }
        }
        /// Clipping threshold, in sigma of each frame (`config.stack.clip`).
        public var clip: Double {
            get { config.stack.clip }
            set { config.stack.clip = newValue }
        }
        /// The fewest overlapping calexps a coadd is made of (`config.minimumInputs`).
        public var minimumInputs: Int {
            get { config.minimumInputs }
            set { config.minimumInputs = newValue }
        }
        /// Pixels between the nodes where the warp's mapping is computed by wcslib (`config.mappingStep`).
        public var mappingStep: Int {
            get { config.mappingStep }
            set { config.mappingStep = newValue }
        }

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
        return Step.coadd.outputs.map { directory.appendingPathComponent($0.fileName(stem)) }
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
        /// The σ of the calexp's zero point, magnitudes (`MAGZERR`; 0 when the header does not say):
        /// its calibrated PSF fluxes' common error.
        var zeroPointSigma = 0.0
        /// Its aperture correction (`APCORR`) and that correction's relative σ (`APCERR`/`APCORR`);
        /// 1 and 0 when the header does not say. The zero point was fitted to corrected PSF fluxes,
        /// so the image's counts are off by the correction's error, and its PSF fluxes are not.
        var correction = (factor: 1.0, relativeSigma: 0.0)
        /// The fitted WCS's covariance (`AstrometricFit.pixelCovariance`, pixels², about CRPIX) and the share of
        /// it its reference stars' errors make (`AstrometricFit.referenceShare`; 0 when not said), nil when the header has none.
        var astrometry: AstrometricError?
    }

    /// Coadds the calexps, writes the outputs.
    ///
    /// - Parameter calexps: The calexps of processCcd that may overlap the patch (those that do not are left out).
    /// - Returns: What went in and what came out.
    /// - Throws: `CoaddFailure` when an input cannot be read or is not of the coadd's filter (its FILTER keyword), or
    ///   too few overlap; file system errors writing the outputs.
    public func run(calexps: [String]) throws -> Result {
        guard !calexps.isEmpty else { throw CoaddFailure(.noInput, "no input calexp: none given for \(options.patch)") }
        let patch = options.patch, config = options.config
        let grid = try WCS(header: options.skyMap.header(of: patch))
        let (width, height) = options.skyMap.size(of: patch)
        let overlaps = try self.overlaps(calexps, grid: grid, width: width, height: height)
        guard !overlaps.inputs.isEmpty else { throw CoaddFailure(.noInput, "no input calexp: none of \(calexps.count) overlaps \(patch)") }
        guard overlaps.inputs.count >= config.minimumInputs else {
            throw CoaddFailure(.tooFewInputs, "too few inputs: \(overlaps.inputs.count) calexps overlap \(patch), \(config.minimumInputs) needed")
        }
        let (stack, variance, noise) = try self.stack(overlaps.inputs, grid: grid, width: width, height: height)
        var image = Image(width: width, height: height, pixels: stack.map { $0.isNaN ? 0 : $0 })
        let background = Background(of: image, config: config.background)
        for k in image.pixels.indices { image.pixels[k] -= background.model[k] }
        let draw = Image(width: width, height: height, pixels: noise.map { $0.isNaN ? 0 : $0 })
        guard let found = CoaddDetection(config: config.detection).detect(image, variance: variance, draw: draw,
                                                                            valid: { !stack[$0].isNaN }) else {
            throw CoaddFailure(.noInput, "no input calexp: none of \(calexps.count) covers a pixel of \(patch)")
        }
        let (measuredOnStack, common, psfNoise) = measure(image, found, overlaps, grid: grid, draw: draw,
                                                    noiseMap: { found.noiseScale * Double(variance[$0]).squareRoot() }, valid: { !stack[$0].isNaN })
        let sky = try grid.sky(measuredOnStack.map { (x: $0.x + 1, y: $0.y + 1) })
        let measured = try addingInputAstrometry(measuredOnStack, sky: sky, overlaps)

        let outputs = Self.outputs(for: patch, filter: options.filter, in: options.outputDirectory)
        try OutputFiles.writeAll(outputs, in: options.outputDirectory) {
            try writeImage(image.pixels, variance: variance, inputs: overlaps.inputs.count, common: common, noise: psfNoise, to: outputs[0])
            try writeSources(measured, sky: sky, to: outputs[1])
            try writeRow(inputs: overlaps.inputs.count, image: outputs[0], to: outputs[2])
        }
        return Result(inputs: overlaps.inputs.count, sources: measured.count, noise: found.noise, outputs: outputs.map(\.path))
    }

    /// The calexps that overlap the patch: where each falls and its noise on the patch's grid (its
    /// pixels are read again by each pass: a patch of Stripe 82 has ~80 epochs per filter), their
    /// PSF models, and what the stack's effective gain is made of.
    struct Overlaps {
        var inputs: [(path: String, region: Region, sigma: Double)] = []
        /// Each input's PSF model on the grid; nil for a calexp without one.
        var components: [CoaddPSF.Component?] = []
        /// Σw over the inputs.
        var weightSum = 0.0
        /// Σw²·(coadd counts per electron of a flux) over the inputs.
        var sourceVariance = 0.0
        /// Σw·σ_zp over the inputs, magnitudes.
        var zeroPointSum = 0.0
        /// Σw·APCORR and Σw·APCERR/APCORR over the inputs.
        var correctionSum = 0.0
        var correctionErrorSum = 0.0
        /// Each input's WCS, its fit's error, size, weight and calexp pixels per patch pixel, for the
        /// error its WCS adds to a source's position.
        var astrometry: [(wcs: WCS, error: AstrometricError, size: (Int, Int), weight: Double, jacobian: Double)] = []

        /// A source's own noise: counts of the stack per electron, as if every input covered it, of
        /// a sum over many pixels (an aperture's): the warp spreads an input pixel's photons over
        /// 1/J patch pixels (J its area in calexp pixels), so its sum's variance is its input's,
        /// s·F/gain, not J times that as its pixels' own variances say (with J in, the aperture
        /// correction's bright stars scattered beyond their σ, by 0.7 % in z and 0.9 % in u, which
        /// went into every PSF flux's σ as the model's error).
        var gain: Double { weightSum * weightSum / sourceVariance }
        /// The σ of the stack's zero point, magnitudes: each input's flux enters a source's with
        /// its weight, and the inputs' zero points were fitted to the same reference stars where they
        /// overlap, whose own errors (0.02 mag or so each) are most of theirs: their errors are taken
        /// as one, σ_zp = Σw·σ_zp,i/Σw. (As independent, Σw²σ²_zp,i/(Σw)², they left the bright
        /// stars' pulls at 1.3–1.5 with the reference's errors in; as if every input covered it.)
        var zeroPointSigma: Double { zeroPointSum / weightSum }
        /// The inputs' aperture corrections with the stack's weights, and their relative σ (taken as
        /// one, like their zero points'): the error the stack's counts carry beside `zeroPointSigma`.
        var correction: (factor: Double, relativeSigma: Double) { (correctionSum / weightSum, correctionErrorSum / weightSum) }
    }

    /// Reads each calexp once: whether and where it overlaps the patch, its noise once warped.
    func overlaps(_ calexps: [String], grid: WCS, width: Int, height: Int) throws -> Overlaps {
        var out = Overlaps()
        for path in calexps {
            let input = try read(path)
            guard let region = try overlap(of: input, on: grid, width: width, height: height) else { continue }
            // Noise of a warped pixel: the calexp's, times the calexp pixels one patch pixel holds.
            let jacobian = try Self.jacobian(of: input, on: grid, at: region)
            let sigma = input.sigma * jacobian, weight = 1 / (sigma * sigma)
            out.inputs.append((path, region, sigma))
            out.components.append(input.psf.map { CoaddPSF.Component(wcs: input.wcs, psf: $0, width: input.image.width,
                                                                      height: input.image.height, weight: weight,
                                                                      countsPerElectron: input.gain.isFinite ? input.scale / input.gain : 0,
                                                                      apertureCorrection: input.correction.factor) })
            out.weightSum += weight
            out.sourceVariance += weight * weight * input.scale / input.gain
            out.zeroPointSum += weight * input.zeroPointSigma
            out.correctionSum += weight * input.correction.factor
            out.correctionErrorSum += weight * input.correction.relativeSigma
            if let astrometry = input.astrometry {
                out.astrometry.append((input.wcs, astrometry, (input.image.width, input.image.height), weight, jacobian))
            }
        }
        return out
    }

    /// The stack stage's two passes: the unclipped weighted mean, then the mean of what `Stack.keeps`;
    /// the stack, its variance, and a draw of its noise alone (`noiseDraw`), warped and weighted as
    /// the first pass's mean is.
    func stack(_ inputs: [(path: String, region: Region, sigma: Double)], grid: WCS, width: Int,
               height: Int) throws -> (mean: [Float], variance: [Float], noise: [Float]) {
        var first = Stack(width: width, height: height)
        var noise = [Double](repeating: 0, count: width * height)
        for input in inputs {
            let weight = 1 / (input.sigma * input.sigma)
            let calexp = try read(input.path, measuringNoise: false)
            try warp(calexp, input.region, grid: grid, width: width) { k, value in first.add(k, value, weight: weight) }
            let drawn = try noiseDraw(like: calexp, sigma: input.sigma / Self.jacobian(of: calexp, on: grid, at: input.region))
            try warp(drawn, input.region, grid: grid, width: width) { k, value in noise[k] += weight * Double(value) }
        }
        let reference = first.mean()
        var second = Stack(width: width, height: height)
        let config = options.config.stack
        for input in inputs {
            let weight = 1 / (input.sigma * input.sigma)
            try warp(try read(input.path, measuringNoise: false), input.region, grid: grid, width: width) { k, value in
                if Stack.keeps(value, mean: reference[k], sigma: input.sigma, config: config) { second.add(k, value, weight: weight) }
            }
        }
        return (second.mean(), second.variance(), first.mean(of: noise))
    }

    /// A calexp whose pixels are Gaussian noise of σ `sigma` at the common zero point (its pixels'
    /// noise as measured, `Overlaps`): warped and stacked as the calexps are, it is the coadd's noise
    /// without its sources, on which the warp's correlation is measured (`CoaddDetection`,
    /// `noiseCorrelation`) where no position of a crowded deep coadd is clear of them. Seeded by the
    /// patch, the filter and the calexp's file name (named after its frame), so that a coadd is the
    /// same bytes wherever it is made and whatever the order of its inputs (`run --by-patch` lists
    /// them otherwise than a step-by-step run).
    func noiseDraw(like calexp: Input, sigma: Double) -> Input {
        let patch = options.patch, name = URL(fileURLWithPath: calexp.path).lastPathComponent
        var random = SeededRandom(seed: UInt64(fnv1a(name), radix: 16) ?? 0, stream: [patch.tract, patch.x, patch.y, options.filter.filterId])
        let counts = sigma / calexp.scale
        var drawn = calexp
        drawn.image.pixels = calexp.image.pixels.map { _ in Float(counts * random.gaussian()) }
        return drawn
    }

    /// The measurement on the stack: the PSF model (the coadd's own, `CoaddPSF`, where every input
    /// has one) and each detection measured with the noise where it is, times the correlation; each
    /// flux σ with the error common to the image; and the aperture correction with its σ (the image's
    /// `APCORR`, `APCERR`).
    ///
    /// The aperture correction is its inputs' where the coadd has their PSF models
    /// (`CoaddPSF.apertureCorrection`, at each source): each input's zero point was fitted to its
    /// corrected PSF fluxes, so its counts are off by its correction's error δ_i, and the stack's by
    /// Σa_i·δ_i where a source is; the same weighted mean of the inputs' corrections puts it back, and
    /// the PSF flux is their calibrated fluxes' mean, its common error their zero points' alone. A
    /// correction measured again on the coadd's dozen bright stars added its own error (0.1–0.3 %, per
    /// patch) on top of the Σa_i·δ_i it did not take out: the coadd was up to 0.27 % off its inputs'
    /// mean on a sky of partly covered patches. The aperture and model fluxes are not corrected, and
    /// keep the inputs' corrections' error (`Overlaps.correction`) beside their zero points'. Without
    /// every input's PSF model, the correction is measured on the coadd (`measuredCorrection`) and its
    /// error is in the PSF fluxes' common σ too.
    func measure(_ image: Image, _ found: CoaddDetection.Result, _ overlaps: Overlaps, grid: WCS, draw: Image,
                 noiseMap: (Int) -> Double, valid: (Int) -> Bool) -> (measurements: [Measurement], common: CommonError, noise: PSFFluxNoise) {
        let components = overlaps.components
        let coaddPSF = components.contains { $0 == nil } ? nil : CoaddPSF(grid: grid, components: components.compactMap { $0 })
        let modeling = PSFModeling(config: options.config.photometry)
        var photometer = modeling.photometer(image: image, noise: found.noise, gain: overlaps.gain, detections: found.detections,
                                             localPSF: coaddPSF.map { psf in { c, r in try? psf.stamp(at: c, radius: r) } })
        if let coaddPSF {
            photometer.sourceVariance = { c, flux, weights in (try? coaddPSF.sourceVariance(at: c, flux: flux, weights: weights)) ?? nil }
        }
        let detections = detected(found, image: image, photometer: photometer, valid: valid)
        let psfNoise = noise(of: photometer, draw: draw, noiseMap: noiseMap, valid: valid, detections: found.detections)
        let common: CommonError
        if coaddPSF != nil {
            common = CommonError(zeroPoint: overlaps.zeroPointSigma, inputCorrections: overlaps.correction)
            photometer.apertureCorrection = overlaps.correction.factor
        } else {
            let own = measuredCorrection(photometer, correlation: psfNoise.quoted * found.noise, modeling: modeling, detections)
            common = CommonError(zeroPoint: overlaps.zeroPointSigma, inputCorrections: overlaps.correction, own: own)
            photometer.apertureCorrection = own.factor
        }
        // Measured with the sky's noise in, cut at S/N 5 of the instrument's alone, as detected: the sky
        // term of the σ is the part the two differ by, and near the cut it is nearly all of it.
        let skyNoise = psfNoise.quoted / psfNoise.instrumental
        let measured = detections.compactMap { detection in
            var local = photometer
            local.noise = psfNoise.quoted * noiseMap(detection.peakY * image.width + detection.peakX)
            let peak = (x: Double(detection.peakX), y: Double(detection.peakY))
            if let correction = try? coaddPSF?.apertureCorrection(at: peak) { local.apertureCorrection = correction }
            return local.measure(detection)
        }.filter { $0.signalToNoise * skyNoise >= options.config.detection.detection.threshold }
        // The common error is added to each flux σ once the S/N cut is made on the noise alone.
        let out = classified(measured, photometer: photometer, detections: detections, valid: valid) { m in
            psfNoise.quoted * noiseMap(Int(m.y.rounded()) * image.width + Int(m.x.rounded()))
        }.map { $0.addingRelativeFluxError(common.counts, psf: common.psf) }
        return (out, common, psfNoise)
    }

    /// The relative σ common to a coadd's fluxes, and the aperture correction its header states.
    struct CommonError {
        /// Its PSF fluxes': its inputs' zero points' (`Overlaps.zeroPointSigma`), and the correction
        /// measured on the coadd where there is one (`measuredCorrection`).
        var psf: Double
        /// Its aperture and model fluxes' (the stack's counts'): its inputs' zero points' and their
        /// aperture corrections' (`Overlaps.correction`).
        var counts: Double
        /// `APCORR`, `APCERR`: the inputs' corrections (the image's, with the stack's weights) or the
        /// one measured on the coadd.
        var correction: (factor: Double, sigma: Double)
        /// `MAGZERR`: the PSF fluxes' common σ, magnitudes.
        var magnitudes: Double { psf * 2.5 / log(10) }

        init(zeroPoint: Double, inputCorrections: (factor: Double, relativeSigma: Double), own: (factor: Double, sigma: Double)? = nil) {
            let zeroPoint = relativeFluxError(magnitudes: zeroPoint)
            counts = (zeroPoint * zeroPoint + inputCorrections.relativeSigma * inputCorrections.relativeSigma).squareRoot()
            if let own {
                let relative = own.sigma / own.factor
                psf = (counts * counts + relative * relative).squareRoot()
                correction = own
            } else {
                psf = zeroPoint
                correction = (inputCorrections.factor, inputCorrections.factor * inputCorrections.relativeSigma)
            }
        }
    }

    /// The aperture correction measured on the coadd's bright point sources, its stars' sky noise
    /// with the warp's correlation (`noise`): it weighs them by their σ and fits their scatter beyond
    /// it, which the uncorrelated noise made 2–5 %. (A PSF flux's own Poisson term is its inputs',
    /// `CoaddPSF.sourceVariance`, which the correlation does not scale.)
    func measuredCorrection(_ photometer: Photometer, correlation noise: Double, modeling: PSFModeling,
                            _ detections: [Detection]) -> (factor: Double, sigma: Double) {
        var correlated = photometer
        correlated.noise = noise
        return ApertureCorrection(config: options.config.photometry.apertureCorrection)
            .measure(of: correlated, at: modeling.pointSources(detections, photometer))
    }

    /// The measured sources with their flags (`SourceFlagging`: a footprint over pixels no input
    /// covers is at the survey's edge) and extendedness (`Extendedness`).
    func classified(_ measured: [Measurement], photometer: Photometer, detections: [Detection], valid: (Int) -> Bool,
                    noise: (Measurement) -> Double) -> [Measurement] {
        withoutActuallyEscaping(valid) { valid in
            SourceFlagging.classified(measured, photometer: photometer, detections: detections, valid: valid, saturation: nil,
                                      extendedness: options.config.extendedness, noise: noise)
        }
    }

    /// The coadd's detections: the first pass's (`CoaddDetection.detect`, a 3×3 box) found the stars
    /// its PSF is modelled on; with `matchedFilter`, its sources are those of the significance image
    /// filtered by that PSF, at a threshold of the noise draw's filtered alike (`CoaddDetection.matched`),
    /// so that detection and the PSF fluxes' instrumental σ count S/N alike.
    func detected(_ found: CoaddDetection.Result, image: Image, photometer: Photometer, valid: (Int) -> Bool) -> [Detection] {
        let config = options.config.detection
        guard config.detection.matchedFilter else { return found.detections }
        return CoaddDetection(config: config).matched(found, image: image, psfSigma: photometer.psfSigma, valid: valid)
    }

    /// How much more a PSF flux's sky noise is than its pixels' noise says, twice.
    struct PSFFluxNoise {
        /// The warp's correlation alone: the spread of PSF fits on the noise draw (`Coadd.noiseDraw`), at
        /// a grid of positions, over their predicted σ. Detection and the S/N cut count S/N with it.
        var instrumental: Double
        /// What the PSF fluxes quote: at least that, and the spread at positions of the coadd itself
        /// clear of its detections where it is more (`blankPositions`): the light of the sky's
        /// galaxies too faint to be detected, and of the wings of those that are, which scatters a
        /// flux as its noise does. Where no position is clear (a crowded deep coadd) every position
        /// is taken.
        var quoted: Double
    }

    /// The PSF fluxes' sky noise (`PSFFluxNoise`) on the coadd `photometer` measures, `draw` its noise alone.
    func noise(of photometer: Photometer, draw: Image, noiseMap: (Int) -> Double, valid: (Int) -> Bool,
               detections: [Detection]) -> PSFFluxNoise {
        var onDraw = photometer
        onDraw.image = draw
        let instrumental = noiseCorrelation(of: onDraw, noiseMap: noiseMap, at: blankPositions(photometer, valid: valid, clearOf: []))
        let sky = noiseCorrelation(of: photometer, noiseMap: noiseMap, at: blankPositions(photometer, valid: valid, clearOf: detections))
        return PSFFluxNoise(instrumental: instrumental, quoted: max(instrumental, sky))
    }

    /// How much more a PSF flux varies than its pixels' noise says: warped pixels are correlated,
    /// so a sum over them is noisier than over independent pixels. It is the robust spread of PSF
    /// fluxes measured at blank positions (`blankPositions`), over their predicted σ; 1 when there
    /// are too few. Positions on a source's wings are not outliers the MAD ignores but a positive
    /// tail that widens it, the more so the deeper the stack: with them the factor was 1–8 % high on
    /// the test sky's coadds (r of 8 epochs 2.93 against 2.75 clear of them, whose own flux pulls at
    /// S/N 20–100 were 0.83; g 2.96 against 2.73).
    func noiseCorrelation(of photometer: Photometer, noiseMap: (Int) -> Double, at positions: [(x: Int, y: Int)]) -> Double {
        var blank = photometer
        blank.localPSF = nil
        blank.sourceVariance = nil
        blank.apertureCorrection = 1
        var ratios: [Float] = []
        for p in positions {
            blank.noise = noiseMap(p.y * blank.image.width + p.x)
            let fit = blank.psfFit(at: (Double(p.x), Double(p.y)))
            if fit.sigma > 0, fit.sigma.isFinite { ratios.append(Float(fit.flux / fit.sigma)) }
        }
        guard ratios.count >= options.config.minimumCorrelationPositions else { return 1 }
        return max(1, RobustStatistics.sigma(ratios))
    }

    /// The positions on the stack where its noise is measured: a grid of about
    /// `correlationPositions`, `correlationSpacing` FWHMs apart at least, of those where the stack
    /// has data the ones clear of `detections` (`clearOfDetections`); all of them where too few are
    /// clear (a crowded patch), as before detections were left out.
    func blankPositions(_ photometer: Photometer, valid: (Int) -> Bool, clearOf detections: [Detection]) -> [(x: Int, y: Int)] {
        let config = options.config
        let (width, height, fwhm) = (photometer.image.width, photometer.image.height, photometer.psf.fwhm)
        let margin = Int(config.correlationSpacing * fwhm) + 2
        let step = max(Int(config.correlationSpacing * fwhm) + 1,
                       Int((Double(width * height) / Double(config.correlationPositions)).squareRoot()))
        let positions = stride(from: margin, to: height - margin, by: step).flatMap { y in
            stride(from: margin, to: width - margin, by: step).map { x in (x: x, y: y) }
        }.filter { valid($0.y * width + $0.x) }
        let clear = Self.clearOfDetections(positions, detections, clearance: config.correlationClearance * fwhm)
        return clear.count >= config.minimumCorrelationPositions ? clear : positions
    }

    /// The positions no detection's light reaches: further than `clearance` pixels plus its extent
    /// (√pixels, the side of a square of its pixels above threshold: a bright star's wings reach
    /// further) from every detection's peak, on each axis.
    static func clearOfDetections(_ positions: [(x: Int, y: Int)], _ detections: [Detection], clearance: Double) -> [(x: Int, y: Int)] {
        let grid = Dictionary(grouping: positions.indices) { positions[$0].y }
        let rows = grid.keys.sorted()
        var covered = [Bool](repeating: false, count: positions.count)
        for d in detections {
            let reach = clearance + Double(d.pixels).squareRoot()
            let low = rows.partitioningIndex { Double($0) >= Double(d.peakY) - reach }
            for row in rows[low...].prefix(while: { Double($0) <= Double(d.peakY) + reach }) {
                for k in grid[row] ?? [] where abs(Double(positions[k].x - d.peakX)) <= reach { covered[k] = true }
            }
        }
        return positions.indices.filter { !covered[$0] }.map { positions[$0] }
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
            let scale = pow(10, 0.4 * (options.config.zeroPoint - magzero))
            let noise = measuringNoise ? Self.robustSigma(image.pixels, sampling: options.config.inputNoiseSampling) * scale : 0
            guard !measuringNoise || noise > 0, noise.isFinite else { throw CoaddFailure(.unreadableInput, "unreadable input: \(path) has no noise (a blank image)") }
            let magzerr = try file.double("MAGZERR").flatMap { $0.isFinite && $0 >= 0 ? $0 : nil } ?? 0
            let factor = try file.double("APCORR").flatMap { $0.isFinite && $0 > 0 ? $0 : nil } ?? 1
            let relative = try (file.double("APCERR") ?? 0) / factor
            return Input(path: path, image: image, wcs: try WCS(file: file), scale: scale, sigma: noise,
                         psf: try MoffatPSF.read(from: file), gain: try file.double("GAIN") ?? .infinity, zeroPointSigma: magzerr,
                         correction: (factor, relative.isFinite && relative >= 0 ? relative : 0),
                         astrometry: try Self.astrometricCovariance(file))
        } catch let failure as CoaddFailure {
            throw failure
        } catch {
            throw CoaddFailure(.unreadableInput, "unreadable input: \(path): \(FileSystemProblem.text(of: error))")
        }
    }

    /// A calexp's WCS fit's error: its covariance (pixels² on each axis, about CRPIX) and the share of it that
    /// its reference stars' position errors make, common to every fit to them.
    struct AstrometricError {
        var covariance: [Double]
        var crpix: (x: Double, y: Double)
        var referenceShare: Double
    }

    /// The WCS fit's error a calexp's header gives (`ASTCV11`…`ASTCV33`, about `CRPIX1`, `CRPIX2`;
    /// `ASTCVREF`, 0 without it, as before processCcd wrote it), nil without the covariance.
    static func astrometricCovariance(_ file: FITSFile) throws -> AstrometricError? {
        var covariance = [Double](repeating: 0, count: 9)
        for (key, index) in zip(AstrometricFit.covarianceKeywords, AstrometricFit.covarianceIndices) {
            guard let value = try file.double(key), value.isFinite else { return nil }
            covariance[index] = value
            covariance[(index % 3) * 3 + index / 3] = value
        }
        guard let x = try file.double("CRPIX1"), let y = try file.double("CRPIX2") else { return nil }
        let share = try file.double(AstrometricFit.referenceShareKeyword).flatMap { $0.isFinite ? min(max($0, 0), 1) : nil } ?? 0
        return AstrometricError(covariance: covariance, crpix: (x, y), referenceShare: share)
    }

    /// The sources with their inputs' WCS errors added to their position variance: each input's
    /// warp puts its pixels where its fitted WCS says, so a source's position on the stack is the
    /// weighted mean of its inputs' WCS errors there. V_i, the input's `AstrometricFit` variance at
    /// the source (calexp pixels²) over its calexp pixels per patch pixel (patch pixels²), has two
    /// terms: its matches' centroid noise, independent between inputs, (1 − s_i)·V_i, and its
    /// reference stars' position errors, s_i·V_i (s_i its `referenceShare`), which every input fitted
    /// to the same references shares, taken as one as the zero points' are:
    /// Σw_i²(1 − s_i)V_i/(Σw_i)² + (Σw_i√(s_i V_i)/Σw_i)², over the inputs that cover the source
    /// (every input's common part taken as the same draw: inputs of other pointings share only some
    /// of their references, so there it is an upper bound). On the test sky s_i is 0.14–0.47 (mean
    /// 0.22–0.26 in g, r, i, z), and processCcd's bright stars' errors correlate between epochs by
    /// about as much; as independent, Σw_i²V_i/(Σw_i)², the bright stars' RA pulls were 1.65–1.88.
    /// One share serves both axes: fitted to each axis's residuals alone, the test sky's 40 fits
    /// leave 2750 mas² in RA and 2570 in Dec (1900–4000 each), the reference's 0.05″ on both. That
    /// the bright stars' Dec pulls are lower (0.31–0.64 in g, r, i above S/N 300) is not this term
    /// but one draw of it: the field V_i describes is affine over a calexp, and the pulls' σ about
    /// their median sees only its gradient, two numbers an axis drawn once for the patch.
    func addingInputAstrometry(_ sources: [Measurement], sky: [(ra: Double, dec: Double)], _ overlaps: Overlaps) throws -> [Measurement] {
        guard !sources.isEmpty else { return sources }
        var independent = [Double](repeating: 0, count: sources.count), common = independent, weights = independent
        for input in overlaps.astrometry {
            let pixels = try input.wcs.pixels(sky), error = input.error
            for (k, p) in pixels.enumerated() where p.x >= 0.5 && p.y >= 0.5 && p.x <= Double(input.size.0) + 0.5 && p.y <= Double(input.size.1) + 0.5 {
                let variance = AstrometricFit.variance(error.covariance, dx: p.x - error.crpix.x, dy: p.y - error.crpix.y) / input.jacobian
                independent[k] += input.weight * input.weight * (1 - error.referenceShare) * variance
                common[k] += input.weight * (error.referenceShare * variance).squareRoot()
                weights[k] += input.weight
            }
        }
        return sources.enumerated().map { k, source in
            var out = source
            if weights[k] > 0 { out.positionVariance += (independent[k] + common[k] * common[k]) / (weights[k] * weights[k]) }
            return out
        }
    }

    /// The noise of a background-subtracted calexp's pixels: `MAD.toSigma` × the median absolute
    /// deviation of one pixel in `sampling` (its sources bias it by little, and a full background
    /// model costs 20 times more).
    static func robustSigma(_ pixels: [Float], sampling: Int) -> Double {
        let sample = stride(from: 0, to: pixels.count, by: sampling).map { pixels[$0] }
        return sample.isEmpty ? 0 : RobustStatistics.sigma(sample)
    }

    /// Calexp pixels per patch pixel at the middle of the region: the factor that keeps a warped
    /// image's fluxes (counts per pixel are counts per calexp pixel times this).
    static func jacobian(of input: Input, on grid: WCS, at region: Region) throws -> Double {
        let (x, y) = (Double(region.x.lowerBound + region.x.count / 2) + 1, Double(region.y.lowerBound + region.y.count / 2) + 1)
        let p = try input.wcs.pixels(try grid.sky([(x, y), (x + 1, y), (x, y + 1)]))
        return Warper.area(p[0], p[1], p[2])
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
        let last = Double(options.config.edgePoints - 1)
        for t in (0..<options.config.edgePoints).map({ Double($0) / last }) {
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
    /// with the calexp's bilinearly interpolated value at the common zero point (`Warper`), the
    /// mapping computed by wcslib at nodes every `mappingStep` pixels.
    func warp(_ input: Input, _ region: Region, grid: WCS, width: Int, add: (Int, Float) -> Void) throws {
        let nodesX = Warper.nodes(region.x, step: options.config.mappingStep)
        let nodesY = Warper.nodes(region.y, step: options.config.mappingStep)
        var nodes: [(x: Double, y: Double)] = []
        nodes.reserveCapacity(nodesX.count * nodesY.count)
        for y in nodesY { for x in nodesX { nodes.append((Double(x + 1), Double(y + 1))) } }
        let mapped = try input.wcs.pixels(try grid.sky(nodes)).map { (x: $0.x - 1, y: $0.y - 1) }
        Warper(image: input.image, scale: input.scale).resample(nodesX: nodesX, nodesY: nodesY, mapped: mapped, width: width, add: add)
    }

    // MARK: - Outputs

    /// The deepCoadd: the stack and its variance, the patch's WCS, the zero point, the σ common to its
    /// PSF fluxes (`MAGZERR`) and the aperture correction (`APCORR`, `APCERR`: `CommonError`).
    func writeImage(_ pixels: [Float], variance: [Float], inputs: Int, common: CommonError, noise: PSFFluxNoise, to url: URL) throws {
        let size = options.skyMap.size(of: options.patch)
        try AtomicFile.write(to: url, size: 2 * OutputFiles.imageBytes(width: size.x, height: size.y)) { tmp in
            let file = try FITSFile.create(tmp.path)
            try file.createImage(width: size.x, height: size.y)
            try file.write("ORIGIN", "dcprod pipe coadd")
            try file.write("TRACT", options.patch.tract)
            try file.write("PATCH", options.patch.name)
            try file.write("FILTER", options.filter.rawValue)
            for card in try options.skyMap.wcsCards(of: options.patch) { try file.write(card) }
            try file.write("MAGZERO", options.zeroPoint, comment: "magnitude of one count")
            try file.write("MAGZERR", common.magnitudes, comment: "sigma common to its PSF fluxes (mag)")
            try file.write("APCORR", common.correction.factor, comment: "PSF flux to total flux")
            try file.write("APCERR", common.correction.sigma, comment: "sigma of APCORR")
            try file.write("NCALEXP", inputs, comment: "calexps stacked")
            try file.write("SKYNOISE", noise.quoted / noise.instrumental, comment: "PSF fluxes' sky noise over the instrument's")
            try file.writePixels(pixels)
            try file.createImage(width: size.x, height: size.y)
            try file.write("EXTNAME", "VARIANCE")
            try file.writePixels(variance)
            try file.close()
        }
    }

    public static let sourceColumns = "deepSourceId,deepCoaddId,tract,patch,filterId,ra,decl,raVar,declVar,x,y,"
        + "psfFlux,psfFluxSigma,apFlux,apFluxSigma,modelFlux,modelFluxSigma,isPrimary,extendedness,"
        + SourceFlags.columns.map(\.name).joined(separator: ",")

    /// Source ids: the patch's deepCoaddId and a running number.
    static func sourceId(_ patch: PatchId, _ filter: Filter, _ index: Int) -> Int64 {
        patch.deepCoaddId(filterId: filter.filterId) << 20 | Int64(index & 0xFFFFF)
    }

    func writeSources(_ sources: [Measurement], sky: [(ra: Double, dec: Double)], to url: URL) throws {
        var text = Self.sourceColumns + "\n"
        let flags = SourceFlags.columns.map(\.name)
        let patch = options.patch
        // A source in the patch's border is also in its neighbour's: isPrimary marks the copy whose
        // centroid is in the patch's inner box, so that `WHERE isPrimary = 1` counts each source once.
        // Tracts overlap too (a tract's patches reach past its RA range, as across RA 0 tract 0's last
        // patches and the last tract's first): the copy of the tract whose RA range holds the source.
        let (border, size) = (Double(options.skyMap.geometry.border), options.skyMap.geometry.patchSize)
        let inner = (x: (border - 0.5)..<(border - 0.5 + Double(size.x)), y: (border - 0.5)..<(border - 0.5 + Double(size.y)))
        for (k, (s, p)) in zip(sources, sky).enumerated() {
            let variance = PositionVariance(pixels: s.positionVariance, scale: options.skyMap.geometry.pixelScale, declination: p.dec)
            let primary = inner.x.contains(s.x) && inner.y.contains(s.y) && options.skyMap.tract(ofRA: p.ra) == patch.tract
            text += "\(Self.sourceId(patch, options.filter, k)),\(patch.deepCoaddId(filterId: options.filter.filterId)),"
            text += "\(patch.tract),\"\(patch.name)\",\(options.filter.filterId),"
            text += String(format: "%.8f,%.8f,%.4e,%.4e,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%d,%.0f,",
                           p.ra, p.dec, variance.ra, variance.dec, s.x + 1, s.y + 1, s.psfFlux, s.psfFluxSigma,
                           s.apFlux, s.apFluxSigma, s.modelFlux, s.modelFluxSigma, primary ? 1 : 0, s.extendedness)
            text += s.flags.fields(flags) + "\n"
        }
        try AtomicFile.write(Data(text.utf8), to: url)
    }

    public static let rowColumns = "deepCoaddId,tract,patch,filterId,filterName,ra,decl,corner1Ra,corner1Decl,corner2Ra,corner2Decl,corner3Ra,corner3Decl,corner4Ra,corner4Decl,zeroPoint,fluxMag0,nCalexps,path"

    /// The DeepCoadd row: the patch's centre and corners, its zero point as DC2013's fluxMag0 (the
    /// flux of a magnitude 0 source, in coadd counts), the calexps stacked and the deepCoadd's path.
    func writeRow(inputs: Int, image: URL, to url: URL) throws {
        let patch = options.patch
        let center = try options.skyMap.center(of: patch)
        var fields = ["\(patch.deepCoaddId(filterId: options.filter.filterId))", "\(patch.tract)", "\"\(patch.name)\"",
                      "\(options.filter.filterId)", options.filter.rawValue, String(format: "%.8f", center.ra), String(format: "%.8f", center.dec)]
        for c in try options.skyMap.corners(of: patch) { fields += [String(format: "%.8f", c.ra), String(format: "%.8f", c.dec)] }
        let quotedPath = "\"" + image.path.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        fields += [String(format: "%.4f", options.zeroPoint), String(format: "%.6e", pow(10, 0.4 * options.zeroPoint)), "\(inputs)", quotedPath]
        try AtomicFile.write(Data((Self.rowColumns + "\n" + fields.joined(separator: ",") + "\n").utf8), to: url)
    }
}
