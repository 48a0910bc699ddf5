import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import Views

/// A figure parsed back with `XMLParser`: its elements in document order, each with its own text.
private final class ParsedSVG: NSObject, XMLParserDelegate {
    struct Element {
        var name: String
        var attributes: [String: String]
        var text = ""

        func number(_ attribute: String) -> Double? { attributes[attribute].flatMap(Double.init) }
    }

    private(set) var elements: [Element] = []
    private var open: [Int] = []

    /// The figure's elements, or nil when it is not well-formed XML.
    static func parse(_ svg: String) -> [Element]? {
        let parsed = ParsedSVG()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = parsed
        return parser.parse() ? parsed.elements : nil
    }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        open.append(elements.count)
        elements.append(Element(name: elementName, attributes: attributeDict))
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        open.removeLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if let index = open.last { elements[index].text += string }
    }
}

/// Checks what every figure must be: one well-formed `<svg>` with the namespace, a viewBox, an
/// accessible name and a `<title>`, no script, no URL but the namespace, no NaN or infinity.
@discardableResult
private func wellFormed(_ svg: String, title: String, sourceLocation: SourceLocation = #_sourceLocation) -> [ParsedSVG.Element] {
    guard let elements = ParsedSVG.parse(svg) else {
        Issue.record("not well-formed XML:\n\(svg.prefix(2000))", sourceLocation: sourceLocation)
        return []
    }
    let root = elements.first
    #expect(root?.name == "svg", sourceLocation: sourceLocation)
    #expect(root?.attributes["xmlns"] == "http://www.w3.org/2000/svg", sourceLocation: sourceLocation)
    #expect(root?.attributes["viewBox"] != nil, sourceLocation: sourceLocation)
    #expect(root?.attributes["role"] == "img", sourceLocation: sourceLocation)
    #expect(root?.attributes["aria-label"] == title, sourceLocation: sourceLocation)
    #expect(elements.count > 1 && elements[1].name == "title" && elements[1].text == title, sourceLocation: sourceLocation)
    #expect(!elements.contains { $0.name == "script" || $0.name == "style" || $0.name == "image" }, sourceLocation: sourceLocation)
    #expect(svg.components(separatedBy: "http").count == 2, "a URL besides the namespace", sourceLocation: sourceLocation)
    for bad in ["nan", "inf"] {
        #expect(!svg.lowercased().contains(bad), "\(bad) in the figure", sourceLocation: sourceLocation)
    }
    return elements
}

/// The labels of the x-axis (centred under their ticks) by their value, with their x.
private func xLabels(_ elements: [ParsedSVG.Element]) -> [String: Double] {
    var labels: [String: Double] = [:]
    for element in elements where element.name == "text" && element.attributes["text-anchor"] == "middle" {
        if Double(element.text) != nil, let x = element.number("x") { labels[element.text] = x }
    }
    return labels
}

/// The labels of the y-axis (right-aligned left of it) by their value, with their y.
private func yLabels(_ elements: [ParsedSVG.Element]) -> [Double: Double] {
    var labels: [Double: Double] = [:]
    for element in elements where element.name == "text" && element.attributes["text-anchor"] == "end" {
        if let value = Double(element.text), let y = element.number("y") { labels[value] = y }
    }
    return labels
}

/// A reproducible sequence of numbers in 0..<1, so that a large test input is the same every run.
private struct Sequence01 {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15

    mutating func next() -> Double {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Double(state >> 11) / Double(1 << 53)
    }
}

@Suite struct FigureTests {
    // MARK: - Stacked bars

