import Foundation
import Sky

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

    /// The value at index count/2 of the values sorted (the upper median), found without sorting.
    static func median(_ values: [Float]) -> Double {
        guard !values.isEmpty else { return 0 }
        var copy = values
        return Double(select(values.count / 2, in: &copy))
    }

    /// The k-th smallest value (0-based), by quickselect (Hoare's partition, median-of-three
    /// pivot): a median costs O(n) instead of a sort's O(n log n), and medians of a patch's cells
    /// and pixels were half of a coadd's time. The values are left partly reordered.
    static func select(_ k: Int, in values: inout [Float]) -> Float {
        values.withUnsafeMutableBufferPointer { buffer in
            var low = 0, high = buffer.count - 1
            while low < high {
                let a = buffer[low], b = buffer[(low + high) / 2], c = buffer[high]
                let pivot = max(min(a, b), min(max(a, b), c))
                var i = low, j = high
                while i <= j {
                    while buffer[i] < pivot { i += 1 }
                    while buffer[j] > pivot { j -= 1 }
                    if i <= j {
                        buffer.swapAt(i, j)
                        i += 1
                        j -= 1
                    }
                }
                if k <= j {
                    high = j
                } else if k >= i {
                    low = i
                } else {
                    return buffer[k]
                }
            }
            return buffer[k]
        }
    }

    /// The median after two passes of 3-sigma clipping (stars pull a plain median up).
    static func clippedMedian(_ values: [Float]) -> Double {
        guard !values.isEmpty else { return 0 }
        // The values sorted once: then each median is an index, the median deviation a walk out
        // from the median, and each clipping keeps a run of the sorted values. The same numbers as
        // quickselect on the array each time (order statistics do not depend on order; Float
        // subtraction is monotonic), for a fifth of the time: this runs for every cell of every
        // frame and patch.
        let sorted = Self.sorted(values)
        var low = 0, high = sorted.count  // the kept values: sorted[low..<high]
        func median() -> Double { Double(sorted[low + (high - low) / 2]) }
        /// The upper median of |v − center| over the kept values, as `median(kept.map { abs($0 - center) })`.
        func medianDeviation(from center: Float) -> Double {
            var below = sorted[low..<high].partitioningIndex { $0 >= center } - 1, above = below + 1
            var deviation: Float = 0
            for _ in 0...((high - low) / 2) {
                let left = below >= low ? abs(sorted[below] - center) : .infinity
                let right = above < high ? abs(sorted[above] - center) : .infinity
                if left <= right {
                    deviation = left
                    below -= 1
                } else {
                    deviation = right
                    above += 1
                }
            }
            return Double(deviation)
        }
        for _ in 0..<2 {
            let m = median()
            let s = 1.4826 * medianDeviation(from: Float(m))
            guard s > 0 else { return m }
            // |v − m| < 3s holds on one run of the sorted values.
            var first = low, last = high
            while first < last, !(abs(Double(sorted[first]) - m) < 3 * s) { first += 1 }
            while last > first, !(abs(Double(sorted[last - 1]) - m) < 3 * s) { last -= 1 }
            if last - first < 5 { break }
            (low, high) = (first, last)
        }
        return median()
    }
}

