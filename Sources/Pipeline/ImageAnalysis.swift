import Foundation
import Sky

// The photometry a calexp's header carries, as FITS keywords: processCcd writes it (`GAIN`,
// `PSFFWHM`, `PSFBETA`, `APCORR`), coadd and forcedPhot read it. The stages under Stages/ are pure
// numerics on arrays; this is where the photometer meets a file.

/// The photometer's keywords: written by processCcd, read by forcedPhot.
extension Photometer {
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
    static func read(from file: FITSFile, image: Image, noise: Double, config: MeasurementConfig = .init()) throws -> Photometer? {
        guard let psf = try MoffatPSF.read(from: file), let correction = try file.double("APCORR"),
              correction.isFinite, correction > 0 else { return nil }
        var photometer = Photometer(image: image, noise: noise, gain: try file.double("GAIN") ?? .infinity,
                                    psfSigma: psf.fwhm / Gaussian.sigmaToFWHM, beta: psf.beta, config: config)
        photometer.psf = psf
        photometer.apertureCorrection = correction
        return photometer
    }
}

/// The PSF model's keywords: read by coadd (for `CoaddPSF`) and, through `Photometer.read`, by forcedPhot.
extension MoffatPSF {
    /// The FWHMs (pixels) a calexp's header may give: processCcd fits from half a pixel up; the
    /// stamps and apertures measured with a PSF are a few FWHMs wide, so a header's 10³⁰⁰ would
    /// ask for an image of more pixels than there are.
    static let readableFWHM = 0.01...100.0
    /// The Moffat βs a header may give: a profile with β ≤ 1 has no finite flux; processCcd fits up to 12.
    static let readableBeta = 1.0.nextUp...100.0

    /// The PSF model processCcd wrote in a calexp's header (`PSFFWHM`, `PSFBETA`), or nil when it
    /// is absent or outside `readableFWHM` and `readableBeta` (NaN included).
    static func read(from file: FITSFile) throws -> MoffatPSF? {
        guard let fwhm = try file.double("PSFFWHM"), let beta = try file.double("PSFBETA"),
              readableFWHM.contains(fwhm), readableBeta.contains(beta) else { return nil }
        return MoffatPSF(fwhm: fwhm, beta: beta)
    }
}
