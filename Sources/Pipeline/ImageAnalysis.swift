import Foundation

/// A 2-D float image, row after row (x fastest), 0-based pixel coordinates at pixel centres.
struct Image {
    var width: Int
    var height: Int
    var pixels: [Float]

    subscript(x: Int, y: Int) -> Float {
        get { pixels[y * width + x] }
        set { pixels[y * width + x] = newValue }
    }
}

/// A smooth background from sigma-clipped medians of cells, bilinearly interpolated, and the
/// noise of what remains.
struct Background {
    var model: [Float]
    /// Standard deviation of a background pixel, from the median absolute deviation.
    var sigma: Double

    init(of image: Image, cell: Int = 64) {
        let (w, h) = (image.width, image.height)
        let nx = max(1, (w + cell - 1) / cell), ny = max(1, (h + cell - 1) / cell)
        var medians = [Double](repeating: 0, count: nx * ny)
        for cy in 0..<ny {
            for cx in 0..<nx {
                var values: [Float] = []
                values.reserveCapacity(cell * cell)
                for y in (cy * cell)..<min(h, (cy + 1) * cell) {
                    for x in (cx * cell)..<min(w, (cx + 1) * cell) { values.append(image[x, y]) }
                }
                medians[cy * nx + cx] = Self.clippedMedian(values)
            }
        }
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
        var residuals: [Float] = []
        residuals.reserveCapacity(w * h / 3 + 1)
        var k = 0
        while k < w * h {
            residuals.append(image.pixels[k] - model[k])
            k += 3
        }
        sigma = Self.robustSigma(residuals)
        self.model = model
    }

    /// The standard deviation of values with outliers: 1.4826 × their median absolute deviation.
    static func robustSigma(_ values: [Float]) -> Double {
        let center = Float(median(values))
        return 1.4826 * median(values.map { abs($0 - center) })
    }

    static func median(_ values: [Float]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return Double(sorted[sorted.count / 2])
    }

    /// The median after two passes of 3-sigma clipping (stars pull a plain median up).
    static func clippedMedian(_ values: [Float]) -> Double {
        var kept = values
        for _ in 0..<2 {
            let m = median(kept)
            let s = 1.4826 * median(kept.map { abs($0 - Float(m)) })
            guard s > 0 else { return m }
            let next = kept.filter { abs(Double($0) - m) < 3 * s }
            if next.count < 5 { break }
            kept = next
        }
        return median(kept)
    }
}

/// A connected group of pixels above threshold.
struct Detection {
    var peakX: Int
    var peakY: Int
    var peak: Float
    var pixels: Int
}

enum SourceDetector {
    /// Pixels of the 3×3-smoothed, background-subtracted image above `threshold` times the smoothed
    /// noise, grouped by 8-connectivity; groups of at least `minPixels`.
    static func detect(_ image: Image, sigma: Double, threshold: Double, minPixels: Int = 4) -> [Detection] {
        let (w, h) = (image.width, image.height)
        let cut = Float(threshold * sigma / 3)
        var above = [Bool](repeating: false, count: w * h)
        for y in 1..<(h - 1) {
            for x in 1..<(w - 1) {
                var sum: Float = 0
                for dy in -1...1 { for dx in -1...1 { sum += image[x + dx, y + dy] } }
                above[y * w + x] = sum / 9 > cut
            }
        }
        var seen = [Bool](repeating: false, count: w * h)
        var out: [Detection] = []
        var stack: [Int] = []
        for start in 0..<(w * h) where above[start] && !seen[start] {
            seen[start] = true
            stack.append(start)
            var count = 0
            var best = start
            while let k = stack.popLast() {
                count += 1
                if image.pixels[k] > image.pixels[best] { best = k }
                let x = k % w, y = k / w
                for dy in -1...1 {
                    for dx in -1...1 {
                        let nx = x + dx, ny = y + dy
                        guard nx >= 0, ny >= 0, nx < w, ny < h else { continue }
                        let n = ny * w + nx
                        if above[n] && !seen[n] {
                            seen[n] = true
                            stack.append(n)
                        }
                    }
                }
            }
            if count >= minPixels {
                out.append(Detection(peakX: best % w, peakY: best / w, peak: image.pixels[best], pixels: count))
            }
        }
        return out
    }
}

/// What processCcd measures of one source, in pixels and counts.
struct Measurement {
    var x: Double
    var y: Double
    /// Variance of the centroid on each axis, pixels².
    var positionVariance: Double
    var apFlux: Double, apFluxSigma: Double
    var psfFlux: Double, psfFluxSigma: Double
    var modelFlux: Double, modelFluxSigma: Double
    var signalToNoise: Double { psfFluxSigma > 0 ? psfFlux / psfFluxSigma : 0 }
}

