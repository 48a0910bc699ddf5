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
/// χ² over the pixels within `radius` of each centroid, each star with its own best flux and a
/// shift of its centre (weighted linear least squares of the model and its two shift derivatives,
/// `PSFTemplates`, so χ² has a closed form), is minimised on a grid in (FWHM, β) refined around its
/// best point (a grid, not a gradient: χ² is cheap and the grid cannot diverge). Each pixel is
/// weighed by the background's variance plus the source's own: first its value over the gain, then,
/// the search made again from that fit, the fitted star's (F·p over the gain). Weights from the
/// pixels themselves favour those that fell low, and the FWHM came out 0.3–3 % wide; a centre fixed
/// at the centroid, a few thousandths of a pixel off, widened it too. On an undersampled frame a
/// model 1 % wide puts a star's PSF flux 0.1–0.4 % high when it falls on a pixel's centre and as
/// much low on its corner: for stars above S/N 300, more than their σ. Stars the best model fits
/// worse than `outlierFactor` times the median (a galaxy, a blend) are left out and the fit is made
/// again, as LSST's `PsfDeterminer` rejects its outlier candidates.
struct PSFModelFit {
    /// One pixel of a star's cutout: offset from the centroid, value, and the background's variance.
    typealias Pixel = (dx: Double, dy: Double, value: Double, background: Double)
    /// A star's cutout.
    typealias Cutout = [Pixel]

    var config = PSFModelFitConfig()

    /// The fitted model, or nil when fewer than `minimumStars` stars lie `radius` inside the image.
    ///
    /// - Parameters:
    ///   - stars: Centroids of bright point sources, 0-based pixels.
    ///   - fwhm: A first estimate of the FWHM, pixels (from second moments).
    ///   - noise: Background noise of a pixel; `gain` adds each pixel's own.
    func fit(_ image: Image, stars: [(x: Double, y: Double)], fwhm: Double, radius: Double,
             noise: Double, gain: Double) -> MoffatPSF? {
        let cutouts = stars.compactMap { Self.cutout(image, at: $0, radius: radius, noise: noise) }
        guard cutouts.count >= config.minimumStars else { return nil }
        let pixelWeighted = search(cutouts, gain: gain, from: (fwhm, config.initialBeta), model: nil)
        let first = search(cutouts, gain: gain, from: (pixelWeighted.fwhm, pixelWeighted.beta), model: pixelWeighted)
        let costs = cutouts.map { Self.chiSquare(first, $0, variances: Self.variances($0, gain: gain, weighing: first)) }
        let limit = config.outlierFactor * RobustStatistics.median(costs.map { Float($0) })
        let kept = zip(cutouts, costs).filter { $0.1 <= limit }.map(\.0)
        guard kept.count >= config.minimumStars, kept.count < cutouts.count else { return first }
        return search(kept, gain: gain, from: (first.fwhm, first.beta), model: first)
    }

    /// The pixels within `radius` of a centroid, nil when its box leaves the image.
    static func cutout(_ image: Image, at c: (x: Double, y: Double), radius: Double, noise: Double) -> Cutout? {
        let r = Int(radius.rounded(.up))
        let (ix, iy) = (Int(c.x.rounded()), Int(c.y.rounded()))
        guard ix - r >= 0, iy - r >= 0, ix + r < image.width, iy + r < image.height else { return nil }
        var pixels: Cutout = []
        for y in (iy - r)...(iy + r) {
            for x in (ix - r)...(ix + r) {
                let dx = Double(x) - c.x, dy = Double(y) - c.y
                if dx * dx + dy * dy <= radius * radius { pixels.append((dx, dy, Double(image[x, y]), noise * noise)) }
            }
        }
        return pixels
    }

    /// χ² of one star under a model, its flux and shift fitted (weighted least squares, each pixel
    /// of its variance in `variances`), per pixel.
    static func chiSquare(_ model: MoffatPSF, _ pixels: Cutout, variances: [Double]) -> Double {
        var normal = SymmetricMatrix3(), b = [0.0, 0, 0], wvv = 0.0
        for (pixel, variance) in zip(pixels, variances) {
            let t = PSFTemplates.moffat(model, dx: pixel.dx, dy: pixel.dy), weight = 1 / variance
            normal.add(t, weight: weight)
            for i in 0..<3 { b[i] += weight * t[i] * pixel.value }
            wvv += weight * pixel.value * pixel.value
        }
        guard let fitted = normal.solve(b) else { return .infinity }
        return (wvv - (fitted[0] * b[0] + fitted[1] * b[1] + fitted[2] * b[2])) / Double(pixels.count)
    }

    /// Each pixel's variance: the background's plus the source's over the gain, the pixel's own
    /// value's when `weighing` is nil, else the star fitted with that model's (a first fit's).
    static func variances(_ pixels: Cutout, gain: Double, weighing: MoffatPSF?) -> [Double] {
        let source = weighing.map { starModel($0, pixels) } ?? pixels.map(\.value)
        return zip(pixels, source).map { $0.background + max($1, 0) / gain }
    }

    /// The star as a model fits it, unweighted (flux and shift), at each pixel of its cutout.
    static func starModel(_ model: MoffatPSF, _ pixels: Cutout) -> [Double] {
        var normal = SymmetricMatrix3(), b = [0.0, 0, 0]
        let templates = pixels.map { PSFTemplates.moffat(model, dx: $0.dx, dy: $0.dy) }
        for (t, pixel) in zip(templates, pixels) {
            normal.add(t, weight: 1)
            for i in 0..<3 { b[i] += t[i] * pixel.value }
        }
        guard let fitted = normal.solve(b) else { return pixels.map(\.value) }
        return templates.map { fitted[0] * $0[0] + fitted[1] * $0[1] + fitted[2] * $0[2] }
    }

    /// The grid search: `grids` grids, each centred on the previous best; pixels weighed as `chiSquare` says.
    func search(_ cutouts: [Cutout], gain: Double, from start: (fwhm: Double, beta: Double), model weighing: MoffatPSF?) -> MoffatPSF {
        var best = start
        var fwhmStep = config.fwhmStep * start.fwhm, betaStep = config.betaStep
        var span = config.firstSpan
        let variances = cutouts.map { Self.variances($0, gain: gain, weighing: weighing) }
        for _ in 0..<config.grids {
            var bestCost = Double.infinity
            let center = best
            for i in -span...span {
                for j in -span...span {
                    let candidate = (fwhm: center.fwhm + Double(i) * fwhmStep, beta: center.beta + Double(j) * betaStep)
                    guard candidate.fwhm > config.minimumFWHM, config.betas.contains(candidate.beta) else { continue }
                    let model = MoffatPSF(fwhm: candidate.fwhm, beta: candidate.beta)
                    let cost = zip(cutouts, variances).reduce(0) { $0 + Self.chiSquare(model, $1.0, variances: $1.1) }
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
