import Foundation

/// The tunables of the aperture correction stage.
public struct ApertureCorrectionConfig: Sendable, Equatable {
    /// Radius of the aperture that holds a star's total flux, in FWHMs of the PSF: a Moffat profile (β = 3) leaves 0.3 % of its flux outside 4 FWHMs, a Gaussian nothing.
    public var totalFluxRadius = 4.0
    /// The smallest total-flux aperture radius, pixels.
    public var minimumRadius = 6.0
    /// The PSF-model S/N a star needs to weigh in the correction.
    public var minimumSignalToNoise = 50.0
    /// The fewest stars the correction is measured on; with fewer it is 1.
    public var minimumStars = 5
    /// A star whose ratio is further than this many of its σ from the stars' median is left out (a galaxy, a blend).
    public var clip = 4.0

    public init() {}
}

/// The aperture correction stage: the factor from the PSF model's flux to a star's total flux.
///
/// Over the bright point sources, the ratio of their flux within `totalFluxRadius` FWHMs to the
/// flux of the PSF model (LSST's `ApertureCorrectionTask`, one number for the image rather than a
/// field over it). The model's wings are fitted where the stars are bright; what it misses beyond,
/// or where the PSF is not quite a Moffat (a coadd's mix of seeings), this puts back.
///
/// The estimator is the inverse-variance weighted mean of the ratios, each of σ_k = σ(total_k)/model_k
/// (the total aperture's sky and Poisson noise; the model flux's noise is mostly the same pixels'),
/// after leaving out those `clip` σ_k from the median; its σ is 1/√Σw, times √(χ²/(n − 1)) when the
/// ratios scatter more than that. It was the plain median, whose error (the S/N 50 stars' 2 % each)
/// was 0.4–0.7 %: a coadd, at its fixed zero point, carries its own correction's error and each
/// input's (an input's zero point is fitted to corrected fluxes, so its image is off by the error
/// of its correction), and those were what made the coadd 0.1–0.7 % brighter than its inputs.
struct ApertureCorrection {
    var config = ApertureCorrectionConfig()

    /// The correction of the photometer's image, measured on `stars` (0-based centroids).
    func factor(of photometer: Photometer, at stars: [(x: Double, y: Double)]) -> Double {
        measure(of: photometer, at: stars).factor
    }

    /// The correction and its σ (the weighted mean above); 1 and σ 0 when there are too few stars.
    /// A common factor of every PSF flux of the image: processCcd's zero point, fitted to
    /// corrected fluxes, takes its error in (and passes it to its image: `APCERR`); a coadd, at a
    /// fixed zero point, adds its own to its fluxes' σ.
    func measure(of photometer: Photometer, at stars: [(x: Double, y: Double)]) -> (factor: Double, sigma: Double) {
        let image = photometer.image
        let radius = max(config.minimumRadius, config.totalFluxRadius * photometer.psf.fwhm)
        let ratios = stars.compactMap { c -> (value: Double, sigma: Double)? in
            guard c.x >= radius, c.y >= radius, c.x < Double(image.width) - 1 - radius, c.y < Double(image.height) - 1 - radius else { return nil }
            let model = photometer.psfFit(at: c), total = photometer.aperture(at: c, radius: radius)
            guard model.flux > config.minimumSignalToNoise * model.sigma else { return nil }
            return (total.flux / model.flux, total.sigma / model.flux)
        }
        guard ratios.count >= config.minimumStars else { return (1, 0) }
        let median = RobustStatistics.median(ratios.map { Float($0.value) })
        let kept = ratios.filter { abs($0.value - median) <= config.clip * $0.sigma }
        guard kept.count >= config.minimumStars else {
            // Too few agree with their σ: the median, and its σ from the ratios' scatter.
            let scatter = RobustStatistics.sigma(ratios.map { Float($0.value - median) })
            return (median, (Double.pi / 2).squareRoot() * scatter / Double(ratios.count).squareRoot())
        }
        let weights = kept.map { 1 / ($0.sigma * $0.sigma) }, sum = weights.reduce(0, +)
        let mean = zip(kept, weights).map { $0.value * $1 }.reduce(0, +) / sum
        let chiSquare = zip(kept, weights).map { ($0.value - mean) * ($0.value - mean) * $1 }.reduce(0, +)
        return (mean, max(1, chiSquare / Double(kept.count - 1)).squareRoot() / sum.squareRoot())
    }

    /// How far from the image's edges a star must be for its total flux to be measured, pixels,
    /// when the PSF's Gaussian σ is `psfSigma`.
    func edgeDistance(psfSigma: Double) -> Double {
        max(config.minimumRadius, config.totalFluxRadius * Gaussian.sigmaToFWHM * psfSigma)
    }
}
