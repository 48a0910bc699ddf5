import Foundation

/// What makes a measured source unreliable, as DC2013's flag columns said it (`flagPixEdge`, …):
/// each is a 0/1 column of Source, DeepSource and (the first three that apply) DeepForcedSource.
struct SourceFlags: OptionSet, Sendable, Equatable {
    let rawValue: Int

    /// The footprint — the box the PSF flux is fitted over — is not wholly on good pixels: it runs
    /// off the frame, or (a coadd) over pixels no input covers, at the survey's edge.
    static let pixEdge = SourceFlags(rawValue: 1)
    /// A pixel of the central 3 × 3 is at or above the image's saturation level.
    static let saturatedCenter = SourceFlags(rawValue: 2)
    /// Another detection peaks within the footprint: the fluxes hold some of its light.
    static let blended = SourceFlags(rawValue: 4)
    /// The centroid did not converge or wandered off its peak: the position is the peak pixel's.
    static let badCentroid = SourceFlags(rawValue: 8)
    /// The PSF flux or its σ is not finite, or its fit had under half its box's pixels (a forced
    /// measurement's flux may be negative: that is a measurement, not a failure).
    static let badPsfFlux = SourceFlags(rawValue: 16)

    /// The flags in the catalog's column order, with their column names.
    static let columns: [(name: String, flag: SourceFlags)] = [
        ("flagPixEdge", .pixEdge), ("flagPixSaturCen", .saturatedCenter), ("flagBlended", .blended),
        ("flagBadCentroid", .badCentroid), ("flagBadPsfFlux", .badPsfFlux),
    ]

    /// The CSV fields of `names` (a subset of `columns`' names, in their order), 0 or 1 each.
    func fields(_ names: [String]) -> String {
        Self.columns.filter { names.contains($0.name) }.map { contains($0.flag) ? "1" : "0" }.joined(separator: ",")
    }
}

/// The flagging stage: each measured source's flags from where it lies, what lies near it, and
/// what its pixels are.
struct SourceFlagging {
    /// The image measured.
    var width: Int
    var height: Int
    /// Half-width of a source's footprint, pixels: the PSF fit's box (`Photometer.footprintRadius`).
    var radius: Int
    /// Whether a pixel holds data (a coadd's pixels that no input covers do not); nil: all do.
    var valid: ((Int) -> Bool)?
    /// The pixel value at and above which a pixel is saturated; nil when the image does not say.
    var saturation: Float?

    /// The flags of a source measured at `m`, among the detections `neighbours` (nil: a forced
    /// measurement, which has no detection of its own, is never called blended).
    func flags(_ m: Measurement, image: Image, neighbours: DetectionGrid?) -> SourceFlags {
        var flags = m.flags
        let (cx, cy) = (Int(m.x.rounded()), Int(m.y.rounded()))
        let xs = (cx - radius)...(cx + radius), ys = (cy - radius)...(cy + radius)
        var good = 0
        for y in ys where y >= 0 && y < height {
            for x in xs where x >= 0 && x < width && (valid?(y * width + x) ?? true) { good += 1 }
        }
        let box = xs.count * ys.count
        if good < box { flags.insert(.pixEdge) }
        if 2 * good < box || !m.psfFlux.isFinite || !m.psfFluxSigma.isFinite { flags.insert(.badPsfFlux) }
        if let saturation, saturated(around: (cx, cy), image: image, level: saturation) { flags.insert(.saturatedCenter) }
        if let neighbours, neighbours.count(inBoxOfHalfWidth: radius, around: (cx, cy)) > 1 { flags.insert(.blended) }
        return flags
    }

    func saturated(around c: (x: Int, y: Int), image: Image, level: Float) -> Bool {
        for y in max(0, c.y - 1)...min(height - 1, c.y + 1) where c.x >= 0 && c.x < width {
            for x in max(0, c.x - 1)...min(width - 1, c.x + 1) where image[x, y] >= level { return true }
        }
        return false
    }

    /// The classification stage of processCcd and coadd: the measured sources with their flags and
    /// their extendedness (`Extendedness`), `noise` the background noise where each is.
    static func classified(_ measured: [Measurement], photometer: Photometer, detections: [Detection], valid: ((Int) -> Bool)? = nil,
                           saturation: Float?, extendedness: ExtendednessConfig, noise: (Measurement) -> Double) -> [Measurement] {
        let flagging = SourceFlagging(photometer: photometer, valid: valid, saturation: saturation)
        return Extendedness(config: extendedness)
            .classified(flagging.flagged(measured, image: photometer.image, detections: detections), photometer: photometer, noise: noise)
    }

    /// The sources with their flags.
    func flagged(_ measured: [Measurement], image: Image, detections: [Detection]) -> [Measurement] {
        let grid = DetectionGrid(detections, cell: max(1, radius))
        return measured.map { m in
            var m = m
            m.flags = flags(m, image: image, neighbours: grid)
            return m
        }
    }
}

extension SourceFlagging {
    /// Flagging on the photometer's image, the footprint its PSF fit's box.
    init(photometer: Photometer, valid: ((Int) -> Bool)? = nil, saturation: Float?) {
        (width, height, radius) = (photometer.image.width, photometer.image.height, photometer.footprintRadius)
        (self.valid, self.saturation) = (valid, saturation)
    }
}

/// Detection peaks bucketed in square cells, to count those near a position without a double loop.
struct DetectionGrid {
    let cell: Int
    private var cells: [Int64: [(x: Int, y: Int)]] = [:]

    init(_ detections: [Detection], cell: Int) {
        self.cell = cell
        for d in detections { cells[key(d.peakX / cell, d.peakY / cell), default: []].append((d.peakX, d.peakY)) }
    }

    private func key(_ i: Int, _ j: Int) -> Int64 { Int64(i) << 32 | Int64(UInt32(bitPattern: Int32(truncatingIfNeeded: j))) }

    /// The peaks within the box of half-width `r` around `c` (both ends included).
    func count(inBoxOfHalfWidth r: Int, around c: (x: Int, y: Int)) -> Int {
        var n = 0
        let floorDiv = { (a: Int) -> Int in a >= 0 ? a / cell : -((-a + cell - 1) / cell) }
        for j in floorDiv(c.y - r)...floorDiv(c.y + r) {
            for i in floorDiv(c.x - r)...floorDiv(c.x + r) {
                n += cells[key(i, j)]?.count { abs($0.x - c.x) <= r && abs($0.y - c.y) <= r } ?? 0
            }
        }
        return n
    }
}

