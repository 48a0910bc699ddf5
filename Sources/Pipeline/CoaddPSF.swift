import Foundation
import Sky

/// The PSF model of one patch pixel grid around a point, unit total flux, 0 where no input fell.
struct PSFStamp {
    /// The patch pixel (0-based) of `values[0]`.
    var x0: Int
    var y0: Int
    var side: Int
    var values: [Double]

    /// The model at a patch pixel, 0 outside the stamp.
    subscript(x: Int, y: Int) -> Double {
        let i = x - x0, j = y - y0
        guard i >= 0, j >= 0, i < side, j < side else { return 0 }
        return values[j * side + i]
    }
}

/// The PSF of a coadd at a point (LSST's CoaddPsf): each input's PSF model, warped onto the patch
/// grid with the mapping and bilinear kernel its pixels went through and scaled like them, averaged
/// with the stack's weights over the inputs whose pixels reach there.
///
/// A stack of frames taken at different seeings, each covering part of the patch, has a PSF that
/// changes across the patch wherever the set of inputs changes; and a bilinear warp of undersampled
/// frames widens a star by an amount that depends on where it falls between their pixels. One model
/// for the whole patch misses both by several percent of a star's flux; this one has neither.
struct CoaddPSF {
    struct Component {
        var wcs: WCS
        /// The calexp's PSF, in its pixels.
        var psf: MoffatPSF
        var width: Int
        var height: Int
        /// The input's weight in the stack.
        var weight: Double
        /// Coadd counts per electron of its flux: its zero point's scale over its gain (0 when the
        /// gain is not known).
        var countsPerElectron = 0.0
        /// Its aperture correction (`APCORR`).
        var apertureCorrection = 1.0

        /// Whether a FITS pixel position is on the calexp (its pixels' centres, as the warp interpolates them).
        func covers(_ p: (x: Double, y: Double)) -> Bool {
            p.x >= 1 && p.y >= 1 && p.x <= Double(width) && p.y <= Double(height)
        }
    }

    let grid: WCS
    var components: [Component]

    /// The model over the patch pixels within `radius` of a 0-based patch position.
    func stamp(at c: (x: Double, y: Double), radius: Int) throws -> PSFStamp {
        let side = 2 * radius + 1
        let x0 = Int(c.x.rounded()) - radius, y0 = Int(c.y.rounded()) - radius
        var sums = [Double](repeating: 0, count: side * side), weights = sums
        let sky = try grid.sky([(c.x + 1, c.y + 1), (c.x + 2, c.y + 1), (c.x + 1, c.y + 2)])
        for component in components {
            // The local mapping from patch to calexp pixels (0-based), affine over a stamp.
            let p = try component.wcs.pixels(sky).map { (x: $0.x - 1, y: $0.y - 1) }
            let center = p[0], a = (x: p[1].x - center.x, y: p[1].y - center.y), b = (x: p[2].x - center.x, y: p[2].y - center.y)
            let (w, h) = (component.width, component.height)
            let reach = Double(radius) * (abs(a.x) + abs(a.y) + abs(b.x) + abs(b.y))
            guard center.x > -reach, center.y > -reach, center.x < Double(w) + reach, center.y < Double(h) + reach else { continue }
            let jacobian = abs(a.x * b.y - a.y * b.x)
            let model = Samples(component.psf, around: center, span: Int(reach.rounded(.up)) + 2)
            for j in 0..<side {
                let dy = Double(y0 + j) - c.y
                for i in 0..<side {
                    let dx = Double(x0 + i) - c.x
                    let u = center.x + a.x * dx + b.x * dy, v = center.y + a.y * dx + b.y * dy
                    guard u >= 0, v >= 0, u <= Double(w - 1), v <= Double(h - 1) else { continue }
                    let ix = min(Int(u), w - 2), iy = min(Int(v), h - 2)
                    let fx = u - Double(ix), fy = v - Double(iy)
                    let top = model(ix, iy) * (1 - fx) + model(ix + 1, iy) * fx
                    let bottom = model(ix, iy + 1) * (1 - fx) + model(ix + 1, iy + 1) * fx
                    sums[j * side + i] += component.weight * (top * (1 - fy) + bottom * fy) * jacobian
                    weights[j * side + i] += component.weight
                }
            }
        }
        return PSFStamp(x0: x0, y0: y0, side: side, values: zip(sums, weights).map { $1 > 0 ? $0 / $1 : 0 })
    }

    /// The variance of a PSF flux `flux` (coadd counts) at a 0-based patch position from the
    /// source's own photons, its inputs': the coadd's flux is their fluxes' mean with the stack's
    /// weights a_k = w_k/Σw (over those that reach there), so its variance is Σ a_k²·F·s_k·q_k, s_k
    /// the input's coadd counts per electron and q_k the Poisson factor of a PSF fit with its model on
    /// its own pixels where the source falls (`PSFTemplates.poissonFactor`). From one effective gain
    /// on the stacked pixels, which the warp has correlated, a bright star's σ was 0.67–0.78 of its
    /// inputs' mean's (g, r, i), its own pulls 1.3–1.6. Nil where no input reaches.
    func sourceVariance(at c: (x: Double, y: Double), flux: Double, radius: Int) throws -> Double? {
        let sky = try grid.sky([(c.x + 1, c.y + 1)])
        var sum = 0.0, weights = 0.0
        for component in components {
            let p = try component.wcs.pixels(sky)[0]
            guard component.covers(p), let q = PSFTemplates.poissonFactor(component.psf, at: (p.x - 1, p.y - 1), radius: radius) else { continue }
            sum += component.weight * component.weight * component.countsPerElectron * q
            weights += component.weight
        }
        guard weights > 0 else { return nil }
        return flux * sum / (weights * weights)
    }

    /// The aperture correction at a 0-based patch position: its inputs' (`APCORR`), averaged with the
    /// stack's weights over those that reach there, as the stack averages their counts (each off by
    /// its correction's error, through its zero point: `Coadd.measure`); nil where no input reaches.
    func apertureCorrection(at c: (x: Double, y: Double)) throws -> Double? {
        let sky = try grid.sky([(c.x + 1, c.y + 1)])
        var sum = 0.0, weights = 0.0
        for component in components {
            guard component.covers(try component.wcs.pixels(sky)[0]) else { continue }
            sum += component.weight * component.apertureCorrection
            weights += component.weight
        }
        return weights > 0 ? sum / weights : nil
    }

    /// A calexp's PSF model at the calexp pixels a stamp reaches, each computed once (neighbouring
    /// patch pixels interpolate between the same ones); 0 beyond.
    struct Samples {
        /// The calexp pixel (0-based) of `values[0]`.
        let px0: Int, py0: Int
        let side: Int
        var values: [Double]

        /// The model at the calexp pixels within `span` (and one more) of `center`.
        init(_ psf: MoffatPSF, around center: (x: Double, y: Double), span: Int) {
            (px0, py0) = (Int(center.x.rounded(.down)) - span, Int(center.y.rounded(.down)) - span)
            side = 2 * span + 2
            values = [Double](repeating: 0, count: side * side)
            for j in 0..<side {
                let dy = Double(py0 + j) - center.y
                for i in 0..<side {
                    let dx = Double(px0 + i) - center.x
                    values[j * side + i] = psf.value(dx * dx + dy * dy)
                }
            }
        }

        func callAsFunction(_ px: Int, _ py: Int) -> Double {
            let i = px - px0, j = py - py0
            return i >= 0 && j >= 0 && i < side && j < side ? values[j * side + i] : 0
        }
    }
}
