import Foundation
import Sky

/// A detected source matched to a reference object.
struct Match {
    /// FITS pixel coordinates (1-based).
    var x: Double
    var y: Double
    var ra: Double
    var dec: Double
    var referenceMagnitude: Double
    /// The reference magnitude's own σ (0 when the catalog gives none).
    var referenceError = 0.0
    /// Whether the reference is a star: only stars calibrate PSF fluxes.
    var isStar: Bool
    var instrumentalFlux: Double
    var signalToNoise: Double
    /// The centroid's variance on each axis, pixels² (0 when not known).
    var centroidVariance = 0.0
}

/// The tunables of the WCS fit.
public struct AstrometricFitConfig: Sendable, Equatable {
    /// Fits made, each after clipping the previous one's outliers (fewer when a clipping removes nothing).
    public var iterations = 4
    /// Matches whose residual exceeds this many times the RMS are clipped.
    public var clip = 3.0
    /// Residuals below this are never clipped, arcsec (a fit that is already good keeps its matches).
    public var clipFloor = 0.05
    /// The fewest matches a fit is made from.
    public var minimumMatches = 3

    public init() {}
}

/// The WCS fit stage: a TAN WCS (shift and full linear part, the CD matrix) fitted to matched
/// sources by linear least squares on the tangent plane, with σ-clipping.
///
/// The matches' reference positions are projected onto the plane tangent at the current centre
/// (gnomonic projection, through wcslib; Calabretta & Greisen 2002), and ξ and η are each fitted
/// as a linear function of the pixel offsets from CRPIX (normal equations, Gaussian elimination
/// with partial pivoting): the constant terms move the centre, the others are the CD matrix.
/// Residuals are measured on the sky; matches beyond `clip` × RMS (or `clipFloor`) are dropped and
/// the fit made again, as LSST's `FitTanSipWcsTask` does (without its SIP terms).
///
/// The fitted WCS's own error at a pixel is the least-squares prediction variance
/// σ²·xᵀ(XᵀX)⁻¹x, x = (1, x − CRPIX1, y − CRPIX2), σ² the residuals' variance per axis
/// (Σ|residual|²/(2(N − 3)), the accepted matches' centroid errors and their references' alike):
/// `variance(atPixel:)`, which processCcd adds to each source's centroid variance.
///
/// The part of σ² the matches' centroids do not explain (`extraVariance`) is the reference positions'
/// errors, `referenceShare` of it: every fit to the same reference stars shares that part of its
/// error, which a coadd of such fits does not average down (`Coadd.addingInputAstrometry`).
struct AstrometricFit {
    var wcs: TangentWCS
    /// RMS of the accepted residuals, arcsec.
    var rms: Double
    var used: Int
    /// (XᵀX)⁻¹ of the last fit, row-major 3 × 3, x = (1, x − CRPIX1, y − CRPIX2) in FITS pixels.
    var inverseNormal: [Double] = [Double](repeating: 0, count: 9)
    /// The residuals' variance on each axis of the sky, arcsec².
    var residualVariance = 0.0
    /// The share of `residualVariance` that the kept matches' centroid variances leave
    /// (`extraVariance`): their references' position errors, 0...1.
    var referenceShare = 0.0

    /// The plane tangent at `center`, in degrees: a WCS whose "pixels" are (ξ, η).
    static func tangentPlane(at center: (ra: Double, dec: Double)) throws -> WCS {
        var plane = TangentWCS(center: center, width: 1, height: 1, scale: 1, rotation: 0)
        plane.crpix1 = 0
        plane.crpix2 = 0
        plane.cd = [1, 0, 0, 1]
        return try plane.wcs(width: 1, height: 1)
    }

