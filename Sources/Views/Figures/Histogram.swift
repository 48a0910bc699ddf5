extension Figure {
    /// The number of bins a histogram aims at; the nice bin width makes it between 10 and 25.
    static let histogramBins = 20

    /// A histogram of values (e.g. job run times in s, peak memory in MB) with an optional vertical
    /// marker (e.g. the requested walltime or memory) and its label; axis = the x-axis label with unit.
    ///
    /// The bins have a nice width (1, 2 or 5 × 10^n) and span the values and the marker, so that a
    /// limit far above every job still shows, with how far below it the jobs stayed. A bin is a
    /// `<rect>` whose tooltip gives its interval and count; a value on a bin's edge counts in the bin
    /// above it. Values that are not finite are left out.
    ///
    /// - Parameters:
    ///   - title: The figure's title.
    ///   - axis: The x-axis' title with its unit, e.g. `run time (s)`.
    ///   - values: The values to count.
    ///   - marker: Where to draw a dashed red line, or nil.
    ///   - markerLabel: The marker's label, e.g. `walltime 3600 s`; nil writes its value.
    /// - Returns: An `<svg>` element; "no data" without finite values.
    public static func histogram(title: String, axis: String, values: [Double], marker: Double?, markerLabel: String?) -> String {
        let values = values.filter(\.isFinite)
        guard var low = values.min(), var high = values.max() else { return Canvas.noData(title: title) }
        let marker = marker.flatMap { $0.isFinite ? $0 : nil }
        if let marker { (low, high) = (min(low, marker), max(high, marker)) }
        let bins = Bins(low, high)
        var counts = [Int](repeating: 0, count: bins.count)
        for value in values { counts[bins.index(value)] += 1 }

        var canvas = Canvas(title: title)
        let x = LinearScale(domain: (bins.lower, bins.edge(bins.count)), range: (canvas.plot.x, canvas.plot.maxX))
        let countTicks = Ticks(covering: 0, Double(counts.max() ?? 0), count: 5, integral: true)
        let y = LinearScale(domain: (0, countTicks.upper), range: (canvas.plot.maxY, canvas.plot.y))
        canvas.yAxis(countTicks.values.map { (y($0), countTicks.label($0)) }, title: "count")
        let edgeDecimals = Ticks(covering: 0, bins.width, count: 1).decimals
        for (index, count) in counts.enumerated() where count > 0 {
            let left = x(bins.edge(index)), right = x(bins.edge(index + 1)), top = y(Double(count))
            let interval = "\(SVGText.trimmed(bins.edge(index), edgeDecimals)) to \(SVGText.trimmed(bins.edge(index + 1), edgeDecimals))"
            canvas.append("<rect x=\"\(SVGText.coordinate(left))\" y=\"\(SVGText.coordinate(top))\""
                + " width=\"\(SVGText.coordinate(right - left))\" height=\"\(SVGText.coordinate(canvas.plot.maxY - top))\""
                + " fill=\"#4c78a8\" stroke=\"#fff\" stroke-width=\"0.5\">"
                + "<title>\(SVGText.escape("\(interval): \(count)"))</title></rect>\n")
        }
        let ticks = Ticks(covering: bins.lower, bins.edge(bins.count), count: 6)
        let inside = ticks.values.filter { $0 >= bins.lower - bins.width * 1e-6 && $0 <= bins.edge(bins.count) + bins.width * 1e-6 }
        canvas.xAxis(inside.map { (x($0), ticks.label($0)) }, title: axis)
        if let marker {
            let position = x(marker)
            let label = markerLabel ?? SVGText.trimmed(marker, edgeDecimals)
            // Labels sit left of a marker in the right half of the plot so that they stay inside it.
            let anchor = position > canvas.plot.midX ? " text-anchor=\"end\"" : ""
            canvas.append(Canvas.line(position, canvas.plot.y, position, canvas.plot.maxY, stroke: "#d62728",
                                      attributes: " stroke-width=\"1.5\" stroke-dasharray=\"5 3\""))
            canvas.append(Canvas.text(x: position + (anchor.isEmpty ? 4 : -4), y: canvas.plot.y + 11, label,
                                      attributes: anchor + " fill=\"#d62728\""))
        }
        return canvas.svg()
    }

    /// The bins of a histogram: `count` intervals of a nice `width` from `lower`, a multiple of it.
    struct Bins {
        let lower: Double
        let width: Double
        let count: Int

        /// Bins covering `low...high`: about ``Figure/histogramBins`` of them, or one around equal values.
        init(_ low: Double, _ high: Double) {
            let span = high - low, magnitude = max(abs(low), abs(high))
            // Equal values (to a Double's precision, as for `Ticks`) get one bin a tenth of their
            // magnitude wide, so that the bar is not a sliver.
            width = Ticks.step(for: span > magnitude * 1e-9 ? span / Double(Figure.histogramBins) : max(magnitude, 1) / 10)
            lower = (low / width).rounded(.down) * width
            // The largest value belongs to a bin: [edge, next edge) needs the next edge above it.
            let needed = ((high - lower) / width).rounded(.down) + 1
            count = Int(min(max(needed, 1), Double(4 * Figure.histogramBins)))
        }

        /// The left edge of bin `index`; `edge(count)` is the right edge of the last.
        func edge(_ index: Int) -> Double { lower + Double(index) * width }

        /// The bin of `value`; values outside fall in the first or last.
        func index(_ value: Double) -> Int {
            Int(min(max(((value - lower) / width).rounded(.down), 0), Double(count - 1)))
        }
    }
}
