import Foundation
import Sky

/// The photometry a calexp's header carries: processCcd writes it, coadd and forcedPhot read it.
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