/// Centroids and fluxes on a background-subtracted image.
struct Photometer {
    let image: Image
    let noise: Double
    let gain: Double
    /// Gaussian sigma of the PSF in pixels.
    var psfSigma: Double

    /// The PSF's Gaussian sigma, pixels, from the second moments of the brightest detections.
    static func estimatePSFSigma(_ detections: [Detection], _ photometer: Photometer) -> Double {
        let candidates = detections.sorted { $0.peak > $1.peak }.prefix(60)
        let sigmas = candidates.compactMap { d -> Double? in
            guard Double(d.peak) > 20 * photometer.noise, let c = photometer.centroid(from: d) else { return nil }
            return photometer.momentSigma(at: c, radius: 6)
        }.sorted()
        guard sigmas.count >= 3 else { return 1.5 }
        // The smallest sizes are the stars; galaxies are larger.
        return max(0.6, sigmas[sigmas.count / 4])
    }

    /// Gaussian-weighted centroid, iterated from the peak.
    func centroid(from detection: Detection) -> (x: Double, y: Double)? {
        var (cx, cy) = (Double(detection.peakX), Double(detection.peakY))
        let s = max(psfSigma, 0.8)
        let r = Int((3 * s).rounded(.up)) + 1
        for _ in 0..<12 {
            var sw = 0.0, sx = 0.0, sy = 0.0
            // A centroid pulled off the image by noise (weights of both signs) is no centroid.
            guard cx.isFinite, cy.isFinite, cx > -0.5, cy > -0.5, cx < Double(image.width) - 0.5, cy < Double(image.height) - 0.5 else {
                return nil
            }
            let (ix, iy) = (Int(cx.rounded()), Int(cy.rounded()))
            for y in max(0, iy - r)...min(image.height - 1, iy + r) {
                for x in max(0, ix - r)...min(image.width - 1, ix + r) {
                    let dx = Double(x) - cx, dy = Double(y) - cy
                    let weight = exp(-(dx * dx + dy * dy) / (2 * s * s)) * Double(image[x, y])
                    sw += weight
                    sx += weight * Double(x)
                    sy += weight * Double(y)
                }
            }
            guard sw > 0 else { return nil }
            let (nx, ny) = (sx / sw, sy / sw)
            let moved = abs(nx - cx) + abs(ny - cy)
            (cx, cy) = (nx, ny)
            if moved < 1e-4 { break }
        }
        guard abs(cx - Double(detection.peakX)) < 3, abs(cy - Double(detection.peakY)) < 3 else { return nil }
        return (cx, cy)
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
        return (flux, (Double(count) * noise * noise + max(flux, 0) / gain).squareRoot())
    }

    /// Flux of the best-fitting Gaussian PSF at a fixed position (linear least squares).
    func psf(at c: (x: Double, y: Double)) -> (flux: Double, sigma: Double) {
        let s = psfSigma
        let r = Int((4 * s).rounded(.up)) + 1
        var pi = 0.0, pp = 0.0
        let (ix, iy) = (Int(c.x.rounded()), Int(c.y.rounded()))
        for y in max(0, iy - r)...min(image.height - 1, iy + r) {
            for x in max(0, ix - r)...min(image.width - 1, ix + r) {
                let dx = Double(x) - c.x, dy = Double(y) - c.y
                let p = exp(-(dx * dx + dy * dy) / (2 * s * s)) / (2 * .pi * s * s)
                pi += p * Double(image[x, y])
                pp += p * p
            }
        }
        guard pp > 0 else { return (0, .infinity) }
        let flux = pi / pp
        let variance = noise * noise / pp + max(flux, 0) / gain
        return (flux, variance.squareRoot())
    }

    func measure(_ detection: Detection) -> Measurement? {
        guard let c = centroid(from: detection) else { return nil }
        let fwhm = 2.3548 * psfSigma
        let ap = aperture(at: c, radius: max(3, 1.5 * fwhm))
        let model = aperture(at: c, radius: max(5, 3 * fwhm))
        let psf = psf(at: c)
        guard psf.flux > 0, psf.sigma.isFinite else { return nil }
        let snr = psf.flux / psf.sigma
        let positionSigma = psfSigma / max(snr, 1)
        return Measurement(x: c.x, y: c.y, positionVariance: positionSigma * positionSigma,
                           apFlux: ap.flux, apFluxSigma: ap.sigma, psfFlux: psf.flux, psfFluxSigma: psf.sigma,
                           modelFlux: model.flux, modelFluxSigma: model.sigma)
    }
}
