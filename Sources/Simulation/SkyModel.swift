import Basics
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

/// How many stars and galaxies the sky holds, how faint and how large (`pipe simulate --density`).
public enum SkyDensity: String, CaseIterable, Sendable {
    /// The original test sky: 4,000 stars (r 14–22.5) and 8,000 galaxies (r 16–23) per deg², galaxies
    /// of 0.4–1.6″ whatever their magnitude. About 3 DeepSources per arcmin² per filter: small and
    /// fast, what the demo and the tests' figures are made of.
    case sparse
    /// Stripe 82's number counts down past the deep coadd's limit, so that crowding and blending
    /// occur: galaxies with dN/dm = 10^4.5 per deg² per mag at r = 23, rising as 10^(0.4 m) to r = 25.5
    /// (about 95 per arcmin² in all, 38 brighter than r = 24.5, what DC2013's 80-epoch coadd reached:
    /// about 40 DeepSources per arcmin² per filter in the seed's box); stars as at Stripe 82's galactic
    /// latitude (b ≈ −60°), 5,000 per deg² to r = 24 with a flattening halo slope. Galaxies shrink with
    /// magnitude (median half-light radius 2″ at r = 17.7 as SDSS's spectroscopic sample, 1.1″ at r = 20,
    /// 0.4″ at r = 24 as HST's faint galaxies, 0.15 dex of scatter), and none is of lower mean surface
    /// brightness within its half-light radius than 26.5 mag/arcsec² in r.
    case stripe82

    /// The counts and sizes of the density.
    public var counts: SkyCounts {
        switch self {
        case .sparse:
            SkyCounts(starDensity: 4000, starBright: 14, starFaint: 22.5, starSlope: 0.25,
                      galaxyDensity: 8000, galaxyBright: 16, galaxyFaint: 23, galaxySlope: 0.4, sizes: nil)
        case .stripe82:
            // ∫ 10^4.5 · 10^(0.4 (m − 23)) dm from 14 to 25.5 = 10^4.5 / (0.4 ln 10) · (10^1 − 10^−3.6).
            SkyCounts(starDensity: 5000, starBright: 14, starFaint: 24, starSlope: 0.2,
                      galaxyDensity: pow(10, 4.5) / (0.4 * log(10)) * (10 - pow(10, -3.6)), galaxyBright: 14, galaxyFaint: 25.5,
                      galaxySlope: 0.4, sizes: GalaxySizes())
        }
    }
}

/// Galaxies' sizes that shrink with magnitude, under a surface-brightness limit.
public struct GalaxySizes: Sendable, Equatable {
    /// log₁₀ of the median half-light radius (arcsec) at r = 20.
    public var logRadiusAt20 = 0.05
    /// Change of log₁₀ of the half-light radius per magnitude fainter.
    public var logRadiusPerMagnitude = -0.11
    /// Scatter of log₁₀ of the half-light radius.
    public var logRadiusScatter = 0.15
    /// The faintest mean surface brightness within the half-light radius, mag/arcsec² in r: a larger
    /// galaxy is shrunk to it (fainter ones are not in a survey's counts).
    public var surfaceBrightnessLimit = 26.5

    public init() {}

    /// The Gaussian σ (arcsec) of a galaxy of magnitude `r`, one Gaussian deviate drawn.
    func sigma(r: Double, _ random: inout SeededRandom) -> Double {
        let drawn = pow(10, logRadiusAt20 + logRadiusPerMagnitude * (r - 20) + logRadiusScatter * random.gaussian())
        // Mean surface brightness within r_e: r + 2.5 log₁₀(2π r_e²) (half the flux over π r_e²).
        let largest = (pow(10, 0.4 * (surfaceBrightnessLimit - r)) / (2 * .pi)).squareRoot()
        // A 2-D Gaussian's half-light radius is σ √(2 ln 2) = 1.1774 σ.
        return min(drawn, largest) / (2 * log(2.0)).squareRoot()
    }
}

/// Stars and galaxies per square degree, with counts rising as 10^(slope·m) between the bright and
/// faint r magnitudes; `sizes` nil draws galaxies of 0.4–1.6″ whatever their magnitude.
public struct SkyCounts: Sendable, Equatable {
    public var starDensity: Double
    public var starBright: Double
    public var starFaint: Double
    public var starSlope: Double
    public var galaxyDensity: Double
    public var galaxyBright: Double
    public var galaxyFaint: Double
    public var galaxySlope: Double
    public var sizes: GalaxySizes?
}

/// Isolated bright stars added to a sky's own (`Simulation.Options.brightStars`): a test sky whose
/// bright end is rich enough to test what only bright stars show, such as the coadd's flux pulls above
/// S/N 300, without more frames. Each cell gets its area's share of `density`, rounded, not a Poisson
/// draw, so that a frame holds about the number chosen; each star is at least `isolation` arcsec from
/// every other object and from its cell's edges (whose neighbours' objects a cell does not know), so
/// that none is a blend. They are drawn from their own stream after the cell's other objects, which
/// stay what they were.
public struct BrightStars: Sendable, Equatable {
    /// Stars per deg².
    public var density: Double
    /// Their r magnitudes, drawn uniformly; colours as the sky's other stars'.
    public var r: ClosedRange<Double>
    /// No other object nearer, arcsec.
    public var isolation: Double

