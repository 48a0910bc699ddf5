extension Figure {
    /// Above this many points (boxes' centres included, see below) a sky map draws cells, not points.
    static let skyMapPointLimit = 5_000

    /// A sky map: RA increasing to the LEFT (astronomers' convention), Dec up, points and boxes, axes
    /// with tick labels in degrees, a legend. Must be correct across RA = 0/360 (e.g. points at 359.8
    /// and 0.3 are drawn 0.5° apart, ticks labelled 359.5, 0, 0.5 …) and keep a sensible aspect
    /// (cos Dec scaling).
    ///
    /// The map is a plate carrée around the middle of the data (``SkyProjection``): a square degree is
    /// square at the middle Dec, a fair picture of a stripe or a few patches, not of a hemisphere.
    /// Boxes are drawn under the points, lightly filled.
    ///
    /// A map of more than 5,000 points would make a page of megabytes, so the points are then counted
    /// in square cells of the plot, each drawn in the colour most of its points have, with a small
    /// square of its most frequent failure colour in the middle when it has failures (``SkyGrid``
    /// gives the rule); a cell's tooltip counts its points by legend label, and the points' own
    /// tooltips and links are not drawn. More than 5,000 boxes (every frame's
    /// footprint) are counted the same way, at their centres. A line below the map says so.
    ///
    /// - Parameters:
    ///   - title: The figure's title.
    ///   - points: The points, drawn in order (the last on top); a point whose RA or Dec is not finite
    ///     is left out, a Dec beyond ±90 is taken as ±90.
    ///   - boxes: The polygons; one with no corners or a corner not finite is left out.
    ///   - legend: The legend's entries; also the labels of the colours in the cells' tooltips.
    /// - Returns: An `<svg>` element; "no data" without points and boxes.
    public static func skyMap(title: String, points: [SkyPoint], boxes: [SkyBox], legend: [Key]) -> String {
        let valid = boxes.filter { !$0.corners.isEmpty && $0.corners.allSatisfy { $0.ra.isFinite && $0.dec.isFinite } }
        let counted = valid.count > skyMapPointLimit
        let boxes = counted ? [] : valid
        let points = (points + (counted ? valid.map(\.centre) : []))
            .filter { $0.ra.isFinite && $0.dec.isFinite }
            .map { point in
                var point = point
                point.dec = SkyProjection.clamp(dec: point.dec)
                return point
            }
        let corners = boxes.flatMap(\.corners)
        guard !points.isEmpty || !corners.isEmpty else { return Canvas.noData(title: title) }
        let total = points.reduce(0) { $0 + $1.count }
        let binned = total > skyMapPointLimit

        var canvas = Canvas(title: title, legend: legend, bottomMargin: binned ? 54 : 44)
        let sky = SkyProjection(ras: points.map(\.ra) + corners.map(\.ra),
                                decs: points.map(\.dec) + corners.map { SkyProjection.clamp(dec: $0.dec) }, plot: canvas.plot)
        let plot = canvas.plot
        let raTicks = Ticks(covering: sky.ra(x: plot.maxX), sky.ra(x: plot.x), count: 6)
        canvas.xAxis(raTicks.values.map { (sky.x(unwrapped: $0), SkyProjection.raLabel($0, ticks: raTicks)) }
            .filter { $0.0 >= plot.x - 0.05 && $0.0 <= plot.maxX + 0.05 }, title: "RA (°)", grid: true)
        let decTicks = Ticks(covering: sky.dec(y: plot.maxY), sky.dec(y: plot.y), count: 5)
        canvas.yAxis(decTicks.values.filter { abs($0) <= 90 }.map { (sky.y($0), decTicks.label($0)) }
            .filter { $0.0 >= plot.y - 0.05 && $0.0 <= plot.maxY + 0.05 }, title: "Dec (°)")

        for box in boxes {
            let outline = box.corners.map { "\(SVGText.coordinate(sky.x($0.ra))),\(SVGText.coordinate(sky.y(SkyProjection.clamp(dec: $0.dec))))" }
            let color = SVGText.escape(box.color)
            canvas.append("<polygon points=\"\(outline.joined(separator: " "))\" fill=\"\(color)\" fill-opacity=\"0.15\""
                + " stroke=\"\(color)\"><title>\(SVGText.escape(box.title))</title></polygon>\n")
        }
        if binned {
            var grid = SkyGrid(projection: sky)
            for point in points { grid.add(ra: point.ra, dec: point.dec, color: point.color, count: point.count) }
            canvas.append(grid.markup(labels: Dictionary(legend.map { ($0.color, $0.label) }, uniquingKeysWith: { first, _ in first })))
            let cell = SVGText.trimmed(grid.side / sky.scale, 3)
            canvas.append(Canvas.text(x: 4, y: Canvas.height - 4,
                                      "\(total) points in cells of \(cell)°: a cell has the colour of most of its points, a square in the middle if some failed",
                                      attributes: " font-size=\"9\" fill=\"#666\""))
        } else {
            for point in points {
                let circle = "<circle cx=\"\(SVGText.coordinate(sky.x(point.ra)))\" cy=\"\(SVGText.coordinate(sky.y(point.dec)))\""
                    + " r=\"2.5\" fill=\"\(SVGText.escape(point.color))\"><title>\(SVGText.escape(point.title))</title></circle>"
                if let href = point.href {
                    canvas.append("<a href=\"\(SVGText.escape(href))\">\(circle)</a>\n")
                } else {
                    canvas.append(circle + "\n")
                }
            }
        }
        return canvas.svg()
    }
}

extension Figure.SkyBox {
    /// The box as a point at the mean of its corners (taken across RA 0 where the box straddles it),
    /// for a map that counts boxes in cells.
    var centre: Figure.SkyPoint {
        let first = corners[0].ra
        // Corners as offsets from the first in −180..<180: a box from 359.9 to 0.1 is 0.2° wide.
        let offsets = corners.map { SkyProjection.turn($0.ra - first + 180) - 180 }
        return Figure.SkyPoint(ra: first + offsets.reduce(0, +) / Double(corners.count),
                               dec: corners.map(\.dec).reduce(0, +) / Double(corners.count), color: color, title: title)
    }
}
