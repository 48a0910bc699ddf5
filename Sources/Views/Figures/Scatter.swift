import Foundation

extension Figure {
    /// Points of one colour in a scatter plot, joined by a line when `joined` (a curve such as a
    /// completeness against magnitude).
    public struct PointSeries: Sendable {
        public var label: String
        public var color: String
        public var points: [(x: Double, y: Double)]
        public var joined: Bool

        public init(label: String, color: String, points: [(x: Double, y: Double)], joined: Bool = false) {
            self.label = label
            self.color = color
            self.points = points
            self.joined = joined
        }
    }

    /// A scatter plot of series of points (e.g. a crossmatch's ΔRA·cos Dec against ΔDec, Δmag against
    /// mag), with a legend of the series and optional fixed axis ranges.
    ///
    /// Points that are not finite, or outside a fixed range, are left out; above `maximumPoints` in
    /// all, every k-th point of each series is drawn so that the file stays small (the title says so).
    ///
    /// - Parameters:
    ///   - title: The figure's title.
    ///   - xAxis: The x-axis' title with its unit.
    ///   - yAxis: The y-axis' title with its unit.
    ///   - series: The points, drawn in order.
    ///   - xRange: The x-axis' range; nil: the points'.
    ///   - yRange: The y-axis' range; nil: the points'.
    ///   - maximumPoints: The most points drawn.
    /// - Returns: An `<svg>` element; "no data" without points.
    public static func scatter(title: String, xAxis: String, yAxis: String, series: [PointSeries],
                               xRange: ClosedRange<Double>? = nil, yRange: ClosedRange<Double>? = nil,
                               maximumPoints: Int = 20_000) -> String {
        let kept = series.map { s in
            PointSeries(label: s.label, color: s.color, points: s.points.filter {
                $0.x.isFinite && $0.y.isFinite && (xRange?.contains($0.x) ?? true) && (yRange?.contains($0.y) ?? true)
            }, joined: s.joined)
        }
        let all = kept.flatMap(\.points)
        guard let xLow = xRange?.lowerBound ?? all.map(\.x).min(), let xHigh = xRange?.upperBound ?? all.map(\.x).max(),
              let yLow = yRange?.lowerBound ?? all.map(\.y).min(), let yHigh = yRange?.upperBound ?? all.map(\.y).max()
        else { return Canvas.noData(title: title) }
        let every = max(1, (all.count + maximumPoints - 1) / maximumPoints)
        var canvas = Canvas(title: every > 1 ? "\(title) (every \(every)th point)" : title,
                            legend: kept.filter { !$0.label.isEmpty }.map {
                                // A curve's points are bins, not objects: they are not counted.
                                Key(label: $0.joined ? $0.label : "\($0.label) (\($0.points.count))", color: $0.color)
                            })
        let xTicks = Ticks(covering: xLow, xHigh, count: 6), yTicks = Ticks(covering: yLow, yHigh, count: 5)
        let x = LinearScale(domain: (xTicks.lower, xTicks.upper), range: (canvas.plot.x, canvas.plot.maxX))
        let y = LinearScale(domain: (yTicks.lower, yTicks.upper), range: (canvas.plot.maxY, canvas.plot.y))
        canvas.yAxis(yTicks.values.map { (y($0), yTicks.label($0)) }, title: yAxis)
        canvas.xAxis(xTicks.values.map { (x($0), xTicks.label($0)) }, title: xAxis, grid: true)
        for s in kept {
            let drawn = stride(from: 0, to: s.points.count, by: every).map { s.points[$0] }
            if s.joined && drawn.count > 1 {
                let path = drawn.map { "\(SVGText.coordinate(x($0.x))),\(SVGText.coordinate(y($0.y)))" }.joined(separator: " ")
                canvas.append("<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"1.5\"/>\n")
            }
            let radius = s.joined ? "2.5" : "1.5"
            for p in drawn {
                canvas.append("<circle cx=\"\(SVGText.coordinate(x(p.x)))\" cy=\"\(SVGText.coordinate(y(p.y)))\" r=\"\(radius)\""
                              + " fill=\"\(s.color)\" fill-opacity=\"0.6\"/>\n")
            }
        }
        return canvas.svg()
    }

    /// Figures stacked one above the other in one `<svg>`: each a 640 × 360 panel of a 640-wide
    /// viewBox, so that one file holds a page of control plots.
    public static func stacked(_ figures: [String]) -> String {
        let height = Int(Canvas.height) * figures.count
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 640 \(height)\" width=\"640\" height=\"\(height)\">\n"
        for (index, figure) in figures.enumerated() {
            out += figure.replacingOccurrences(of: "<svg xmlns=\"http://www.w3.org/2000/svg\" ",
                                               with: "<svg x=\"0\" y=\"\(Int(Canvas.height) * index)\" width=\"640\" height=\"360\" ")
        }
        return out + "</svg>\n"
    }
}
