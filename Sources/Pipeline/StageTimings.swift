import Foundation

/// Where a payload's time goes, stage by stage (`dcprod pipe processCcd --timings`), measured on
/// the monotonic clock.
public struct StageTimings: Sendable {
    /// Each stage's name and seconds, in the order they ran.
    public private(set) var stages: [(name: String, seconds: Double)] = []
    private var last = ContinuousClock.now

    public init() {}

    /// Ends a stage: the time since the previous one ended (or since the start) is `name`'s.
    public mutating func lap(_ name: String) {
        let now = ContinuousClock.now
        let elapsed = now - last
        stages.append((name, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18))
        last = now
    }

    /// The total of the stages.
    public var total: Double { stages.map(\.seconds).reduce(0, +) }

    /// One line per stage, `  NAME  SECONDS s  PERCENT %`, then the total.
    public var lines: [String] {
        let width = stages.map(\.name.count).max() ?? 0
        return stages.map { stage in
            stage.name.padding(toLength: width, withPad: " ", startingAt: 0)
                + String(format: "  %7.3f s  %5.1f %%", stage.seconds, total > 0 ? 100 * stage.seconds / total : 0)
        } + ["total".padding(toLength: width, withPad: " ", startingAt: 0) + String(format: "  %7.3f s", total)]
    }
}
