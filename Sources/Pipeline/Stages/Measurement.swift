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
    var signalToNoise: Double { psfFluxSigma > 0 ? psfFlux / psfFluxSigma : 0 }
}