    public init(density: Double, r: ClosedRange<Double>, isolation: Double) {
        self.density = density
        self.r = r
        self.isolation = isolation
    }

    /// The stars of one cell whose other objects are `others`, ids from `firstId` on: RA in
    /// [i, i+1) × `size`, Dec + 90 in [j, j+1) × `size`. A place too near another object is drawn
    /// again, up to 100 times a star.
    func stars(cell i: Int, _ j: Int, size: Double, others: [SkyObject], seed: UInt64, firstId: Int64) -> [SkyObject] {
        var random = SeededRandom(seed: seed, stream: [0xB5A, i, j])
        let decCenter = (Double(j) + 0.5) * size - 90, cosDec = cos(decCenter * .pi / 180)
        let count = Int((density * size * size * cosDec).rounded())
        let margin = isolation / 3600
        var placed = others, out: [SkyObject] = []
        for _ in 0..<(100 * count) where out.count < count {
            let ra = Double(i) * size + margin / cosDec + random.uniform() * (size - 2 * margin / cosDec)
            let dec = Double(j) * size - 90 + margin + random.uniform() * (size - 2 * margin)
            let starR = random.uniform(r.lowerBound, r.upperBound), gr = random.uniform(0.2, 1.4)
            let crowded = placed.contains { o in
                let dRA = (o.ra - ra) * cosDec, dDec = o.dec - dec
                return dRA * dRA + dDec * dDec < margin * margin
            }
            guard !crowded else { continue }
            let star = SkyObject(id: firstId + Int64(out.count), ra: ra, dec: dec, isStar: true,
                                 magnitudes: SkyModel.magnitudes(r: starR, gr: gr, isStar: true), size: 0)
            out.append(star)
            placed.append(star)
        }
        return out
    }
}

/// A seeded sky, made cell by cell (0.1° × 0.1°) so that any part of it is the same
/// whatever region or number of frames is simulated.
public struct SkyModel: Sendable {
    public let seed: UInt64
    public let density: SkyDensity
    /// Isolated bright stars added to every cell; nil: the sky's own objects only.
    public let brightStars: BrightStars?
    let counts: SkyCounts
    public static let cellSize = 0.1
    /// Cells around a turn of RA: a column beyond them is the same column taken modulo a turn.
    public static let cellsPerTurn = Int((360 / cellSize).rounded())

    public init(seed: UInt64, density: SkyDensity = .sparse, brightStars: BrightStars? = nil) {
        self.seed = seed
        self.density = density
        self.brightStars = brightStars
        counts = density.counts
    }

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
        let size = Self.cellSize, c = counts
        let decCenter = (Double(j) + 0.5) * size - 90
        let area = size * size * cos(decCenter * .pi / 180)
        let stars = random.poisson(c.starDensity * area)
        let galaxies = random.poisson(c.galaxyDensity * area)
        var out: [SkyObject] = []
        out.reserveCapacity(stars + galaxies)
        for n in 0..<(stars + galaxies) {
            let isStar = n < stars
            let ra = (Double(i) + random.uniform()) * size
            let dec = (Double(j) + random.uniform()) * size - 90
            let r = isStar ? Self.magnitude(&random, bright: c.starBright, faint: c.starFaint, slope: c.starSlope)
                           : Self.magnitude(&random, bright: c.galaxyBright, faint: c.galaxyFaint, slope: c.galaxySlope)
            let gr = isStar ? random.uniform(0.2, 1.4) : random.uniform(0.4, 1.0)
            let magnitudes = Self.magnitudes(r: r, gr: gr, isStar: isStar)
            let id = Int64(j) << 40 | Int64(i & 0xFFFFF) << 16 | Int64(n)
            // Stars draw no size: the sparse sky's draws stay those it was made with.
            let galaxySize = isStar ? 0 : c.sizes.map { $0.sigma(r: r, &random) } ?? random.uniform(0.4, 1.6)
            out.append(SkyObject(id: id, ra: ra, dec: dec, isStar: isStar, magnitudes: magnitudes, size: galaxySize))
        }
        if let brightStars {
            let firstId = Int64(j) << 40 | Int64(i & 0xFFFFF) << 16 | Int64(out.count)
            out += brightStars.stars(cell: i, j, size: size, others: out, seed: seed, firstId: firstId)
        }
        return out
    }

    /// u, g, r, i, z of an object of magnitude `r` and colour g − r `gr`.
    static func magnitudes(r: Double, gr: Double, isStar: Bool) -> [Double] {
        let g = r + gr, i = r - (isStar ? 0.4 * gr : 0.4)
        return [g + (isStar ? 1.0 + 0.9 * gr : 1.4), g, r, i, i - (isStar ? 0.2 * gr : 0.3)]
    }

    /// A magnitude from counts rising as 10^(slope·m) between `bright` and `faint`.
    static func magnitude(_ random: inout SeededRandom, bright: Double, faint: Double, slope: Double) -> Double {
        let low = pow(10, slope * bright), high = pow(10, slope * faint)
        return log10(low + random.uniform() * (high - low)) / slope
    }
}
