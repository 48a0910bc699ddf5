import Foundation

/// The warp stage's resampling: a calexp's pixels onto the patch's grid, given where the grid's
/// nodes fall on the calexp.
///
/// The mapping from a patch pixel to a calexp pixel is computed exactly (by wcslib, in `Coadd`) at
/// the nodes of a grid every `mappingStep` pixels and interpolated bilinearly in between: at 16
/// pixels the interpolation error is below 10⁻⁵ pixel for these projections (LSST's
/// `warpingKernel` interpolates its mapping the same way, `interpLength`). The calexp is then
/// sampled with a bilinear kernel (4 nearest pixels; LSST's default is Lanczos-3), and each value
/// is multiplied by the cell's Jacobian (calexp pixels per patch pixel) so that the warp keeps
/// fluxes, and by `scale` to bring it to the common zero point. A bilinear kernel correlates
/// neighbouring pixels and lowers the per-pixel noise of each warped frame by the same factor
/// whatever the number of frames, so the coadd's noise still falls as 1/√N.
struct Warper {
    /// A position in pixels.
    typealias Point = (x: Double, y: Double)

    /// The calexp, in its counts.
    let image: Image
    /// Counts at the common zero point per calexp count.
    let scale: Double

    /// The area of the parallelogram on a corner `a` and its neighbours `b` and `c`: how many calexp
    /// pixels the patch pixels between them map onto.
    static func area(_ a: Point, _ b: Point, _ c: Point) -> Double {
        abs((b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x))
    }

    /// The nodes of a region: every `step` pixels from its start, and its end.
    static func nodes(_ range: Range<Int>, step: Int) -> [Int] {
        Array(stride(from: range.lowerBound, to: range.upperBound, by: step)) + [range.upperBound]
    }

    /// Calls `add(index, value)` for every patch pixel between the nodes whose mapping falls on the
    /// calexp, `width` the patch's; `mapped` holds each node's 0-based calexp position, row after row.
    func resample(nodesX: [Int], nodesY: [Int], mapped: [Point], width: Int, add: (Int, Float) -> Void) {
        for (j, y0) in nodesY.dropLast().enumerated() {
            for (i, x0) in nodesX.dropLast().enumerated() {
                let corners = (mapped[j * nodesX.count + i], mapped[j * nodesX.count + i + 1],
                               mapped[(j + 1) * nodesX.count + i], mapped[(j + 1) * nodesX.count + i + 1])
                resampleCell(x: x0..<nodesX[i + 1], y: y0..<nodesY[j + 1], corners: corners, width: width, add: add)
            }
        }
    }

    /// One cell between four nodes, `corners` their calexp positions (top left, top right, bottom left, bottom right).
    func resampleCell(x: Range<Int>, y: Range<Int>, corners: (Point, Point, Point, Point), width: Int, add: (Int, Float) -> Void) {
        let (a, b, c, d) = corners
        let (x0, x1, y0, y1) = (x.lowerBound, x.upperBound, y.lowerBound, y.upperBound)
        let (w, h) = (image.width, image.height)
        // Calexp pixels per patch pixel in this cell: sampling keeps surface brightness, this keeps flux.
        let jacobian = Self.area(a, b, c) / Double((x1 - x0) * (y1 - y0))
        let factor = Float(scale) * Float(jacobian)
        for y in y0..<y1 {
            let ty = Double(y - y0) / Double(y1 - y0)
            for x in x0..<x1 {
                let tx = Double(x - x0) / Double(x1 - x0)
                let u = (a.x * (1 - tx) + b.x * tx) * (1 - ty) + (c.x * (1 - tx) + d.x * tx) * ty
                let v = (a.y * (1 - tx) + b.y * tx) * (1 - ty) + (c.y * (1 - tx) + d.y * tx) * ty
                guard u >= 0, v >= 0, u <= Double(w - 1), v <= Double(h - 1) else { continue }
                add(y * width + x, bilinear(u, v) * factor)
            }
        }
    }

    /// The calexp bilinearly interpolated at 0-based (u, v), inside the image.
    func bilinear(_ u: Double, _ v: Double) -> Float {
        let ix = min(Int(u), image.width - 2), iy = min(Int(v), image.height - 2)
        let fx = Float(u - Double(ix)), fy = Float(v - Double(iy))
        let top = image[ix, iy] * (1 - fx) + image[ix + 1, iy] * fx
        let bottom = image[ix, iy + 1] * (1 - fx) + image[ix + 1, iy + 1] * fx
        return top * (1 - fy) + bottom * fy
    }
}
