import Foundation

/// The tunables of detection on a coadd.
public struct CoaddDetectionConfig: Sendable, Equatable {
    /// The detection stage's, run on the significance image.
    public var detection = DetectionConfig()
    /// The significance's robust σ is measured on one pixel in this many.
    public var significanceSampling = 3
    /// The noise of the significance's 3×3 means is measured on one pixel in this many.
    public var smoothedSampling = 5
    /// The coadd's typical noise (its `noise`) is the median of one pixel's noise in this many.
    public var noiseSampling = 7

    public init() {}
}

/// Detection on a coadd, whose depth varies across the patch (fewer frames at the edges of the
/// survey): detection runs on the significance image, each pixel over its own noise; a first pass
/// (`detect`, a 3×3 box) finds the stars the coadd's PSF is modelled on, and the sources are those
/// of the significance image filtered by that PSF (`matched`), as on a calexp.
///
/// A pixel's noise is its variance plane's σ scaled by what a draw of the coadd's noise alone shows
/// (`Coadd.noiseDraw`, its inputs' noise warped and stacked as they are): warping correlates
/// neighbours, which the variance plane does not know, and the draw has no sources, so that every
/// position of it is blank, a crowded deep coadd's too. The first pass cuts its 3×3 mean at
/// threshold·σ/3, as if pixels were independent; warped pixels are not, so σ is given as three times
/// the draw's noise of that mean (sep's `extract(..., err=)` with a noise map and
/// `filter_type='matched'` does the same in one step).
struct CoaddDetection {
    var config = CoaddDetectionConfig()

    /// The detections and the noise of a coadd.
    struct Result {
        /// Detections, each with its peak on the background-subtracted image.
        var detections: [Detection]
        /// A pixel's noise is `noiseScale` × its variance plane's σ.
        var noiseScale: Double
        /// The median pixel noise where the stack has data.
        var noise: Double
        /// Each pixel over its variance plane's σ (0 where the stack has no data), for `matched`.
        var significance: Image
        /// The noise draw's pixels over their variance plane's σ likewise.
        var noiseSignificance: Image
    }

    /// Detections on `image` (background-subtracted) where the stack has data (`valid`), with its
    /// `variance` plane and a `draw` of its noise alone; nil when no pixel has data.
    func detect(_ image: Image, variance: [Float], draw: Image, valid: (Int) -> Bool) -> Result? {
        let width = image.width
        var significance = Image(width: width, height: image.height, pixels: [Float](repeating: 0, count: image.pixels.count))
        var noiseSignificance = significance
        var ratios: [Float] = []
        for k in image.pixels.indices where valid(k) && variance[k] > 0 {
            let sigma = variance[k].squareRoot()
            significance.pixels[k] = image.pixels[k] / sigma
            noiseSignificance.pixels[k] = draw.pixels[k] / sigma
            if k % config.significanceSampling == 0 { ratios.append(noiseSignificance.pixels[k]) }
        }
        guard !ratios.isEmpty else { return nil }
        let scale = RobustStatistics.sigma(ratios)
        var means: [Float] = []
        for k in stride(from: width + 1, to: image.pixels.count - width - 1, by: config.smoothedSampling) where valid(k) {
            var sum: Float = 0
            for d in [-width - 1, -width, -width + 1, -1, 0, 1, width - 1, width, width + 1] { sum += noiseSignificance.pixels[k + d] }
            means.append(sum / 9)
        }
        let smoothedNoise = RobustStatistics.sigma(means)
        let detections = SourceDetector.detect(significance, sigma: 3 * smoothedNoise, config: config.detection).compactMap { found -> Detection? in
            let k = found.peakY * width + found.peakX
            guard valid(k) else { return nil }
            return Detection(peakX: found.peakX, peakY: found.peakY, peak: image.pixels[k], pixels: found.pixels)
        }
        let noise = RobustStatistics.median(image.pixels.indices.filter { $0 % config.noiseSampling == 0 && valid($0) }
            .map { Float(scale * Double(variance[$0]).squareRoot()) })
        return Result(detections: detections, noiseScale: scale, noise: noise, significance: significance,
                      noiseSignificance: noiseSignificance)
    }

    /// The detections of the significance image filtered by the coadd's PSF (Gaussian σ `psfSigma`,
    /// pixels), thresholded on the noise of the noise draw's significance filtered alike, not as
    /// predicted from independent pixels: the warp correlates neighbours, by a factor the variance
    /// plane does not know.
    ///
    /// The PSF fluxes' σ is their pixels' noise times the spread of PSF fits on the same draw over
    /// their prediction (`Coadd.noiseCorrelation`); a filter matched to the PSF is the same weighted
    /// sum as a PSF fit, so its threshold of 5σ is S/N 5 of the instrument's noise, as DC2013's
    /// detection counted it from its variance planes. The boxcar pass, cut at 5σ of its own 3×3
    /// mean with 4 pixels above, was 50 % complete only at S/N 6.1 of them on eight dense
    /// single-exposure epochs (a 3×3 box on a PSF of 4–5 pixels' FWHM gathers less of a source's
    /// S/N than its PSF fit does).
    func matched(_ first: Result, image: Image, psfSigma: Double, valid: (Int) -> Bool) -> [Detection] {
        let significance = first.significance
        guard psfSigma > 0, image.width >= 3, image.height >= 3 else { return first.detections }
        let kernel = SourceDetector.matchedKernel(psfSigma: psfSigma, config: config.detection)
        let filtered = SourceDetector.convolved(significance, kernel)
        let filteredDraw = SourceDetector.convolved(first.noiseSignificance, kernel)
        let noise = RobustStatistics.sigma(filteredDraw.pixels.indices.filter { $0 % config.significanceSampling == 0 && valid($0) }
            .map { filteredDraw.pixels[$0] })
        guard noise > 0 else { return first.detections }
        return SourceDetector.detect(significance, filtered: filtered, noise: noise, psfSigma: psfSigma, config: config.detection)
            .compactMap { found in
                let k = found.peakY * image.width + found.peakX
                guard valid(k) else { return nil }
                var detection = found
                detection.peak = image.pixels[k]
                return detection
            }
    }
}
