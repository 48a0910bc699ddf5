import Foundation

/// The tunables of processCcd's astrometric match to the reference catalog and WCS fit.
public struct AstrometryConfig: Sendable, Equatable {
    /// Sources with this PSF S/N or more are the bright detections matched first.
    public var brightSignalToNoise = 10.0
    /// The most bright detections matched first, brightest first.
    public var brightest = 200
    /// With fewer bright detections than this, too few matches is a star-poor frame (`matches problem`), not an astrometry one.
    public var starPoorFrame = 10
    /// Reference objects are read this far beyond the header's footprint, arcsec.
    public var referenceMargin = 20.0
    /// Reference objects fainter than this in the frame's filter are not matched.
    public var referenceMagnitudeLimit = 22.5
    /// The most reference objects matched, brightest first.
    public var references = 400
    /// The largest pointing error of a header the coarse shift finds, arcsec, on each axis.
    public var shiftSearchRadius = 8.0
    /// The bin of the coarse shift's vote histogram, arcsec.
    public var shiftBin = 1.0
    /// The match radius after the coarse shift, arcsec.
    public var firstMatchRadius = 1.5
    /// The match radius after the first fit, when every measured source is matched, arcsec.
    public var secondMatchRadius = 1.0
    /// The fewest votes for the shift and the fewest matches of each match.
    public var minimumMatches = 6
    /// Largest accepted RMS of the astrometric residuals, arcsec.
    public var maximumResidual = 0.5
    /// The WCS fit's own.
    public var fit = AstrometricFitConfig()

    public init() {}
}
