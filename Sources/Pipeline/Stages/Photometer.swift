import Foundation

/// The tunables of the measurement stage: centroids, apertures and the PSF fit at a position.
public struct MeasurementConfig: Sendable, Equatable {
    /// The smallest Gaussian σ of the centroid's weight, pixels (a narrower one follows the noise).
    public var centroidMinimumSigma = 0.8
    /// Half-width of the centroid's window, in σ of its weight (plus one pixel).
    public var centroidWindow = 3.0
    /// The most iterations of the centroid.
    public var centroidIterations = 12
    /// The centroid has converged when it moves less than this, pixels (|Δx| + |Δy|).
    public var centroidTolerance = 1e-4
    /// The farthest a centroid may end from its detection's peak on each axis, pixels (further, it followed a neighbour).
    public var centroidMaximumShift = 3.0
    /// Whether the centroid's sampling bias is taken out with the PSF model (`Photometer.debiased`).
    public var debiasCentroids = true
    /// The most steps of that correction (each evaluates the model once more).
    public var debiasIterations = 3
    /// Radius of the aperture flux (apFlux), in FWHMs of the PSF.
    public var apertureRadius = 1.5
    /// The smallest radius of the aperture flux, pixels.
    public var minimumApertureRadius = 3.0
    /// Radius of the aperture that is the model flux (modelFlux), in FWHMs of the PSF.
    public var modelRadius = 3.0
    /// The smallest radius of the model flux's aperture, pixels.
    public var minimumModelRadius = 5.0
    /// Half-width of the box the PSF flux is fitted over, in FWHMs of the model (plus one pixel).
    public var psfFitRadius = 2.5

    public init() {}
}

/// The measurement stage: centroids and fluxes on a background-subtracted image.
///
/// Each pixel's variance is V_i = noise² + max(I_i, 0)/gain: the background's (sky and read
/// noise, measured on the image) and the source's own Poisson noise (its counts over the gain).
///
/// - Centroid: Gaussian-weighted first moments iterated from the detection's peak (SExtractor's
///   windowed positions, `XWIN_IMAGE`; sep's `winpos`), the weight's σ the PSF's. Its variance is
///   the linear propagation of V_i through the fixed point (`centroidVariance`).
/// - Aperture flux: the sum over the N pixels whose centres are within a radius (sep's
///   `sum_circle` with `subpix=0`); its variance ΣV_i = N·noise² + max(F, 0)/gain exactly (the
///   background model's own error, ~1/√(cell pixels) of the noise, is left out: under 3 % of σ).
/// - PSF flux: the unweighted least-squares amplitude of the PSF model p (unit total flux, as it
///   is sampled) at the centroid, fitted with the model's two shift derivatives beside it so that a
///   position a few hundredths of a pixel off does not move it to first order, F = Σw_i·I_i, whose
///   variance is Σw_i²V_i (`psfFit`; for the model alone, w = p/Σp², noise²/Σp² + (F/gain)·Σp³/(Σp²)²),
///   both times the aperture correction; a coadd's source term is its inputs' (`sourceVariance`).
/// - Calibration: `zeroPointSigma` (the calexp's MAGZERR, read by forcedPhot) adds
///   (F·ln10/2.5·σ_zp)² to each flux's variance; processCcd and coadd add theirs once known.
struct Photometer {
    var image: Image
    var noise: Double
    /// Electrons per count, for the sources' own noise (infinite where it is not known).
    let gain: Double
    /// Gaussian sigma of the PSF in pixels: the width centroids and apertures are scaled to.
    var psfSigma: Double
    /// The PSF model PSF fluxes are fitted with.
    var psf: MoffatPSF
    /// The PSF where it changes across the image (a coadd's), in place of `psf`.
    var localPSF: ((_ center: (x: Double, y: Double), _ radius: Int) -> PSFStamp?)?
    /// The variance a PSF flux `flux` at a position has from the source's own photons, where the
    /// image's pixels do not say it (a coadd's: its inputs', `CoaddPSF.sourceVariance`); nil: the
    /// pixels' own, F·p/gain each.
    /// `weights` are the PSF fit's own over its box (`psfFit`).
    var sourceVariance: ((_ center: (x: Double, y: Double), _ flux: Double, _ weights: PSFStamp) -> Double?)?
    /// The factor that turns the flux of the PSF model into a star's total flux
    /// (`ApertureCorrection`): 1 when the model is exact.
    var apertureCorrection = 1.0
    /// The aperture correction's σ (`ApertureCorrection.measure`): common to every PSF flux of the image.
    var apertureCorrectionSigma = 0.0
    /// The σ of the zero point the fluxes are calibrated with, magnitudes: 0 while they are
    /// instrumental (processCcd and coadd add it to their measurements once it is known).
    var zeroPointSigma = 0.0
    var config: MeasurementConfig

