import Foundation

/// A star or galaxy of the simulated sky.
public struct SkyObject: Sendable {
    public var id: Int64
    public var ra: Double
    public var dec: Double
    public var isStar: Bool
    /// AB-like magnitudes in u, g, r, i, z.
    public var magnitudes: [Double]
    /// Galaxies' intrinsic Gaussian size (sigma) in arcsec; 0 for stars.
    public var size: Double
}

/// A seeded sky, made cell by cell (0.1° × 0.1°) so that any part of it is the same
/// whatever region or number of frames is simulated.
public struct SkyModel: Sendable {
    public let seed: UInt64
    public static let cellSize = 0.1
    /// Cells around a turn of RA: a column beyond them is the same column taken modulo a turn.
    public static let cellsPerTurn = Int((360 / cellSize).rounded())
    /// Objects per square degree down to the faint limits below.
    public static let starDensity = 4000.0
    public static let galaxyDensity = 8000.0

    public init(seed: UInt64) { self.seed = seed }

    /// The objects of the cells that overlap the box; callers cut to what they need.
    public func objects(raMin: Double, raMax: Double, decMin: Double, decMax: Double) -> [SkyObject] {
        let size = Self.cellSize
        let iRange = Int((raMin / size).rounded(.down))...Int((raMax / size).rounded(.down))
        let jRange = Int(((decMin + 90) / size).rounded(.down))...Int(((decMax + 90) / size).rounded(.down))
        return jRange.flatMap { j in iRange.flatMap { i in cell(i: i, j: j) } }
    }

    /// Cell column `i` taken modulo a turn: the sky at RA 360 is the sky at RA 0, so a frame across
    /// RA 0 sees the same objects from either side, and every object's RA lies in [0, 360).
    public static func column(_ i: Int) -> Int { (i % cellsPerTurn + cellsPerTurn) % cellsPerTurn }

    /// The objects of cell (i, j): RA in [i, i+1) × size (i modulo a turn), Dec + 90 in [j, j+1) × size.
    public func cell(i: Int, j: Int) -> [SkyObject] {
        let i = Self.column(i)
        var random = SeededRandom(seed: seed, stream: [0x5C7, i, j])
        let size = Self.cellSize
        let decCenter = (Double(j) + 0.5) * size - 90
        let area = size * size * cos(decCenter * .pi / 180)
        let stars = random.poisson(Self.starDensity * area)
        let galaxies = random.poisson(Self.galaxyDensity * area)
        var out: [SkyObject] = []
        out.reserveCapacity(stars + galaxies)
        for n in 0..<(stars + galaxies) {
            let isStar = n < stars
            let ra = (Double(i) + random.uniform()) * size
            let dec = (Double(j) + random.uniform()) * size - 90
            let r = isStar ? Self.magnitude(&random, bright: 14, faint: 22.5, slope: 0.25)
                           : Self.magnitude(&random, bright: 16, faint: 23, slope: 0.4)
            let gr = isStar ? random.uniform(0.2, 1.4) : random.uniform(0.4, 1.0)
            let gMag = r + gr
            let uMag = gMag + (isStar ? 1.0 + 0.9 * gr : 1.4)
            let iMag = r - (isStar ? 0.4 * gr : 0.4)
            let zMag = iMag - (isStar ? 0.2 * gr : 0.3)
            let magnitudes = [uMag, gMag, r, iMag, zMag]
            let id = Int64(j) << 40 | Int64(i & 0xFFFFF) << 16 | Int64(n)
            out.append(SkyObject(id: id, ra: ra, dec: dec, isStar: isStar, magnitudes: magnitudes,
                                 size: isStar ? 0 : random.uniform(0.4, 1.6)))
        }
        return out
    }

    /// A magnitude from counts rising as 10^(slope·m) between `bright` and `faint`.
    static func magnitude(_ random: inout SeededRandom, bright: Double, faint: Double, slope: Double) -> Double {
        let low = pow(10, slope * bright), high = pow(10, slope * faint)
        return log10(low + random.uniform() * (high - low)) / slope
    }
}
