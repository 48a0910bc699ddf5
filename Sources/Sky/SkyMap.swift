import Foundation
import Production

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

    /// Reads a sky map file: `KEY value` lines, `#` comments (see `templates/skymap/dc2013.skymap`).
    ///
    /// - Throws: `ConfigError` naming the file and line of an unknown, repeated, missing or impossible
    ///   value; `WCSError` when wcslib refuses the projection.
    public static func load(contentsOf path: String) throws -> SkyMap {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigError(file: path, line: 0, message: "cannot read the sky map")
        }
        var values: [String: (line: Int, words: [String])] = [:]
        let keys = ["TRACTS", "PROJECTION", "PIXELSCALE", "PATCHES", "PATCHSIZE", "BORDER", "CRPIX"]
        var lineNumber = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let words = raw.prefix { $0 != "#" }.split(whereSeparator: \.isWhitespace).map(String.init)
            guard let key = words.first else { continue }
            guard keys.contains(key) else {
                throw ConfigError(file: path, line: lineNumber, message: "unknown sky map key '\(key)'; keys: \(keys.joined(separator: " "))")
            }
            guard values[key] == nil else { throw ConfigError(file: path, line: lineNumber, message: "\(key) is given twice") }
            values[key] = (lineNumber, Array(words.dropFirst()))
        }
        func numbers(_ key: String, _ count: Int, positive: Bool = true) throws -> [Double] {
            guard let found = values[key] else { throw ConfigError(file: path, line: lineNumber + 1, message: "missing \(key)") }
            let parsed = found.words.compactMap(Double.init)
            guard parsed.count == count, found.words.count == count, parsed.allSatisfy({ $0.isFinite && (!positive || $0 > 0) }) else {
                throw ConfigError(file: path, line: found.line, message: "\(key) takes \(count) positive number\(count > 1 ? "s" : "")")
            }
            return parsed
        }
        func integers(_ key: String, _ count: Int) throws -> [Int] {
            let parsed = try numbers(key, count)
            guard parsed.allSatisfy({ $0 == $0.rounded() && $0 < 1e9 }) else {
                throw ConfigError(file: path, line: values[key]!.line, message: "\(key) takes whole numbers")
            }
            return parsed.map { Int($0) }
        }
        guard let projection = values["PROJECTION"], projection.words.count == 1, projection.words[0].count == 3 else {
            throw ConfigError(file: path, line: values["PROJECTION"]?.line ?? lineNumber + 1,
                              message: "PROJECTION takes a three-letter wcslib projection code, e.g. CEA")
        }
        let patches = try integers("PATCHES", 2), size = try integers("PATCHSIZE", 2), crpix = try numbers("CRPIX", 2)
        let border = try numbers("BORDER", 1, positive: false)
        guard border[0] >= 0, border[0] == border[0].rounded() else {
            throw ConfigError(file: path, line: values["BORDER"]!.line, message: "BORDER takes a whole number of pixels, 0 or more")
        }
        let geometry = Geometry(tracts: try integers("TRACTS", 1)[0], projection: projection.words[0],
                                pixelScale: try numbers("PIXELSCALE", 1)[0], patches: (patches[0], patches[1]),
                                patchSize: (size[0], size[1]), border: Int(border[0]), crpix: (crpix[0], crpix[1]))
        return try SkyMap(geometry: geometry)
    }

    /// The sky map a production uses: its `templates/skymap/dc2013.skymap`.
    public static func of(_ production: Production) throws -> SkyMap {
        try load(contentsOf: production.tree.templatesDirectory.appendingPathComponent("skymap/dc2013.skymap").path)
    }

    // MARK: - Geometry

    /// The tract whose RA range holds `ra` (degrees, any turn).
    public func tract(ofRA ra: Double) -> Int {
        let wrapped = ra.truncatingRemainder(dividingBy: 360) + (ra < 0 ? 360 : 0)
        return min(geometry.tracts - 1, Int(wrapped / (360 / Double(geometry.tracts))))
    }

    /// The tract's pixel box (FITS pixel edges, 1-based) of a patch, its border included.
    public func outerBox(of patch: PatchId) -> (xMin: Double, xMax: Double, yMin: Double, yMax: Double) {
        let (w, h, b) = (Double(geometry.patchSize.x), Double(geometry.patchSize.y), Double(geometry.border))
        return (Double(patch.x) * w - b + 0.5, Double(patch.x + 1) * w + b + 0.5,
                Double(patch.y) * h - b + 0.5, Double(patch.y + 1) * h + b + 0.5)
    }

    /// The patch whose inner box holds a sky position, or nil outside every patch.
    ///
    /// - Throws: `WCSError` when wcslib cannot project the position.
    public func patch(containing position: (ra: Double, dec: Double)) throws -> PatchId? {
        let tract = tract(ofRA: position.ra)
        let pixel = try tracts[tract].pixels([position])[0]
        // FITS pixel p covers [p - 0.5, p + 0.5): 0-based index floor(p - 0.5).
        let column = Int(((pixel.x - 0.5) / Double(geometry.patchSize.x)).rounded(.down))
        let row = Int(((pixel.y - 0.5) / Double(geometry.patchSize.y)).rounded(.down))
        guard (0..<geometry.patches.x).contains(column), (0..<geometry.patches.y).contains(row) else { return nil }
        return PatchId(tract: tract, x: column, y: row)
    }

    /// The patches whose outer box (border included) a frame's footprint overlaps.
    ///
    /// - Parameter footprint: Sky positions on the frame's edge (its corners, and its centre).
    /// - Returns: The patches, sorted; a footprint across two tracts gives patches of both.
    /// - Throws: `WCSError` when wcslib cannot project a position.
    public func patches(touching footprint: [(ra: Double, dec: Double)]) throws -> [PatchId] {
        var found = Set<PatchId>()
        for tract in Set(footprint.map { self.tract(ofRA: $0.ra) }) {
            let pixels = try tracts[tract].pixels(footprint)
            guard let xMin = pixels.map(\.x).min(), let xMax = pixels.map(\.x).max(),
                  let yMin = pixels.map(\.y).min(), let yMax = pixels.map(\.y).max() else { continue }
            let (w, h) = (Double(geometry.patchSize.x), Double(geometry.patchSize.y))
            let columns = max(0, Int((xMin / w).rounded(.down)) - 1)...min(geometry.patches.x - 1, Int((xMax / w).rounded(.down)) + 1)
            let rows = max(0, Int((yMin / h).rounded(.down)) - 1)...min(geometry.patches.y - 1, Int((yMax / h).rounded(.down)) + 1)
            guard !columns.isEmpty, !rows.isEmpty else { continue }
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
    /// - Throws: `WCSError` when wcslib cannot project a corner.
    public func corners(of patch: PatchId) throws -> [(ra: Double, dec: Double)] {
        let box = outerBox(of: patch)
        return try tracts[patch.tract].sky([(box.xMax, box.yMin), (box.xMax, box.yMax), (box.xMin, box.yMax), (box.xMin, box.yMin)])
    }

    /// The centre of a patch's inner box.
    ///
    /// - Throws: `WCSError` when wcslib cannot project it.
    public func center(of patch: PatchId) throws -> (ra: Double, dec: Double) {
        let box = outerBox(of: patch)
        return try tracts[patch.tract].sky([((box.xMin + box.xMax) / 2, (box.yMin + box.yMax) / 2)])[0]
    }

    /// The WCS header of a patch's own pixel grid: the tract's projection, with the reference pixel
    /// moved so that pixel (1, 1) is the first pixel of the patch's outer box.
    public func header(of patch: PatchId) -> FITSHeader {
        Self.header(geometry, tract: patch.tract, origin: origin(of: patch), size: size(of: patch))
    }

    /// The WCS cards of a patch's own pixel grid (see `header(of:)`), for an image's header.
    public func wcsCards(of patch: PatchId) -> [FITSCard] {
        Self.wcsCards(geometry, tract: patch.tract, origin: origin(of: patch))
    }

    /// Pixels of a patch's outer box, in x and y.
    public func size(of patch: PatchId) -> (x: Int, y: Int) {
        (geometry.patchSize.x + 2 * geometry.border, geometry.patchSize.y + 2 * geometry.border)
    }

    /// The tract pixel (FITS, 1-based) of a patch's first pixel.
    func origin(of patch: PatchId) -> (x: Int, y: Int) {
        let box = outerBox(of: patch)
        return (Int(box.xMin + 0.5), Int(box.yMin + 0.5))
    }
}