    /// A photometer whose PSF is a Moffat of the Gaussian σ's FWHM and of `beta`.
    init(image: Image, noise: Double, gain: Double, psfSigma: Double, beta: Double, config: MeasurementConfig = .init()) {
        self.image = image
        self.noise = noise
        self.gain = gain
        self.psfSigma = psfSigma
        self.config = config
        psf = MoffatPSF(fwhm: Gaussian.sigmaToFWHM * psfSigma, beta: beta)
    }

    /// The source at a detection: its centroid, aperture, model and PSF fluxes; nil when the PSF
    /// flux is not positive. A centroid that wanders off is replaced by the peak, flagged.
    func measure(_ detection: Detection) -> Measurement? {
        let centroid = centroid(from: detection)
        let c = centroid.map { config.debiasCentroids ? debiased($0) : $0 } ?? (x: Double(detection.peakX), y: Double(detection.peakY))
        let fwhm = Gaussian.sigmaToFWHM * psfSigma
        let ap = aperture(at: c, radius: max(config.minimumApertureRadius, config.apertureRadius * fwhm))
        let model = aperture(at: c, radius: max(config.minimumModelRadius, config.modelRadius * fwhm))
        let psf = psf(at: c)
        guard psf.flux > 0, psf.sigma.isFinite else { return nil }
        var variance = centroidVariance(at: c)
        if !(variance.x.isFinite && variance.y.isFinite) {
            // A window whose weighted flux is not positive has no linear error: SExtractor's
            // 4·(σ/S/N)² for a matched Gaussian stands in.
            let snr = max(psf.flux / psf.sigma, 1), fallback = 4 * psfSigma * psfSigma / (snr * snr)
            variance = (fallback, fallback)
        }
        return Measurement(x: c.x, y: c.y, positionVariance: (variance.x + variance.y) / 2,
                           apFlux: ap.flux, apFluxSigma: ap.sigma, psfFlux: psf.flux, psfFluxSigma: psf.sigma,
                           modelFlux: model.flux, modelFluxSigma: model.sigma, xVariance: variance.x, yVariance: variance.y,
                           flags: centroid == nil ? .badCentroid : [])
    }

    /// The variance of the windowed centroid on each axis, pixels², by linear propagation of the
    /// pixels' variances V_i = noise² + max(I_i, 0)/gain through its fixed point Σ W_i I_i (x_i − x) = 0,
    /// W_i the Gaussian weight of σ s about x (SExtractor's `ERRX2WIN_IMAGE`):
    /// δx = Σ W_i (x_i − x) δI_i / Σ W_i I_i [1 − (x_i − x)²/s²], so
    /// Var x = Σ W_i² (x_i − x)² V_i / (Σ W_i I_i [1 − (x_i − x)²/s²])², and alike for y (the x–y
    /// coupling, Σ W_i I_i (x_i − x)(y_i − y)/s², vanishes for a symmetric source and is left out).
    /// For a Gaussian star of σ s this is 4 times (σ/S/N)² at the faint end. Infinite when the
    /// window's denominator is not positive.
    func centroidVariance(at c: (x: Double, y: Double)) -> (x: Double, y: Double) {
        let s = max(psfSigma, config.centroidMinimumSigma)
        let r = Int((config.centroidWindow * s).rounded(.up)) + 1
        let (ix, iy) = (Int(c.x.rounded()), Int(c.y.rounded()))
        var nx = 0.0, ny = 0.0, dx2 = 0.0, dy2 = 0.0
        for y in max(0, iy - r)...min(image.height - 1, iy + r) {
            for x in max(0, ix - r)...min(image.width - 1, ix + r) {
                let dx = Double(x) - c.x, dy = Double(y) - c.y
                let w = exp(-(dx * dx + dy * dy) / (2 * s * s)), value = Double(image[x, y])
                let v = noise * noise + max(value, 0) / gain
                nx += w * w * dx * dx * v
                ny += w * w * dy * dy * v
                dx2 += w * value * (1 - dx * dx / (s * s))
                dy2 += w * value * (1 - dy * dy / (s * s))
            }
        }
        return (dx2 > 0 ? nx / (dx2 * dx2) : .infinity, dy2 > 0 ? ny / (dy2 * dy2) : .infinity)
    }

