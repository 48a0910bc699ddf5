import Foundation
import Testing
@testable import Pipeline
import Sky

/// The variances the measurement, calibration and WCS stages quote, against the scatter of their
/// estimators over many noise realisations of a tiny synthetic image (issue 26's honest errors).
@Suite struct VarianceFormulas {
    static let psf = MoffatPSF(fwhm: 3, beta: 3)
    static let center = (x: 15.3, y: 14.7)
    static let (flux, sky, gain) = (20_000.0, 3.0, 2.0)

    /// A realisation of a Moffat star of `flux` on a 32 × 32 image whose pixels have the background's
    /// σ `sky` and the star's Poisson noise (its counts over `gain`).
    static func realisation(_ random: inout Random) -> Image {
        var image = Stages.star(Stages.flat(32, 32), at: center, flux: flux, psf: psf)
        for k in image.pixels.indices {
            let variance = sky * sky + Double(image.pixels[k]) / gain
            image.pixels[k] += Float(variance.squareRoot() * random.gaussian())
        }
        return image
    }

    static func standardDeviation(_ values: [Double]) -> Double {
        let mean = values.reduce(0, +) / Double(values.count)
        return (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
    }

    /// 400 realisations: the PSF flux's σ (noise²/Σp² + (F/gain)·Σp³/(Σp²)²; F/gain alone would be
    /// 15 % low here), the aperture flux's and the windowed centroid's propagated σ are each within
    /// 10 % of the scatter (the standard deviation of 400 values is known to 3.5 %).
    @Test func theQuotedSigmasAreTheScatterOfTheirEstimators() throws {
        var random = Random(26)
        var psfFluxes: [Double] = [], apertureFluxes: [Double] = [], xs: [Double] = [], ys: [Double] = []
        var quoted = (psf: 0.0, aperture: 0.0, x: 0.0, y: 0.0)
        for _ in 0..<400 {
            var photometer = Photometer(image: Self.realisation(&random), noise: Self.sky, gain: Self.gain,
                                        psfSigma: Self.psf.fwhm / Gaussian.sigmaToFWHM, beta: 3)
            photometer.psf = Self.psf
            let fit = photometer.psfFit(at: Self.center), aperture = photometer.aperture(at: Self.center, radius: 6)
            let measured = try #require(photometer.measure(Detection(peakX: 15, peakY: 15, peak: 0, pixels: 1)))
            psfFluxes.append(fit.flux)
            apertureFluxes.append(aperture.flux)
            xs.append(measured.x)
            ys.append(measured.y)
            quoted = (quoted.psf + fit.sigma / 400, quoted.aperture + aperture.sigma / 400,
                      quoted.x + measured.xVariance.squareRoot() / 400, quoted.y + measured.yVariance.squareRoot() / 400)
        }
        let ratios = [Self.standardDeviation(psfFluxes) / quoted.psf, Self.standardDeviation(apertureFluxes) / quoted.aperture,
                      Self.standardDeviation(xs) / quoted.x, Self.standardDeviation(ys) / quoted.y]
        #expect(ratios.allSatisfy { abs($0 - 1) < 0.1 }, "scatter over quoted σ: PSF flux, aperture, x, y: \(ratios)")
        // The debiased centroid is the star's centre (its mean over the realisations, to 0.002 pixel).
        let mean = (xs.reduce(0, +) / 400, ys.reduce(0, +) / 400)
        #expect(abs(mean.0 - Self.center.x) < 0.002 && abs(mean.1 - Self.center.y) < 0.002, "\(mean)")
    }

    /// A FWHM of 1.3 pixels is undersampled: the windowed centroid of the noiseless star is pulled
    /// towards the pixel centre by hundredths of a pixel; the model-debiased one is within a fifth of
    /// that and 0.005 pixel of the centre.
    @Test func theDebiasedCentroidOfAnUndersampledStarIsItsCentre() throws {
        let narrow = MoffatPSF(fwhm: 1.3, beta: 3)
        for c in [(x: 15.3, y: 14.7), (x: 15.45, y: 15.1), (x: 14.8, y: 15.25)] {
            let image = Stages.star(Stages.flat(32, 32), at: c, flux: 10_000, psf: narrow)
            var photometer = Photometer(image: image, noise: 1, gain: .infinity, psfSigma: narrow.fwhm / Gaussian.sigmaToFWHM, beta: 3)
            photometer.psf = narrow
            let detection = Detection(peakX: Int(c.x.rounded()), peakY: Int(c.y.rounded()), peak: 0, pixels: 1)
            let windowed = try #require(photometer.centroid(from: detection))
            let debiased = photometer.debiased(windowed)
            let before = abs(windowed.x - c.x) + abs(windowed.y - c.y), after = abs(debiased.x - c.x) + abs(debiased.y - c.y)
            #expect(before > 5e-3, "\(c): the windowed centroid \(windowed) is biased")
            #expect(after < 0.2 * before && after < 5e-3, "\(c): windowed \(windowed), debiased \(debiased)")
        }
    }

    /// 400 zero points of σ 0.01 mag each about 25: the weighted mean is 25 within 3 of its σ,
    /// 0.01/√400 (within 5 %: the extra scatter fitted to a sample is not quite 0); when they scatter 0.02 mag more than their σ, that scatter is found within 15 %
    /// and the σ is √(0.01² + 0.02²)/√400.
    @Test func theZeroPointsSigmaAndExtraScatterAreTheData() {
        var random = Random(7)
        let plain = (0..<400).map { _ in (value: 25 + 0.01 * random.gaussian(), sigma: 0.01, scale: 1.0) }
        let fit = PhotometricCalibration.weightedMean(plain)
        #expect(abs(fit.sigma / 0.0005 - 1) < 0.05 && abs(fit.value - 25) < 3 * fit.sigma && fit.scatter < 0.004, "\(fit)")
        let scattered = (0..<400).map { _ in (value: 25 + (0.01 * 0.01 + 0.02 * 0.02).squareRoot() * random.gaussian(), sigma: 0.01) }
        let wide = PhotometricCalibration.clippedMean(scattered, clip: 4, iterations: 3, minimum: 3)
        #expect(abs(wide.scatter / 0.02 - 1) < 0.15, "\(wide)")
        #expect(abs(wide.sigma / ((0.0001 + 0.0004).squareRoot() / 20) - 1) < 0.1 && abs(wide.value - 25) < 3 * wide.sigma, "\(wide)")
    }

    /// The WCS fit's prediction variance σ²·xᵀ(XᵀX)⁻¹x: for four matches at (±1, ±1) from CRPIX,
    /// (XᵀX)⁻¹ is a quarter of the identity, so the variance is σ²/4 at CRPIX and σ²·3/4 at (1, 1).
    @Test func theWCSFitsVarianceIsItsLeastSquaresPrediction() {
        let inverse = AstrometricFit.inverseNormalMatrix([-1, 1, -1, 1], [-1, -1, 1, 1])
        let expected: [Double] = [0.25, 0, 0, 0, 0.25, 0, 0, 0, 0.25]
        #expect(zip(inverse, expected).allSatisfy { abs($0 - $1) < 1e-12 }, "\(inverse)")
        let covariance = inverse.map { $0 * 2 }
        #expect(abs(AstrometricFit.variance(covariance, dx: 0, dy: 0) - 0.5) < 1e-12)
        #expect(abs(AstrometricFit.variance(covariance, dx: 1, dy: 1) - 1.5) < 1e-12)
    }
}
