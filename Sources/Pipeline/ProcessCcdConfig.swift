import Foundation

/// Every tunable of processCcd, stage by stage, each with its default (LSST's
/// `ProcessCcdConfig`: one documented field per parameter).
public struct ProcessCcdConfig: Sendable, Equatable {
    /// The smallest width and height of a frame, pixels: a smaller image is an unreadable header.
    public var minimumImageSide = 64
    /// The smallest pixel scale a header's WCS may give, arcsec (exclusive): below, it has no WCS to start from.
    public var minimumPixelScale = 0.001
    /// The largest pixel scale a header's WCS may give, arcsec (exclusive): a pixel of the whole sky is no WCS either.
    public var maximumPixelScale = 3600.0
    /// The background stage's.
    public var background = BackgroundConfig()
    /// The detection stage's; its threshold is `dcprod pipe processCcd --threshold`.
    public var detection = DetectionConfig()
    /// The PSF model, aperture correction and measurement stages'.
    public var photometry = PhotometryConfig()
    /// Star/galaxy separation's.
    public var extendedness = ExtendednessConfig()
    /// The astrometric match and WCS fit's.
    public var astrometry = AstrometryConfig()
    /// The zero point's.
    public var calibration = PhotometricCalibrationConfig()

    public init() {}
}