    @Test func aStackedBarChartHasOneRectPerNonZeroSegmentAndPerLegendEntry() throws {
        let svg = Figure.stackedBars(title: "failures", categories: ["u", "g", "r"], series: [
            Figure.Series(label: "timeout", color: "#ff7f0e", values: [3, 0, 2]),
            Figure.Series(label: "crash", color: "#d62728", values: [1, 4]),
        ])
        let elements = wellFormed(svg, title: "failures")
        // Segments: u timeout, r timeout, u crash, g crash; swatches: timeout, crash.
        #expect(elements.filter { $0.name == "rect" }.count == 4 + 2)
        let tooltips = elements.filter { $0.name == "title" }.map(\.text)
        #expect(tooltips.contains("u, timeout: 3") && tooltips.contains("g, crash: 4"))
        // Totals above the bars, and whole ticks: the values are counts.
        let texts = elements.filter { $0.name == "text" }.map(\.text)
        #expect(texts.contains("4") && texts.contains("2"))
        #expect(!texts.contains("0.5"))
    }

    @Test func labelsAreEscaped() throws {
        let label = "a<b&\"c\"'"
        let svg = Figure.stackedBars(title: label, categories: [label], series: [Figure.Series(label: label, color: "#000", values: [1])])
        #expect(svg.contains("a&lt;b&amp;&quot;c&quot;&apos;"))
        #expect(!svg.contains(label))
        let elements = wellFormed(svg, title: label)
        #expect(elements.contains { $0.name == "text" && $0.text == label })
        #expect(elements.contains { $0.name == "title" && $0.text == "\(label), \(label): 1" })
    }

    @Test func controlCharactersFromALogLineDoNotBreakTheXML() {
        let title = "bad\u{1}line\u{FFFE}"
        let svg = Figure.histogram(title: title, axis: "s", values: [1], marker: nil, markerLabel: nil)
        #expect(ParsedSVG.parse(svg) != nil)
        #expect(svg.contains("bad\u{FFFD}line\u{FFFD}"))
    }

    // MARK: - Histogram

    @Test func aHistogramCountsItsValuesInNiceBins() {
        let values: [Double] = [0, 1, 1, 2, 3, 3, 3, 19.5, 20]
        let svg = Figure.histogram(title: "run times", axis: "run time (s)", values: values, marker: nil, markerLabel: nil)
        let elements = wellFormed(svg, title: "run times")
        let bins = elements.filter { $0.name == "title" }.dropFirst().map(\.text)
        // 20 s over about 20 bins: bins 1 s wide from 0; 20 is in the bin above 19.5's.
        #expect(bins == ["0 to 1: 1", "1 to 2: 2", "2 to 3: 1", "3 to 4: 3", "19 to 20: 1", "20 to 21: 1"])
        #expect(elements.contains { $0.name == "text" && $0.text == "run time (s)" })
    }

    @Test func aHistogramReachesAMarkerAboveItsValues() throws {
        let svg = Figure.histogram(title: "memory", axis: "peak memory (MB)", values: [100, 120, 150],
                                   marker: 2000, markerLabel: "requested 2000 MB")
        let elements = wellFormed(svg, title: "memory")
        let marker = try #require(elements.first { $0.name == "line" && $0.attributes["stroke"] == "#d62728" })
        let labels = xLabels(elements)
        let x2000 = try #require(labels["2000"])
        #expect(abs((marker.number("x1") ?? 0) - x2000) < 0.2)
        #expect(elements.contains { $0.name == "text" && $0.text == "requested 2000 MB" })
        // Bins of 100 MB from 100: all three values in the first two.
        #expect(elements.filter { $0.name == "title" }.dropFirst().map(\.text) == ["100 to 200: 3"])
    }

    @Test func binsOfEqualValuesAndOfOneValueHaveAWidth() {
        let bins = Figure.Bins(7, 7)
        #expect(bins.width > 0 && bins.count >= 1)
        #expect(bins.index(7) < bins.count && bins.edge(bins.index(7)) <= 7 && 7 < bins.edge(bins.index(7) + 1))
        wellFormed(Figure.histogram(title: "h", axis: "s", values: [0, 0, 0], marker: 0, markerLabel: nil), title: "h")
    }

    // MARK: - Sky map

    /// The circles of a sky map's points, in order.
    private func circles(_ elements: [ParsedSVG.Element]) -> [(x: Double, y: Double)] {
        elements.filter { $0.name == "circle" }.map { ($0.number("cx") ?? .nan, $0.number("cy") ?? .nan) }
    }

