/// Figures drawn as inline SVG for the report pages: no script, no network, readable without JavaScript.
///
/// Each function returns one `<svg>` element to paste into a page as it is: a fixed `viewBox` (the
/// page's CSS sets the size), a `<title>` and an `aria-label` for screen readers, `<title>` tooltips on
/// bars, cells and points, and only the SVG namespace (no fonts, scripts or URLs but the caller's own
/// `href`s). The same input always gives the same bytes: numbers are written with a fixed number of
/// decimals, without locale. An input with nothing to draw gives a small figure saying "no data".
///
/// ```swift
/// let bars = Figure.stackedBars(title: "processCcd failures", categories: ["u", "g"], series: [
///     Figure.Series(label: "timeout", color: Figure.color(forClass: "timeout"), values: [12, 3]),
/// ])
/// ```
///
/// ## Topics
/// - ``stackedBars(title:categories:series:)``
/// - ``histogram(title:axis:values:marker:markerLabel:)``
/// - ``skyMap(title:points:boxes:legend:)``
/// - ``cumulative(title:times:axis:)``
/// - ``color(forClass:)``
public enum Figure {
    /// One coloured series of a stacked bar chart: a value per category.
    public struct Series: Sendable {
        /// What the legend calls it, e.g. a failure class.
        public var label: String
        /// Its fill, an SVG colour such as `#d62728`.
        public var color: String
        /// One value per category, in the categories' order; a missing, negative or non-finite value
        /// draws nothing.
        public var values: [Double]

        public init(label: String, color: String, values: [Double]) {
            self.label = label
            self.color = color
            self.values = values
        }
    }

    /// One point of a sky map, e.g. a frame's centre coloured by its outcome; `title` is its tooltip
    /// (an SVG `<title>`), `href` an optional link.
    public struct SkyPoint: Sendable {
        /// Right ascension in degrees, any turn (−10 and 350 are the same).
        public var ra: Double
        /// Declination in degrees.
        public var dec: Double
        /// Its fill, an SVG colour; ``Figure/color(forClass:)`` for an outcome.
        public var color: String
        /// Its tooltip.
        public var title: String
        /// Where a click on it leads, e.g. the page of its event; nil for none.
        public var href: String?
        /// The points it stands for at its place (more than 1: events counted together, which a map of
        /// so many draws in cells anyway).
        public var count: Int

        public init(ra: Double, dec: Double, color: String, title: String, href: String? = nil, count: Int = 1) {
            self.ra = ra
            self.dec = dec
            self.color = color
            self.title = title
            self.href = href
            self.count = count
        }
    }

    /// A polygon on the sky (a sky-map patch, a frame footprint), corners in degrees.
    public struct SkyBox: Sendable {
        /// The corners in drawing order; RA in degrees, any turn.
        public var corners: [(ra: Double, dec: Double)]
        /// Its outline and (light) fill, an SVG colour.
        public var color: String
        /// Its tooltip.
        public var title: String

        public init(corners: [(ra: Double, dec: Double)], color: String, title: String) {
            self.corners = corners
            self.color = color
            self.title = title
        }
    }

    /// A legend entry.
    public struct Key: Sendable {
        /// The words shown beside the swatch.
        public var label: String
        /// The swatch's colour.
        public var color: String

        public init(label: String, color: String) {
            self.label = label
            self.color = color
        }
    }
}
