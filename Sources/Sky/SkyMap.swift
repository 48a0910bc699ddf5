import Basics
import Foundation

/// One patch of a sky map: tract `tract`, patch `x,y` (DC2013's `patch` column is the text `"x,y"`).
public struct PatchId: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var tract: Int
    public var x: Int
    public var y: Int

    public init(tract: Int, x: Int, y: Int) {
        self.tract = tract
        self.x = x
        self.y = y
    }

    /// The patch as the catalog names it: `"380,5"`.
    public var name: String { "\(x),\(y)" }

    /// `tract-x,y`, as the seed writes it (`0-380,5`).
    public var description: String { "\(tract)-\(name)" }

    /// The LSST schema's id of a patch's coadd in one filter: `((tract·2¹³ + x)·2¹³ + y)·8 + filterId`.
    public func deepCoaddId(filterId: Int) -> Int64 {
        ((Int64(tract) << 13 + Int64(x)) << 13 + Int64(y)) << 3 + Int64(filterId)
    }

    public static func < (a: PatchId, b: PatchId) -> Bool { (a.tract, a.y, a.x) < (b.tract, b.y, b.x) }

    /// The patch of an event key `tract-x,y`; nil when the key is not one.
    public init?(key: String) {
        let parts = key.split(separator: "-", maxSplits: 1)
        guard parts.count == 2, let tract = Int(parts[0]) else { return nil }
        let xy = parts[1].split(separator: ",", omittingEmptySubsequences: false)
        guard xy.count == 2, let x = Int(xy[0]), let y = Int(xy[1]) else { return nil }
        self.init(tract: tract, x: x, y: y)
    }
}

/// A sky map: the sky cut into tracts, each one projection with its own pixel grid, and each tract
/// into patches — the units a coadd is made of. Every position goes through wcslib (`WCS`), never a
/// hand-written projection formula; the map's numbers are data (`templates/skymap/NAME.skymap`).
public final class SkyMap {
    /// The numbers that define a sky map, as its file gives them.
    public struct Geometry: Equatable, Sendable {
        /// Tracts around the equator, each `360 / tracts` degrees of RA wide.
        public var tracts: Int
        /// wcslib's three-letter projection code (`CEA`).
        public var projection: String
        /// Arcseconds per pixel.
        public var pixelScale: Double
        /// Patches per tract, in x and y.
        public var patches: (x: Int, y: Int)
        /// Inner pixels of a patch, in x and y.
        public var patchSize: (x: Int, y: Int)
        /// Pixels a patch covers beyond its inner box, on every side.
        public var border: Int
        /// The pixel (FITS, 1-based) of a tract's reference point.
        public var crpix: (x: Double, y: Double)

        public static func == (a: Geometry, b: Geometry) -> Bool {
            a.tracts == b.tracts && a.projection == b.projection && a.pixelScale == b.pixelScale && a.patches == b.patches
                && a.patchSize == b.patchSize && a.border == b.border && a.crpix == b.crpix
        }
    }

    public let geometry: Geometry
    private let tracts: [WCS]

    /// A sky map of these numbers.
    ///
    /// - Throws: `WCSError` when wcslib refuses a tract's projection.
    public init(geometry: Geometry) throws {
        self.geometry = geometry
        tracts = try (0..<geometry.tracts).map { try WCS(header: Self.header(geometry, tract: $0)) }
    }

    /// The FITS header of a tract's WCS, or of a grid on it whose pixel (1, 1) is the tract's pixel `origin` (1-based).
    public static func header(_ geometry: Geometry, tract: Int, origin: (x: Int, y: Int) = (1, 1),
                              size: (x: Int, y: Int)? = nil) -> FITSHeader {
        let size = size ?? (geometry.patches.x * geometry.patchSize.x, geometry.patches.y * geometry.patchSize.y)
        return FITSHeader(cards: [FITSCard("NAXIS", 2), FITSCard("NAXIS1", size.x), FITSCard("NAXIS2", size.y)]
            + wcsCards(geometry, tract: tract, origin: origin))
    }

