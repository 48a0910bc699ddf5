import Basics
import Foundation
import Sky

/// Where a Stripe 82-like drift-scan survey puts its frames inside a region: strips of
/// camcols across Dec (the two interleaved strips of Stripe 82 alternate between runs),
/// fields along RA, and repeated epochs (new runs) once the region is covered.
public struct SurveyLayout: Sendable {
    /// More frames asked for than the region's frame names can hold.
    public struct Overflow: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public struct Pointing: Sendable {
        public var run: Int
        public var camcol: Int
        public var field: Int
        public var center: (ra: Double, dec: Double)
    }

    public let region: Region
    public let width: Int
    public let height: Int
    /// Degrees per pixel.
    public let scale: Double
    /// Dec centres of the strips, each strip as wide as a frame, overlapping by 10 %.
    let strips: Tiles
    /// RA centres of the fields; consecutive fields overlap by 128 of SDSS's 1489 rows.
    let fields: Tiles

    /// The first field of a strip (Stripe 82's frames start at field 11).
    static let firstField = 11
    /// Fields along RA that a frame name holds: four digits (`FrameName`), from `firstField`.
    static let fieldLimit = 9999 - firstField + 1
    /// Strips across Dec of one block of runs; a block is `runsPerBlock` run numbers.
    static let stripsPerBlock = 12
    static let runsPerBlock = 100_000
    /// The first runs of the two interleaved strips (Stripe 82's runs 94 and 125).
    static let firstRuns = [94, 125]
    /// What an epoch adds to a run number.
    static let runsPerEpoch = 2000
    /// The largest run number: six digits (`FrameName`).
    static let runLimit = 999_999

    public init(region: Region, width: Int, height: Int, scale: Double) {
        self.region = region
        self.width = width
        self.height = height
        self.scale = scale
        strips = Tiles(from: region.decMin, to: region.decMax, tile: Double(width) * scale, step: Double(width) * scale * 0.9)
        let cosDec = cos((region.decMin + region.decMax) / 2 * .pi / 180)
        let tile = Double(height) * scale / cosDec
        // A region through RA 0 (RAMIN above RAMAX) is laid from RAMIN to RAMAX + 360.
        let raMax = region.raMin > region.raMax ? region.raMax + 360 : region.raMax
        fields = Tiles(from: region.raMin, to: raMax, tile: tile, step: tile * 1361 / 1489)
    }

    /// Tiles of size `tile` every `step`, all inside [low, high] and centred there; one if none fits.
    /// Each centre is computed when asked for: a fine pixel scale over a wide region gives millions.
    struct Tiles: Sendable {
        let first: Double
        let step: Double
        let count: Int

        init(from low: Double, to high: Double, tile: Double, step: Double) {
            // Counted as a Double first: a tile of a few pixels across a region of degrees is many;
            // at most 2³¹ − 1, so that strips × fields is an Int.
            let fitting = ((high - low - tile) / step).rounded(.down) + 1
            count = fitting.isFinite && fitting > 1 ? Int(min(fitting, Double(Int32.max))) : 1
            self.step = step
            let used = tile + Double(count - 1) * step
            first = low + (high - low - used) / 2 + tile / 2
        }

        subscript(index: Int) -> Double { first + Double(index) * step }
    }

    /// The pointings this layout can name, each with its own name: every field and strip with a
    /// number a frame name holds, in as many epochs as run numbers hold (with one block of strips,
    /// up to the six digits; with more, below the next block); nil when the region has more fields
    /// or strips than names hold.
    public var capacity: Int? {
        let blocks = (strips.count + Self.stripsPerBlock - 1) / Self.stripsPerBlock
        let firstRun = Self.firstRuns.max()!, lastBase = firstRun + Self.runsPerBlock * (blocks - 1)
        guard fields.count <= Self.fieldLimit, lastBase <= Self.runLimit else { return nil }
        let lastRun = blocks == 1 ? Self.runLimit : Self.runsPerBlock - 1
        let epochs = (lastRun - firstRun) / Self.runsPerEpoch + 1
        return fields.count * strips.count * epochs
    }

    /// The `n`-th pointing: epochs, then fields along RA, then strips across Dec.
    public func pointing(_ n: Int) -> Pointing {
        let perEpoch = strips.count * fields.count
        let epoch = n / perEpoch, inEpoch = n % perEpoch
        let fieldIndex = inEpoch / strips.count, strip = inEpoch % strips.count
        let run = Self.firstRuns[strip % 2] + Self.runsPerEpoch * epoch + Self.runsPerBlock * (strip / Self.stripsPerBlock)
        return Pointing(run: run, camcol: (strip / 2) % 6 + 1, field: Self.firstField + fieldIndex,
                        center: (RightAscension.turned(fields[fieldIndex]), strips[strip]))
    }
}