extension Background {
    /// The values in ascending order, by a radix sort of their bits (four passes of 8 bits): a
    /// cell's 4,096 values sort in a tenth of the time of the standard library's comparison sort.
    /// Finite values only (the pixels are: non-finite ones were replaced).
    static func sorted(_ values: [Float]) -> [Float] {
        let count = values.count
        // Bits that order as the floats do: negatives inverted, positives with the sign bit set.
        var keys = values.map { value -> UInt32 in
            let bits = value.bitPattern
            return bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
        }
        var spare = [UInt32](repeating: 0, count: count)
        keys.withUnsafeMutableBufferPointer { keys in
            spare.withUnsafeMutableBufferPointer { spare in
                var (from, to) = (keys, spare)
                for shift in stride(from: UInt32(0), to: 32, by: 8) {
                    var starts = [Int](repeating: 0, count: 257)
                    for key in from { starts[Int((key >> shift) & 0xFF) + 1] += 1 }
                    for b in 1...256 { starts[b] += starts[b - 1] }
                    for key in from {
                        let bucket = Int((key >> shift) & 0xFF)
                        to[starts[bucket]] = key
                        starts[bucket] += 1
                    }
                    swap(&from, &to)
                }
                // Four passes: the sorted keys are back in `keys`.
            }
        }
        return keys.map { key in Float(bitPattern: key & 0x8000_0000 != 0 ? key & 0x7FFF_FFFF : ~key) }
    }
}

