import Foundation
import Testing
@testable import Pipeline

/// The flagging and star/galaxy stages on tiny images whose answers are known.
@Suite struct SourceFlagStages {
    let psf = MoffatPSF(fwhm: 3, beta: 3)

    func photometer(_ image: Image) -> Photometer {
        var photometer = Photometer(image: image, noise: 2, gain: 4, psfSigma: 3 / Gaussian.sigmaToFWHM, beta: 3)
        photometer.psf = psf
        return photometer
    }

    func measurement(at c: (x: Double, y: Double), flux: Double = 1000) -> Pipeline.Measurement {
        Pipeline.Measurement(x: c.x, y: c.y, positionVariance: 0, apFlux: flux, apFluxSigma: 1, psfFlux: flux, psfFluxSigma: 1,
                    modelFlux: flux, modelFluxSigma: 1)
    }

    /// Off the edge, beside a neighbour, over a saturated pixel, or over uncovered pixels: each is
    /// flagged as it is, and a source alone in the middle is not flagged at all.
    @Test func eachFlagSaysWhatItSays() {
        var image = Stages.flat(64, 64)
        image[40, 50] = 900
        let photometer = photometer(image)
        let r = photometer.footprintRadius
        let detections = [(10, 32), (32, 32), (34, 33), (40, 50), (50, 20)].map { Detection(peakX: $0.0, peakY: $0.1, peak: 1, pixels: 9) }
        let flagging = SourceFlagging(width: 64, height: 64, radius: r, valid: { $0 % 64 < 56 }, saturation: 800)
        let flagged = flagging.flagged([(10, 32), (32, 32), (40, 50), (1, 20), (50, 20)].map { measurement(at: $0) },
                                       image: image, detections: detections)
        #expect(flagged.map(\.flags) == [SourceFlags(), .blended, .saturatedCenter, .pixEdge, .pixEdge])
        #expect(flagged[1].flags.fields(SourceFlags.columns.map { $0.name }) == "0,0,1,0,0")
        #expect(flagged[2].flags.fields(["flagPixEdge", "flagPixSaturCen", "flagBadPsfFlux"]) == "0,1,0")
    }

    /// A point source's spread is zero within its σ; a Gaussian galaxy a PSF wide, seen through the
    /// PSF, is extended. Both at S/N ≈ 50.
    @Test func aGalaxyIsExtendedAndAStarIsNot() {
        let star = Stages.noisy(Stages.star(Stages.flat(48, 48), at: (24, 24), flux: 2000, psf: psf), sigma: 2, seed: 3)
        var galaxy = Stages.flat(48, 48)
        let wide = MoffatPSF(fwhm: 3 * 2.squareRoot(), beta: 3)  // the PSF convolved with a source as wide, roughly
        galaxy = Stages.noisy(Stages.star(galaxy, at: (24, 24), flux: 2000, psf: wide), sigma: 2, seed: 3)
        let extendedness = Extendedness()
        let starSpread = extendedness.spread(at: (24, 24), photometer: photometer(star), noise: 2)!
        let galaxySpread = extendedness.spread(at: (24, 24), photometer: photometer(galaxy), noise: 2)!
        #expect(abs(starSpread.value) < 3 * starSpread.sigma, "\(starSpread)")
        #expect(galaxySpread.value > 10 * galaxySpread.sigma, "\(galaxySpread)")
        let classified = [star, galaxy].map { extendedness.classified([measurement(at: (24, 24))], photometer: photometer($0)) { _ in 2 }[0] }
        #expect(classified.map { $0.extendedness } == [0, 1])
    }
}