    @Test func pointsAcrossRAZeroAreHalfADegreeApartWithRAIncreasingLeftwards() throws {
        let points = [Figure.SkyPoint(ra: 359.8, dec: 0, color: "#2ca02c", title: "a"),
                      Figure.SkyPoint(ra: 0.3, dec: 0, color: "#2ca02c", title: "b")]
        let elements = wellFormed(Figure.skyMap(title: "sky", points: points, boxes: [], legend: []), title: "sky")
        let drawn = circles(elements)
        try #require(drawn.count == 2)
        #expect(drawn[0].x > drawn[1].x, "359.8 is right of 0.3: RA grows leftwards through 0")
        // The RA ticks give the scale: 0.1° apart in the labels.
        let labels = xLabels(elements)
        let zero = try #require(labels["0"]), tenth = try #require(labels["0.1"])
        #expect(labels["359.9"] != nil)
        #expect(!labels.keys.contains { (Double($0) ?? 0) >= 360 })
        let perDegree = (zero - tenth) / 0.1
        #expect(perDegree > 0)
        #expect(abs((drawn[0].x - drawn[1].x) / perDegree - 0.5) < 0.005)
    }

    @Test func ticksAcrossRAZeroReadFrom359Point5To0Point5() {
        let points = [359.0, 1.0].map { Figure.SkyPoint(ra: $0, dec: -1, color: "#000", title: "") }
        let labels = xLabels(wellFormed(Figure.skyMap(title: "sky", points: points, boxes: [], legend: []), title: "sky"))
        #expect(Set(["359", "359.5", "0", "0.5", "1"]).isSubset(of: labels.keys))
        #expect(labels["359.5"]! > labels["0"]! && labels["0"]! > labels["0.5"]!)
    }

    @Test func raIsShrunkByCosDec() throws {
        // At Dec 60 half a degree of RA is a quarter of a degree on the sky.
        let points = [Figure.SkyPoint(ra: 359.8, dec: 60, color: "#000", title: "a"),
                      Figure.SkyPoint(ra: 0.3, dec: 60.2, color: "#000", title: "b")]
        let elements = wellFormed(Figure.skyMap(title: "north", points: points, boxes: [], legend: []), title: "north")
        let drawn = circles(elements)
        try #require(drawn.count == 2)
        let decs = yLabels(elements).sorted { $0.key < $1.key }
        try #require(decs.count >= 2)
        let perDegree = (decs[0].value - decs[1].value) / (decs[1].key - decs[0].key)
        #expect(abs((drawn[0].x - drawn[1].x) / perDegree - 0.25) < 0.005)
        #expect(abs((drawn[0].y - drawn[1].y) / perDegree - 0.2) < 0.005)
    }

    @Test func boxesAndLinksAreDrawn() throws {
        let box = Figure.SkyBox(corners: [(359.5, -1), (0.5, -1), (0.5, 1), (359.5, 1)], color: "#1f77b4", title: "patch 0,5")
        let point = Figure.SkyPoint(ra: 0, dec: 0, color: "#d62728", title: "frame", href: "events/1?step=a&b")
        let svg = Figure.skyMap(title: "patch", points: [point], boxes: [box], legend: [Figure.Key(label: "timeout", color: "#d62728")])
        #expect(svg.contains("href=\"events/1?step=a&amp;b\""))
        let elements = try #require(ParsedSVG.parse(svg))
        let polygon = try #require(elements.first { $0.name == "polygon" })
        let xs = (polygon.attributes["points"] ?? "").split(separator: " ").compactMap { Double($0.split(separator: ",")[0]) }
        // One degree wide, not 359: the box straddles RA 0 as one piece.
        let width = (xs.max() ?? 0) - (xs.min() ?? 0)
        #expect(width > 0 && width < 548 && abs(xs[0] - xs[1] - width) < 0.2, "corner 359.5 is right of corner 0.5")
        #expect(elements.contains { $0.name == "a" && $0.attributes["href"] == "events/1?step=a&b" })
    }

