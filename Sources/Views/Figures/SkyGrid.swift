/// The points of a sky map too many to draw one by one, counted in square cells over the data.
///
/// A cell is drawn in the colour most of its points have (a tie goes to a failure colour, then to
/// not-run's grey, then to the colour whose name sorts first). A cell that has failures (points of any
/// colour but ok's green and not-run's grey from ``Figure/color(forClass:)``) without being mostly
/// failed has a square of half its side in the middle, in its most frequent failure colour. A region
/// that failed thus shows in full, and a few failed frames among a hundred good ones still show,
/// without painting a 1 % failure rate over the whole map; the cell's tooltip counts every colour.
struct SkyGrid {
    /// About how many cells cover the data: with their tooltips, well under 1 MB.
    static let cellCount = 3_000
    /// The most cells along one side, for data that is a line (a stripe of one Dec).
    static let mostAlong = 400.0

    let projection: SkyProjection
    /// Where the cells start: the corner of the data's bounding box.
    let origin: (x: Double, y: Double)
    /// A cell's side in viewBox units.
    let side: Double
    let columns: Int, rows: Int
    /// Points per colour of each cell that has some, by cell number (row × columns + column).
    private(set) var cells: [Int: [String: Int]] = [:]

    init(projection: SkyProjection) {
        self.projection = projection
        let data = projection.data
        // Square cells of equal area over the data's box, whatever its shape: a stripe 50 times as
        // wide as high gets cells as fine as a square field.
        side = max((data.width * data.height / Double(Self.cellCount)).squareRoot(), max(data.width, data.height) / Self.mostAlong, 0.5)
        origin = (data.x, data.y)
        columns = max(Int((data.width / side).rounded(.up)), 1)
        rows = max(Int((data.height / side).rounded(.up)), 1)
    }

    /// Counts a point (or `count` at one place) in its cell.
    mutating func add(ra: Double, dec: Double, color: String, count: Int = 1) {
        let column = Self.clamp((projection.x(ra) - origin.x) / side, columns)
        let row = Self.clamp((projection.y(dec) - origin.y) / side, rows)
        cells[row * columns + column, default: [:]][color, default: 0] += count
    }

    /// The cell of a position along an axis of `count` cells; a point on the far edge is in the last.
    private static func clamp(_ position: Double, _ count: Int) -> Int {
        Int(min(max(position.rounded(.down), 0), Double(count - 1)))
    }

    /// The colours a cell is drawn in: its fill, and the colour of the square in its middle if it has
    /// one (see the type's rule).
    static func colors(of counts: [String: Int]) -> (fill: String, mark: String?) {
        func isFailure(_ color: String) -> Bool { color != Figure.okColor && color != Figure.notRunColor }
        /// The tie-break, worst first: failures, then not-run, then ok, each by name.
        func rank(_ color: String) -> (Int, String) {
            (isFailure(color) ? 0 : color == Figure.notRunColor ? 1 : 2, color)
        }
        func mostFrequent(_ counts: [String: Int]) -> String? {
            counts.min { a, b in a.value != b.value ? a.value > b.value : rank(a.key) < rank(b.key) }?.key
        }
        let fill = mostFrequent(counts) ?? Figure.notRunColor
        return (fill, isFailure(fill) ? nil : mostFrequent(counts.filter { isFailure($0.key) }))
    }

    /// The cells as `<rect>`s in cell order, each with a tooltip (its centre and its points by label),
    /// and the squares in their middle.
    ///
    /// - Parameter labels: The legend's label of a colour; a colour without one is named as it is.
    func markup(labels: [String: String]) -> String {
        let plot = projection.plot
        // Crisp edges, and edges rounded before widths: neighbouring cells meet without a hairline.
        var markup = "<g shape-rendering=\"crispEdges\">\n"
        for (cell, counts) in cells.sorted(by: { $0.key < $1.key }) {
            let left = origin.x + Double(cell % columns) * side, top = origin.y + Double(cell / columns) * side
            let x = Self.round(left), y = Self.round(top)
            let width = Self.round(min(left + side, plot.maxX)) - x, height = Self.round(min(top + side, plot.maxY)) - y
            let ra = SkyProjection.turn(projection.ra(x: left + side / 2)), dec = projection.dec(y: top + side / 2)
            let total = counts.values.reduce(0, +)
            let parts = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .map { "\($0.value) \(labels[$0.key] ?? $0.key)" }
            let title = "RA \(SVGText.fixed(ra, 2)), Dec \(SVGText.fixed(dec, 2)): \(total) points, \(parts.joined(separator: ", "))"
            let colors = Self.colors(of: counts)
            markup += "<rect x=\"\(SVGText.coordinate(x))\" y=\"\(SVGText.coordinate(y))\" width=\"\(SVGText.coordinate(width))\""
                + " height=\"\(SVGText.coordinate(height))\" fill=\"\(SVGText.escape(colors.fill))\">"
                + "<title>\(SVGText.escape(title))</title></rect>\n"
            if let mark = colors.mark {
                markup += "<rect x=\"\(SVGText.coordinate(x + width / 4))\" y=\"\(SVGText.coordinate(y + height / 4))\""
                    + " width=\"\(SVGText.coordinate(width / 2))\" height=\"\(SVGText.coordinate(height / 2))\""
                    + " fill=\"\(SVGText.escape(mark))\" pointer-events=\"none\"/>\n"
            }
        }
        return markup + "</g>\n"
    }

    /// A position rounded as ``SVGText/coordinate(_:)`` writes it.
    private static func round(_ value: Double) -> Double { (value * 10).rounded() / 10 }
}