    /// The WCS cards of a tract, or of a grid on it whose pixel (1, 1) is the tract's pixel `origin`.
    static func wcsCards(_ geometry: Geometry, tract: Int, origin: (x: Int, y: Int)) -> [FITSCard] {
        let degrees = geometry.pixelScale / 3600
        let code = geometry.projection
        return [
            FITSCard("CTYPE1", "RA---" + code), FITSCard("CTYPE2", "DEC--" + code),
            FITSCard("CRVAL1", (Double(tract) + 0.5) * 360 / Double(geometry.tracts)), FITSCard("CRVAL2", 0.0),
            FITSCard("CRPIX1", geometry.crpix.x - Double(origin.x - 1)), FITSCard("CRPIX2", geometry.crpix.y - Double(origin.y - 1)),
            FITSCard("CDELT1", -degrees), FITSCard("CDELT2", degrees),
            FITSCard("CUNIT1", "deg"), FITSCard("CUNIT2", "deg"),
            FITSCard("RADESYS", "ICRS"),
        ]
    }

    /// The ranges a sky map's numbers must lie in, checked where the file is read so that no later
    /// arithmetic on them (patch of a position, corners, boxes, a coadd's image) can overflow, trap or
    /// ask for more memory than a machine has.
    public enum Limits {
        /// Tracts around the equator: each at least one degree of RA wide (DC2013: 4). Each is one
        /// wcslib projection made when the map is read.
        public static let tracts = 1...360
        /// Arcseconds per pixel: from 0.01″ (beyond any survey camera; HST's WFC3 is 0.04″) to 100″.
        public static let pixelScale = 0.01...100.0
        /// Patches along each axis of a tract: 2¹³, the width of x and y in `PatchId.deepCoaddId`
        /// (DC2013: 410 by 12).
        public static let patchesPerAxis = 1...8192
        /// Patches in a tract: what `patches(touching:)` may have to look at for one frame (DC2013: 4,920).
        public static let patchesPerTract = 1 << 20
        /// Pixels of a patch's image, its border included: 2²⁵ = 33,554,432, 8 times DC2013's 2060 × 1967,
        /// a coadd of about 2 GB in memory (`dcprod pipe coadd` holds some 60 bytes per pixel).
        public static let patchPixels = 1 << 25
    }