extension Collection {
    /// The index of the first element for which `belongs` is true, all of whose successors it is
    /// true for too (binary search over a partitioned collection).
    func partitioningIndex(where belongs: (Element) -> Bool) -> Index {
        var low = startIndex, count = self.count
        while count > 0 {
            let half = count / 2
            let middle = index(low, offsetBy: half)
            if belongs(self[middle]) {
                count = half
            } else {
                low = index(after: middle)
                count -= half + 1
            }
        }
        return low
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
        guard w >= 3, h >= 3 else { return [] }
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

/// A circular Moffat profile of unit total flux, I(r) = (β − 1)/(πα²)·(1 + r²/α²)^−β: the PSF
/// model of processCcd, coadd and forcedPhot. Its wings are an atmosphere's; as β grows it tends to
/// a Gaussian, so one family fits a calexp and a coadd alike.
public struct MoffatPSF: Equatable, Sendable {
    /// Core width, pixels.
    var alpha: Double
    var beta: Double

    public init(fwhm: Double, beta: Double) {
        self.beta = beta
        alpha = fwhm / (2 * (pow(2, 1 / beta) - 1).squareRoot())
    }

    public var fwhm: Double { 2 * alpha * (pow(2, 1 / beta) - 1).squareRoot() }

    /// The profile at squared distance `r2` (pixels²) from the centre, sampled at a pixel centre
    /// as the simulated camera samples it.
    public func value(_ r2: Double) -> Double {
        (beta - 1) / (.pi * alpha * alpha) * pow(1 + r2 / (alpha * alpha), -beta)
    }

    /// The Moffat that best fits the stars: χ² over the pixels within `radius` of each centroid,
    /// each star with its own best flux, minimised on a grid in (FWHM, β) refined three times
    /// around its best point. Stars that the best model fits worse than three times the median
    /// (a galaxy, a blend) are left out and the fit is made again.
    ///
    /// - Parameters:
    ///   - stars: Centroids of bright point sources, 0-based pixels.
    ///   - fwhm: A first estimate of the FWHM, pixels (from second moments).
    ///   - noise: Background noise of a pixel; `gain` adds each pixel's own.
    static func fit(_ image: Image, stars: [(x: Double, y: Double)], fwhm: Double, radius: Double,
                    noise: Double, gain: Double) -> MoffatPSF? {
        let r = Int(radius.rounded(.up))
        // Each pixel weighed by its variance, the source's own noise taken from the data (so
        // that the flux and χ² of a model have closed forms).
        typealias Pixel = (r2: Double, value: Double, weight: Double)
        let cutouts: [[Pixel]] = stars.compactMap { c in
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
        func chiSquare(_ model: MoffatPSF, _ pixels: [Pixel]) -> Double {
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
        func search(_ cutouts: [[Pixel]], from start: (fwhm: Double, beta: Double)) -> MoffatPSF {
            var best = start
            var fwhmStep = 0.05 * start.fwhm, betaStep = 0.5
            var span = 8
            for _ in 0..<3 {
                var bestCost = Double.infinity
                let center = best
                for i in -span...span {
                    for j in -span...span {
                        let candidate = (fwhm: center.fwhm + Double(i) * fwhmStep, beta: center.beta + Double(j) * betaStep)
                        guard candidate.fwhm > 0.5, candidate.beta >= 1.5, candidate.beta <= 12 else { continue }
                        let model = MoffatPSF(fwhm: candidate.fwhm, beta: candidate.beta)
                        let cost = cutouts.reduce(0) { $0 + chiSquare(model, $1) }
                        if cost < bestCost { (bestCost, best) = (cost, candidate) }
                    }
                }
                fwhmStep /= 4
                betaStep /= 4
                span = 4
            }
            return MoffatPSF(fwhm: best.fwhm, beta: best.beta)
        }
        guard cutouts.count >= 3 else { return nil }
        let first = search(cutouts, from: (fwhm, 3))
        let costs = cutouts.map { chiSquare(first, $0) }
        let limit = 3 * Background.median(costs.map { Float($0) })
        let kept = zip(cutouts, costs).filter { $0.1 <= limit }.map(\.0)
        guard kept.count >= 3, kept.count < cutouts.count else { return first }
        return search(kept, from: (first.fwhm, first.beta))
    }
}

/// Centroids and fluxes on a background-subtracted image.
struct Photometer {
    let image: Image
    var noise: Double
    /// Electrons per count, for the sources' own noise (infinite where it is not known).
    let gain: Double
    /// Gaussian sigma of the PSF in pixels: the width centroids and apertures are scaled to.
    var psfSigma: Double
    /// The PSF model PSF fluxes are fitted with.
    var psf: MoffatPSF
    /// The PSF where it changes across the image (a coadd's), in place of `psf`.
    var localPSF: ((_ center: (x: Double, y: Double), _ radius: Int) -> PSFStamp?)?
    /// The factor that turns the flux of the PSF model into a star's total flux
    /// (`apertureCorrection(from:)`): 1 when the model is exact.
    var apertureCorrection = 1.0

    /// What forcedPhot and coadd need of a calexp's photometry, as header keywords: the gain, the
    /// PSF model and its aperture correction.
    func write(to file: FITSFile) throws {
        if gain.isFinite { try file.write("GAIN", gain, comment: "electrons per count") }
        try file.write("PSFFWHM", psf.fwhm, comment: "FWHM of the Moffat PSF model (pixels)")
        try file.write("PSFBETA", psf.beta, comment: "beta of the Moffat PSF model")
        try file.write("APCORR", apertureCorrection, comment: "PSF flux to total flux")
    }

    /// The photometer `write(to:)` left in a calexp's header, on the calexp's pixels; nil for a
    /// calexp written before processCcd fitted a PSF model.
    static func read(from file: FITSFile, image: Image, noise: Double) throws -> Photometer? {
        guard let psf = try MoffatPSF.read(from: file), let correction = try file.double("APCORR"),
              correction.isFinite, correction > 0 else { return nil }
        var photometer = Photometer(image: image, noise: noise, gain: try file.double("GAIN") ?? .infinity, psfSigma: psf.fwhm / 2.3548)
        photometer.psf = psf
        photometer.apertureCorrection = correction
        return photometer
    }

    /// Radius of the aperture that holds a star's total flux, in FWHMs of the PSF: a Moffat
    /// profile (β = 3) leaves 0.3 % of its flux outside 4 FWHMs, a Gaussian nothing.
    static let totalFluxRadius = 4.0

    init(image: Image, noise: Double, gain: Double, psfSigma: Double) {
        self.image = image
        self.noise = noise
        self.gain = gain
        self.psfSigma = psfSigma
        psf = MoffatPSF(fwhm: 2.3548 * psfSigma, beta: 3)
    }

    /// The photometer of an image: the PSF's width from the second moments of its brightest
    /// detections, a Moffat fitted to its bright point sources, then the aperture correction.
    static func calibrated(image: Image, noise: Double, gain: Double, detections: [Detection],
                           localPSF: ((_ center: (x: Double, y: Double), _ radius: Int) -> PSFStamp?)? = nil) -> Photometer {
        var photometer = Photometer(image: image, noise: noise, gain: gain, psfSigma: 1.5)
        photometer.psfSigma = estimatePSFSigma(detections, photometer)
        photometer.psf = MoffatPSF(fwhm: 2.3548 * photometer.psfSigma, beta: 3)
        let stars = photometer.pointSources(detections)
        if let fitted = MoffatPSF.fit(image, stars: Array(stars.prefix(30)), fwhm: photometer.psf.fwhm,
                                      radius: max(4, 2 * photometer.psf.fwhm), noise: noise, gain: gain) {
            photometer.psf = fitted
            photometer.psfSigma = fitted.fwhm / 2.3548
        }
        photometer.localPSF = localPSF
        photometer.apertureCorrection = photometer.apertureCorrection(at: stars)
        return photometer
    }

    /// Centroids of the detections peaking above 20 σ whose second moments are within 20 % of the
    /// PSF's (galaxies are wider), brightest first, at least `totalFluxRadius` FWHMs from the edges.
    func pointSources(_ detections: [Detection]) -> [(x: Double, y: Double)] {
        let radius = max(6, Self.totalFluxRadius * 2.3548 * psfSigma)
        return detections.sorted { $0.peak > $1.peak }.prefix(300).compactMap { detection in
            guard Double(detection.peak) > 20 * noise, let c = centroid(from: detection),
                  c.x >= radius, c.y >= radius, c.x < Double(image.width) - 1 - radius, c.y < Double(image.height) - 1 - radius,
                  let size = momentSigma(at: c, radius: 6), size < 1.2 * psfSigma else { return nil }
            return c
        }
    }

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

    /// The aperture correction of the image: the median, over its bright point sources, of their
    /// flux within `totalFluxRadius` FWHMs over the flux of the PSF model; it needs five of them,
    /// or is 1. The model's wings are fitted where the stars are bright; what it misses beyond, or
    /// where the PSF is not quite a Moffat (a coadd's mix of seeings), this puts back.
    func apertureCorrection(at stars: [(x: Double, y: Double)]) -> Double {
        let radius = max(6, Self.totalFluxRadius * psf.fwhm)
        let ratios = stars.compactMap { c -> Float? in
            guard c.x >= radius, c.y >= radius, c.x < Double(image.width) - 1 - radius, c.y < Double(image.height) - 1 - radius else { return nil }
            let model = psfFit(at: c), total = aperture(at: c, radius: radius)
            guard model.flux > 50 * model.sigma else { return nil }
            return Float(total.flux / model.flux)
        }
        guard ratios.count >= 5 else { return 1 }
        return Background.median(ratios)
    }

    /// The PSF flux at a fixed position: the model's, aperture-corrected.
    func psf(at c: (x: Double, y: Double)) -> (flux: Double, sigma: Double) {
        let fit = psfFit(at: c)
        return (fit.flux * apertureCorrection, fit.sigma * apertureCorrection)
    }

    /// Flux of the PSF model at a fixed position (linear least squares).
    func psfFit(at c: (x: Double, y: Double)) -> (flux: Double, sigma: Double) {
        let r = Int((2.5 * psf.fwhm).rounded(.up)) + 1
        let stamp = localPSF?(c, r)
        var pi = 0.0, pp = 0.0
        let (ix, iy) = (Int(c.x.rounded()), Int(c.y.rounded()))
        for y in max(0, iy - r)...min(image.height - 1, iy + r) {
            for x in max(0, ix - r)...min(image.width - 1, ix + r) {
                let dx = Double(x) - c.x, dy = Double(y) - c.y
                let p = stamp?[x, y] ?? psf.value(dx * dx + dy * dy)
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
