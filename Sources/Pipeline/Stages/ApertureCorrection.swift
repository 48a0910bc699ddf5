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

    public init() {}
}

/// The aperture correction stage: the factor from the PSF model's flux to a star's total flux.
///
/// The median, over the bright point sources, of their flux within `totalFluxRadius` FWHMs over
/// the flux of the PSF model (LSST's `ApertureCorrectionTask`, one number for the image rather
/// than a field over it). The model's wings are fitted where the stars are bright; what it misses
/// beyond, or where the PSF is not quite a Moffat (a coadd's mix of seeings), this puts back.
struct ApertureCorrection {
    var config = ApertureCorrectionConfig()

    /// The correction of the photometer's image, measured on `stars` (0-based centroids).
    func factor(of photometer: Photometer, at stars: [(x: Double, y: Double)]) -> Double {
        measure(of: photometer, at: stars).factor
    }

    /// The correction and its σ: the median of the stars' ratios and the median's standard error,
    /// √(π/2) × their robust standard deviation over √N (each ratio's noise is mostly the total
    /// aperture's sky); σ 0 when there are too few stars and the factor is 1. A common factor of
    /// every PSF flux of the image: processCcd's zero point, fitted to corrected fluxes, takes its
    /// error in; a coadd, at a fixed zero point, adds it to its fluxes' σ.
    func measure(of photometer: Photometer, at stars: [(x: Double, y: Double)]) -> (factor: Double, sigma: Double) {
        let image = photometer.image
        let radius = max(config.minimumRadius, config.totalFluxRadius * photometer.psf.fwhm)
        let ratios = stars.compactMap { c -> Float? in
            guard c.x >= radius, c.y >= radius, c.x < Double(image.width) - 1 - radius, c.y < Double(image.height) - 1 - radius else { return nil }
            let model = photometer.psfFit(at: c), total = photometer.aperture(at: c, radius: radius)
            guard model.flux > config.minimumSignalToNoise * model.sigma else { return nil }
            return Float(total.flux / model.flux)
        }
        guard ratios.count >= config.minimumStars else { return (1, 0) }
        let median = RobustStatistics.median(ratios)
        let scatter = RobustStatistics.sigma(ratios.map { $0 - Float(median) })
        return (median, (Double.pi / 2).squareRoot() * scatter / Double(ratios.count).squareRoot())
    }

    /// How far from the image's edges a star must be for its total flux to be measured, pixels,
    /// when the PSF's Gaussian σ is `psfSigma`.
    func edgeDistance(psfSigma: Double) -> Double {
        max(config.minimumRadius, config.totalFluxRadius * Gaussian.sigmaToFWHM * psfSigma)
    }
}
