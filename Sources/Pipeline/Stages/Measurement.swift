import Foundation

/// What processCcd and coadd measure of one source, in pixels and counts.
struct Measurement: Sendable, Equatable {
    /// Centroid, 0-based pixels.
    var x: Double
    var y: Double
    /// Variance of the centroid on each axis, pixels²: the mean of `xVariance` and `yVariance`,
    /// plus (processCcd) the fitted WCS's variance at the source. The catalog's declVar is this
    /// times (pixel scale in degrees)², its raVar that over cos²(decl).
    var positionVariance: Double
    var apFlux: Double, apFluxSigma: Double
    var psfFlux: Double, psfFluxSigma: Double
    var modelFlux: Double, modelFluxSigma: Double
    /// The centroid's own variance along x and along y, pixels² (`Photometer.centroidVariance`).
    var xVariance = 0.0
    var yVariance = 0.0
    /// What makes it unreliable (`SourceFlagging`).
    var flags: SourceFlags = []
    /// 1 for a source wider than the PSF, 0 for a point source (`Extendedness`).
    var extendedness = 0.0
    var signalToNoise: Double { psfFluxSigma > 0 ? psfFlux / psfFluxSigma : 0 }

    /// The measurement with a relative error common to all of an image's fluxes (a zero point's,
    /// an aperture correction's) added to each flux σ in quadrature: σ² + (flux · `relative`)².
    /// A zero point's σ of σ_zp magnitudes is a relative error of σ_zp · ln 10 / 2.5. The PSF flux's
    /// may differ (`psf`, where not nil): a coadd's PSF fluxes take its inputs' aperture corrections,
    /// and are free of their errors, which its other fluxes keep.
    func addingRelativeFluxError(_ relative: Double, psf: Double? = nil) -> Measurement {
        var out = self
        func add(_ sigma: Double, _ flux: Double, _ relative: Double) -> Double {
            relative > 0 ? (sigma * sigma + flux * flux * relative * relative).squareRoot() : sigma
        }
        out.psfFluxSigma = add(psfFluxSigma, psfFlux, psf ?? relative)
        out.apFluxSigma = add(apFluxSigma, apFlux, relative)
        out.modelFluxSigma = add(modelFluxSigma, modelFlux, relative)
        return out
    }
}

/// Magnitudes to a relative flux error: a zero point's σ of `sigma` magnitudes is a flux's
/// relative σ of `sigma` · ln 10 / 2.5.
func relativeFluxError(magnitudes sigma: Double) -> Double { sigma * log(10) / 2.5 }
/// A position's variance on the sky, as the catalog's raVar and declVar hold it: deg² of each
/// coordinate itself, so that raVar is the variance of `ra` (a position's σ in arcsec on the sky
/// along RA is 3600·√raVar·cos decl).
struct PositionVariance {
    var ra: Double
    var dec: Double

    /// The variance of a centroid of variance `pixels` (px² on each axis) on an image of `scale` arcsec per pixel, at declination `declination`.
    init(pixels: Double, scale: Double, declination: Double) {
        let degreesPerPixel = scale / 3600
        dec = pixels * degreesPerPixel * degreesPerPixel
        let cosine = cos(declination * .pi / 180)
        ra = dec / (cosine * cosine)
    }
}
