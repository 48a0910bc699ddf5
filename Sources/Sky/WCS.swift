import CWCSLIB
import Foundation

public struct WCSError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

/// A celestial WCS parsed by wcslib from a FITS header (any projection wcslib knows).
public final class WCS {
    private var all: UnsafeMutablePointer<wcsprm>?
    private var count: Int32 = 0
    private let wcs: UnsafeMutablePointer<wcsprm>

    /// Before WCSLIB 7.5 the header parser was not thread-safe (its changelog: "Fixed a problem
    /// common to all of the Flex code ... that made it thread-unsafe"); with those, one at a time.
    private static let parserLock: NSLock? = {
        var version: [Int32] = [0, 0, 0]
        wcslib_version(&version)
        return (version[0], version[1]) >= (7, 5) ? nil : NSLock()
    }()

    public init(header: FITSHeader) throws {
        var cards = Array(header.cards.utf8CString)
        var rejected: Int32 = 0
        var nwcs: Int32 = 0
        var parsed: UnsafeMutablePointer<wcsprm>?
        func parse() -> Int32 { wcspih(&cards, Int32(header.count), WCSHDR_all, 0, &rejected, &nwcs, &parsed) }
        let status = Self.parserLock.map { $0.withLock(parse) } ?? parse()
        guard status == 0, let parsed, nwcs > 0 else {
            if parsed != nil { wcsvfree(&nwcs, &parsed) }
            throw WCSError(message: "no WCS in the header (wcspih status \(status))")
        }
        all = parsed
        count = nwcs
        wcs = parsed
        let setStatus = wcsset(wcs)
        guard setStatus == 0 else {
            throw WCSError(message: "invalid WCS: \(Self.message(wcs, setStatus))")
        }
        guard wcs.pointee.naxis == 2, wcs.pointee.lng >= 0, wcs.pointee.lat >= 0 else {
            throw WCSError(message: "the WCS is not a 2-D celestial one (CTYPE1/CTYPE2)")
        }
    }

    deinit { wcsvfree(&count, &all) }

    private static func message(_ wcs: UnsafeMutablePointer<wcsprm>, _ status: Int32) -> String {
        if let err = wcs.pointee.err, let text = err.pointee.msg, text.pointee != 0 {
            return String(cString: text)
        }
        return "wcslib status \(status)"
    }

    /// Sky positions (RA, Dec in degrees) of FITS pixel coordinates (1-based, pixel centres).
    public func sky(_ pixels: [(x: Double, y: Double)]) throws -> [(ra: Double, dec: Double)] {
        // wcslib refuses zero coordinates (status 4).
        guard !pixels.isEmpty else { return [] }
        let n = pixels.count
        var pixcrd = pixels.flatMap { [$0.x, $0.y] }
        var imgcrd = [Double](repeating: 0, count: 2 * n)
        var phi = [Double](repeating: 0, count: n)
        var theta = [Double](repeating: 0, count: n)
        var world = [Double](repeating: 0, count: 2 * n)
        var stat = [Int32](repeating: 0, count: n)
        let status = wcsp2s(wcs, Int32(n), 2, &pixcrd, &imgcrd, &phi, &theta, &world, &stat)
        guard status == 0 else { throw WCSError(message: "pixel to sky failed: \(Self.message(wcs, status))") }
        let lng = Int(wcs.pointee.lng), lat = Int(wcs.pointee.lat)
        return (0..<n).map { (ra: world[2 * $0 + lng], dec: world[2 * $0 + lat]) }
    }

    /// FITS pixel coordinates (1-based) of sky positions.
    public func pixels(_ sky: [(ra: Double, dec: Double)]) throws -> [(x: Double, y: Double)] {
        guard !sky.isEmpty else { return [] }
        let n = sky.count
        let lng = Int(wcs.pointee.lng), lat = Int(wcs.pointee.lat)
        var world = [Double](repeating: 0, count: 2 * n)
        for (i, position) in sky.enumerated() {
            world[2 * i + lng] = position.ra
            world[2 * i + lat] = position.dec
        }
        var phi = [Double](repeating: 0, count: n)
        var theta = [Double](repeating: 0, count: n)
        var imgcrd = [Double](repeating: 0, count: 2 * n)
        var pixcrd = [Double](repeating: 0, count: 2 * n)
        var stat = [Int32](repeating: 0, count: n)
        let status = wcss2p(wcs, Int32(n), 2, &world, &phi, &theta, &imgcrd, &pixcrd, &stat)
        guard status == 0 else { throw WCSError(message: "sky to pixel failed: \(Self.message(wcs, status))") }
        return (0..<n).map { (x: pixcrd[2 * $0], y: pixcrd[2 * $0 + 1]) }
    }
}

extension WCS {
    /// The WCS of a FITS file's current HDU, its numbers checked first (`FITSFile.wcsNumbers`):
    /// wcslib leaves a keyword it cannot read as a number at its default, so a `CRVAL1 = 'NaN'`
    /// would place a frame at RA 0.
    ///
    /// - Throws: `WCSError` naming a keyword that is not a finite number, or wcslib's problem;
    ///   `FITSError` when the header cannot be read.
    public convenience init(file: FITSFile) throws {
        do { try file.requireFiniteNumbers(FITSFile.wcsNumbers) } catch let error as FITSError {
            throw WCSError(message: error.message)
        }
        try self.init(header: file.header())
    }
}

