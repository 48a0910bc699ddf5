import Production

/// An SDSS corrected-frame name, `fpC-RRRRRR-Fc-FFFF.fit`: run, filter letter, camcol, field.
public struct FrameName: Hashable, Sendable, CustomStringConvertible {
    public var run: Int
    public var filter: Filter
    public var camcol: Int
    public var field: Int

    public init(run: Int, filter: Filter, camcol: Int, field: Int) {
        self.run = run
        self.filter = filter
        self.camcol = camcol
        self.field = field
    }

    /// Parses a file name (not a path); `.fit`, `.fits`, and either gzipped are accepted.
    public init?(fileName: String) {
        let pattern = #/^fpC-(\d{6})-([ugriz])(\d)-(\d{4})\.fits?(\.gz)?$/#
        guard let match = fileName.wholeMatch(of: pattern),
              let run = Int(match.1), let filter = Filter(rawValue: String(match.2)),
              let camcol = Int(match.3), let field = Int(match.4) else { return nil }
        self.init(run: run, filter: filter, camcol: camcol, field: field)
    }

    public var description: String { "fpC-\(stem).fit" }

    /// `RRRRRR-Fc-FFFF`, what every file made from this frame is named after.
    public var stem: String { "\(Self.pad(run, 6))-\(filter.rawValue)\(camcol)-\(Self.pad(field, 4))" }

    /// The event key of this frame: `RRRRRR-C-FFFF`, the same for every step that works on frames.
    public var eventKey: String { "\(Self.pad(run, 6))-\(camcol)-\(Self.pad(field, 4))" }

    static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