    /// Gaussian-weighted centroid, iterated from the peak; nil when it leaves the image or ends
    /// more than `centroidMaximumShift` from the peak.
    func centroid(from detection: Detection) -> (x: Double, y: Double)? {
        var (cx, cy) = (Double(detection.peakX), Double(detection.peakY))
        let s = max(psfSigma, config.centroidMinimumSigma)
        let r = Int((config.centroidWindow * s).rounded(.up)) + 1
        for _ in 0..<config.centroidIterations {
            // A centroid pulled off the image by noise (weights of both signs) is no centroid.
            guard cx.isFinite, cy.isFinite, cx > -0.5, cy > -0.5, cx < Double(image.width) - 0.5, cy < Double(image.height) - 0.5 else {
                return nil
            }
            guard let next = weightedMean(around: (cx, cy), sigma: s, radius: r) else { return nil }
            let moved = abs(next.x - cx) + abs(next.y - cy)
            (cx, cy) = next
            if moved < config.centroidTolerance { break }
        }
        let shift = config.centroidMaximumShift
        guard abs(cx - Double(detection.peakX)) < shift, abs(cy - Double(detection.peakY)) < shift else { return nil }
        return (cx, cy)
    }

    /// One step of the centroid: the mean position weighted by the pixels times a Gaussian of σ
    /// `sigma` about `c`, over the box of half-width `radius`; nil when the weights sum to ≤ 0.
    func weightedMean(around c: (x: Double, y: Double), sigma s: Double, radius r: Int,
                      value: ((Int, Int) -> Double)? = nil) -> (x: Double, y: Double)? {
        var sw = 0.0, sx = 0.0, sy = 0.0
        let (ix, iy) = (Int(c.x.rounded()), Int(c.y.rounded()))
        for y in max(0, iy - r)...min(image.height - 1, iy + r) {
            for x in max(0, ix - r)...min(image.width - 1, ix + r) {
                let dx = Double(x) - c.x, dy = Double(y) - c.y
                let weight = exp(-(dx * dx + dy * dy) / (2 * s * s)) * (value?(x, y) ?? Double(image[x, y]))
                sw += weight
                sx += weight * Double(x)
                sy += weight * Double(y)
            }
        }
        guard sw > 0 else { return nil }
        return (sx / sw, sy / sw)
    }

    /// The windowed centroid with its sampling bias taken out. A PSF only a pixel or two wide
    /// (FWHM 1.25 to 2.25 pixels here) is undersampled, and a Gaussian-weighted first moment of its
    /// samples is pulled towards the nearest pixel centre by up to a few hundredths of a pixel,
    /// depending on where the star falls in its pixel: many times the centroid's noise above S/N
    /// 100. The same estimator applied to the PSF model sampled at `c` finds that bias,
    /// b = XWIN(model at c) − c, and c − b is the centroid (to first order in b; the model is the
    /// image's own PSF, sampled as the image is: the Moffat at pixel centres, the coadd's stamp).
    /// The shift is fixed by the model, so the centroid's variance is unchanged.
    func debiased(_ c: (x: Double, y: Double)) -> (x: Double, y: Double) {
        // The true position t solves XWIN(model at t) = c; t = c − b(t), iterated from t = c (the
        // bias changes with the position in the pixel, so one step leaves b·b′).
        var t = c
        for _ in 0..<config.debiasIterations {
            guard let bias = samplingBias(at: t), abs(bias.x) < 1, abs(bias.y) < 1 else { return t }
            let next = (x: c.x - bias.x, y: c.y - bias.y)
            let moved = abs(next.x - t.x) + abs(next.y - t.y)
            t = next
            if moved < config.centroidTolerance { break }
        }
        return t
    }

