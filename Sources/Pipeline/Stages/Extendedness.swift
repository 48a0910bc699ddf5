import Foundation

/// The tunables of star/galaxy separation.
public struct ExtendednessConfig: Sendable, Equatable {
    /// The wider profile's FWHM, in FWHMs of the PSF: a source a little wider than the PSF fits it better.
    public var widening = 1.25
    /// A source is extended when its spread exceeds zero by this many σ …
    public var significance = 3.0
    /// … and by at least this much (the PSF model's own error, which no S/N beats).
    public var minimumSpread = 0.01

    public init() {}
}

/// Star/galaxy separation: `extendedness` 1 when a source is wider than the PSF, 0 otherwise.
///
/// The statistic is SExtractor's `SPREAD_MODEL` (Desai et al. 2012, ApJ 757, 83; Mohr et al.
/// 2012), with a wider Moffat W (`widening` × the FWHM) where SExtractor convolves the PSF with a
/// small exponential: over the footprint, with P the PSF model where the source is and I its pixels,
///
///     spread = ΣW·I / ΣP·I − ΣW·P / ΣP·P,
///
/// zero on average for a point source, whatever its flux, and positive for a wider one. Its σ is
/// the linear propagation of the pixels' noise, Var(Iᵢ) = noise² + Iᵢ/gain:
/// σ² = Σ Var(Iᵢ)·(Wᵢ·ΣP·I − ΣW·I·Pᵢ)² / (ΣP·I)⁴. A source is extended when spread exceeds both
/// `significance`·σ and `minimumSpread` (LSST's `ClassificationExtendedness` thresholds its PSF
/// and model fluxes' ratio the same way).
struct Extendedness {
    var config = ExtendednessConfig()

    /// The spread of a source at `c` (0-based pixels) and its σ, with the noise `noise` there; nil
    /// when the footprint holds no flux of the PSF's shape.
    func spread(at c: (x: Double, y: Double), photometer: Photometer, noise: Double) -> (value: Double, sigma: Double)? {
        let image = photometer.image, r = photometer.footprintRadius
        let wide = MoffatPSF(fwhm: config.widening * photometer.psf.fwhm, beta: photometer.psf.beta)
        let stamp = photometer.localPSF?(c, r)
        let (ix, iy) = (Int(c.x.rounded()), Int(c.y.rounded()))
        var pixels: [(p: Double, w: Double, i: Double)] = []
        for y in max(0, iy - r)...min(image.height - 1, iy + r) {
            for x in max(0, ix - r)...min(image.width - 1, ix + r) {
                let dx = Double(x) - c.x, dy = Double(y) - c.y, r2 = dx * dx + dy * dy
                pixels.append((stamp?[x, y] ?? photometer.psf.value(r2), wide.value(r2), Double(image[x, y])))
            }
        }
        let wi = pixels.reduce(0) { $0 + $1.w * $1.i }, pi = pixels.reduce(0) { $0 + $1.p * $1.i }
        let wp = pixels.reduce(0) { $0 + $1.w * $1.p }, pp = pixels.reduce(0) { $0 + $1.p * $1.p }
        guard pi > 0, pp > 0 else { return nil }
        let variance = pixels.reduce(0) { sum, px in
            let d = px.w * pi - wi * px.p
            return sum + (noise * noise + max(px.i, 0) / photometer.gain) * d * d
        } / (pi * pi * pi * pi)
        return (wi / pi - wp / pp, variance.squareRoot())
    }

    /// Whether the source at `c` is wider than the PSF (`spread` beyond both thresholds); nil when
    /// its spread cannot be measured.
    func isExtended(at c: (x: Double, y: Double), photometer: Photometer, noise: Double) -> Bool? {
        spread(at: c, photometer: photometer, noise: noise).map { $0.value > config.significance * $0.sigma && $0.value > config.minimumSpread }
    }

    /// The sources with their extendedness; `noise` gives the background noise where each is.
    func classified(_ measured: [Measurement], photometer: Photometer, noise: (Measurement) -> Double) -> [Measurement] {
        measured.map { m in
            var m = m
            if let extended = isExtended(at: (m.x, m.y), photometer: photometer, noise: noise(m)) { m.extendedness = extended ? 1 : 0 }
            return m
        }
    }
}
