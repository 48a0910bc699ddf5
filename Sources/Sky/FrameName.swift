import Basics

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

    /// The exposure's id in the catalog (`Science_Ccd_Exposure.scienceCcdExposureId`, and the
    /// `scienceCcdExposureId` of its Source and DeepForcedSource rows), packed as LSST's SDSS
    /// camera packs it: ((run·10 + filterId)·10 + camcol)·10000 + field.
    public var scienceCcdExposureId: Int64 {
        ((Int64(run) * 10 + Int64(filter.filterId)) * 10 + Int64(camcol)) * 10_000 + Int64(field)
    }

    /// Parses a file name (not a path); `.fit`, `.fits`, and either gzipped are accepted.
    ///
    /// The name is read byte by byte: inventory parses every file name under INPUT, and a regular
    /// expression, compiled at each call, was a third of its time.
    public init?(fileName: String) {
        let bytes = Array(fileName.utf8)  // fpC-RRRRRR-Fc-FFFF then the extension
        guard bytes.count >= 22, bytes[0..<4].elementsEqual("fpC-".utf8), bytes[10] == 0x2D, bytes[13] == 0x2D,
              [".fit", ".fits", ".fit.gz", ".fits.gz"].contains(where: { bytes[18...].elementsEqual($0.utf8) }),
              let filter = Filter(rawValue: String(UnicodeScalar(bytes[11]))) else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard (0x30...0x39).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard let run = number(4..<10), let camcol = number(12..<13), let field = number(14..<18) else { return nil }
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
