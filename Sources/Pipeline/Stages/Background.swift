import Foundation

/// The tunables of the background stage.
public struct BackgroundConfig: Sendable, Equatable {
    /// Side of the square cells whose clipped medians are the background's nodes, pixels (sep's `bw` and `bh`, 64 there too).
    public var cellSize = 64
    /// The clipping of each cell's pixels before their median is taken.
    public var clipping = SigmaClipping()
    /// The noise is measured on one residual pixel in this many (the first, then every n-th).
    public var noiseSampling = 3

    public init() {}
}

/// The background stage: a smooth background and the noise of what remains.
///
/// As sep's `src/background.c` (SExtractor's `back.c`, Bertin & Arnouts 1996) with its filter
/// size of 1: the image is cut into `cellSize` squares, each square's pixels are σ-clipped
/// (`SigmaClipping`) and their median is the background at the square's centre; between centres
/// the background is interpolated bilinearly (sep uses a bicubic spline), and beyond the outer
/// centres it is held constant. The noise is `MAD.toSigma` × the median absolute deviation of the
/// residuals, sampled every `noiseSampling` pixels (sep's `globalrms` is a mean of the cells' σ).
struct Background {
    /// The background at each pixel, row after row.
    var model: [Float]
    /// Standard deviation of a background pixel, from the median absolute deviation.
    var sigma: Double

    init(of image: Image, config: BackgroundConfig = .init()) {
        let medians = Self.cellMedians(of: image, config: config)
        model = Self.interpolate(medians, cell: config.cellSize, width: image.width, height: image.height)
        var residuals: [Float] = []
        residuals.reserveCapacity(image.width * image.height / config.noiseSampling + 1)
        for k in stride(from: 0, to: image.width * image.height, by: config.noiseSampling) {
            residuals.append(image.pixels[k] - model[k])
        }
        sigma = RobustStatistics.sigma(residuals)
    }

    /// The number of cells along an axis of `length` pixels (a partial cell at the end counts).
    static func cells(_ length: Int, _ cell: Int) -> Int { max(1, (length + cell - 1) / cell) }

    /// The clipped median of each cell, row after row of cells.
    static func cellMedians(of image: Image, config: BackgroundConfig) -> [Double] {
        let (w, h, cell) = (image.width, image.height, config.cellSize)
        let nx = cells(w, cell), ny = cells(h, cell)
        var medians = [Double](repeating: 0, count: nx * ny)
        for cy in 0..<ny {
            for cx in 0..<nx {
                var values: [Float] = []
                values.reserveCapacity(cell * cell)
                for y in (cy * cell)..<min(h, (cy + 1) * cell) {
                    for x in (cx * cell)..<min(w, (cx + 1) * cell) { values.append(image[x, y]) }
                }
                medians[cy * nx + cx] = config.clipping.median(values)
            }
        }
        return medians
    }

    /// The cells' medians interpolated bilinearly between the cells' centres onto every pixel,
    /// constant beyond the outer centres.
    static func interpolate(_ medians: [Double], cell: Int, width w: Int, height h: Int) -> [Float] {
        let nx = cells(w, cell), ny = cells(h, cell)
        var model = [Float](repeating: 0, count: w * h)
        for y in 0..<h {
            let fy = min(max((Double(y) + 0.5) / Double(cell) - 0.5, 0), Double(ny - 1))
            let y0 = Int(fy), y1 = min(y0 + 1, ny - 1), ty = fy - Double(y0)
            for x in 0..<w {
                let fx = min(max((Double(x) + 0.5) / Double(cell) - 0.5, 0), Double(nx - 1))
                let x0 = Int(fx), x1 = min(x0 + 1, nx - 1), tx = fx - Double(x0)
                let top = medians[y0 * nx + x0] * (1 - tx) + medians[y0 * nx + x1] * tx
                let bottom = medians[y1 * nx + x0] * (1 - tx) + medians[y1 * nx + x1] * tx
                model[y * w + x] = Float(top * (1 - ty) + bottom * ty)
            }
        }
        return model
    }

    // MARK: - Statistics under their former names

    /// `RobustStatistics.median`, under the name `TruthComparison` calls it by.
    static func median(_ values: [Float]) -> Double { RobustStatistics.median(values) }

    /// `RobustStatistics.sigma`, under the name `TruthComparison` calls it by.
    static func robustSigma(_ values: [Float]) -> Double { RobustStatistics.sigma(values) }
}
