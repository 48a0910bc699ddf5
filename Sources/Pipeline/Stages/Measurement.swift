import Foundation

/// What processCcd and coadd measure of one source, in pixels and counts.
struct Measurement: Sendable, Equatable {
    /// Centroid, 0-based pixels.
    var x: Double
    var y: Double
    /// Variance of the centroid on each axis, pixels².
    var positionVariance: Double
    var apFlux: Double, apFluxSigma: Double
    var psfFlux: Double, psfFluxSigma: Double
    var modelFlux: Double, modelFluxSigma: Double
    /// What makes it unreliable (`SourceFlagging`).
    var flags: SourceFlags = []
    /// 1 for a source wider than the PSF, 0 for a point source (`Extendedness`).
    var extendedness = 0.0
    var signalToNoise: Double { psfFluxSigma > 0 ? psfFlux / psfFluxSigma : 0 }
}

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