    @Test func aSkyMapOf300000PointsIsBinnedUnderAMegabyte() throws {
        var random = Sequence01()
        let colors = ["ok", "not-run", "timeout", "crash"].map(Figure.color(forClass:))
        // Ten degrees across RA 0 by five of Dec; 1 % timeouts, 9 % not run, and a corner that crashed.
        let points = (0..<300_000).map { index -> Figure.SkyPoint in
            let ra = SkyProjection.turn(355 + 10 * random.next()), dec = -2.5 + 5 * random.next()
            let draw = random.next()
            let color = ra > 3 && dec > 1.5 ? colors[3] : draw < 0.01 ? colors[2] : draw < 0.1 ? colors[1] : colors[0]
            return Figure.SkyPoint(ra: ra, dec: dec, color: color, title: "frame \(index) run 4874 camcol 3",
                                   href: "frames/\(index).html")
        }
        let legend = [Figure.Key(label: "ok", color: colors[0]), Figure.Key(label: "not run", color: colors[1]),
                      Figure.Key(label: "timeout", color: colors[2]), Figure.Key(label: "crash", color: colors[3])]
        let svg = Figure.skyMap(title: "sky", points: points, boxes: [], legend: legend)
        #expect(svg.utf8.count < 1_000_000)
        let elements = try #require(ParsedSVG.parse(svg))
        #expect(!elements.contains { $0.name == "circle" || $0.name == "a" })
        // Cells have a tooltip; the squares in their middle have none.
        let cells = elements.indices.dropLast().filter { elements[$0].name == "rect" && elements[$0 + 1].name == "title" }.map { elements[$0] }
        let marks = elements.indices.filter { elements[$0].name == "rect" && elements[$0].attributes["pointer-events"] == "none" }
        #expect(cells.count > 1000)
        // About 100 points a cell: the crashed corner is red, most others green with a timeout's square.
        let fills = Dictionary(grouping: cells, by: { $0.attributes["fill"] ?? "" }).mapValues(\.count)
        #expect(fills[colors[0], default: 0] > cells.count / 2)
        #expect(fills[colors[3], default: 0] > cells.count / 40)
        #expect(fills[colors[2]] == nil)
        #expect(marks.count > cells.count / 3)
        let tooltips = elements.filter { $0.name == "title" }.map(\.text)
        #expect(tooltips.contains { $0.contains(" ok") && $0.contains(" timeout") })
        // The same input, the same bytes.
        #expect(Figure.skyMap(title: "sky", points: points, boxes: [], legend: legend) == svg)
    }

    @Test func aCellHasTheColourOfMostOfItsPointsAndAMarkOfItsMostFrequentFailure() {
        let ok = Figure.color(forClass: "ok"), notRun = Figure.color(forClass: "not-run")
        let timeout = Figure.color(forClass: "timeout"), crash = Figure.color(forClass: "crash")
        #expect(SkyGrid.colors(of: [ok: 100, timeout: 1]) == (ok, timeout))
        #expect(SkyGrid.colors(of: [ok: 100, notRun: 150, timeout: 1, crash: 2]) == (notRun, crash))
        #expect(SkyGrid.colors(of: [ok: 100, timeout: 2, crash: 2]) == (ok, min(timeout, crash)))
        #expect(SkyGrid.colors(of: [ok: 3, timeout: 5, crash: 4]) == (timeout, nil))
        #expect(SkyGrid.colors(of: [ok: 5, timeout: 5]) == (timeout, nil))
        #expect(SkyGrid.colors(of: [ok: 6, notRun: 5]) == (ok, nil))
        #expect(SkyGrid.colors(of: [ok: 5, notRun: 5]) == (notRun, nil))
    }

