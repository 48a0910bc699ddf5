import Foundation

/// The tunables of the PSF model stage.
public struct PSFModelConfig: Sendable, Equatable {
    /// The PSF's Gaussian σ, pixels, before it is measured, and when fewer than `minimumEstimates` stars measure it.
    public var initialSigma = 1.5
    /// The brightest detections whose second moments estimate the PSF's size.
    public var sizeCandidates = 60
    /// The fewest second-moment sizes the estimate is made from.
    public var minimumEstimates = 3
    /// The quantile of the sizes taken as the PSF's: the smallest are the stars, galaxies are larger.
    public var sizeQuantile = 0.25
    /// The smallest PSF σ the estimate gives, pixels.
    public var minimumSigma = 0.6
    /// Radius of the second moments, pixels.
    public var momentRadius = 6.0
    /// The peak, in σ of the background, that a detection needs to measure the PSF.
    public var minimumPeakSignificance = 20.0
    /// The brightest detections searched for point sources.
    public var starCandidates = 300
    /// A point source's second-moment size is below this many times the PSF's (galaxies are wider).
    public var maximumSizeRatio = 1.2
    /// The brightest point sources the model is fitted to.
    public var fitStars = 30
    /// Radius of each star's cutout in the fit, in FWHMs of the first estimate.
    public var fitRadius = 2.0
    /// The smallest cutout radius, pixels.
    public var minimumFitRadius = 4.0
    /// The fit's own tunables.
    public var fit = PSFModelFitConfig()

    public init() {}
}

/// The tunables of photometry, shared by processCcd, coadd and forcedPhot: the PSF model, its
/// aperture correction and the measurement with them.
public struct PhotometryConfig: Sendable, Equatable {
    /// The PSF model stage's.
    public var psf = PSFModelConfig()
    /// The aperture correction stage's.
    public var apertureCorrection = ApertureCorrectionConfig()
    /// The measurement stage's.
    public var measurement = MeasurementConfig()

    public init() {}
}

/// The PSF model stage: the PSF's width, a Moffat fitted to its point sources, and the aperture
/// correction; the photometer the measurement stage measures with.
///
/// The PSF's Gaussian σ is first the lower quartile of the second-moment sizes of the brightest
/// detections (stars are the smallest sources; as LSST's `ObjectSizeStarSelector` picks the
/// stellar locus). Point sources are the detections that peak above `minimumPeakSignificance` σ
/// and whose size is within `maximumSizeRatio` of that σ; `PSFModelFit` fits a Moffat to them,
/// and `ApertureCorrection` measures the correction on them.
struct PSFModeling {
    var config = PhotometryConfig()

    /// The photometer of an image whose noise is `noise` and gain `gain`, calibrated on its detections.
    func photometer(image: Image, noise: Double, gain: Double, detections: [Detection],
                    localPSF: ((_ center: (x: Double, y: Double), _ radius: Int) -> PSFStamp?)? = nil) -> Photometer {
        let psf = config.psf
        var photometer = Photometer(image: image, noise: noise, gain: gain, psfSigma: psf.initialSigma,
                                    beta: psf.fit.initialBeta, config: config.measurement)
        photometer.psfSigma = estimatePSFSigma(detections, photometer)
        photometer.psf = MoffatPSF(fwhm: Gaussian.sigmaToFWHM * photometer.psfSigma, beta: psf.fit.initialBeta)
        // The stars chosen with the first estimate, each centroided with the window of the PSF it is
        // measured with and debiased with that model, once (`Photometer.measure` does the same to
        // every source): the fit's with the first estimate, the aperture correction's with the fitted
        // model. Centroided with the first window and debiased with the fitted model (or debiased
        // twice), an undersampled star's position was a few hundredths of a pixel off, its model flux
        // 0.1–0.4 % high: the calexp's correction was as much low, its zero point put that into its
        // scale, and the coadd was 0.1–0.2 % brighter than its inputs' mean.
        let stars = pointSourceDetections(detections, photometer)
        let fitStars = stars.prefix(psf.fitStars).compactMap { photometer.centroid(from: $0) }
            .map { photometer.config.debiasCentroids ? photometer.debiased($0) : $0 }
        if let fitted = PSFModelFit(config: psf.fit).fit(image, stars: fitStars, fwhm: photometer.psf.fwhm,
                                                         radius: max(psf.minimumFitRadius, psf.fitRadius * photometer.psf.fwhm),
                                                         noise: noise, gain: gain) {
            photometer.psf = fitted
            photometer.psfSigma = fitted.fwhm / Gaussian.sigmaToFWHM
        }
        photometer.localPSF = localPSF
        let correction = ApertureCorrection(config: config.apertureCorrection)
            .measure(of: photometer, at: stars.compactMap { photometer.centroid(from: $0) })
        photometer.apertureCorrection = correction.factor
        photometer.apertureCorrectionSigma = correction.sigma
        return photometer
    }

    /// The PSF's Gaussian sigma, pixels, from the second moments of the brightest detections.
    func estimatePSFSigma(_ detections: [Detection], _ photometer: Photometer) -> Double {
        let psf = config.psf
        let candidates = detections.sorted { $0.peak > $1.peak }.prefix(psf.sizeCandidates)
        let sigmas = candidates.compactMap { d -> Double? in
            guard Double(d.peak) > psf.minimumPeakSignificance * photometer.noise, let c = photometer.centroid(from: d) else { return nil }
            return photometer.momentSigma(at: c, radius: psf.momentRadius)
        }.sorted()
        guard sigmas.count >= psf.minimumEstimates else { return psf.initialSigma }
        return max(psf.minimumSigma, sigmas[Int(Double(sigmas.count) * psf.sizeQuantile)])
    }

    /// Windowed centroids (not debiased: `ApertureCorrection` debiases them with its model) of
    /// `pointSourceDetections`, found with the photometer's window.
    func pointSources(_ detections: [Detection], _ photometer: Photometer) -> [(x: Double, y: Double)] {
        pointSourceDetections(detections, photometer).compactMap { photometer.centroid(from: $0) }
    }

    /// The detections peaking above `minimumPeakSignificance` σ whose second moments are within
    /// `maximumSizeRatio` of the PSF's, brightest first, far enough from the edges for the aperture
    /// correction to measure them, and alone within that distance: in a crowded field (Stripe 82's
    /// density) a neighbour's light in the correction's aperture made the coadd's PSF fluxes 16 %
    /// too bright.
    func pointSourceDetections(_ detections: [Detection], _ photometer: Photometer) -> [Detection] {
        let psf = config.psf, image = photometer.image
        let radius = ApertureCorrection(config: config.apertureCorrection).edgeDistance(psfSigma: photometer.psfSigma)
        let neighbours = DetectionGrid(detections, cell: max(1, Int(radius)))
        return detections.sorted { $0.peak > $1.peak }.prefix(psf.starCandidates).filter { detection in
            guard Double(detection.peak) > psf.minimumPeakSignificance * photometer.noise,
                  neighbours.count(inBoxOfHalfWidth: Int(radius.rounded(.up)), around: (detection.peakX, detection.peakY)) == 1,
                  let c = photometer.centroid(from: detection),
                  c.x >= radius, c.y >= radius, c.x < Double(image.width) - 1 - radius, c.y < Double(image.height) - 1 - radius,
                  let size = photometer.momentSigma(at: c, radius: psf.momentRadius) else { return false }
            return size < psf.maximumSizeRatio * photometer.psfSigma
        }
    }
}
