import Foundation

/// The tunables of the detection stage.
public struct DetectionConfig: Sendable, Equatable {
    /// Detection threshold in σ of the filtered image's noise (of the 3×3 mean, or of the image
    /// filtered by the PSF); processCcd and coadd also drop measured sources whose PSF S/N is below it.
    public var threshold = 5.0
    /// The fewest connected pixels above threshold a detection has (sep's `minarea`, 5 there).
    public var minimumPixels = 4
    /// Whether processCcd detects again, once the PSF is modelled, on the image filtered by it
    /// (`SourceDetector.detect(_:sigma:psfSigma:config:)`); false keeps the first, boxcar, pass.
    public var matchedFilter = true
    /// The matched filter's half-width, in PSF σ (the Gaussian beyond holds 0.03 % of its weight).
    public var matchedKernelRadius = 3.5
    /// The fewest connected pixels above threshold on the filtered image: its noise is correlated
    /// over the PSF, so one pixel at 5σ is already a PSF-sized excursion (LSST's `minPixels` is 1).
    public var matchedMinimumPixels = 1
    /// Whether a group of the filtered image with several peaks is several detections (crowded
    /// fields: the Stripe 82-dense sky), as sep's and SExtractor's deblending splits them.
    public var deblend = true
    /// A second peak is a detection when it rises above the lowest point on the line to every
    /// brighter peak by this fraction of its own filtered height…
    public var deblendContrast = 0.15
    /// …and by this many σ of the filtered noise (noise makes peaks on a faint source's plateau).
    public var deblendNoiseDip = 3.0
    /// Peaks closer than this, in PSF FWHM, are one detection (a PSF fit does not separate them).
    public var deblendMinimumSeparation = 1.0

    public init() {}
}

/// A connected group of pixels above threshold, by its brightest pixel.
struct Detection: Sendable, Equatable {
    var peakX: Int
    var peakY: Int
    /// The brightest pixel's value (of the image, not the smoothed one).
    var peak: Float
    /// Pixels in the group.
    var pixels: Int
}

/// The detection stage: thresholding of the 3×3-smoothed image, or of the image filtered by its PSF
/// once that is known, and 8-connected grouping.
///
/// As sep's `src/extract.c` with a 3×3 box filter (sep's default is a 3×3 pyramid): the mean of
/// each pixel's 3×3 neighbourhood (the image's outer pixels are never above) is compared with
/// `threshold` × σ / 3, the noise of a mean of nine independent pixels; the pixels above are
/// grouped by 8-connectivity (a flood fill), and each group of at least `minimumPixels` is a
/// detection at its brightest pixel. Groups are not deblended.
enum SourceDetector {
    /// The detections of a background-subtracted image whose pixels have noise `sigma`.
    static func detect(_ image: Image, sigma: Double, config: DetectionConfig = .init()) -> [Detection] {
        guard image.width >= 3, image.height >= 3 else { return [] }
        let above = smoothedAbove(image, cut: Float(config.threshold * sigma / 3))
        return groups(above, in: image, minimumPixels: config.minimumPixels)
    }

    /// The detections of a background-subtracted image whose pixels have noise `sigma`, on the image
    /// filtered by a Gaussian of the PSF's σ (`psfSigma`, pixels): the matched filter, which for a
    /// point source on white noise maximises the peak's S/N, so that a source of PSF S/N 5 peaks
    /// near 5σ of the filtered noise (sep's and SExtractor's filtered thresholding; LSST's
    /// `SourceDetectionTask` smooths with the PSF likewise). The kernel k(x)k(y), normalised to a
    /// sum of one, gives filtered noise σ·Σk², exactly, for independent pixels; the image is taken
    /// as zero beyond its edges (the background is), so edge pixels' filtered noise is lower and
    /// their cut conservative. A detection is at its group's brightest filtered pixel (a noisy
    /// faint source's brightest raw pixel may be a neighbour), its `peak` the image's value there;
    /// with `deblend`, each other peak that stands out is a detection too (`deblended`).
    static func detect(_ image: Image, sigma: Double, psfSigma: Double, config: DetectionConfig = .init()) -> [Detection] {
        guard image.width >= 3, image.height >= 3, psfSigma > 0 else { return [] }
        let kernel = matchedKernel(psfSigma: psfSigma, config: config)
        return detect(image, filtered: convolved(image, kernel), noise: filteredNoise(sigma, kernel: kernel),
                      psfSigma: psfSigma, config: config)
    }

    /// The noise of `convolved(image, kernel)` where the image's pixels are independent, of noise
    /// `sigma`: the kernel is one axis of k(x)k(y), so σ·Σk² (√(Σk²·Σk²)).
    static func filteredNoise(_ sigma: Double, kernel: [Double]) -> Double {
        sigma * kernel.map { $0 * $0 }.reduce(0, +)
    }

    /// The matched filter's kernel for a PSF of Gaussian σ `psfSigma` (one axis of k(x)k(y)).
    static func matchedKernel(psfSigma: Double, config: DetectionConfig) -> [Double] {
        gaussianKernel(sigma: psfSigma, radius: max(1, Int((config.matchedKernelRadius * psfSigma).rounded(.up))))
    }