    @Test func cellsCoverTheDataWhateverItsShape() {
        let plot = Canvas.Rect(x: 72, y: 38, width: 548, height: 278)
        // Stripe 82, 120° by 2.5°: drawn 11 units high, it still gets several rows of cells.
        let stripe = SkyGrid(projection: SkyProjection(ras: [300, 60], decs: [-1.25, 1.25], plot: plot))
        #expect(stripe.rows >= 5 && stripe.columns * stripe.rows <= SkyGrid.cellCount * 11 / 10)
        let square = SkyGrid(projection: SkyProjection(ras: [10, 20], decs: [-5, 5], plot: plot))
        #expect(square.columns * square.rows <= SkyGrid.cellCount * 11 / 10 && square.columns * square.rows > SkyGrid.cellCount / 2)
        let line = SkyGrid(projection: SkyProjection(ras: [10, 20], decs: [3, 3], plot: plot))
        #expect(line.rows == 1 && line.columns <= Int(SkyGrid.mostAlong))
    }

    @Test func manyBoxesAreCountedAtTheirCentres() throws {
        let boxes = (0..<6000).map { index in
            let ra = Double(index % 100) * 0.2, dec = Double(index / 100) * 0.05 - 1.5
            return Figure.SkyBox(corners: [(ra, dec), (ra + 0.2, dec), (ra + 0.2, dec + 0.05), (ra, dec + 0.05)],
                                 color: Figure.color(forClass: "ok"), title: "frame \(index)")
        }
        let svg = Figure.skyMap(title: "footprints", points: [], boxes: boxes, legend: [])
        let elements = wellFormed(svg, title: "footprints")
        #expect(!elements.contains { $0.name == "polygon" })
        #expect(elements.filter { $0.name == "rect" }.count > 100)
        let centre = Figure.SkyBox(corners: [(359.9, 0), (0.1, 0), (0.1, 1), (359.9, 1)], color: "#000", title: "").centre
        #expect(abs(SkyProjection.turn(centre.ra + 180) - 180) < 1e-9 && abs(centre.dec - 0.5) < 1e-9)
    }

    // MARK: - Cumulative

    @Test func theCumulativeLineStepsOncePerEventAndLabelsUTC() throws {
        // 2024-02-29 12:00:00 UTC, then 30 min and 2 h later.
        let start = Date(timeIntervalSince1970: 1_709_208_000)
        let times = [start.addingTimeInterval(7200), start, start.addingTimeInterval(1800)]
        let elements = wellFormed(Figure.cumulative(title: "done", times: times, axis: "events done"), title: "done")
        let path = try #require(elements.first { $0.name == "path" })
        let d = path.attributes["d"] ?? ""
        #expect(d.filter { $0 == "V" }.count == 3)
        let texts = elements.filter { $0.name == "text" }.map(\.text)
        #expect(texts.contains("time (UTC), 2024-02-29 12:00:00 to 2024-02-29 14:00:00"))
        #expect(texts.contains("02-29 12:00") && texts.contains("13:00"))
        #expect(texts.contains("events done"))
        let tooltip = elements.first { $0.name == "title" && $0.text.hasPrefix("3 events") }
        #expect(tooltip != nil)
    }

    @Test func civilDatesAreUTCAndGregorian() {
        #expect(TimeTicks.civil(0) == ("1970-01-01", "00:00:00"))
        #expect(TimeTicks.civil(1_709_210_096) == ("2024-02-29", "12:34:56"))
        #expect(TimeTicks.civil(-1) == ("1969-12-31", "23:59:59"))
        #expect(TimeTicks.civil(951_868_800) == ("2000-03-01", "00:00:00"))
    }

    @Test func aMillionEventsMakeASmallPath() {
        let times = (0..<1_000_000).map { Date(timeIntervalSince1970: 1_700_000_000 + Double($0) * 0.37) }
        let svg = Figure.cumulative(title: "a million", times: times, axis: "events")
        #expect(svg.utf8.count < 200_000)
        let elements = wellFormed(svg, title: "a million")
        #expect(elements.contains { $0.name == "text" && $0.text == "1000000" })
    }

