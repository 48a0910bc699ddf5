extension Figure {
    /// Stacked bars: one bar per category (e.g. filters), one segment per series (e.g. failure classes), a legend.
    ///
    /// Each segment is a `<rect>` whose tooltip gives the category, the series and the value; each bar
    /// has its total above it. Series stack in the given order from the bottom; a value that is
    /// missing, zero, negative or not finite draws no segment.
    ///
    /// - Parameters:
    ///   - title: The figure's title.
    ///   - categories: The bars, left to right.
    ///   - series: The segments of every bar, bottom to top, and the legend's entries.
    /// - Returns: An `<svg>` element; "no data" without categories or series.
    public static func stackedBars(title: String, categories: [String], series: [Series]) -> String {
        guard !categories.isEmpty, !series.isEmpty else { return Canvas.noData(title: title) }
        func value(_ series: Series, _ category: Int) -> Double {
            guard category < series.values.count else { return 0 }
            let value = series.values[category]
            return value.isFinite && value > 0 ? value : 0
        }
        let totals = categories.indices.map { category in series.reduce(0) { $0 + value($1, category) } }
        // Counts get whole ticks; fractional values (core-hours, say) get the decimals they need.
        let integral = series.allSatisfy { $0.values.allSatisfy { !$0.isFinite || $0 == $0.rounded() } }
        let band = (Canvas.width - Canvas.left - 20) / Double(categories.count)
        let longest = Double(categories.map(\.count).max() ?? 0) * Canvas.characterWidth
        let turned = longest > band - 4
        var canvas = Canvas(title: title, legend: series.map { Key(label: $0.label, color: $0.color) },
                            bottomMargin: turned ? 30 + min(longest * 0.71, 80) : 30)
        let ticks = Ticks(covering: 0, totals.max() ?? 0, count: 5, integral: integral)
        let y = LinearScale(domain: (0, ticks.upper), range: (canvas.plot.maxY, canvas.plot.y))
        canvas.yAxis(ticks.values.map { (y($0), ticks.label($0)) }, title: "")
        let decimals = integral ? 0 : 2
        for (category, name) in categories.enumerated() {
            let left = canvas.plot.x + band * (Double(category) + 0.15), width = band * 0.7
            var base = 0.0
            for series in series {
                let value = value(series, category)
                guard value > 0 else { continue }
                let top = y(base + value), bottom = y(base)
                canvas.append("<rect x=\"\(SVGText.coordinate(left))\" y=\"\(SVGText.coordinate(top))\""
                    + " width=\"\(SVGText.coordinate(width))\" height=\"\(SVGText.coordinate(bottom - top))\""
                    + " fill=\"\(SVGText.escape(series.color))\" stroke=\"#fff\" stroke-width=\"0.5\">"
                    + "<title>\(SVGText.escape("\(name), \(series.label): \(SVGText.trimmed(value, decimals))"))</title></rect>\n")
                base += value
            }
            if base > 0 {
                canvas.append(Canvas.text(x: left + width / 2, y: y(base) - 3, SVGText.trimmed(base, decimals),
                                          attributes: " text-anchor=\"middle\" font-size=\"10\""))
            }
        }
        canvas.xAxis(categories.enumerated().map { (canvas.plot.x + band * (Double($0.offset) + 0.5), $0.element) },
                     title: "", turned: turned)
        return canvas.svg()
    }
}
