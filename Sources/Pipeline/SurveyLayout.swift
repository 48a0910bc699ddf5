import Foundation
import Production
import Sky

/// Where a Stripe 82-like drift-scan survey puts its frames inside a region: strips of
/// camcols across Dec (the two interleaved strips of Stripe 82 alternate between runs),
/// fields along RA, and repeated epochs (new runs) once the region is covered.
public struct SurveyLayout: Sendable {
    public struct Pointing: Sendable {
        public var run: Int
        public var camcol: Int
        public var field: Int
        public var center: (ra: Double, dec: Double)
    }

    public let region: Region
    public let width: Int
    public let height: Int
    /// Degrees per pixel.
    public let scale: Double

    public init(region: Region, width: Int, height: Int, scale: Double) {
        self.region = region
        self.width = width
        self.height = height
        self.scale = scale
    }

    /// Dec centres of the strips, each strip as wide as a frame, overlapping by 10 %.
    var stripCenters: [Double] {
        centers(from: region.decMin, to: region.decMax, tile: Double(width) * scale, step: Double(width) * scale * 0.9)
    }

    /// RA centres of the fields; consecutive fields overlap by 128 of SDSS's 1489 rows.
    var fieldCenters: [Double] {
        let cosDec = cos((region.decMin + region.decMax) / 2 * .pi / 180)
        let tile = Double(height) * scale / cosDec
        return centers(from: region.raMin, to: region.raMax, tile: tile, step: tile * 1361 / 1489)
    }

    /// Tiles of size `tile` every `step`, all inside [low, high] and centred there; one if none fits.
    private func centers(from low: Double, to high: Double, tile: Double, step: Double) -> [Double] {
        let count = max(1, Int(((high - low - tile) / step).rounded(.down)) + 1)
        let used = tile + Double(count - 1) * step
        let first = low + (high - low - used) / 2 + tile / 2
        return (0..<count).map { first + Double($0) * step }
    }

    /// The `n`-th pointing: epochs, then fields along RA, then strips across Dec.
    public func pointing(_ n: Int) -> Pointing {
        let strips = stripCenters, fields = fieldCenters
        let perEpoch = strips.count * fields.count
        let epoch = n / perEpoch, inEpoch = n % perEpoch
        let fieldIndex = inEpoch / strips.count, strip = inEpoch % strips.count
        let run = [94, 125][strip % 2] + 2000 * epoch + 100_000 * (strip / 12)
        return Pointing(run: run, camcol: (strip / 2) % 6 + 1, field: 11 + fieldIndex,
                        center: (fields[fieldIndex], strips[strip]))
    }
}
