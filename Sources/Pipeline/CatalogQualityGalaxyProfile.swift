import Foundation

/// A round Gaussian galaxy of σ `sigma` seen through a Moffat PSF of β 3: the galaxy convolved with
/// the PSF, as a telescope sees it (the simulator's galaxies, and what `CatalogQuality` expects a
/// PSF fit to see of them).
///
/// A Moffat has no closed-form convolution with a Gaussian, but a sum of Gaussians has: with the
/// β = 3 Moffat written as Σ wₖ N(σₖ²) (four Gaussians, least-squares fitted to it; the sum is within
/// 0.3 % of its peak everywhere), the seen galaxy is
///
///     M(r) + Σ wₖ [N(σₖ² + σ²)(r) − N(σₖ²)(r)],
///
/// exactly the Moffat M for σ = 0 (a point-like galaxy is a star) and of unit flux for any σ, each
/// bracket integrating to zero; against the exact convolution (a fine-grid FFT) it is within 0.6 % at
/// the centre and 6 % at any radius for σ up to half the FWHM. It replaced a Gaussian of σ² = σ_PSF² + σ², which lacked the PSF's
/// wings: a compact galaxy was then sharper than a star, its spread negative, and no star/galaxy
/// separation could tell it from one (on the Stripe 82-dense sky, whose faint galaxies are compact).
public struct SeenGalaxy: Sendable {
    public let psf: MoffatPSF
    /// The galaxy's own Gaussian σ, in the PSF's units (pixels).
    public let sigma: Double

    /// The β = 3 Moffat of α = 1 as a sum of Gaussians: weights and σ (in α).
    static let mixture: [(weight: Double, sigma: Double)] = [(0.19639, 0.33267), (0.50661, 0.52129), (0.25555, 0.8721), (0.04065, 1.70656)]

    /// - Precondition: `psf.beta` is 3, the mixture's.
    public init(psf: MoffatPSF, sigma: Double) {
        precondition(abs(psf.beta - 3) < 1e-9, "SeenGalaxy's mixture is the β = 3 Moffat's")
        self.psf = psf
        self.sigma = sigma
    }

    /// The profile at squared distance `r2` from the centre, of unit total flux.
    public func value(_ r2: Double) -> Double {
        let s2 = sigma * sigma
        guard s2 > 0 else { return psf.value(r2) }
        func normal(_ v: Double) -> Double { exp(-r2 / (2 * v)) / (2 * .pi * v) }
        return Self.mixture.reduce(psf.value(r2)) { sum, k in
            let v = pow(k.sigma * psf.alpha, 2)
            return sum + k.weight * (normal(v + s2) - normal(v))
        }
    }

    /// How far from the centre it reaches (4 of its widths, pixels).
    public var radius: Int { Int((4 * max(psf.fwhm, (pow(psf.fwhm / Gaussian.sigmaToFWHM, 2) + sigma * sigma).squareRoot() * Gaussian.sigmaToFWHM)).rounded(.up)) + 2 }
}
