import Basics
import Foundation

/// A flux's error split in two: the source's own noise, and the error common to its image.
///
/// Every calibrated flux σ holds its image's zero point's σ (F·σ_common, `addingRelativeFluxError`):
/// an error that moves every flux of the image together. It cannot scatter the pulls of the sources
/// of one image, and above S/N 100, where it is much of σ, a bin holds the stars of a few images:
/// their pulls (measured − true)/σ fall below 1 for want of images, not because σ is wrong, and
/// σ_common caps S/N near 1/σ_common (about 320 at the reference catalog's 0.31 %), so that no star
/// reaches the bin above 300. Each part is therefore tested on its own:
///
/// - The source's own noise: σ_own² = σ² − (F·σ_common)², σ_common as the outputs state it
///   (`Measurement.commonSigma`). Pulls are binned by the true flux over σ_own and are
///   (measured − true·(1 + ô))/σ_own, ô the image's common offset: the inverse-variance weighted mean of
///   its bright stars' measured/true − 1 (S/N_own ≥ `brightSignalToNoise`, clipped from their median
///   at `clip` of their σ_own). A weighted mean, not a median, so that the offset's own noise is
///   known exactly, s² = 1/Σw: a star in the mean has (r − ô) of variance σ_own² − (true·s)², one
///   outside it σ_own² + (true·s)², and the pull's denominator says so (a median's noise, 1.25 s,
///   would have added 10–20 % to the brightest stars' pulls).
/// - A coadd's image is each part of it that one set of calexps covers (`Measurement.coverage`): each
///   input's zero point has its own error, so where they overlap in part the offset changes across
///   the patch (with one per patch, the demo's coadd's own pulls above S/N 300 were 1.9–2.2 in g, r, z).
/// - The common part: each image's ô over √(σ_common² + s²) (`ImageOffset.pull`). There is one
///   value per image, so its spread is known only to 1/√(2·images) — fewer where images share
///   their calibration's errors (the epochs of one pointing, calibrated on the same reference stars).
/// - Positions alike where the outputs state the WCS fit's share of raVar and declVar (processCcd's,
///   `positionPulls`): the WCS's error is a field, a shift and a linear part, so the image's common
///   error is an affine function of position fitted to its bright stars, not one offset. A coadd's
///   is its inputs' fits' weighted at each source, which its outputs do not state apart: its
///   positions are not split.
extension TruthComparison {
    /// Stars of at least this own S/N set their image's common offset.
    public static let brightSignalToNoise = 50.0
    /// An image with fewer such stars has no offset, and its stars no own pulls.
    public static let minimumBrightStars = 5
    /// A star further than this many of its own σ from its image's offset is left out of it (a blend).
    static let clip = 4.0

    /// One image's common offset and what its outputs state of it.
    public struct ImageOffset: Sendable {
        public var image: String
        public var filter: Filter
        /// The weighted mean of its bright stars' measured/true − 1.
        public var offset: Double
        /// That mean's σ from the stars' own noise, 1/√Σw.
        public var noise: Double
        /// The relative σ the outputs state for the error common to its fluxes (`Measurement.commonSigma`).
        public var stated: Double
        /// The stars in the mean.
        public var stars: Int

        /// The offset over what it may be, √(stated² + noise²).
        public var pull: Double { offset / (stated * stated + noise * noise).squareRoot() }

        public var line: String {
            String(format: "%@ %@: %3d stars, offset %+.3f %% ± %.3f %% (noise), stated σ %.3f %%, pull %+.2f",
                   filter.rawValue, image, stars, 100 * offset, 100 * noise, 100 * stated, pull)
        }
    }

    /// The own-noise pulls (fluxes, and positions where `positionPulls` has them) by filter,
    /// quantity and bin of the flux's own S/N, and each image's common flux offset.
    public func ownNoise(_ measurements: [Measurement], radiusArcsec: Double = 1) -> (pulls: [Pulls], images: [ImageOffset]) {
        let byImage = Dictionary(grouping: matched(measurements, radiusArcsec: radiusArcsec).filter { $0.measurement.ownFluxSigma > 0 }) { match in
            match.measurement.coverage.isEmpty ? match.measurement.image : match.measurement.image + " of " + match.measurement.coverage
        }
        var values: [(filter: Filter, quantity: PullQuantity, bin: Range<Double>, value: Double)] = []
        var images: [ImageOffset] = []
        for (image, stars) in byImage.sorted(by: { $0.key < $1.key }) {
            guard let common = Self.commonOffset(stars) else { continue }
            let first = stars[0].measurement
            images.append(ImageOffset(image: image, filter: stars[0].filter, offset: common.offset, noise: common.noise,
                                      stated: first.commonSigma, stars: common.kept.count))
            for (k, star) in stars.enumerated() {
                let own = star.measurement.ownFluxSigma, shared = star.truth * common.noise
                guard let bin = Self.signalToNoiseBins.first(where: { $0.contains(star.truth / own) }) else { continue }
                let variance = own * own + (common.kept.contains(k) ? -1 : 1) * shared * shared
                values.append((star.filter, .flux, bin, (star.measurement.flux - star.truth * (1 + common.offset)) / variance.squareRoot()))
            }
            for quantity in [PullQuantity.ra, .decl] {
                for (k, pull) in Self.positionPulls(stars, quantity) {
                    guard let bin = Self.signalToNoiseBins.first(where: { $0.contains(stars[k].truth / stars[k].measurement.ownFluxSigma) }) else { continue }
                    values.append((stars[k].filter, quantity, bin, pull))
                }
            }
        }
        return (Self.grouped(values), images)
    }

