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
        for (component, mapping) in try mappings(at: c, radius: radius) {
            let model = mapping.samples(component.psf)
            for j in 0..<side {
                for i in 0..<side {
                    guard let kernel = mapping.kernel(Double(x0 + i) - c.x, Double(y0 + j) - c.y) else { continue }
                    sums[j * side + i] += component.weight * kernel.value(model) * mapping.jacobian
                    weights[j * side + i] += component.weight
                }
            }
        }
        return PSFStamp(x0: x0, y0: y0, side: side, values: zip(sums, weights).map { $1 > 0 ? $0 / $1 : 0 })
    }

    /// The variance of a PSF flux `flux` (coadd counts) from the source's own photons, its inputs':
    /// `weights` are the fit's, F = Σ_x w(x)·I(x) over the patch pixels of a stamp about c, and each
    /// patch pixel is the stack's mean I(x) = Σ_k a_k(x)·J_k·Σ_y K_k(x, y)·s_k·I_k(y) of its inputs'
    /// bilinear kernels K_k (a_k = w_k/Σw over those that reach x, J_k calexp pixels per patch pixel,
    /// s_k the input's scale). So F = Σ_k Σ_y h_k(y)·s_k·I_k(y), h_k(y) = Σ_x w(x)·a_k(x)·J_k·K_k(x, y),
    /// and with the star's photons on its calexp pixels, Var I_k(y) = F·p_k(y)/(s_k·g_k), its variance
    /// is F·Σ_k (s_k/g_k)·Σ_y h_k(y)²·p_k(y).
    ///
    /// Each input's own fit's Poisson factor (uᵀ(Σ p t tᵀ)u with its model on its pixels) in place of
    /// Σ_y h_k²·p_k overstated it: the coadd's weights, spread back through the kernel, are wider than
    /// the input's model, and a wider weight draws less of the star's own noise (with it the coadd's
    /// bright stars' own pulls were 5–13 % lower). One effective gain on the stacked pixels, which the
    /// warp has correlated, had made it 0.67–0.78 of its inputs' mean's. Nil where no input reaches.
    func sourceVariance(at c: (x: Double, y: Double), flux: Double, weights: PSFStamp) throws -> Double? {
        let side = weights.side
        let mappings = try self.mappings(at: c, radius: side / 2)
        func offset(_ k: Int) -> (dx: Double, dy: Double) { (Double(weights.x0 + k % side) - c.x, Double(weights.y0 + k / side) - c.y) }
        var total = [Double](repeating: 0, count: side * side)
        for (component, mapping) in mappings {
            for k in total.indices where mapping.kernel(offset(k).dx, offset(k).dy) != nil { total[k] += component.weight }
        }
        var sum = 0.0
        for (component, mapping) in mappings {
            let model = mapping.samples(component.psf)
            var h = [Double](repeating: 0, count: model.values.count)
            for k in total.indices where weights.values[k] != 0 {
                guard let kernel = mapping.kernel(offset(k).dx, offset(k).dy) else { continue }
                kernel.spread(weights.values[k] * component.weight / total[k] * mapping.jacobian, on: model, into: &h)
            }
            sum += component.countsPerElectron * zip(h, model.values).map { $0 * $0 * $1 }.reduce(0, +)
        }
        return total.contains { $0 > 0 } ? flux * sum : nil
    }

    /// The inputs that reach the patch pixels within `radius` of a 0-based patch position, each with
    /// its local mapping.
    func mappings(at c: (x: Double, y: Double), radius: Int) throws -> [(Component, LocalMapping)] {
        let sky = try grid.sky([(c.x + 1, c.y + 1), (c.x + 2, c.y + 1), (c.x + 1, c.y + 2)])
        return try components.compactMap { component in
            LocalMapping(try component.wcs.pixels(sky), radius: radius, size: (component.width, component.height)).map { (component, $0) }
        }
    }

    /// How a calexp's pixels fall under the patch pixels near a point: the affine mapping from patch
    /// to calexp pixels (0-based) over a stamp, and the bilinear kernel the warp samples it with.
    struct LocalMapping {
        let center: (x: Double, y: Double)
        let a: (x: Double, y: Double), b: (x: Double, y: Double)
        let size: (width: Int, height: Int)
        /// Calexp pixels per patch pixel.
        let jacobian: Double
        /// Calexp pixels the stamp reaches from `center`.
        let reach: Double

        /// From the FITS calexp positions of the point and of its neighbours one patch pixel along
        /// x and along y; nil when the stamp of `radius` does not reach the calexp.
        init?(_ p: [(x: Double, y: Double)], radius: Int, size: (width: Int, height: Int)) {
            center = (p[0].x - 1, p[0].y - 1)
            a = (p[1].x - p[0].x, p[1].y - p[0].y)
            b = (p[2].x - p[0].x, p[2].y - p[0].y)
            self.size = size
            reach = Double(radius) * (abs(a.x) + abs(a.y) + abs(b.x) + abs(b.y))
            guard center.x > -reach, center.y > -reach, center.x < Double(size.width) + reach, center.y < Double(size.height) + reach else { return nil }
            jacobian = abs(a.x * b.y - a.y * b.x)
        }

        /// The calexp's PSF model at the pixels the stamp reaches.
        func samples(_ psf: MoffatPSF) -> Samples { Samples(psf, around: center, span: Int(reach.rounded(.up)) + 2) }

        /// The kernel at the patch pixel (dx, dy) from the point; nil where it falls off the calexp.
        func kernel(_ dx: Double, _ dy: Double) -> Kernel? {
            let u = center.x + a.x * dx + b.x * dy, v = center.y + a.y * dx + b.y * dy
            guard u >= 0, v >= 0, u <= Double(size.width - 1), v <= Double(size.height - 1) else { return nil }
            let ix = min(Int(u), size.width - 2), iy = min(Int(v), size.height - 2)
            return Kernel(ix: ix, iy: iy, fx: u - Double(ix), fy: v - Double(iy))
        }
    }

    /// The warp's bilinear kernel at one patch pixel: its four calexp pixels from (ix, iy) and the
    /// fractions between them.
    struct Kernel {
        let ix: Int, iy: Int
        let fx: Double, fy: Double

        /// The model's samples interpolated.
        func value(_ model: Samples) -> Double {
            let top = model(ix, iy) * (1 - fx) + model(ix + 1, iy) * fx
            let bottom = model(ix, iy + 1) * (1 - fx) + model(ix + 1, iy + 1) * fx
            return top * (1 - fy) + bottom * fy
        }

        /// Adds `weight` times the kernel to `h`, an array over the model's samples' pixels.
        func spread(_ weight: Double, on model: Samples, into h: inout [Double]) {
            for (px, py, k) in [(ix, iy, (1 - fx) * (1 - fy)), (ix + 1, iy, fx * (1 - fy)), (ix, iy + 1, (1 - fx) * fy), (ix + 1, iy + 1, fx * fy)] {
                let i = px - model.px0, j = py - model.py0
                if i >= 0, j >= 0, i < model.side, j < model.side { h[j * model.side + i] += weight * k }
            }
        }
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
