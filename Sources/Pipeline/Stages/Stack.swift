import Foundation

/// The tunables of the stack stage.
public struct StackConfig: Sendable, Equatable {
    /// Clipping threshold, in σ of each frame: a warped value further than this from the first pass's mean (plus `meanTolerance`) is left out.
    public var clip = 4.0
    /// What a warped value may differ from the first pass's mean besides the frame's noise, as a fraction of that mean: it keeps stars whole.
    public var meanTolerance = 1.5

    public init() {}
}

/// The stack stage: weighted sums per pixel, their mean and its variance, and the clipping rule.
///
/// The mean is weighted by 1/σ², σ each frame's background noise at the common zero point, so its
/// variance is 1/Σw (inverse-variance weighting; LSST's `AssembleCoaddTask` with `statistic=MEAN`).
/// Clipping is made in two passes: the first makes the unclipped mean, the second leaves out, pixel
/// by pixel, a value more than `clip` σ plus `meanTolerance` times the mean away from that mean:
/// satellite trails and cosmic rays on the sky (LSST's `meanclip` with astropy's `sigma_clip` for
/// one pass). The second term keeps stars whole: a star's core seen in the best seeing is two or
/// three times the mean of its epochs, and clipping it (as a tolerance of 10 % of the mean did)
/// made bright stars' fluxes wrong by several percent.
struct Stack {
    /// Σw per pixel.
    var weights: [Double]
    /// Σw·value per pixel.
    var sums: [Double]

    init(width: Int, height: Int) {
        weights = [Double](repeating: 0, count: width * height)
        sums = weights
    }

    mutating func add(_ k: Int, _ value: Float, weight: Double) {
        weights[k] += weight
        sums[k] += weight * Double(value)
    }

    /// The weighted mean; NaN where no frame gave a value.
    func mean() -> [Float] { mean(of: sums) }
    /// The weighted mean of other values summed with the same weights (Σw·value per pixel).
    func mean(of sums: [Double]) -> [Float] { zip(sums, weights).map { $1 > 0 ? Float($0 / $1) : .nan } }
    /// The variance of the mean, 1/Σw; NaN where no frame gave a value.
    func variance() -> [Float] { weights.map { $0 > 0 ? Float(1 / $0) : .nan } }

    /// Whether the second pass keeps a frame's value, its noise `sigma`, where the first pass's mean is `mean` (NaN: no mean, kept).
    static func keeps(_ value: Float, mean: Float, sigma: Double, config: StackConfig) -> Bool {
        let cut = config.clip * sigma
        return mean.isNaN || abs(Double(value) - Double(mean)) <= cut + config.meanTolerance * abs(Double(mean))
    }
}
