import Foundation

extension Figure {
    /// Events done over time: a cumulative step line from the dates at which events ended, x = time
    /// (labelled in UTC), y = events.
    ///
    /// The line is one `<path>` whose tooltip gives the count and the first and last date. Events that
    /// end within a tenth of a viewBox unit of each other are one step, so that a million events draw
    /// a path of some kilobytes. The x-axis' title gives the first and last date in full.
    ///
    /// - Parameters:
    ///   - title: The figure's title.
    ///   - times: When each event ended, in any order; dates more than 30,000 years from 1970 are left out.
    ///   - axis: The y-axis' title, e.g. `events done`.
    /// - Returns: An `<svg>` element; "no data" without times.
    public static func cumulative(title: String, times: [Date], axis: String) -> String {
        cumulative(title: title, counted: times.map { ($0, 1) }, axis: axis)
    }

    /// Events done over time, from the dates at which events ended and how many ended at each: the
    /// same figure as `cumulative(title:times:axis:)` without a date per event (a step of a million
    /// events ends at some thousands of dates).
    public static func cumulative(title: String, counted: [(time: Date, count: Int)], axis: String) -> String {
        let counted = counted.map { (time: $0.time.timeIntervalSince1970, count: $0.count) }
            .filter { $0.time.isFinite && abs($0.time) < 1e12 && $0.count > 0 }.sorted { $0.time < $1.time }
        let total = counted.reduce(0) { $0 + $1.count }
        guard let first = counted.first?.time, let last = counted.last?.time else { return Canvas.noData(title: title) }
        // A single instant gets an hour around it; a span, a margin so its ends are off the axes.
        let margin = last > first ? (last - first) * 0.02 : 1800
        let (start, end) = (first - margin, last + margin)

        var canvas = Canvas(title: title)
        let x = LinearScale(domain: (start, end), range: (canvas.plot.x, canvas.plot.maxX))
        let counts = Ticks(covering: 0, Double(total), count: 5, integral: true)
        let y = LinearScale(domain: (0, counts.upper), range: (canvas.plot.maxY, canvas.plot.y))
        canvas.yAxis(counts.values.map { (y($0), counts.label($0)) }, title: axis)
        let ticks = TimeTicks(from: start, to: end, count: 6)
        let span = "\(TimeTicks.civil(first).date) \(TimeTicks.civil(first).time) to \(TimeTicks.civil(last).date) \(TimeTicks.civil(last).time)"
        canvas.xAxis(ticks.values.enumerated().map { (x($0.element), ticks.label($0.element, isFirst: $0.offset == 0)) },
                     title: "time (UTC), \(span)", grid: true)

        var path = "M\(SVGText.coordinate(canvas.plot.x)),\(SVGText.coordinate(y(0)))"
        // The step of the events ending in one column: drawn when the next column starts.
        var step: (column: String, count: Int)?
        var done = 0
        for (time, count) in counted {
            let column = SVGText.coordinate(x(time))
            if let step, step.column != column { path += "H\(step.column)V\(SVGText.coordinate(y(Double(step.count))))" }
            done += count
            step = (column, done)
        }
        if let step { path += "H\(step.column)V\(SVGText.coordinate(y(Double(step.count))))" }
        path += "H\(SVGText.coordinate(canvas.plot.maxX))"
        canvas.append("<path d=\"\(path)\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\">"
            + "<title>\(SVGText.escape("\(total) events, \(span)"))</title></path>\n")
        canvas.append(Canvas.text(x: x(last) - 4, y: y(Double(total)) - 4, "\(total)", attributes: " text-anchor=\"end\""))
        return canvas.svg()
    }
}
