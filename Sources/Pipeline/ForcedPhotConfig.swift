import Foundation

/// Every tunable of forcedPhot, each with its default.
public struct ForcedPhotConfig: Sendable, Equatable {
    /// A position is measured when it lies at least this many σ of the PSF inside the calexp's edges.
    public var edgeMargin = 3.0
    /// The calexp's noise is measured on one pixel in this many.
    public var noiseSampling = 11
    /// Detection, for a calexp whose header has no PSF model (written before processCcd fitted one), which gets its own.
    public var detection = DetectionConfig()
    /// The PSF model and measurement stages': the model flux's aperture, and the model of such a calexp.
    public var photometry = PhotometryConfig()

    public init() {}
}