    /// Reads a sky map file: `KEY value` lines, `#` comments (see `templates/skymap/dc2013.skymap`).
    /// Every number is checked against `Limits`; CRPIX must lie within the tract's pixel grid.
    ///
    /// - Throws: `ConfigError` naming the file and line of an unknown, repeated, missing or impossible
    ///   value, or of a projection wcslib refuses.
    public static func load(contentsOf path: String) throws -> SkyMap {
        if let kind = specialFileKind(atPath: path) {
            throw ConfigError(file: path, line: 0, message: "the sky map is a \(kind), not a regular file; not read")
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigError(file: path, line: 0, message: "cannot read the sky map")
        }
        let file = try SkyMapFile(path: path, text: text)
        let projection = try file.found("PROJECTION")
        guard projection.words.count == 1, projection.words[0].utf8.count == 3,
              projection.words[0].utf8.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) else {
            throw ConfigError(file: path, line: projection.line, message: "PROJECTION takes a three-letter wcslib projection code, e.g. CEA")
        }
        let tracts = try file.integers("TRACTS", 1, Limits.tracts)[0]
        let pixelScale = try file.numbers("PIXELSCALE", 1, Limits.pixelScale,
                                     "number of arcseconds per pixel from \(Limits.pixelScale.lowerBound) to \(Limits.pixelScale.upperBound)")[0]
        let patches = try file.integers("PATCHES", 2, Limits.patchesPerAxis)
        guard patches[0] * patches[1] <= Limits.patchesPerTract else {
            throw ConfigError(file: path, line: try file.found("PATCHES").line,
                              message: "PATCHES \(patches[0]) × \(patches[1]) is more than \(Limits.patchesPerTract) patches in a tract")
        }
        let size = try file.integers("PATCHSIZE", 2, 1...Limits.patchPixels, "pixel count")
        let border = try file.integers("BORDER", 1, 0...Limits.patchPixels, "pixel count")[0]
        // Each factor is below 2²⁵ + 2²⁶, so the product cannot overflow.
        let outer = (size[0] + 2 * border) * (size[1] + 2 * border)
        guard outer <= Limits.patchPixels else {
            // The border's line when the inner box alone would do, else PATCHSIZE's.
            let culprit = size[0] * size[1] <= Limits.patchPixels ? "BORDER" : "PATCHSIZE"
            throw ConfigError(file: path, line: try file.found(culprit).line,
                              message: "a patch of PATCHSIZE \(size[0]) × \(size[1]) with BORDER \(border) has \(outer) pixels, more than \(Limits.patchPixels)")
        }
        // The tract's reference point lies on its own grid (DC2013: its centre); the grid is at most
        // 8192 × 2²⁵ pixels wide, so every pixel coordinate of the sky stays far within an Int.
        let grid = (x: Double(patches[0] * size[0]), y: Double(patches[1] * size[1]))
        let crpix = try file.numbers("CRPIX", 2, -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude, "numbers")
        guard (0.5...(grid.x + 0.5)).contains(crpix[0]), (0.5...(grid.y + 0.5)).contains(crpix[1]) else {
            throw ConfigError(file: path, line: try file.found("CRPIX").line,
                              message: "CRPIX must lie on the tract's pixel grid, x from 0.5 to \(grid.x + 0.5) and y from 0.5 to \(grid.y + 0.5) (PATCHES × PATCHSIZE), got '\(try file.found("CRPIX").words.joined(separator: " "))'")
        }
        let geometry = Geometry(tracts: tracts, projection: projection.words[0], pixelScale: pixelScale,
                                patches: (patches[0], patches[1]), patchSize: (size[0], size[1]), border: border,
                                crpix: (crpix[0], crpix[1]))
        do {
            return try SkyMap(geometry: geometry)
        } catch {
            throw ConfigError(file: path, line: projection.line, message: "wcslib refuses the projection \(projection.words[0]): \(error)")
        }
    }

    // MARK: - Geometry

    /// The tract whose RA range holds `ra` (degrees, any turn), or nil for a RA that is not a finite number.
    public func tract(ofRA ra: Double) -> Int? {
        guard ra.isFinite else { return nil }
        return min(geometry.tracts - 1, Int(RightAscension.turned(ra) / (360 / Double(geometry.tracts))))
    }

    /// True when `patch` is one of the map's: its tract and its x and y within the map's counts.
    public func contains(_ patch: PatchId) -> Bool {
        (0..<geometry.tracts).contains(patch.tract) && (0..<geometry.patches.x).contains(patch.x)
            && (0..<geometry.patches.y).contains(patch.y)
    }

    /// The tract's WCS of a patch of the map.
    ///
    /// - Throws: `WCSError` for a patch that is not the map's (a `--patch` beyond its counts).
    private func tractWCS(of patch: PatchId) throws -> WCS {
        guard contains(patch) else {
            throw WCSError(message: "patch \(patch) is not on the sky map (tracts 0 to \(geometry.tracts - 1), "
                + "x 0 to \(geometry.patches.x - 1), y 0 to \(geometry.patches.y - 1))")
        }
        return tracts[patch.tract]
    }

    /// The tract's pixel box (FITS pixel edges, 1-based) of a patch, its border included.
    public func outerBox(of patch: PatchId) -> (xMin: Double, xMax: Double, yMin: Double, yMax: Double) {
        let (w, h, b) = (Double(geometry.patchSize.x), Double(geometry.patchSize.y), Double(geometry.border))
        let (x, y) = (Double(patch.x), Double(patch.y))
        return (x * w - b + 0.5, (x + 1) * w + b + 0.5, y * h - b + 0.5, (y + 1) * h + b + 0.5)
    }

    /// The tract pixels of sky positions, refused unless every position and pixel is finite.
    private func pixels(_ positions: [(ra: Double, dec: Double)], tract: Int) throws -> [(x: Double, y: Double)] {
        guard positions.allSatisfy({ $0.ra.isFinite && $0.dec.isFinite }) else {
            throw WCSError(message: "a sky position is not a finite number: \(positions)")
        }
        let pixels = try tracts[tract].pixels(positions)
        guard pixels.allSatisfy({ $0.x.isFinite && $0.y.isFinite }) else {
            throw WCSError(message: "wcslib gives no finite pixel on tract \(tract) for \(positions)")
        }
        return pixels
    }

    /// The index (0-based, any integer) of the cell of width `width` that holds `value`, as a Double:
    /// the Int conversion is left to the caller once the value is known to be among the map's.
    private static func cell(_ value: Double, _ width: Int) -> Double { (value / Double(width)).rounded(.down) }

    /// The patch whose inner box holds a sky position, or nil outside every patch.
    ///
    /// - Throws: `WCSError` when the position is not finite or wcslib cannot project it.
    public func patch(containing position: (ra: Double, dec: Double)) throws -> PatchId? {
        guard let tract = tract(ofRA: position.ra) else {
            throw WCSError(message: "a sky position is not a finite number: \(position)")
        }
        let pixel = try pixels([position], tract: tract)[0]
        // FITS pixel p covers [p - 0.5, p + 0.5): 0-based index floor(p - 0.5).
        let column = Self.cell(pixel.x - 0.5, geometry.patchSize.x), row = Self.cell(pixel.y - 0.5, geometry.patchSize.y)
        guard column >= 0, column < Double(geometry.patches.x), row >= 0, row < Double(geometry.patches.y) else { return nil }
        return PatchId(tract: tract, x: Int(column), y: Int(row))
    }

    /// The patches whose outer box (border included) a frame's footprint overlaps.
    ///
    /// - Parameter footprint: Sky positions on the frame's edge (its corners, and its centre).
    /// - Returns: The patches, sorted; a footprint across two tracts gives patches of both.
    /// - Throws: `WCSError` when a position is not finite or wcslib cannot project it.
    public func patches(touching footprint: [(ra: Double, dec: Double)]) throws -> [PatchId] {
        var found = Set<PatchId>()
        let tractsTouched = try Set(footprint.map { position in
            guard let tract = self.tract(ofRA: position.ra) else {
                throw WCSError(message: "a sky position is not a finite number: \(position)")
            }
            return tract
        })
        for tract in tractsTouched {
            let pixels = try pixels(footprint, tract: tract)
            guard let xMin = pixels.map(\.x).min(), let xMax = pixels.map(\.x).max(),
                  let yMin = pixels.map(\.y).min(), let yMax = pixels.map(\.y).max() else { continue }
            // The cells of the box, one more on each side for the borders, cut to the map's patches
            // while still Doubles: a footprint far off the grid gives no patch, not a wrong range.
            func span(_ low: Double, _ high: Double, _ width: Int, _ count: Int) -> ClosedRange<Int>? {
                let first = max(0, Self.cell(low, width) - 1), last = min(Double(count - 1), Self.cell(high, width) + 1)
                return first <= last ? Int(first)...Int(last) : nil
            }
            guard let columns = span(xMin, xMax, geometry.patchSize.x, geometry.patches.x),
                  let rows = span(yMin, yMax, geometry.patchSize.y, geometry.patches.y) else { continue }
            for x in columns {
                for y in rows {
                    let patch = PatchId(tract: tract, x: x, y: y)
                    let box = outerBox(of: patch)
                    if xMax > box.xMin && xMin < box.xMax && yMax > box.yMin && yMin < box.yMax { found.insert(patch) }
                }
            }
        }
        return found.sorted()
    }

    /// A patch's four corners, the outer edges of its box (border included), in DC2013's order:
    /// corner1 (lowest RA, lowest Dec), corner2 (lowest RA, highest Dec), corner3 (highest RA, highest Dec),
    /// corner4 (highest RA, lowest Dec) — RA increasing to the left.
    ///
    /// - Throws: `WCSError` for a patch not on the map, or when wcslib cannot project a corner.
    public func corners(of patch: PatchId) throws -> [(ra: Double, dec: Double)] {
        let box = outerBox(of: patch)
        return try tractWCS(of: patch).sky([(box.xMax, box.yMin), (box.xMax, box.yMax), (box.xMin, box.yMax), (box.xMin, box.yMin)])
    }

    /// The centre of a patch's inner box.
    ///
    /// - Throws: `WCSError` for a patch not on the map, or when wcslib cannot project it.
    public func center(of patch: PatchId) throws -> (ra: Double, dec: Double) {
        let box = outerBox(of: patch)
        return try tractWCS(of: patch).sky([((box.xMin + box.xMax) / 2, (box.yMin + box.yMax) / 2)])[0]
    }

    /// The WCS header of a patch's own pixel grid: the tract's projection, with the reference pixel
    /// moved so that pixel (1, 1) is the first pixel of the patch's outer box.
    ///
    /// - Throws: `WCSError` for a patch not on the map.
    public func header(of patch: PatchId) throws -> FITSHeader {
        Self.header(geometry, tract: patch.tract, origin: try origin(of: patch), size: size(of: patch))
    }

    /// The WCS cards of a patch's own pixel grid (see `header(of:)`), for an image's header.
    ///
    /// - Throws: `WCSError` for a patch not on the map.
    public func wcsCards(of patch: PatchId) throws -> [FITSCard] {
        Self.wcsCards(geometry, tract: patch.tract, origin: try origin(of: patch))
    }

    /// Pixels of a patch's outer box, in x and y.
    public func size(of patch: PatchId) -> (x: Int, y: Int) {
        (geometry.patchSize.x + 2 * geometry.border, geometry.patchSize.y + 2 * geometry.border)
    }

    /// The tract pixel (FITS, 1-based) of a patch's first pixel.
    func origin(of patch: PatchId) throws -> (x: Int, y: Int) {
        _ = try tractWCS(of: patch)
        let box = outerBox(of: patch)
        return (Int(box.xMin + 0.5), Int(box.yMin + 0.5))
    }
}

