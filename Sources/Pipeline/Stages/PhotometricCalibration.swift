import Foundation

/// The tunables of the photometric calibration stage.
public struct PhotometricCalibrationConfig: Sendable, Equatable {
    /// The PSF S/N a matched star needs to calibrate (faint ones would weigh noise).
    public var minimumSignalToNoise = 20.0
    /// References fainter than this magnitude (99 is "not measured") do not calibrate.
    public var maximumReferenceMagnitude = 30.0
    /// The fewest calibrating stars; with fewer the frame fails with a `matches problem`.
    public var minimumStars = 3
    /// The median's standard error over the mean's, for normal errors: √(π/2) (its asymptotic
    /// efficiency is 2/π), the factor from the stars' scatter over √N to the median's σ.
    public var medianEfficiencyFactor = (Double.pi / 2).squareRoot()

    public init() {}
}

/// The photometric calibration stage: the zero point, the magnitude of one count.
///
/// The median over the matched stars measured well of m_ref + 2.5 log₁₀(PSF flux) (LSST's
/// `PhotoCalTask` without its colour terms, a median instead of its clipped weighted mean):
/// galaxies are left out, a galaxy's PSF flux not being its total flux.
///
/// Its σ is measured on the data, not assumed: the robust standard deviation of the per-star
/// zero points (1.4826 × MAD: their PSF fluxes' noise and the reference's own errors alike) over
/// √N, times the median's efficiency factor √(π/2). The aperture correction's error is in it too:
/// the zero point is fitted to aperture-corrected fluxes, so it calibrates that error away.
struct PhotometricCalibration {
    var config = PhotometricCalibrationConfig()

    /// Each calibrating star's zero point, ascending.
    func zeroPoints(_ matches: [Match]) -> [Double] {
        matches.filter { $0.isStar && $0.signalToNoise >= config.minimumSignalToNoise && $0.referenceMagnitude < config.maximumReferenceMagnitude }
            .map { $0.referenceMagnitude + 2.5 * log10($0.instrumentalFlux) }.sorted()
    }

    /// The upper median of the stars' zero points and its σ (magnitudes), nil with fewer than `minimumStars`.
    func zeroPoint(_ matches: [Match]) -> (value: Double, sigma: Double, stars: Int)? {
        let values = zeroPoints(matches)
        guard values.count >= config.minimumStars else { return nil }
        let median = values[values.count / 2]
        let scatter = RobustStatistics.sigma(values.map { Float($0 - median) })
        let sigma = config.medianEfficiencyFactor * scatter / Double(values.count).squareRoot()
        return (median, sigma, values.count)
    }
}
