import Basics
import Foundation

/// How `refcat.csv` departs from the truth: an SDSS-like reference catalog, so that processCcd's
/// zero point is fitted on magnitudes with errors of their own, and checking photometry against
/// `truth-objects.csv` is not circular.
///
/// Each magnitude is drawn as m + σ·N(0, 1), its error σ = √(floor² + (0.1 · 10^(0.4 (m − m₁₀)))²):
/// a calibration floor at the bright end and a sky-limited noise that reaches 0.1 mag (S/N ≈ 10) at
/// m₁₀ (SDSS's single-epoch errors are about 0.02 mag to r ≈ 19, 0.05 at r = 21 and 0.1 at r ≈ 22;
/// u and z are 1–2 mag shallower). A magnitude whose noise exceeds `unmeasuredError` is written as
/// 99 ± 99, as SDSS writes one not measured. The catalog keeps the objects brighter than `limit` in
/// its measured r, loses a random `missingFraction` of them (bad fields, blends a real survey
/// dropped), and scatters every position by `positionError` on each axis.
public struct ReferenceCatalogErrors: Sendable, Equatable {
    /// Calibration error of every magnitude, mag.
    public var floor = 0.02
    /// Magnitudes, u g r i z, where the noise term reaches 0.1 mag.
    public var tenSigmaMagnitudes = [21.0, 22.2, 21.9, 21.2, 19.9]
    /// The faintest measured r magnitude kept (the error there is about 0.1 mag).
    public var limit = 22.0
    /// Noise above which a magnitude is "not measured" (99 ± 99), mag.
    public var unmeasuredError = 1.0
    /// Fraction of the objects above the limit that the catalog misses.
    public var missingFraction = 0.03
    /// Position error on each axis, arcsec.
    public var positionError = 0.05

    public init() {}

    /// The magnitude error of an object of true magnitude `m` in filter `filterId`.
    public func error(_ m: Double, filterId: Int) -> Double {
        let noise = 0.1 * pow(10, 0.4 * (m - tenSigmaMagnitudes[filterId]))
        return (floor * floor + noise * noise).squareRoot()
    }
}

extension Simulation {
    /// Writes `truth-objects.csv`, every object of the cells the frames touch exactly as simulated
    /// (`size` the galaxy's Gaussian σ in arcsec, 0 for a star), and `refcat.csv`, the reference
    /// catalog `ReferenceCatalogErrors` makes of them; the reference objects' count.
    ///
    /// A cell's errors come from a stream keyed by the seed and the cell, and every object draws its
    /// deviates whether or not it is kept: any part of the catalog is the same whatever else is simulated.
    func writeReferenceCatalog(cells: Set<[Int]>) throws -> Int {
        var truth = ["id,ra,decl,isStar,u,g,r,i,z,size"]
        var reference = ["id,ra,decl,isStar,u,g,r,i,z,uErr,gErr,rErr,iErr,zErr"]
        for cell in cells.sorted(by: { ($0[1], $0[0]) < ($1[1], $1[0]) }) {
            var random = SeededRandom(seed: options.seed, stream: [0x4EF, cell[0], cell[1]])
            for object in sky.cell(i: cell[0], j: cell[1]) {
                truth.append(Self.row(object.id, object.ra, object.dec, object.isStar, object.magnitudes)
                             + (object.isStar ? ",0" : String(format: ",%.4f", object.size)))
                if let row = referenceRow(object, &random) { reference.append(row) }
            }
        }
        let directory = options.directory
        try AtomicFile.write(Data((truth.joined(separator: "\n") + "\n").utf8), to: directory.appendingPathComponent("truth-objects.csv"))
        try AtomicFile.write(Data((reference.joined(separator: "\n") + "\n").utf8), to: directory.appendingPathComponent("refcat.csv"))
        return reference.count - 1
    }

    /// The reference catalog's line for an object, nil when it is fainter than the limit or missed.
    func referenceRow(_ object: SkyObject, _ random: inout SeededRandom) -> String? {
        let model = options.reference
        let missed = random.uniform() < model.missingFraction
        var magnitudes: [Double] = [], errors: [Double] = []
        for (filterId, m) in object.magnitudes.enumerated() {
            let sigma = model.error(m, filterId: filterId), deviate = random.gaussian()
            let measured = sigma <= model.unmeasuredError
            magnitudes.append(measured ? m + sigma * deviate : 99)
            errors.append(measured ? sigma : 99)
        }
        let scale = model.positionError / 3600
        let dec = object.dec + scale * random.gaussian()
        let ra = RightAscension.turned(object.ra + scale * random.gaussian() / cos(object.dec * .pi / 180))
        guard !missed, magnitudes[2] < model.limit else { return nil }
        return Self.row(object.id, ra, dec, object.isStar, magnitudes) + "," + errors.map { String(format: "%.4f", $0) }.joined(separator: ",")
    }

    /// `id,ra,decl,isStar,u,g,r,i,z`.
    static func row(_ id: Int64, _ ra: Double, _ dec: Double, _ isStar: Bool, _ magnitudes: [Double]) -> String {
        "\(id),\(String(format: "%.8f,%.8f", ra, dec)),\(isStar ? 1 : 0)," + magnitudes.map { String(format: "%.4f", $0) }.joined(separator: ",")
    }
}
