import Foundation

/// A circular Moffat profile of unit total flux, I(r) = (β − 1)/(πα²)·(1 + r²/α²)^−β (Moffat 1969,
/// A&A 3, 455): the PSF model of processCcd, coadd and forcedPhot. Its wings are an atmosphere's;
/// as β grows it tends to a Gaussian, so one family fits a calexp and a coadd alike.
public struct MoffatPSF: Equatable, Sendable {
    /// Core width, pixels.
    var alpha: Double
    /// How fast the wings fall: the profile goes as r^−2β far out.
    var beta: Double

    public init(fwhm: Double, beta: Double) {
        self.beta = beta
        alpha = fwhm / (2 * (pow(2, 1 / beta) - 1).squareRoot())
    }

    /// Full width at half maximum, pixels: 2α√(2^(1/β) − 1).
    public var fwhm: Double { 2 * alpha * (pow(2, 1 / beta) - 1).squareRoot() }

    /// The profile at squared distance `r2` (pixels²) from the centre, sampled at a pixel centre
    /// as the simulated camera samples it.
    public func value(_ r2: Double) -> Double {
        (beta - 1) / (.pi * alpha * alpha) * pow(1 + r2 / (alpha * alpha), -beta)
    }
}