    // MARK: - Every figure

    @Test func emptyInputSaysNoData() {
        let figures = [
            Figure.stackedBars(title: "t", categories: [], series: []),
            Figure.stackedBars(title: "t", categories: ["u"], series: []),
            Figure.histogram(title: "t", axis: "s", values: [], marker: 10, markerLabel: "limit"),
            Figure.histogram(title: "t", axis: "s", values: [.nan, .infinity], marker: nil, markerLabel: nil),
            Figure.skyMap(title: "t", points: [], boxes: [], legend: [Figure.Key(label: "ok", color: "#2ca02c")]),
            Figure.skyMap(title: "t", points: [Figure.SkyPoint(ra: .nan, dec: 0, color: "#000", title: "")], boxes: [], legend: []),
            Figure.cumulative(title: "t", times: [], axis: "events"),
        ]
        for svg in figures {
            let elements = wellFormed(svg, title: "t")
            #expect(elements.contains { $0.name == "text" && $0.text == "no data" })
            #expect(svg.utf8.count < 1000)
        }
    }

    /// Inputs at the edges: equal values, one value, huge counts, negative and polar Decs, NaNs.
    private static let edgeCases: [(String, @Sendable () -> String)] = [
        ("one value", { Figure.histogram(title: "x", axis: "s", values: [42], marker: nil, markerLabel: nil) }),
        ("equal values", { Figure.histogram(title: "x", axis: "s", values: [3, 3, 3], marker: 3, markerLabel: "limit") }),
        ("zeros", { Figure.histogram(title: "x", axis: "s", values: [0, 0], marker: nil, markerLabel: nil) }),
        ("marker below", { Figure.histogram(title: "x", axis: "s", values: [5, 6, 9], marker: -1e6, markerLabel: nil) }),
        ("huge values", { Figure.histogram(title: "x", axis: "B", values: [1e300, 1.7e300, -1e300], marker: nil, markerLabel: nil) }),
        ("tiny spread", { Figure.histogram(title: "x", axis: "s", values: [1e15, 1e15 + 1], marker: nil, markerLabel: nil) }),
        ("NaN marker", { Figure.histogram(title: "x", axis: "s", values: [1, .nan, 2], marker: .nan, markerLabel: nil) }),
        ("all zero bars", { Figure.stackedBars(title: "x", categories: ["u", "g"], series: [Figure.Series(label: "a", color: "#000", values: [0, 0])]) }),
        ("huge counts", { Figure.stackedBars(title: "x", categories: ["u"], series: [Figure.Series(label: "a", color: "#000", values: [1e6, 2e6])]) }),
        ("bad values", { Figure.stackedBars(title: "x", categories: ["u", "g"], series: [Figure.Series(label: "a", color: "#000", values: [-3, .nan, 4])]) }),
        ("fractions", { Figure.stackedBars(title: "x", categories: ["u"], series: [Figure.Series(label: "a", color: "#000", values: [0.25])]) }),
        ("long names", { Figure.stackedBars(title: "x", categories: (0..<40).map { "category number \($0)" },
                                            series: (0..<30).map { Figure.Series(label: "class \($0)", color: Figure.color(forClass: "c\($0)"), values: [1]) }) }),
        ("one point", { Figure.skyMap(title: "x", points: [Figure.SkyPoint(ra: 10, dec: -30, color: "#000", title: "p")], boxes: [], legend: []) }),
        ("negative RA", { Figure.skyMap(title: "x", points: [Figure.SkyPoint(ra: -0.2, dec: -95, color: "#000", title: "p"),
                                                             Figure.SkyPoint(ra: 0.2, dec: -89, color: "#000", title: "q")], boxes: [], legend: []) }),
        ("polar ring", { Figure.skyMap(title: "x", points: stride(from: 0.0, to: 360, by: 10).map { Figure.SkyPoint(ra: $0, dec: 89, color: "#000", title: "") },
                                       boxes: [], legend: []) }),
        ("south pole box", { Figure.skyMap(title: "x", points: [], boxes: [Figure.SkyBox(corners: [(0, -89.5), (120, -89.5), (240, -89.5)], color: "#000", title: "cap")],
                                           legend: []) }),
        ("at the pole", { Figure.skyMap(title: "x", points: [Figure.SkyPoint(ra: 0, dec: 90, color: "#000", title: "p"),
                                                             Figure.SkyPoint(ra: 180, dec: 90, color: "#000", title: "q")], boxes: [], legend: []) }),
        ("one time", { Figure.cumulative(title: "x", times: [Date(timeIntervalSince1970: 0)], axis: "events") }),
        ("equal times", { Figure.cumulative(title: "x", times: Array(repeating: Date(timeIntervalSince1970: 1e9), count: 5), axis: "events") }),
        ("years", { Figure.cumulative(title: "x", times: [Date(timeIntervalSince1970: -1e9), Date(timeIntervalSince1970: 2e9), .distantFuture], axis: "events") }),
        ("bad times", { Figure.cumulative(title: "x", times: [Date(timeIntervalSince1970: .nan), Date(timeIntervalSince1970: 1e300), Date(timeIntervalSince1970: 1.7e9)], axis: "events") }),
    ]