    init(matches: [Match], start: TangentWCS, config: AstrometricFitConfig = .init()) throws {
        var current = start
        var kept = matches
        var rms = Double.infinity
        var sumOfSquares = 0.0, squares: [Double] = []
        for iteration in 0..<config.iterations {
            guard kept.count >= config.minimumMatches else { throw ProcessCcdFailure(.astrometry, "astrometry problem: too few matches to fit (\(kept.count))") }
            let plane = try Self.tangentPlane(at: (current.crval1, current.crval2))
            let xi = try plane.pixels(kept.map { ($0.ra, $0.dec) })
            let dx = kept.map { $0.x - current.crpix1 }, dy = kept.map { $0.y - current.crpix2 }
            let a = try Self.solve(dx, dy, xi.map(\.x))
            let b = try Self.solve(dx, dy, xi.map(\.y))
            let center = try plane.sky([(a[0], b[0])])[0]
            current.crval1 = center.ra
            current.crval2 = center.dec
            current.cd = [a[1], a[2], b[1], b[2]]
            // Residuals in arcsec, on the sky, through wcslib.
            let fitted = try current.wcs(width: 1, height: 1).sky(kept.map { ($0.x, $0.y) })
            let residuals = zip(fitted, kept).map { Self.separation($0.0, ($0.1.ra, $0.1.dec)) * 3600 }
            squares = residuals.map { $0 * $0 }
            sumOfSquares = squares.reduce(0, +)
            rms = (sumOfSquares / Double(residuals.count)).squareRoot()
            if iteration < config.iterations - 1 {
                let next = zip(kept, residuals).filter { $0.1 <= max(config.clip * rms, config.clipFloor) }.map(\.0)
                if next.count == kept.count { break }
                kept = next
            }
        }
        wcs = current
        self.rms = rms
        used = kept.count
        inverseNormal = Self.inverseNormalMatrix(kept.map { $0.x - current.crpix1 }, kept.map { $0.y - current.crpix2 })
        residualVariance = kept.count > 3 ? sumOfSquares / Double(2 * (kept.count - 3)) : rms * rms
        let scale = current.pixelScale
        let reference = Self.extraVariance(squares, kept.map { $0.centroidVariance * scale * scale })
        referenceShare = residualVariance > 0 ? min(reference / residualVariance, 1) : 0
    }

    /// The variance s² on each axis that the matches' residuals have beyond their centroids' σ²_k
    /// (both arcsec²): the s² at which Σ r²_k/(σ²_k + s²) = 2(N − 3), the fit's degrees of freedom
    /// (Paule & Mandel 1982), by bisection; 0 when the centroids explain the residuals. Each match
    /// counts by its own σ: an unweighted mean of the σ²_k is the faint matches', which the
    /// clipping has kept only where their residuals were small, and it left nothing over in r and i.
    static func extraVariance(_ squares: [Double], _ centroids: [Double]) -> Double {
        let dof = Double(2 * (squares.count - 3))
        guard dof > 0, centroids.allSatisfy({ $0 > 0 }) else { return 0 }
        func chiSquare(_ s: Double) -> Double { zip(squares, centroids).map { $0 / ($1 + s) }.reduce(0, +) }
        guard chiSquare(0) > dof else { return 0 }
        var (low, high) = (0.0, squares.reduce(0, +) / dof)
        while chiSquare(high) > dof { high *= 2 }
        for _ in 0..<50 { let middle = (low + high) / 2; if chiSquare(middle) > dof { low = middle } else { high = middle } }
        return (low + high) / 2
    }

    /// The variance of the fitted WCS's position at a FITS pixel, on each axis, pixels²:
    /// σ²·xᵀ(XᵀX)⁻¹x over the pixel scale².
    func variance(atPixel p: (x: Double, y: Double)) -> Double {
        Self.variance(pixelCovariance, dx: p.x - wcs.crpix1, dy: p.y - wcs.crpix2)
    }

    /// The covariance of the fitted position's terms on each axis, pixels²: σ²(XᵀX)⁻¹ over the
    /// pixel scale², row-major 3 × 3 for x = (1, x − CRPIX1, y − CRPIX2) (`variance(atPixel:)` is xᵀCx).
    var pixelCovariance: [Double] {
        let scale = wcs.pixelScale
        return inverseNormal.map { $0 * residualVariance / (scale * scale) }
    }

