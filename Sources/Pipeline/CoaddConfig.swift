import Foundation

/// Every tunable of coadd, stage by stage, each with its default.
public struct CoaddConfig: Sendable, Equatable {
    /// The common zero point, magnitudes (fluxMag0 = 10^(0.4·zeroPoint)): DC2013's fluxMag0 of 10^(0.4·27).
    public var zeroPoint = 27.0
    /// The fewest overlapping calexps a coadd is made of.
    public var minimumInputs = 1
    /// Pixels between the nodes where the warp's mapping is computed by wcslib.
    public var mappingStep = 16
    /// Points along each edge of a calexp, corners included, that find which patch pixels it may cover.
    public var edgePoints = 9
    /// A calexp's noise is measured on one pixel in this many (its sources bias it by little, and a full background model costs 20 times more).
    public var inputNoiseSampling = 11
    /// The stack stage's.
    public var stack = StackConfig()
    /// The background stage's, on the stack.
    public var background = BackgroundConfig()
    /// Detection on the stack's significance; its threshold is also the S/N a measured source needs.
    public var detection = CoaddDetectionConfig()
    /// The PSF model, aperture correction and measurement stages'.
    public var photometry = PhotometryConfig()
    /// Star/galaxy separation's.
    public var extendedness = ExtendednessConfig()
    /// The spacing of the positions the warped pixels' noise correlation is measured at, and their margin from the edges, in FWHMs of the PSF at least.
    public var correlationSpacing = 3.0
    /// Positions the warped pixels' noise correlation is measured at, about.
    public var correlationPositions = 2000
    /// The fewest positions the correlation is measured at; with fewer it is 1.
    public var minimumCorrelationPositions = 100
    /// How far, in FWHMs of the PSF, a position the correlation is measured at is from every detection (beyond
    /// the detection's own extent): about 22 patch pixels, half the positions' spacing, on the test sky.
    public var correlationClearance = 6.0

    public init() {}
}
