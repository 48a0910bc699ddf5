import Foundation

/// The tunables of the measurement stage: centroids, apertures and the PSF fit at a position.
public struct MeasurementConfig: Sendable, Equatable {
    /// The smallest Gaussian σ of the centroid's weight, pixels (a narrower one follows the noise).
    public var centroidMinimumSigma = 0.8
    /// Half-width of the centroid's window, in σ of its weight (plus one pixel).
    public var centroidWindow = 3.0
    /// The most iterations of the centroid.
    public var centroidIterations = 12
    /// The centroid has converged when it moves less than this, pixels (|Δx| + |Δy|).
    public var centroidTolerance = 1e-4
    /// The farthest a centroid may end from its detection's peak on each axis, pixels (further, it followed a neighbour).
    public var centroidMaximumShift = 3.0
    /// Radius of the aperture flux (apFlux), in FWHMs of the PSF.
    public var apertureRadius = 1.5
    /// The smallest radius of the aperture flux, pixels.
    public var minimumApertureRadius = 3.0
    /// Radius of the aperture that is the model flux (modelFlux), in FWHMs of the PSF.
    public var modelRadius = 3.0
    /// The smallest radius of the model flux's aperture, pixels.
    public var minimumModelRadius = 5.0
    /// Half-width of the box the PSF flux is fitted over, in FWHMs of the model (plus one pixel).
    public var psfFitRadius = 2.5

    public init() {}
}

/// The measurement stage: centroids and fluxes on a background-subtracted image.
///
/// - Centroid: Gaussian-weighted first moments iterated from the detection's peak (SExtractor's
///   windowed positions, `XWIN_IMAGE`; sep's `winpos`), the weight's σ the PSF's.
/// - Aperture flux: the sum over the pixels whose centres are within a radius (sep's
///   `sum_circle` with `subpix=0`); its σ from the background noise and the gain.
/// - PSF flux: the linear least-squares amplitude of the PSF model at the fixed centroid, σ² =
///   noise²/ΣP² + flux/gain (the optimal linear estimator; LSST's `PsfFlux`), times the aperture
///   correction.
struct Photometer {
    let image: Image
    var noise: Double
    /// Electrons per count, for the sources' own noise (infinite where it is not known).
    let gain: Double
    /// Gaussian sigma of the PSF in pixels: the width centroids and apertures are scaled to.
    var psfSigma: Double
    /// The PSF model PSF fluxes are fitted with.
    var psf: MoffatPSF
    /// The PSF where it changes across the image (a coadd's), in place of `psf`.
    var localPSF: ((_ center: (x: Double, y: Double), _ radius: Int) -> PSFStamp?)?
    /// The factor that turns the flux of the PSF model into a star's total flux
    /// (`ApertureCorrection`): 1 when the model is exact.
    var apertureCorrection = 1.0
    var config: MeasurementConfig

    /// A photometer whose PSF is a Moffat of the Gaussian σ's FWHM and of `beta`.
    init(image: Image, noise: Double, gain: Double, psfSigma: Double, beta: Double, config: MeasurementConfig = .init()) {
        self.image = image
        self.noise = noise
        self.gain = gain
        self.psfSigma = psfSigma
        self.config = config
        psf = MoffatPSF(fwhm: Gaussian.sigmaToFWHM * psfSigma, beta: beta)
    }

    /// The source at a detection: its centroid, aperture, model and PSF fluxes; nil when the PSF
    /// flux is not positive. A centroid that wanders off is replaced by the peak, flagged.
    func measure(_ detection: Detection) -> Measurement? {
        let centroid = centroid(from: detection)
        let c = centroid ?? (Double(detection.peakX), Double(detection.peakY))
        let fwhm = Gaussian.sigmaToFWHM * psfSigma
        let ap = aperture(at: c, radius: max(config.minimumApertureRadius, config.apertureRadius * fwhm))
        let model = aperture(at: c, radius: max(config.minimumModelRadius, config.modelRadius * fwhm))
        let psf = psf(at: c)
        guard psf.flux > 0, psf.sigma.isFinite else { return nil }
        let snr = psf.flux / psf.sigma
        let positionSigma = psfSigma / max(snr, 1)
        return Measurement(x: c.x, y: c.y, positionVariance: positionSigma * positionSigma,
                           apFlux: ap.flux, apFluxSigma: ap.sigma, psfFlux: psf.flux, psfFluxSigma: psf.sigma,
                           modelFlux: model.flux, modelFluxSigma: model.sigma, flags: centroid == nil ? .badCentroid : [])
    }