    /// The inverse-variance weighted mean of the bright stars' measured/true − 1, each of σ
    /// σ_own/true, from their median: those within `clip` of their σ of it, then of the mean, kept;
    /// its σ 1/√Σw and the indexes of the stars in it. Nil with fewer than `minimumBrightStars`.
    static func commonOffset(_ stars: [Match]) -> (offset: Double, noise: Double, kept: Set<Int>)? {
        let bright = stars.indices.filter { stars[$0].truth / stars[$0].measurement.ownFluxSigma >= brightSignalToNoise }
        guard bright.count >= minimumBrightStars else { return nil }
        func sigma(_ k: Int) -> Double { stars[k].measurement.ownFluxSigma / stars[k].truth }
        func mean(_ kept: [Int]) -> (offset: Double, noise: Double) {
            let weights = kept.map { 1 / (sigma($0) * sigma($0)) }, sum = weights.reduce(0, +)
            return (zip(kept, weights).map { stars[$0].offset * $1 }.reduce(0, +) / sum, 1 / sum.squareRoot())
        }
        var center = Pulls.median(bright.map { stars[$0].offset }), kept = bright
        for _ in 0..<2 {
            let next = bright.filter { abs(stars[$0].offset - center) <= clip * sigma($0) }
            guard next.count >= minimumBrightStars else { break }
            kept = next
            center = mean(kept).offset
        }
        let fit = mean(kept)
        return (fit.offset, fit.noise, Set(kept))
    }

    /// The own-noise pulls of one image's positions on one axis, by star index: where the outputs
    /// state the WCS fit's part of the variance (`Measurement.commonRaVar`), the residual from the true
    /// position less the image's common error, over √(var − var_WCS). That error is the fit's, a shift
    /// and a linear part: the affine function of the position fitted to the bright stars' residuals
    /// (weights 1/var_own, clipped at `clip` σ once), of covariance C = (XᵀWX)⁻¹, so that a star in the
    /// fit has a residual of variance var_own − xᵀCx and one outside it var_own + xᵀCx.
    static func positionPulls(_ stars: [Match], _ quantity: PullQuantity) -> [(Int, Double)] {
        let ra = quantity == .ra
        let own = stars.map { s in
            let m = s.measurement
            return ra ? m.raVar - m.commonRaVar : m.declVar - m.commonDeclVar
        }
        let usable = stars.indices.filter { own[$0] > 0 }
        guard let first = usable.first else { return [] }
        // The residual on the axis and the affine terms' offsets, arcsec from the first star.
        let origin = stars[first].measurement, cosine = cos(origin.dec * .pi / 180)
        let residual = stars.map { ra ? $0.measurement.ra - $0.star.ra : $0.measurement.dec - $0.star.dec }
        let u = stars.map { ($0.measurement.ra - origin.ra) * cosine * 3600 }, w = stars.map { ($0.measurement.dec - origin.dec) * 3600 }
        var kept = usable.filter { stars[$0].truth / stars[$0].measurement.ownFluxSigma >= brightSignalToNoise }
        guard kept.count >= minimumBrightStars else { return [] }
        func fit(_ kept: [Int]) -> (c: [Double], beta: [Double]) {
            let c = AstrometricFit.inverseNormalMatrix(kept.map { u[$0] }, kept.map { w[$0] }, weights: kept.map { 1 / own[$0] })
            var b = [0.0, 0, 0]
            for k in kept {
                let weighted: Double = residual[k] / own[k]
                b[0] += weighted
                b[1] += u[k] * weighted
                b[2] += w[k] * weighted
            }
            let beta: [Double] = (0..<3).map { (i: Int) -> Double in c[i * 3] * b[0] + c[i * 3 + 1] * b[1] + c[i * 3 + 2] * b[2] }
            return (c, beta)
        }
        func model(_ f: (c: [Double], beta: [Double]), _ k: Int) -> Double { f.beta[0] + f.beta[1] * u[k] + f.beta[2] * w[k] }
        var result = fit(kept)
        let clipped = kept.filter { abs(residual[$0] - model(result, $0)) <= clip * own[$0].squareRoot() }
        if clipped.count >= minimumBrightStars, clipped.count < kept.count { kept = clipped; result = fit(kept) }
        let inFit = Set(kept)
        return usable.map { k in
            let shared = AstrometricFit.variance(result.c, dx: u[k], dy: w[k])
            return (k, (residual[k] - model(result, k)) / (own[k] + (inFit.contains(k) ? -1 : 1) * shared).squareRoot())
        }
    }
}
