import Foundation

/// The tunables of the Moffat fit (`PSFModelFit`).
public struct PSFModelFitConfig: Sendable, Equatable {
    /// The β the search starts from (an atmosphere's is 2.5 to 4.5; Trujillo et al. 2001).
    public var initialBeta = 3.0
    /// The first grid's FWHM step, as a fraction of the starting FWHM.
    public var fwhmStep = 0.05
    /// The first grid's β step.
    public var betaStep = 0.5
    /// Steps each side of the centre on the first grid.
    public var firstSpan = 8
    /// Steps each side of the centre on each finer grid.
    public var refinedSpan = 4
    /// Grids searched, each around the previous best with steps divided by `refinement`.
    public var grids = 3
    /// How much finer each grid is than the one before.
    public var refinement = 4.0
    /// The smallest FWHM tried, pixels.
    public var minimumFWHM = 0.5
    /// The βs tried (below 1 a Moffat has no finite flux).
    public var betas = 1.5...12.0
    /// Stars whose χ² under the first fit is above this many times the median are left out of the second.
    public var outlierFactor = 3.0
    /// The fewest stars a fit is made from.
    public var minimumStars = 3

    public init() {}
}

/// The PSF model stage's fit: the Moffat that best fits the stars.
///
/// χ² over the pixels within `radius` of each centroid, each star with its own best flux (weighted
/// linear least squares, so χ² has a closed form), each pixel weighed by the background's variance
/// plus the source's own (its value over the gain), is minimised on a grid in (FWHM, β) refined
/// around its best point (a grid, not a gradient: χ² is cheap and the grid cannot diverge). Stars
/// the best model fits worse than `outlierFactor` times the median (a galaxy, a blend) are left
/// out and the fit is made again, as LSST's `PsfDeterminer` rejects its outlier candidates.
struct PSFModelFit {
    /// One pixel of a star's cutout: squared distance to the centroid, value and weight.
    typealias Pixel = (r2: Double, value: Double, weight: Double)

    var config = PSFModelFitConfig()

    /// The fitted model, or nil when fewer than `minimumStars` stars lie `radius` inside the image.
    ///
    /// - Parameters:
    ///   - stars: Centroids of bright point sources, 0-based pixels.
    ///   - fwhm: A first estimate of the FWHM, pixels (from second moments).
    ///   - noise: Background noise of a pixel; `gain` adds each pixel's own.
    func fit(_ image: Image, stars: [(x: Double, y: Double)], fwhm: Double, radius: Double,
             noise: Double, gain: Double) -> MoffatPSF? {
        let cutouts = stars.compactMap { Self.cutout(image, at: $0, radius: radius, noise: noise, gain: gain) }
        guard cutouts.count >= config.minimumStars else { return nil }
        let first = search(cutouts, from: (fwhm, config.initialBeta))
        let costs = cutouts.map { Self.chiSquare(first, $0) }
        let limit = config.outlierFactor * RobustStatistics.median(costs.map { Float($0) })
        let kept = zip(cutouts, costs).filter { $0.1 <= limit }.map(\.0)
        guard kept.count >= config.minimumStars, kept.count < cutouts.count else { return first }
        return search(kept, from: (first.fwhm, first.beta))
    }

    /// The pixels within `radius` of a centroid, nil when its box leaves the image.
    static func cutout(_ image: Image, at c: (x: Double, y: Double), radius: Double, noise: Double, gain: Double) -> [Pixel]? {
        let r = Int(radius.rounded(.up))
        let (ix, iy) = (Int(c.x.rounded()), Int(c.y.rounded()))
        guard ix - r >= 0, iy - r >= 0, ix + r < image.width, iy + r < image.height else { return nil }
        var pixels: [Pixel] = []
        for y in (iy - r)...(iy + r) {
            for x in (ix - r)...(ix + r) {
                let dx = Double(x) - c.x, dy = Double(y) - c.y, r2 = dx * dx + dy * dy, value = Double(image[x, y])
                if r2 <= radius * radius { pixels.append((r2, value, 1 / (noise * noise + max(value, 0) / gain))) }
            }
        }
        return pixels
    }

    /// χ² of one star under a model, its flux fitted (weighted least squares), per pixel.
    static func chiSquare(_ model: MoffatPSF, _ pixels: [Pixel]) -> Double {
        var wpv = 0.0, wpp = 0.0, wvv = 0.0
        for pixel in pixels {
            let p = model.value(pixel.r2)
            wpv += pixel.weight * p * pixel.value
            wpp += pixel.weight * p * p
            wvv += pixel.weight * pixel.value * pixel.value
        }
        guard wpp > 0 else { return .infinity }
        return (wvv - wpv * wpv / wpp) / Double(pixels.count)
    }

    /// The grid search: `grids` grids, each centred on the previous best.
    func search(_ cutouts: [[Pixel]], from start: (fwhm: Double, beta: Double)) -> MoffatPSF {
        var best = start
        var fwhmStep = config.fwhmStep * start.fwhm, betaStep = config.betaStep
        var span = config.firstSpan
        for _ in 0..<config.grids {
            var bestCost = Double.infinity
            let center = best
            for i in -span...span {
                for j in -span...span {
                    let candidate = (fwhm: center.fwhm + Double(i) * fwhmStep, beta: center.beta + Double(j) * betaStep)
                    guard candidate.fwhm > config.minimumFWHM, config.betas.contains(candidate.beta) else { continue }
                    let model = MoffatPSF(fwhm: candidate.fwhm, beta: candidate.beta)
                    let cost = cutouts.reduce(0) { $0 + Self.chiSquare(model, $1) }
                    if cost < bestCost { (bestCost, best) = (cost, candidate) }
                }
            }
            fwhmStep /= config.refinement
            betaStep /= config.refinement
            span = config.refinedSpan
        }
        return MoffatPSF(fwhm: best.fwhm, beta: best.beta)
    }
}