    /// The windowed centroid of the PSF model sampled at `t`, less `t`; nil when it has no weight.
    func samplingBias(at t: (x: Double, y: Double)) -> (x: Double, y: Double)? {
        let s = max(psfSigma, config.centroidMinimumSigma)
        let r = Int((config.centroidWindow * s).rounded(.up)) + 1
        let stamp = localPSF?(t, r + 1)
        func model(_ x: Int, _ y: Int) -> Double {
            let dx = Double(x) - t.x, dy = Double(y) - t.y
            return stamp?[x, y] ?? psf.value(dx * dx + dy * dy)
        }
        var m = t
        for _ in 0..<config.centroidIterations {
            guard let next = weightedMean(around: m, sigma: s, radius: r, value: model) else { return nil }
            let moved = abs(next.x - m.x) + abs(next.y - m.y)
            m = next
            if moved < config.centroidTolerance { break }
        }
        return (m.x - t.x, m.y - t.y)
    }

    /// Unweighted second moment sigma within `radius` of the centroid (for PSF size estimation).
    func momentSigma(at c: (x: Double, y: Double), radius: Double) -> Double? {
        var sum = 0.0, sxx = 0.0
        let r = Int(radius.rounded(.up))
        let (ix, iy) = (Int(c.x.rounded()), Int(c.y.rounded()))
        guard ix - r >= 0, iy - r >= 0, ix + r < image.width, iy + r < image.height else { return nil }
        for y in (iy - r)...(iy + r) {
            for x in (ix - r)...(ix + r) {
                let dx = Double(x) - c.x, dy = Double(y) - c.y
                guard dx * dx + dy * dy <= radius * radius else { continue }
                let v = Double(image[x, y])
                sum += v
                sxx += v * (dx * dx + dy * dy)
            }
        }
        guard sum > 0, sxx > 0 else { return nil }
        return (sxx / sum / 2).squareRoot()
    }

    /// The sum of the pixels whose centres lie within `radius` of `c`, and its σ.
    func aperture(at c: (x: Double, y: Double), radius: Double) -> (flux: Double, sigma: Double) {
        var flux = 0.0, count = 0
        let r = Int(radius.rounded(.up))
        let (ix, iy) = (Int(c.x.rounded()), Int(c.y.rounded()))
        for y in max(0, iy - r)...min(image.height - 1, iy + r) {
            for x in max(0, ix - r)...min(image.width - 1, ix + r) {
                let dx = Double(x) - c.x, dy = Double(y) - c.y
                if dx * dx + dy * dy <= radius * radius {
                    flux += Double(image[x, y])
                    count += 1
                }
            }
        }
        let calibration = flux * relativeFluxError(magnitudes: zeroPointSigma)
        return (flux, (Double(count) * noise * noise + max(flux, 0) / gain + calibration * calibration).squareRoot())
    }

    /// The sum of the PSF model (unit total flux) over the pixels `aperture(at:radius:)` sums: the
    /// fraction of a star's flux that aperture holds, as this image samples the star there.
    func modelAperture(at c: (x: Double, y: Double), radius: Double) -> Double {
        let r = Int(radius.rounded(.up))
        let stamp = localPSF?(c, r)
        var sum = 0.0
        let (ix, iy) = (Int(c.x.rounded()), Int(c.y.rounded()))
        for y in max(0, iy - r)...min(image.height - 1, iy + r) {
            for x in max(0, ix - r)...min(image.width - 1, ix + r) {
                let dx = Double(x) - c.x, dy = Double(y) - c.y
                if dx * dx + dy * dy <= radius * radius { sum += stamp?[x, y] ?? psf.value(dx * dx + dy * dy) }
            }
        }
        return sum
    }

    /// The PSF flux at a fixed position: the model's, aperture-corrected, its σ with the zero point's.
    func psf(at c: (x: Double, y: Double)) -> (flux: Double, sigma: Double) {
        let fit = psfFit(at: c)
        let flux = fit.flux * apertureCorrection, sigma = fit.sigma * apertureCorrection
        let calibration = flux * relativeFluxError(magnitudes: zeroPointSigma)
        return (flux, (sigma * sigma + calibration * calibration).squareRoot())
    }

