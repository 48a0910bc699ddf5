import Foundation

/// The tunables of the aperture correction stage.
public struct ApertureCorrectionConfig: Sendable, Equatable {
    /// Radius of the aperture the model is checked on, in FWHMs of the PSF (a Moffat profile of β = 3 has 99.7 % of its flux within 4 FWHMs).
    public var totalFluxRadius = 4.0
    /// The smallest total-flux aperture radius, pixels.
    public var minimumRadius = 6.0
    /// The PSF-model S/N a star needs to weigh in the correction.
    public var minimumSignalToNoise = 50.0
    /// The fewest stars the correction is measured on; with fewer it is 1.
    public var minimumStars = 5
    /// A star whose ratio is further than this many of its σ from the stars' median is left out (a galaxy, a blend).
    public var clip = 4.0
    /// Fits made, each on the stars the previous one keeps.
    public var iterations = 3
    /// A star the fitted PSF model finds wider than itself (`Extendedness`) is left out: a galaxy.
    public var extendedness = ExtendednessConfig()

    public init() {}
}

/// The aperture correction stage: the factor from the PSF model's flux to a star's total flux.
///
/// Over the bright point sources, the ratio of their flux within `totalFluxRadius` FWHMs to what
/// the fitted model puts there, its flux times its own sum over those pixels (LSST's
/// `ApertureCorrectionTask`, one number for the image rather than a field over it; the model has
/// unit total flux, so an exact model's correction is 1 and the flux the aperture misses is the
/// model's). Dividing by the model's own sum, not by its flux alone, takes out the sampling: on an
/// undersampled frame a star's pixel-centre samples sum to its flux ± 1–2 % depending on where it
/// falls in its pixel, and the brightest stars' phases set a plain ratio. What the model misses
/// within the aperture, or where the PSF is not quite a Moffat (a coadd's mix of seeings), this puts back.
///
/// The estimator is the weighted mean of the ratios, each of σ_k = σ(total_k)/expected_k (the total
/// aperture's sky and Poisson noise; the model flux's noise is mostly the same pixels') and of the
/// stars' scatter beyond that, σ_f/expected_k, fitted so that the normalised residuals scatter as a
/// normal variable, from the median, stars `clip` of their σ from it left out
/// (`PhotometricCalibration.clippedMean`). Its σ is 1/√Σw. σ_f is in counts, the same for every
/// star: what the aperture holds beyond the pixels' noise, sources below the detection limit and
/// the background's error under it. Taken as a fraction of each ratio, it weighed the S/N 2000
/// stars of a crowded deep frame as the S/N 60 ones, and the correction's σ was 0.4–0.6 % where
/// those stars agree to 0.1 %. It was the
/// plain median of total/model, whose error (the S/N 50 stars' 2 % each) was 0.4–0.7 %: a coadd, at
/// its fixed zero point, carries its own correction's error and each input's (an input's zero
/// point is fitted to corrected fluxes, so its image is off by the error of its correction), and
/// those were what made the coadd 0.1–0.7 % brighter than its inputs.
///
/// The stars are `PSFModeling`'s point sources, chosen by their second moments before the model is
/// fitted, less those the fitted model finds extended (`Extendedness`, the catalog's own rule). On
/// a deep frame of poor seeing (ten exposures, FWHM 1.5–1.7″ on the Stripe 82-dense sky) the first
/// size estimate is 45 % too wide, half the S/N > 50 "stars" were galaxies a little wider than the
/// PSF (ratios 1.17–1.59, each 2–6 % uncertain), the clipping's median sat among them, and the
/// correction was 1.088–1.128 ± 3–4 % (the zero point, fitted to corrected fluxes, 0.09–0.13 mag
/// high, and every aperture flux 8–11 % faint); without them it is 1.000–1.001, as on the other frames.
struct ApertureCorrection {
    var config = ApertureCorrectionConfig()

    /// The correction of the photometer's image, measured on `stars` (0-based centroids).
    func factor(of photometer: Photometer, at stars: [(x: Double, y: Double)]) -> Double {
        measure(of: photometer, at: stars).factor
    }

    /// The correction and its σ (the weighted mean above, with the stars' scatter beyond their noise
    /// fitted); 1 and 0 when there are too few stars.
    /// A common factor of every PSF flux of the image: processCcd's zero point, fitted to
    /// corrected fluxes, takes its error in (and passes it to its image: `APCERR`); a coadd takes its
    /// inputs' corrections (`CoaddPSF.apertureCorrection`), and measures its own only where an input
    /// has no PSF model, adding its error to its PSF fluxes' σ.
    func measure(of photometer: Photometer, at stars: [(x: Double, y: Double)]) -> (factor: Double, sigma: Double) {
        let image = photometer.image
        let radius = max(config.minimumRadius, config.totalFluxRadius * photometer.psf.fwhm)
        let extendedness = Extendedness(config: config.extendedness)
        let ratios = stars.compactMap { windowed -> (value: Double, sigma: Double, scale: Double)? in
            // At the windowed centroid of an undersampled star the model is a few hundredths of a
            // pixel off, its fitted flux low and this ratio high by 0.1–0.3 %: the debiased one.
            let c = photometer.config.debiasCentroids ? photometer.debiased(windowed) : windowed
            guard c.x >= radius, c.y >= radius, c.x < Double(image.width) - 1 - radius, c.y < Double(image.height) - 1 - radius else { return nil }
            let model = photometer.psfFit(at: c), total = photometer.aperture(at: c, radius: radius)
            guard model.flux > config.minimumSignalToNoise * model.sigma,
                  extendedness.isExtended(at: c, photometer: photometer, noise: photometer.noise) == false else { return nil }
            let expected = model.flux * photometer.modelAperture(at: c, radius: radius)
            guard expected > 0 else { return nil }
            return (total.flux / expected, total.sigma / expected, 1 / expected)
        }
        guard ratios.count >= config.minimumStars else { return (1, 0) }
        let fit = PhotometricCalibration.clippedMean(ratios, clip: config.clip, iterations: config.iterations, minimum: config.minimumStars)
        return (fit.value, fit.sigma)
    }

    /// How far from the image's edges a star must be for its total flux to be measured, pixels,
    /// when the PSF's Gaussian σ is `psfSigma`.
    func edgeDistance(psfSigma: Double) -> Double {
        max(config.minimumRadius, config.totalFluxRadius * Gaussian.sigmaToFWHM * psfSigma)
    }
}
