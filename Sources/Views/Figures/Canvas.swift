/// A figure being drawn: the `<svg>` element with its title and legend, and the rectangle left for
/// the plot, in the units of a fixed 640 × 360 viewBox.
struct Canvas {
    static let width = 640.0, height = 360.0
    /// Where the plot and the legend start: room for the y-axis' title and a label of 7 digits.
    static let left = 72.0
    /// The average advance of a character of the 11-unit sans-serif text, to lay out labels without
    /// measuring them.
    static let characterWidth = 6.2

    /// A rectangle of the viewBox.
    struct Rect {
        var x, y, width, height: Double
        var maxX: Double { x + width }
        var maxY: Double { y + height }
        var midX: Double { x + width / 2 }
        var midY: Double { y + height / 2 }
    }

    /// Where the plot goes: below the title and the legend, with room for the axes' labels.
    private(set) var plot: Rect
    private var body: String

    /// Starts a figure: its `<svg>` element, title and legend.
    ///
    /// - Parameters:
    ///   - title: The figure's title: tooltip, accessible name and heading.
    ///   - legend: The legend's entries, laid out in rows below the heading.
    ///   - bottomMargin: Room below the plot for the x-axis' labels and title.
    init(title: String, legend: [Figure.Key] = [], bottomMargin: Double = 44) {
        let escaped = SVGText.escape(title)
        body = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 640 360\" role=\"img\" aria-label=\"\(escaped)\""
            + " font-family=\"sans-serif\" font-size=\"11\"><title>\(escaped)</title>\n"
            + "<text x=\"320.0\" y=\"18.0\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">\(escaped)</text>\n"
        let legendBottom = Self.legendRows(legend, top: 28, body: &body)
        plot = Rect(x: Self.left, y: legendBottom + 10, width: Self.width - Self.left - 20, height: 0)
        plot.height = max(Self.height - bottomMargin - plot.y, 40)
    }

    /// Adds an element or a run of them.
    mutating func append(_ markup: String) { body += markup }

    /// The finished `<svg>` element.
    func svg() -> String { body + "</svg>\n" }

    /// A small figure saying "no data": what every figure draws when it has nothing to draw.
    static func noData(title: String) -> String {
        let escaped = SVGText.escape(title)
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 320 60\" role=\"img\" aria-label=\"\(escaped)\""
            + " font-family=\"sans-serif\" font-size=\"11\"><title>\(escaped)</title>\n"
            + "<text x=\"160.0\" y=\"18.0\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">\(escaped)</text>\n"
            + "<text x=\"160.0\" y=\"42.0\" text-anchor=\"middle\" fill=\"#666\">no data</text>\n</svg>\n"
    }

    // MARK: - Legend

    /// The most rows of legend a figure gives up for its plot; the entries that do not fit are counted.
    static let maxLegendRows = 4

    /// Lays the legend out in rows from `top`, swatch and label, wrapping at the figure's width.
    ///
    /// - Returns: The y below the last row (`top` without a legend).
    private static func legendRows(_ keys: [Figure.Key], top: Double, body: inout String) -> Double {
        guard !keys.isEmpty else { return top }
        var x = left, row = 0
        for (index, key) in keys.enumerated() {
            let width = 14 + Double(key.label.count) * characterWidth + 12
            if x + width > Self.width - 20 && x > left {
                row += 1
                x = left
                if row == maxLegendRows {
                    body += text(x: x, y: top + Double(row) * 16 + 9, "and \(keys.count - index) more", attributes: " fill=\"#666\"")
                    return top + Double(row + 1) * 16
                }
            }
            let y = top + Double(row) * 16
            body += "<rect x=\"\(SVGText.coordinate(x))\" y=\"\(SVGText.coordinate(y))\" width=\"10\" height=\"10\""
                + " fill=\"\(SVGText.escape(key.color))\"/>"
                + text(x: x + 14, y: y + 9, key.label)
            x += width
        }
        return top + Double(row + 1) * 16
    }

    // MARK: - Axes

    /// A `<text>` element; `text` is escaped here.
    static func text(x: Double, y: Double, _ text: String, attributes: String = "") -> String {
        "<text x=\"\(SVGText.coordinate(x))\" y=\"\(SVGText.coordinate(y))\"\(attributes)>\(SVGText.escape(text))</text>\n"
    }

    /// A `<line>` element.
    static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, attributes: String = "") -> String {
        "<line x1=\"\(SVGText.coordinate(x1))\" y1=\"\(SVGText.coordinate(y1))\" x2=\"\(SVGText.coordinate(x2))\""
            + " y2=\"\(SVGText.coordinate(y2))\" stroke=\"\(stroke)\"\(attributes)/>\n"
    }

    /// The x-axis along the bottom of the plot: tick marks at `ticks` (x in the viewBox, label), light
    /// grid lines when `grid`, and the axis title (if any) centred below.
    ///
    /// Labels too long to stand side by side are `turned` 45° so that they do not run into each other.
    mutating func xAxis(_ ticks: [(x: Double, label: String)], title: String, grid: Bool = false, turned: Bool = false) {
        append(Self.line(plot.x, plot.maxY, plot.maxX, plot.maxY, stroke: "#444"))
        for tick in ticks {
            if grid { append(Self.line(tick.x, plot.y, tick.x, plot.maxY, stroke: "#e4e4e4")) }
            append(Self.line(tick.x, plot.maxY, tick.x, plot.maxY + 4, stroke: "#444"))
            if turned {
                let x = SVGText.coordinate(tick.x + 3), y = SVGText.coordinate(plot.maxY + 12)
                append(Self.text(x: tick.x + 3, y: plot.maxY + 12, tick.label,
                                 attributes: " text-anchor=\"end\" transform=\"rotate(-45 \(x) \(y))\""))
            } else {
                append(Self.text(x: tick.x, y: plot.maxY + 15, tick.label, attributes: " text-anchor=\"middle\""))
            }
        }
        if !title.isEmpty {
            append(Self.text(x: plot.midX, y: plot.maxY + 33, title, attributes: " text-anchor=\"middle\""))
        }
    }

    /// The y-axis along the left of the plot: tick marks at `ticks` (y in the viewBox, label), light
    /// grid lines when `grid`, and the axis title (if any) turned along it.
    mutating func yAxis(_ ticks: [(y: Double, label: String)], title: String, grid: Bool = true) {
        append(Self.line(plot.x, plot.y, plot.x, plot.maxY, stroke: "#444"))
        for tick in ticks {
            if grid { append(Self.line(plot.x, tick.y, plot.maxX, tick.y, stroke: "#e4e4e4")) }
            append(Self.line(plot.x - 4, tick.y, plot.x, tick.y, stroke: "#444"))
            append(Self.text(x: plot.x - 6, y: tick.y + 4, tick.label, attributes: " text-anchor=\"end\""))
        }
        guard !title.isEmpty else { return }
        let x = SVGText.coordinate(14), y = SVGText.coordinate(plot.midY)
        append(Self.text(x: 14, y: plot.midY, title, attributes: " text-anchor=\"middle\" transform=\"rotate(-90 \(x) \(y))\""))
    }
}

/// A linear map from values to viewBox units; a domain of no width maps everything to its middle.
struct LinearScale {
    let domain: (lower: Double, upper: Double)
    let range: (from: Double, to: Double)

    func callAsFunction(_ value: Double) -> Double {
        let width = domain.upper - domain.lower
        guard width > 0, width.isFinite else { return (range.from + range.to) / 2 }
        return range.from + (value - domain.lower) / width * (range.to - range.from)
    }
}
