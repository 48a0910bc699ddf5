import Verification

extension Figure {
    /// The colour of `ok`: green.
    static let okColor = "#2ca02c"
    /// The colour of `not-run`: grey, the colour of nothing happened.
    static let notRunColor = "#9e9e9e"

    /// The colours of the other classes: distinct from each other, from green (ok) and from grey
    /// (not-run), readable on white.
    ///
    /// A class takes the entry its name's FNV-1a hash selects. The order of the entries is chosen so
    /// that the failure classes of the shipped `templates/rules/classes` get far-apart colours, all
    /// distinct (`FigureTests` checks it); a class a site adds may share a colour with another.
    static let classColors = [
        "#d62728", "#ff7f0e", "#1f77b4", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#6b6ecf", "#393b79", "#ad494a",
        "#ce6dbd", "#7b4173", "#f4e04d", "#17becf", "#fdae6b", "#9c9ede", "#843c39", "#8c6d31", "#e7ba52", "#222222",
    ]

    /// The palette: a stable colour for an outcome class name ("ok" green, "not-run" grey, each failure
    /// class a distinct colour chosen deterministically from the name).
    ///
    /// The colour depends on the name only, so a class has the same colour on every page, in every
    /// production and every run (Swift's `Hasher` is seeded per process and would not do).
    ///
    /// - Parameter name: A class name as outcome records write it, e.g. `timeout`.
    /// - Returns: An SVG colour, `#rrggbb`.
    public static func color(forClass name: String) -> String {
        switch name {
        case FailureClasses.ok: return okColor
        case FailureClasses.notRun: return notRunColor
        default:
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in name.utf8 {
                hash ^= UInt64(byte)
                hash = hash &* 0x100_0000_01b3
            }
            return classColors[Int(hash % UInt64(classColors.count))]
        }
    }
}
