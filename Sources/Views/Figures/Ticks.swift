import Foundation

/// The ticks of a numeric axis: multiples of a "nice" step (1, 2 or 5 × 10^n) covering some values,
/// so that a reader can interpolate by eye.
struct Ticks {
    /// The first tick, at or below the smallest value.
    let lower: Double
    /// The last tick, at or above the largest value, above `lower`.
    let upper: Double
    /// The distance between ticks.
    let step: Double
    /// The decimals a label needs to tell the ticks apart.
    let decimals: Int

    /// The ticks from `lower` to `upper`.
    var values: [Double] {
        let first = (lower / step).rounded()
        let count = Int(((upper - lower) / step).rounded())
        return (0...count).map { (first + Double($0)) * step }
    }

    /// The ticks covering `minimum...maximum` with about `count` intervals.
    ///
    /// Equal values get an interval around them (from 0 to 1 for zeros) so that the scale has a
    /// width; `integral` keeps the step at 1 or more, for counts.
    init(covering minimum: Double, _ maximum: Double, count: Int, integral: Bool = false) {
        var low = minimum.isFinite ? minimum : 0, high = maximum.isFinite ? maximum : 0
        if high < low { swap(&low, &high) }
        let magnitude = max(abs(low), abs(high))
        // Values that only differ in their last bits are equal here: a step that small would give
        // ticks a Double cannot tell apart.
        if high - low <= magnitude * 1e-9 {
            if magnitude == 0 {
                high = 1
            } else {
                let pad = max(magnitude * 0.05, integral ? 1 : 0)
                (low, high) = (low - pad, high + pad)
            }
        }
        var step = Self.step(for: (high - low) / Double(max(count, 1)))
        if integral { step = max(step, 1) }
        self.step = step
        lower = (low / step).rounded(.down) * step
        upper = max((high / step).rounded(.up) * step, lower + step)
        decimals = min(max(0, -Int((log10(step) + 1e-9).rounded(.down))), 12)
    }

    /// The nice step nearest above `rough`: 1, 2 or 5 × 10^n.
    static func step(for rough: Double) -> Double {
        guard rough.isFinite, rough > 0 else { return 1 }
        let power = pow(10, log10(rough).rounded(.down))
        let mantissa = rough / power
        let nice: Double = mantissa <= 1 + 1e-9 ? 1 : mantissa <= 2 + 1e-9 ? 2 : mantissa <= 5 + 1e-9 ? 5 : 10
        return nice * power
    }

    /// A tick's label: `decimals` at most, trailing zeros dropped (`0.5`, `0`, `2`).
    func label(_ value: Double) -> String { SVGText.trimmed(value, decimals) }
}