    /// The keyword of `referenceShare` in a calexp's header.
    static let referenceShareKeyword = "ASTCVREF"
    /// The covariance's keywords in a calexp's header, the upper triangle of `pixelCovariance`.
    static let covarianceKeywords = ["ASTCV11", "ASTCV12", "ASTCV13", "ASTCV22", "ASTCV23", "ASTCV33"]
    /// The indices of those elements in the row-major 3 × 3.
    static let covarianceIndices = [0, 1, 2, 4, 5, 8]

    /// The variance xᵀCx at FITS pixel offsets (dx, dy) from CRPIX of a covariance C (row-major 3 × 3).
    static func variance(_ covariance: [Double], dx: Double, dy: Double) -> Double {
        let row = [1, dx, dy]
        var quadratic = 0.0
        for i in 0..<3 { for j in 0..<3 { quadratic += row[i] * covariance[i * 3 + j] * row[j] } }
        return max(quadratic, 0)
    }

    /// (XᵀWX)⁻¹ for the rows (1, dx, dy), row-major, W the rows' weights (all 1 when nil); zeros
    /// when it is singular.
    static func inverseNormalMatrix(_ dx: [Double], _ dy: [Double], weights: [Double]? = nil) -> [Double] {
        var m = [Double](repeating: 0, count: 9)
        for (k, (x, y)) in zip(dx, dy).enumerated() {
            let row = [1, x, y], w = weights?[k] ?? 1
            for i in 0..<3 { for j in 0..<3 { m[i * 3 + j] += w * row[i] * row[j] } }
        }
        // The adjugate over the determinant.
        let c00 = m[4] * m[8] - m[5] * m[7], c01 = m[5] * m[6] - m[3] * m[8], c02 = m[3] * m[7] - m[4] * m[6]
        let det = m[0] * c00 + m[1] * c01 + m[2] * c02
        guard abs(det) > 1e-300 else { return [Double](repeating: 0, count: 9) }
        let inverse = [c00, m[2] * m[7] - m[1] * m[8], m[1] * m[5] - m[2] * m[4],
                       c01, m[0] * m[8] - m[2] * m[6], m[2] * m[3] - m[0] * m[5],
                       c02, m[1] * m[6] - m[0] * m[7], m[0] * m[4] - m[1] * m[3]]
        return inverse.map { $0 / det }
    }

    /// Least squares for v = c0 + c1·dx + c2·dy (normal equations, Gaussian elimination).
    static func solve(_ dx: [Double], _ dy: [Double], _ v: [Double]) throws -> [Double] {
        var m = [[Double]](repeating: [Double](repeating: 0, count: 4), count: 3)
        for k in v.indices {
            let row = [1, dx[k], dy[k]]
            for i in 0..<3 {
                for j in 0..<3 { m[i][j] += row[i] * row[j] }
                m[i][3] += row[i] * v[k]
            }
        }
        for col in 0..<3 {
            let pivot = (col..<3).max { abs(m[$0][col]) < abs(m[$1][col]) }!
            guard abs(m[pivot][col]) > 1e-300 else { throw ProcessCcdFailure(.astrometry, "astrometry problem: degenerate fit") }
            m.swapAt(col, pivot)
            for row in 0..<3 where row != col {
                let f = m[row][col] / m[col][col]
                for j in col..<4 { m[row][j] -= f * m[col][j] }
            }
        }
        return (0..<3).map { m[$0][3] / m[$0][$0] }
    }

    /// Angular separation in degrees (haversine).
    static func separation(_ a: (ra: Double, dec: Double), _ b: (ra: Double, dec: Double)) -> Double {
        let d2r = Double.pi / 180
        let sd = sin((b.dec - a.dec) * d2r / 2), sr = sin((b.ra - a.ra) * d2r / 2)
        let h = sd * sd + cos(a.dec * d2r) * cos(b.dec * d2r) * sr * sr
        return 2 * asin(min(1, h.squareRoot())) / d2r
    }
}