    @Test(arguments: edgeCases.map(\.0))
    func edgeInputsGiveWellFormedFiguresWithoutNaN(_ name: String) throws {
        let draw = try #require(Self.edgeCases.first { $0.0 == name }?.1)
        let svg = draw()
        let elements = wellFormed(svg, title: "x")
        #expect(!elements.contains { $0.name == "text" && $0.text == "no data" })
        #expect(draw() == svg, "the same input gives the same bytes")
    }

    @Test func numbersAreWrittenWithoutLocaleOrNegativeZero() {
        #expect(SVGText.fixed(2.25, 1) == "2.3")
        #expect(SVGText.fixed(-0.04, 1) == "0.0")
        #expect(SVGText.fixed(-1234567.891, 2) == "-1234567.89")
        #expect(SVGText.fixed(.nan, 1) == "0.0")
        #expect(SVGText.trimmed(359.5, 3) == "359.5" && SVGText.trimmed(0, 3) == "0" && SVGText.trimmed(1e6, 0) == "1000000")
    }

    @Test func ticksAreNiceSteps() {
        #expect(Ticks.step(for: 0.3) == 0.5 && Ticks.step(for: 1.5) == 2 && Ticks.step(for: 3) == 5 && Ticks.step(for: 7) == 10)
        #expect(Ticks(covering: 0, 7, count: 5).values == [0, 2, 4, 6, 8])
        #expect(Ticks(covering: 0, 1, count: 5, integral: true).values == [0, 1])
        #expect(Ticks(covering: 0, 0, count: 5).values.count >= 2)
        #expect(Ticks(covering: 0, 2_000_000, count: 5).values == [0, 500_000, 1_000_000, 1_500_000, 2_000_000])
    }

    // MARK: - Palette

    @Test func thePaletteIsStableGreenForOkGreyForNotRunAndDistinctForTheShippedClasses() throws {
        #expect(Figure.color(forClass: "ok") == "#2ca02c")
        #expect(Figure.color(forClass: "not-run") == "#9e9e9e")
        // FNV-1a of the name: the same colour in every process, unlike Swift's seeded Hasher.
        #expect(Figure.color(forClass: "timeout") == "#393b79")
        let classes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("templates/rules/classes")
        let names = try String(contentsOf: classes, encoding: .utf8).split(separator: "\n")
            .filter { !$0.hasPrefix("#") }.compactMap { $0.split(separator: " ").first.map(String.init) }
            .filter { $0 != "ok" && $0 != "not-run" }
        #expect(names.count >= 5)
        let colors = names.map(Figure.color(forClass:))
        #expect(Set(colors).count == names.count)
        #expect(!colors.contains("#2ca02c") && !colors.contains("#9e9e9e"))
    }
}