    /// Half-width of a source's footprint, pixels: the box its PSF flux is fitted over, which the
    /// flags and the star/galaxy statistic look at too.
    var footprintRadius: Int { Int((config.psfFitRadius * psf.fwhm).rounded(.up)) + 1 }

    /// Flux of the PSF model at a position known to a few hundredths of a pixel, and its σ.
    ///
    /// The unweighted least-squares fit over the box of the model p (unit total flux, as it is
    /// sampled) and its two shift derivatives g_x = ∂p/∂x₀, g_y = ∂p/∂y₀: I ≈ F·p + A·g_x + B·g_y,
    /// the model moved by (A/F, B/F) to first order, and F is the flux. On an undersampled frame the
    /// model's fit alone (F = Σp·I/Σp²) moves to first order with its position, by F·Σp·g/Σp² a
    /// pixel (the sampled Σp² changes with where the star falls in its pixel): for stars above S/N
    /// 300 a position a few hundredths of a pixel off (forcedPhot's, from the coadd; a centroid's own
    /// noise) was 0.1–0.25 % of flux, more than its σ. With the derivatives fitted beside it, F does
    /// not move to first order; for a well-sampled star Σp·g = 0 and F is the model's fit alone.
    ///
    /// F = Σ w_i I_i with w_i = u·t_i, t_i = (p, g_x, g_y) at pixel i and u the first column of
    /// (Σ t tᵀ)⁻¹, so Var F = Σ w_i² (noise² + F·p_i/gain) = noise²·u₀ + (F/gain)·uᵀ(Σ p t tᵀ)u (the
    /// source's Poisson term is the true profile's, F·p, on each pixel; for the model alone this is
    /// noise²/Σp² + (F/gain)·Σp³/(Σp²)²).
    func psfFit(at c: (x: Double, y: Double)) -> (flux: Double, sigma: Double) {
        let r = footprintRadius
        let templates = PSFTemplates(self, at: c, radius: r)
        var normal = SymmetricMatrix3(), poisson = SymmetricMatrix3(), b = [0.0, 0, 0]
        let (ix, iy) = (Int(c.x.rounded()), Int(c.y.rounded()))
        for y in max(0, iy - r)...min(image.height - 1, iy + r) {
            for x in max(0, ix - r)...min(image.width - 1, ix + r) {
                let t = templates.at(x, y), value = Double(image[x, y])
                normal.add(t, weight: 1)
                poisson.add(t, weight: t[0])
                for k in 0..<3 { b[k] += t[k] * value }
            }
        }
        guard normal.a[0] > 0 else { return (0, .infinity) }
        // Without a usable shift (a box cut by the edge to a line, a flat model): the model alone.
        guard let u = normal.firstColumnOfInverse(), u[0] > 0 else {
            let flux = b[0] / normal.a[0]
            return (flux, (noise * noise / normal.a[0] + max(flux, 0) / gain * poisson.a[0] / (normal.a[0] * normal.a[0])).squareRoot())
        }
        let flux = u[0] * b[0] + u[1] * b[1] + u[2] * b[2]
        let given = sourceVariance.flatMap { $0(c, max(flux, 0), weights(u, templates, around: (ix, iy))) }
        let source = given ?? max(flux, 0) / gain * poisson.quadratic(u)
        return (flux, (noise * noise * u[0] + source).squareRoot())
    }

    /// The PSF fit's weights w_i = u·t_i over its box about the pixel (ix, iy), 0 off the image.
    func weights(_ u: [Double], _ templates: PSFTemplates, around center: (x: Int, y: Int)) -> PSFStamp {
        let r = footprintRadius, side = 2 * footprintRadius + 1
        var stamp = PSFStamp(x0: center.x - r, y0: center.y - r, side: side, values: [Double](repeating: 0, count: side * side))
        for y in max(0, center.y - r)...min(image.height - 1, center.y + r) {
            for x in max(0, center.x - r)...min(image.width - 1, center.x + r) {
                let t = templates.at(x, y)
                stamp.values[(y - stamp.y0) * side + x - stamp.x0] = u[0] * t[0] + u[1] * t[1] + u[2] * t[2]
            }
        }
        return stamp
    }
}

