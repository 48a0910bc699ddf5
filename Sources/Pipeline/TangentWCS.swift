import Foundation
import Sky

/// A gnomonic (TAN) WCS with a CD matrix, as SDSS-like frames carry it.
public struct TangentWCS: Sendable, Equatable {
    public var crval1: Double, crval2: Double
    public var crpix1: Double, crpix2: Double
    /// CD1_1, CD1_2, CD2_1, CD2_2 in degrees per pixel.
    public var cd: [Double]

    /// Columns (x) run towards +Dec and rows (y) towards +RA, as in an SDSS drift scan,
    /// turned by `rotation` degrees; `scale` is in degrees per pixel.
    public init(center: (ra: Double, dec: Double), width: Int, height: Int, scale: Double, rotation: Double) {
        crval1 = center.ra
        crval2 = center.dec
        crpix1 = (Double(width) + 1) / 2
        crpix2 = (Double(height) + 1) / 2
        let (s, c) = (sin(rotation * .pi / 180), cos(rotation * .pi / 180))
        cd = [-scale * s, scale * c, scale * c, scale * s]
    }

    /// The same WCS with its linear part turned by `degrees` and scaled by `factor`.
    public func distorted(rotation degrees: Double, factor: Double) -> TangentWCS {
        let (s, c) = (sin(degrees * .pi / 180), cos(degrees * .pi / 180))
        var out = self
        out.cd = [factor * (c * cd[0] - s * cd[2]), factor * (c * cd[1] - s * cd[3]),
                  factor * (s * cd[0] + c * cd[2]), factor * (s * cd[1] + c * cd[3])]
        return out
    }

    /// Arcsec per pixel of the CD matrix `cd` (CD1_1, CD1_2, CD2_1, CD2_2, degrees per pixel): the square
    /// root of its determinant.
    static func pixelScale(cd: [Double]) -> Double { abs(cd[0] * cd[3] - cd[1] * cd[2]).squareRoot() * 3600 }

    /// Arcsec per pixel.
    var pixelScale: Double { Self.pixelScale(cd: cd) }

    public var cards: [FITSCard] {
        [FITSCard("RADESYS", "ICRS"), FITSCard("EQUINOX", 2000.0),
         FITSCard("CTYPE1", "RA---TAN"), FITSCard("CTYPE2", "DEC--TAN"),
         FITSCard("CUNIT1", "deg"), FITSCard("CUNIT2", "deg"),
         FITSCard("CRPIX1", crpix1), FITSCard("CRPIX2", crpix2),
         FITSCard("CRVAL1", crval1), FITSCard("CRVAL2", crval2),
         FITSCard("CD1_1", cd[0]), FITSCard("CD1_2", cd[1]), FITSCard("CD2_1", cd[2]), FITSCard("CD2_2", cd[3])]
    }

    /// This WCS through wcslib, for projecting the sky onto pixels.
    public func wcs(width: Int, height: Int) throws -> WCS {
        try WCS(header: FITSHeader(cards: [FITSCard("NAXIS", 2), FITSCard("NAXIS1", width), FITSCard("NAXIS2", height)] + cards))
    }

    /// Writes the WCS keywords into a FITS header.
    func write(to file: FITSFile) throws {
        for card in cards { try file.write(card) }
    }
}
