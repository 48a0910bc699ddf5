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
/// Each star's zero point has the σ of its flux, 2.5/ln10 / (S/N), and of its reference magnitude
/// (`refcat.csv`'s `uErr` … `zErr`; 0 where a catalog gives none), in quadrature: σ_k. The stars may
/// scatter more than that (blends, a catalog without errors): that scatter σ_f is
/// fitted to the data, the one that makes the normalised residuals' median absolute value a normal
/// variable's (0 when the σ_k explain the scatter). The reference's errors had been left to σ_f, one
/// scatter fitted per frame to a dozen u stars whose references are 0.02–0.3 mag uncertain: the same
/// stars gave a stated σ of 0.3 to 1.4 % from one epoch to the next, and the test sky's u zero points
/// were 2.2–3.4 of it off. Not a bias: those stars' reference magnitudes happen to average 0.026 mag
/// faint (a 2σ draw; over eight seeds the calibrators' mean reference error is −0.003 mag, of either
/// sign, u's errors being drawn apart from r's, where the catalog's limit is). As SDSS's and LSST's
/// calibrations do, each star now weighs by its own reference error: the stated σ is 0.8–1.2 % there,
/// and over eight seeds u's offsets over it have mean +0.01 and rms 1.08. The zero point is the mean weighted by 1/(σ_k² + σ_f²), its σ 1/√Σw; stars beyond
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

    /// Each calibrating star's zero point and its σ, magnitudes: its flux's, 2.5/ln10 / (S/N), and its
    /// reference magnitude's own in quadrature.
    func calibrators(_ matches: [Match]) -> [(value: Double, sigma: Double)] {
        matches.filter { $0.isStar && $0.signalToNoise >= config.minimumSignalToNoise && $0.referenceMagnitude < config.maximumReferenceMagnitude }
            .map { m in
                let flux = 2.5 / log(10) / m.signalToNoise
                return (m.referenceMagnitude + 2.5 * log10(m.instrumentalFlux), (flux * flux + m.referenceError * m.referenceError).squareRoot())
            }
    }

    /// The zero point and its σ (magnitudes), nil with fewer than `minimumStars` stars.
    func zeroPoint(_ matches: [Match]) -> (value: Double, sigma: Double, stars: Int)? {
        let stars = calibrators(matches)
        guard stars.count >= config.minimumStars else { return nil }
        let fit = Self.clippedMean(stars, clip: config.clip, iterations: config.iterations, minimum: config.minimumStars)
        return (fit.value, fit.sigma, fit.kept)
    }

    /// The weighted mean with the scatter beyond the values' σ fitted (`weightedMean`) of the values
    /// within `clip` of their σ (their own and that scatter) of the median, made again on those
    /// within `clip` of the mean, `iterations` times at most or until nothing changes or fewer than
    /// `minimum` would be kept.
    static func clippedMean(_ values: [(value: Double, sigma: Double)], clip: Double, iterations: Int,
                            minimum: Int) -> (value: Double, sigma: Double, scatter: Double, kept: Int) {
        clippedMean(values.map { ($0.value, $0.sigma, 1) }, clip: clip, iterations: iterations, minimum: minimum)
    }

    /// As above, the scatter beyond each value's σ being σ_f times its `scale` (the aperture
    /// correction's: a scatter in counts, the same for every star, is σ_f/expected flux in its ratio).
    static func clippedMean(_ values: [(value: Double, sigma: Double, scale: Double)], clip: Double, iterations: Int,
                            minimum: Int) -> (value: Double, sigma: Double, scatter: Double, kept: Int) {
        // From the median, with the values' robust scatter as the first scatter beyond their σ: a few
        // outliers (blends) do not set the first clip.
        let median = RobustStatistics.median(values.map { Float($0.value) })
        let spread = RobustStatistics.sigma(values.map { Float($0.value - median) })
        var kept = values.filter { abs($0.value - median) <= clip * ($0.sigma * $0.sigma + spread * spread).squareRoot() }
        if kept.count < minimum { kept = values }
        var fit = weightedMean(kept)
        for _ in 1..<max(iterations, 1) {
            let next = values.filter { v in
                let extra = fit.scatter * v.scale
                return abs(v.value - fit.value) <= clip * (v.sigma * v.sigma + extra * extra).squareRoot()
            }
            guard next.count >= minimum, next.count != kept.count else { break }
            kept = next
            fit = weightedMean(kept)
        }
        return (fit.value, fit.sigma, fit.scatter, kept.count)
    }

    /// The mean of values weighted by 1/(σ² + (σ_f·scale)²), its σ (1/√Σw), and σ_f: the scatter beyond
    /// the values' σ (times each one's `scale`, 1 for a scatter common to all) that makes the median of
    /// their normalised residuals |v − mean|/√(σ² + (σ_f·scale)²) that of a normal variable, 0.6745
    /// (bisection; 0 when it is already below). A median, not χ²: a blend or two among stars measured
    /// to 0.02 % would otherwise set σ_f, and with it the weights.
    static func weightedMean(_ values: [(value: Double, sigma: Double, scale: Double)]) -> (value: Double, sigma: Double, scatter: Double) {
        func mean(_ f: Double) -> (value: Double, sigma: Double, spread: Double) {
            let weights = values.map { 1 / ($0.sigma * $0.sigma + f * f * $0.scale * $0.scale) }, sum = weights.reduce(0, +)
            let m = zip(values, weights).map { $0.value * $1 }.reduce(0, +) / sum
            let z = zip(values, weights).map { Float(abs($0.value - m) * $1.squareRoot()) }
            return (m, 1 / sum.squareRoot(), RobustStatistics.median(z))
        }
        let normal = 1 / MAD.toSigma
        guard mean(0).spread > normal else { let m = mean(0); return (m.value, m.sigma, 0) }
        let range = values.map(\.value).max()! - values.map(\.value).min()!
        var (low, high) = (0.0, max(range / values.map(\.scale).min()!, 1e-6))
        for _ in 0..<60 {
            let f = (low + high) / 2
            if mean(f).spread > normal { low = f } else { high = f }
        }
        let m = mean(high)
        return (m.value, m.sigma, high)
    }
}