/// A sky map file's `KEY value` lines, read: each known key once, with its line, and the checks of
/// its values that name the file and line of a wrong one.
private struct SkyMapFile {
    static let keys = ["TRACTS", "PROJECTION", "PIXELSCALE", "PATCHES", "PATCHSIZE", "BORDER", "CRPIX"]
    let path: String
    var values: [String: (line: Int, words: [String])] = [:]
    /// The number of lines: a missing key is reported after the last.
    var lines = 0

    /// - Throws: `ConfigError` for an unknown or repeated key.
    init(path: String, text: String) throws {
        self.path = path
        // LF or CRLF ends a line (Swift reads "\r\n" as one character, so both are named).
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lines += 1
            let words = raw.prefix { $0 != "#" }.split(whereSeparator: \.isWhitespace).map(String.init)
            guard let key = words.first else { continue }
            guard Self.keys.contains(key) else {
                throw ConfigError(file: path, line: lines, message: "unknown sky map key '\(key)'; keys: \(Self.keys.joined(separator: " "))")
            }
            guard values[key] == nil else { throw ConfigError(file: path, line: lines, message: "\(key) is given twice") }
            values[key] = (lines, Array(words.dropFirst()))
        }
    }

    /// The line and words of `key`.
    func found(_ key: String) throws -> (line: Int, words: [String]) {
        guard let found = values[key] else { throw ConfigError(file: path, line: lines + 1, message: "missing \(key)") }
        return found
    }

    /// `count` finite numbers within `range`, said as `what`.
    func numbers(_ key: String, _ count: Int, _ range: ClosedRange<Double>, _ what: String) throws -> [Double] {
        let (line, words) = try found(key)
        let parsed = words.compactMap(Double.init)
        guard parsed.count == count, words.count == count, parsed.allSatisfy({ range.contains($0) }) else {
            throw ConfigError(file: path, line: line, message: "\(key) takes \(count == 1 ? "one" : String(count)) \(what), got '\(words.joined(separator: " "))'")
        }
        return parsed
    }

    /// `count` whole numbers within `range`.
    func integers(_ key: String, _ count: Int, _ range: ClosedRange<Int>, _ what: String = "whole number") throws -> [Int] {
        let phrase = "\(count == 1 ? what : what + "s") from \(range.lowerBound) to \(range.upperBound)"
        let parsed = try numbers(key, count, Double(range.lowerBound)...Double(range.upperBound), phrase)
        guard parsed.allSatisfy({ $0 == $0.rounded() }) else {
            let (line, words) = try found(key)
            throw ConfigError(file: path, line: line, message: "\(key) takes \(count == 1 ? "one" : String(count)) \(phrase), got '\(words.joined(separator: " "))'")
        }
        return parsed.map { Int($0) }
    }
}