/// The PSF model and its shift derivatives at the pixels around a position: the Moffat's analytic
/// ones (∂p/∂x₀ = p·2β·dx/(α² + r²)), or a local stamp's by a central difference of two stamps a
/// tenth of a pixel apart on each axis.
struct PSFTemplates {
    let psf: MoffatPSF
    let center: (x: Double, y: Double)
    let stamps: [PSFStamp]?
    static let step = 0.05

    init(_ photometer: Photometer, at c: (x: Double, y: Double), radius r: Int) {
        psf = photometer.psf
        center = c
        let h = Self.step
        stamps = photometer.localPSF.flatMap { local in
            let shifted = [c, (c.x + h, c.y), (c.x - h, c.y), (c.x, c.y + h), (c.x, c.y - h)].compactMap { local($0, r + 1) }
            return shifted.count == 5 ? shifted : nil
        }
    }

    /// (p, ∂p/∂x₀, ∂p/∂y₀) at a pixel (a SIMD3, not an array: this runs for every pixel of every
    /// PSF fit, and an array is allocated each time).
    func at(_ x: Int, _ y: Int) -> SIMD3<Double> {
        if let s = stamps {
            let h2 = 2 * Self.step
            return SIMD3(s[0][x, y], (s[1][x, y] - s[2][x, y]) / h2, (s[3][x, y] - s[4][x, y]) / h2)
        }
        return Self.moffat(psf, dx: Double(x) - center.x, dy: Double(y) - center.y)
    }

    /// (p, ∂p/∂x₀, ∂p/∂y₀) of a Moffat at an offset (dx, dy) from its centre.
    static func moffat(_ psf: MoffatPSF, dx: Double, dy: Double) -> SIMD3<Double> {
        let r2 = dx * dx + dy * dy
        let p = psf.value(r2), scale = 2 * psf.beta / (psf.alpha * psf.alpha + r2)
        return SIMD3(p, p * scale * dx, p * scale * dy)
    }
}

/// A symmetric 3 × 3 matrix summed from outer products, for the PSF fit's normal equations.
struct SymmetricMatrix3 {
    /// Row-major, all nine entries.
    var a = [Double](repeating: 0, count: 9)

    mutating func add(_ t: SIMD3<Double>, weight: Double) {
        for i in 0..<3 { for j in 0..<3 { a[i * 3 + j] += weight * t[i] * t[j] } }
    }

    /// vᵀ A v.
    func quadratic(_ v: [Double]) -> Double {
        var sum = 0.0
        for i in 0..<3 { for j in 0..<3 { sum += v[i] * a[i * 3 + j] * v[j] } }
        return sum
    }

    /// The inverse (by cofactors, row-major), nil when the matrix is singular to 1e-12 of its
    /// diagonal's product.
    func inverse() -> [Double]? {
        let cofactors = [a[4] * a[8] - a[5] * a[7], a[5] * a[6] - a[3] * a[8], a[3] * a[7] - a[4] * a[6],
                         a[2] * a[7] - a[1] * a[8], a[0] * a[8] - a[2] * a[6], a[1] * a[6] - a[0] * a[7],
                         a[1] * a[5] - a[2] * a[4], a[2] * a[3] - a[0] * a[5], a[0] * a[4] - a[1] * a[3]]
        let determinant = a[0] * cofactors[0] + a[1] * cofactors[1] + a[2] * cofactors[2]
        guard determinant > 1e-12 * a[0] * a[4] * a[8], determinant.isFinite else { return nil }
        return cofactors.map { $0 / determinant }
    }

    /// The first column of the inverse; nil as `inverse`.
    func firstColumnOfInverse() -> [Double]? {
        inverse().map { [$0[0], $0[3], $0[6]] }
    }

    /// x with A x = b; nil as `inverse`.
    func solve(_ b: [Double]) -> [Double]? {
        inverse().map { m in (0..<3).map { i in m[i * 3] * b[0] + m[i * 3 + 1] * b[1] + m[i * 3 + 2] * b[2] } }
    }
}
