import Foundation

/// The tunables of the photometric calibration stage.
public struct PhotometricCalibrationConfig: Sendable, Equatable {
    /// The PSF S/N a matched star needs to calibrate (faint ones would weigh noise).
    public var minimumSignalToNoise = 20.0
    /// References fainter than this magnitude (99 is "not measured") do not calibrate.
    public var maximumReferenceMagnitude = 30.0
    /// The fewest calibrating stars; with fewer the frame fails with a `matches problem`.
    public var minimumStars = 3
    /// A star further than this many of its σ (its own and the scatter beyond) from the zero point is left out.
    public var clip = 4.0
    /// Fits made, each on the stars the previous one's zero point and scatter keep.
    public var iterations = 3

    public init() {}
}

/// The photometric calibration stage: the zero point, the magnitude of one count.
///
/// The weighted mean over the matched stars measured well of m_ref + 2.5 log₁₀(PSF flux), with
/// clipping (LSST's `PhotoCalTask` without its colour terms): galaxies are left out, a galaxy's PSF
/// flux not being its total flux.
///
/// Each star's zero point has the σ of its flux, σ_k = 2.5/ln10 / (S/N), and the stars may scatter
/// more than that (the reference's own errors, which are not given; blends): that scatter σ_f is
/// fitted to the data, the one that makes χ²/(N − 1) = 1 (0 when the fluxes' σ explain the
/// scatter). The zero point is the mean weighted by 1/(σ_k² + σ_f²), its σ 1/√Σw; stars beyond
/// `clip` of their σ are left out and the fit made again, from the median. The aperture correction's
/// error is not in it: the zero point is fitted to corrected fluxes, so calibrated fluxes are free
/// of it (the image's counts are not: `APCERR`). The median it was had 2.5 times the error (the
/// S/N 20 stars weighed as much as the bright ones), 2–5 mmag a frame: a coadd's common error.
struct PhotometricCalibration {
    var config = PhotometricCalibrationConfig()

    /// Each calibrating star's zero point, ascending.
    func zeroPoints(_ matches: [Match]) -> [Double] {
        calibrators(matches).map(\.value).sorted()
    }

    /// Each calibrating star's zero point and its σ from its flux's S/N, magnitudes.
    func calibrators(_ matches: [Match]) -> [(value: Double, sigma: Double)] {
        matches.filter { $0.isStar && $0.signalToNoise >= config.minimumSignalToNoise && $0.referenceMagnitude < config.maximumReferenceMagnitude }
            .map { ($0.referenceMagnitude + 2.5 * log10($0.instrumentalFlux), 2.5 / log(10) / $0.signalToNoise) }
    }

    /// The zero point and its σ (magnitudes), nil with fewer than `minimumStars` stars.
    func zeroPoint(_ matches: [Match]) -> (value: Double, sigma: Double, stars: Int)? {
        let stars = calibrators(matches)
        guard stars.count >= config.minimumStars else { return nil }
        let sorted = stars.map(\.value).sorted()
        var fit = (value: sorted[sorted.count / 2], sigma: 0.0, scatter: 0.0)
        var kept = stars
        for _ in 0..<config.iterations {
            let next = Self.weightedMean(kept)
            fit = next
            let keptNow = stars.filter { abs($0.value - next.value) <= config.clip * ($0.sigma * $0.sigma + next.scatter * next.scatter).squareRoot() }
            guard keptNow.count >= config.minimumStars, keptNow.count != kept.count else { break }
            kept = keptNow
        }
        return (fit.value, fit.sigma, kept.count)
    }

    /// The mean of values weighted by 1/(σ² + σ_f²), its σ, and σ_f: the scatter beyond the values'
    /// σ that makes χ²/(N − 1) = 1 (bisection; 0 when χ² is already below).
    static func weightedMean(_ values: [(value: Double, sigma: Double)]) -> (value: Double, sigma: Double, scatter: Double) {
        func mean(_ f: Double) -> (value: Double, sigma: Double, chiSquare: Double) {
            let weights = values.map { 1 / ($0.sigma * $0.sigma + f * f) }, sum = weights.reduce(0, +)
            let m = zip(values, weights).map { $0.value * $1 }.reduce(0, +) / sum
            return (m, 1 / sum.squareRoot(), zip(values, weights).map { ($0.value - m) * ($0.value - m) * $1 }.reduce(0, +))
        }
        let dof = Double(max(values.count - 1, 1))
        guard mean(0).chiSquare > dof else { let m = mean(0); return (m.value, m.sigma, 0) }
        let spread = values.map(\.value).max()! - values.map(\.value).min()!
        var (low, high) = (0.0, max(spread, 1e-6))
        for _ in 0..<60 {
            let f = (low + high) / 2
            if mean(f).chiSquare > dof { low = f } else { high = f }
        }
        let m = mean(high)
        return (m.value, m.sigma, high)
    }
}