    /// Gaussian-weighted centroid, iterated from the peak; nil when it leaves the image or ends
    /// more than `centroidMaximumShift` from the peak.
    func centroid(from detection: Detection) -> (x: Double, y: Double)? {
        var (cx, cy) = (Double(detection.peakX), Double(detection.peakY))
        let s = max(psfSigma, config.centroidMinimumSigma)
        let r = Int((config.centroidWindow * s).rounded(.up)) + 1
        for _ in 0..<config.centroidIterations {
            // A centroid pulled off the image by noise (weights of both signs) is no centroid.
            guard cx.isFinite, cy.isFinite, cx > -0.5, cy > -0.5, cx < Double(image.width) - 0.5, cy < Double(image.height) - 0.5 else {
                return nil
            }
            guard let next = weightedMean(around: (cx, cy), sigma: s, radius: r) else { return nil }
            let moved = abs(next.x - cx) + abs(next.y - cy)
            (cx, cy) = next
            if moved < config.centroidTolerance { break }
        }
        let shift = config.centroidMaximumShift
        guard abs(cx - Double(detection.peakX)) < shift, abs(cy - Double(detection.peakY)) < shift else { return nil }
        return (cx, cy)
    }

    /// One step of the centroid: the mean position weighted by the pixels times a Gaussian of σ
    /// `sigma` about `c`, over the box of half-width `radius`; nil when the weights sum to ≤ 0.
    func weightedMean(around c: (x: Double, y: Double), sigma s: Double, radius r: Int) -> (x: Double, y: Double)? {
        var sw = 0.0, sx = 0.0, sy = 0.0
        let (ix, iy) = (Int(c.x.rounded()), Int(c.y.rounded()))
        for y in max(0, iy - r)...min(image.height - 1, iy + r) {
            for x in max(0, ix - r)...min(image.width - 1, ix + r) {
                let dx = Double(x) - c.x, dy = Double(y) - c.y
                let weight = exp(-(dx * dx + dy * dy) / (2 * s * s)) * Double(image[x, y])
                sw += weight
                sx += weight * Double(x)
                sy += weight * Double(y)
            }
        }
        guard sw > 0 else { return nil }
        return (sx / sw, sy / sw)
    }

    /// Unweighted second moment sigma within `radius` of the centroid (for PSF size estimation).
    func momentSigma(at c: (x: Double, y: Double), radius: Double) -> Double? {
        var sum = 0.0, sxx = 0.0
        let r = Int(radius.rounded(.up))
        let (ix, iy) = (Int(c.x.rounded()), Int(c.y.rounded()))
        guard ix - r >= 0, iy - r >= 0, ix + r < image.width, iy + r < image.height else { return nil }
        for y in (iy - r)...(iy + r) {
            for x in (ix - r)...(ix + r) {
                let dx = Double(x) - c.x, dy = Double(y) - c.y
                guard dx * dx + dy * dy <= radius * radius else { continue }
                let v = Double(image[x, y])
                sum += v
                sxx += v * (dx * dx + dy * dy)
            }
        }
        guard sum > 0, sxx > 0 else { return nil }
        return (sxx / sum / 2).squareRoot()
    }

    /// The sum of the pixels whose centres lie within `radius` of `c`, and its σ.
    func aperture(at c: (x: Double, y: Double), radius: Double) -> (flux: Double, sigma: Double) {
        var flux = 0.0, count = 0
        let r = Int(radius.rounded(.up))
        let (ix, iy) = (Int(c.x.rounded()), Int(c.y.rounded()))
        for y in max(0, iy - r)...min(image.height - 1, iy + r) {
            for x in max(0, ix - r)...min(image.width - 1, ix + r) {
                let dx = Double(x) - c.x, dy = Double(y) - c.y
                if dx * dx + dy * dy <= radius * radius {
                    flux += Double(image[x, y])
                    count += 1
                }
            }
        }
        return (flux, (Double(count) * noise * noise + max(flux, 0) / gain).squareRoot())
    }

    /// The PSF flux at a fixed position: the model's, aperture-corrected.
    func psf(at c: (x: Double, y: Double)) -> (flux: Double, sigma: Double) {
        let fit = psfFit(at: c)
        return (fit.flux * apertureCorrection, fit.sigma * apertureCorrection)
    }

    /// Flux of the PSF model at a fixed position (linear least squares).
    func psfFit(at c: (x: Double, y: Double)) -> (flux: Double, sigma: Double) {
        let r = Int((config.psfFitRadius * psf.fwhm).rounded(.up)) + 1
        let stamp = localPSF?(c, r)
        var pi = 0.0, pp = 0.0
        let (ix, iy) = (Int(c.x.rounded()), Int(c.y.rounded()))
        for y in max(0, iy - r)...min(image.height - 1, iy + r) {
            for x in max(0, ix - r)...min(image.width - 1, ix + r) {
                let dx = Double(x) - c.x, dy = Double(y) - c.y
                let p = stamp?[x, y] ?? psf.value(dx * dx + dy * dy)
                pi += p * Double(image[x, y])
                pp += p * p
            }
        }
        guard pp > 0 else { return (0, .infinity) }
        let flux = pi / pp
        let variance = noise * noise / pp + max(flux, 0) / gain
        return (flux, variance.squareRoot())
    }
}