    /// The detections of `image` on its matched-filtered copy `filtered` (`convolved` with
    /// `matchedKernel`), whose noise is `noise`: predicted, or measured where the pixels are
    /// correlated (the coadd's, `CoaddDetection.matched`).
    static func detect(_ image: Image, filtered: Image, noise: Double, psfSigma: Double, config: DetectionConfig) -> [Detection] {
        let cut = Float(config.threshold * noise)
        let found = groups(filtered.pixels.map { $0 > cut }, in: filtered, minimumPixels: config.matchedMinimumPixels)
        let split = config.deblend ? deblended(found, filtered: filtered, cut: cut, noise: noise, psfSigma: psfSigma, config: config) : found
        return split.map { found in
            var detection = found
            detection.peak = image.pixels[found.peakY * image.width + found.peakX]
            return detection
        }
    }

    /// The groups' detections and, after them, the other peaks of the filtered image that stand out
    /// from every brighter peak near them: each local maximum above `cut`, brightest first, kept when
    /// it is at least `deblendMinimumSeparation` FWHM from every kept peak and the filtered image dips
    /// between them, on the straight line, by `deblendContrast` of its height and `deblendNoiseDip` σ.
    static func deblended(_ groups: [Detection], filtered: Image, cut: Float, noise: Double, psfSigma: Double,
                          config: DetectionConfig) -> [Detection] {
        let (w, h) = (filtered.width, filtered.height), f = filtered.pixels
        var candidates: [Int] = []
        for y in 0..<h {
            for x in 0..<w where f[y * w + x] > cut {
                let k = y * w + x
                var isPeak = true
                for dy in -1...1 where isPeak {
                    for dx in -1...1 where (dx != 0 || dy != 0) && x + dx >= 0 && x + dx < w && y + dy >= 0 && y + dy < h {
                        let n = (y + dy) * w + x + dx
                        if f[n] > f[k] || (f[n] == f[k] && n < k) { isPeak = false }
                    }
                }
                if isPeak { candidates.append(k) }
            }
        }
        var kept = groups.map { $0.peakY * w + $0.peakX }
        let fwhm = Gaussian.sigmaToFWHM * psfSigma
        let separation = config.deblendMinimumSeparation * fwhm, reach = 10 * fwhm
        var out = groups
        for k in candidates.sorted(by: { f[$0] > f[$1] }) where !kept.contains(k) {
            let (x, y) = (Double(k % w), Double(k / w))
            let dip = max(config.deblendContrast * Double(f[k]), config.deblendNoiseDip * noise)
            let distinct = kept.allSatisfy { other in
                let (ox, oy) = (Double(other % w), Double(other / w))
                let distance = ((x - ox) * (x - ox) + (y - oy) * (y - oy)).squareRoot()
                guard distance < reach else { return true }
                guard distance >= separation else { return false }
                let steps = Int((2 * distance).rounded(.up))
                let lowest = (1..<steps).map { j -> Float in
                    let t = Double(j) / Double(steps)
                    return f[Int((y + t * (oy - y)).rounded()) * w + Int((x + t * (ox - x)).rounded())]
                }.min() ?? f[k]
                return Double(f[k] - lowest) >= dip
            }
            if distinct {
                kept.append(k)
                out.append(Detection(peakX: k % w, peakY: k / w, peak: f[k], pixels: 1))
            }
        }
        return out
    }

    /// A Gaussian of σ `sigma` sampled at −radius…radius, summing to one.
    static func gaussianKernel(sigma: Double, radius: Int) -> [Double] {
        let values = (-radius...radius).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let sum = values.reduce(0, +)
        return values.map { $0 / sum }
    }

    /// The image convolved with k(x)k(y), rows then columns, zero beyond the edges.
    static func convolved(_ image: Image, _ kernel: [Double]) -> Image {
        let (w, h) = (image.width, image.height), r = kernel.count / 2
        let k = kernel.map { Float($0) }
        var rows = [Float](repeating: 0, count: w * h), out = [Float](repeating: 0, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                var sum: Float = 0
                for d in max(-r, -x)...min(r, w - 1 - x) { sum += k[d + r] * image.pixels[y * w + x + d] }
                rows[y * w + x] = sum
            }
        }
        for y in 0..<h {
            for x in 0..<w {
                var sum: Float = 0
                for d in max(-r, -y)...min(r, h - 1 - y) { sum += k[d + r] * rows[(y + d) * w + x] }
                out[y * w + x] = sum
            }
        }
        return Image(width: w, height: h, pixels: out)
    }

    /// Whether each pixel's 3×3 mean is above `cut` (false on the outer rows and columns).
    static func smoothedAbove(_ image: Image, cut: Float) -> [Bool] {
        let (w, h) = (image.width, image.height)
        var above = [Bool](repeating: false, count: w * h)
        for y in 1..<(h - 1) {
            for x in 1..<(w - 1) {
                var sum: Float = 0
                for dy in -1...1 { for dx in -1...1 { sum += image[x + dx, y + dy] } }
                above[y * w + x] = sum / 9 > cut
            }
        }
        return above
    }

    /// The 8-connected groups of pixels `above`, in the order of their first pixel, each of at least `minimumPixels`.
    static func groups(_ above: [Bool], in image: Image, minimumPixels: Int) -> [Detection] {
        let (w, h) = (image.width, image.height)
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
            if count >= minimumPixels {
                out.append(Detection(peakX: best % w, peakY: best / w, peak: image.pixels[best], pixels: count))
            }
        }
        return out
    }
}
