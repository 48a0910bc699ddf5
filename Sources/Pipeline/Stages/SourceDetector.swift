import Foundation

/// The tunables of the detection stage.
public struct DetectionConfig: Sendable, Equatable {
    /// Detection threshold in σ of the background noise; processCcd and coadd also drop measured sources whose PSF S/N is below it.
    public var threshold = 5.0
    /// The fewest connected pixels above threshold a detection has (sep's `minarea`, 5 there).
    public var minimumPixels = 4

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

/// The detection stage: thresholding of the 3×3-smoothed image and 8-connected grouping.
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
