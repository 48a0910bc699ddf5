import Basics
import CFITSIO
import Foundation

/// A cfitsio error, with cfitsio's own words and the file it concerns.
public struct FITSError: Error, CustomStringConvertible, Sendable, ErrnoCarrying {
    public var path: String
    public var status: Int32
    public var message: String
    /// errno when cfitsio failed to create, write or close the file (FILE_NOT_CREATED, WRITE_ERROR,
    /// FILE_NOT_CLOSED), so that `FileSystemProblem` tells a full or read-only file system.
    public var systemErrno: Int32?

    public var description: String { status == 0 ? "\(path): \(message)" : "\(path): \(message) (cfitsio status \(status))" }

    /// A problem dcprod found in the file (not one cfitsio reported).
    init(path: String, message: String) {
        self.path = path
        status = 0
        self.message = message
    }

    init(path: String, status: Int32, context: String) {
        systemErrno = [FILE_NOT_CREATED, WRITE_ERROR, FILE_NOT_CLOSED].contains(status) ? errno : nil
        var text = [CChar](repeating: 0, count: 31)
        ffgerr(status, &text)
        var detail = [CChar](repeating: 0, count: 81)
        var stack: [String] = []
        while ffgmsg(&detail) != 0 {
            let line = cString(detail).trimmingCharacters(in: .whitespaces)
            if !line.isEmpty { stack.append(line) }
        }
        self.path = path
        self.status = status
        let first = stack.first.map { "; \($0)" } ?? ""
        message = "\(context): \(cString(text))\(first)"
    }
}

/// One FITS file, opened through cfitsio's disk-file entry points so that no part of a file
/// name is ever read as cfitsio's extended syntax (brackets, filters, URLs).
public final class FITSFile {
    var handle: UnsafeMutablePointer<fitsfile>?
    public let path: String

    private init(handle: UnsafeMutablePointer<fitsfile>?, path: String) {
        self.handle = handle
        self.path = path
    }

    deinit { try? close() }

    /// Opens a FITS file read-only.
    ///
    /// - Throws: `FITSError` when the path is not a regular file (see `specialFileKind(atPath:)`: it
    ///   is not opened at all) or cfitsio cannot open it.
    public static func open(_ path: String) throws -> FITSFile {
        if let kind = specialFileKind(atPath: path) {
            throw FITSError(path: path, message: "cannot open: a \(kind), not a regular file")
        }
        var handle: UnsafeMutablePointer<fitsfile>?
        var status: Int32 = 0
        ffdkopn(&handle, path, READONLY, &status)
        if status != 0 {
            if handle != nil { var ignored: Int32 = 0; ffclos(handle, &ignored) }
            throw FITSError(path: path, status: status, context: "cannot open")
        }
        return FITSFile(handle: handle, path: path)
    }

    /// Creates a new file; an existing file at `path` is replaced.
    public static func create(_ path: String) throws -> FITSFile {
        unlink(path)
        var handle: UnsafeMutablePointer<fitsfile>?
        var status: Int32 = 0
        ffdkinit(&handle, path, &status)
        guard status == 0 else { throw FITSError(path: path, status: status, context: "cannot create") }
        return FITSFile(handle: handle, path: path)
    }

    /// Empties cfitsio's error-message stack, which is one for the whole process.
    public static func clearMessages() { ffcmsg() }

    public func close() throws {
        guard let h = handle else { return }
        handle = nil
        var status: Int32 = 0
        ffclos(h, &status)
        guard status == 0 else { throw FITSError(path: path, status: status, context: "cannot close") }
    }

    func check(_ status: Int32, _ context: @autoclosure () -> String) throws {
        guard status == 0 else { throw FITSError(path: path, status: status, context: context()) }
    }

    // MARK: - Reading

    /// The image dimensions (NAXIS1, NAXIS2, ...) of the current HDU.
    public func imageSize() throws -> [Int] {
        var status: Int32 = 0
        var naxis: Int32 = 0
        ffgidm(handle, &naxis, &status)
        try check(status, "cannot read NAXIS")
        var sizes = [Int](repeating: 0, count: Int(naxis))
        ffgisz(handle, naxis, &sizes, &status)
        try check(status, "cannot read the image size")
        return sizes
    }

    public func string(_ key: String) throws -> String? {
        var status: Int32 = 0
        var value = [CChar](repeating: 0, count: 71)
        ffgkys(handle, key, &value, nil, &status)
        if status == KEY_NO_EXIST { return nil }
        try check(status, "cannot read keyword \(key)")
        return cString(value).trimmingCharacters(in: .whitespaces)
    }

    public func double(_ key: String) throws -> Double? {
        var status: Int32 = 0
        var value = 0.0
        ffgkyd(handle, key, &value, nil, &status)
        if status == KEY_NO_EXIST { return nil }
        try check(status, "cannot read keyword \(key)")
        return value
    }

    public func integer(_ key: String) throws -> Int? {
        var status: Int32 = 0
        var value = 0
        ffgkyj(handle, key, &value, nil, &status)
        if status == KEY_NO_EXIST { return nil }
        try check(status, "cannot read keyword \(key)")
        return value
    }

    /// Checks that keywords are finite numbers where present (`WCS(file:)`'s CRVAL, CRPIX, CD).
    ///
    /// - Throws: `FITSError` naming the first keyword that is not a finite number.
    func requireFiniteNumbers(_ keys: [String]) throws {
        for key in keys {
            let value: Double?
            do { value = try double(key) } catch {
                throw FITSError(path: path, message: "\(key) is not a number")
            }
            if let value, !value.isFinite { throw FITSError(path: path, message: "\(key) = \(value) is not finite") }
        }
    }

    /// The WCS keywords `WCS(file:)` checks before it trusts a header.
    static let wcsNumbers = ["CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2", "CD1_1", "CD1_2", "CD2_1", "CD2_2", "CDELT1", "CDELT2"]

    /// The header of the current HDU as 80-character cards, as wcslib's `wcspih` wants it, without
    /// its COMMENT and HISTORY cards: `wcspih` ignores them, after scanning each card twice.
    public func header() throws -> FITSHeader {
        var status: Int32 = 0
        var text: UnsafeMutablePointer<CChar>?
        var count: Int32 = 0
        ffhdr2str(handle, 1, nil, 0, &text, &count, &status)
        defer { if let text { var ignored: Int32 = 0; fffree(text, &ignored) } }
        try check(status, "cannot read the header")
        return FITSHeader(cards: String(cString: text!), count: Int(count))
    }

    /// The most pixels an image may have: 2^28 (16384 × 16384), far above any CCD's, so that a
    /// header cannot make dcprod allocate what no frame holds.
    public static let maximumPixels = 1 << 28

    /// The pixel count of the current HDU's image, checked against what the file holds before
    /// anything is allocated: every axis positive, the product without overflow and at most
    /// `maximumPixels`, BITPIX a FITS type, and the data all inside the file (for a gzip frame,
    /// its decompressed size; a tile-compressed image is checked by cfitsio as it reads).
    ///
    /// - Throws: `FITSError` saying which (its `message` starts with `image too large`, `bad BITPIX`
    ///   or `truncated`).
    public func checkedPixelCount() throws -> Int {
        let sizes = try imageSize()
        var count = 1
        for size in sizes {
            guard size > 0 else { throw FITSError(path: path, message: "empty image: axis sizes \(sizes)") }
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow, product <= Self.maximumPixels else {
                throw FITSError(path: path, message: "image too large: axis sizes \(sizes), at most \(Self.maximumPixels) pixels")
            }
            count = product
        }
        var status: Int32 = 0
        var bitpix: Int32 = 0
        ffgidt(handle, &bitpix, &status)
        try check(status, "cannot read BITPIX")
        guard [8, 16, 32, 64, -32, -64].contains(bitpix) else { throw FITSError(path: path, message: "bad BITPIX \(bitpix)") }
        guard fits_is_compressed_image(handle, &status) == 0 else { return count }
        var headStart: Int64 = 0, dataStart: Int64 = 0, dataEnd: Int64 = 0
        ffghadll(handle, &headStart, &dataStart, &dataEnd, &status)
        try check(status, "cannot locate the data")
        let bytes = Int64(count) * Int64(abs(bitpix) / 8)
        let fileSize = handle!.pointee.Fptr.pointee.logfilesize
        guard dataStart + bytes <= fileSize else {
            throw FITSError(path: path, message: "truncated: the header says \(bytes) bytes of data, the file holds \(max(0, fileSize - dataStart))")
        }
        return count
    }

    /// The image as 32-bit floats, row after row (NAXIS1 fastest), after `checkedPixelCount()`.
    public func readImage() throws -> [Float] {
        let sizes = try imageSize()
        let count = try checkedPixelCount()
        var pixels = [Float](repeating: 0, count: count)
        var first = [Int](repeating: 1, count: sizes.count)
        var status: Int32 = 0
        var anyNull: Int32 = 0
        ffgpxv(handle, TFLOAT, &first, Int64(count), nil, &pixels, &anyNull, &status)
        try check(status, "cannot read the image")
        return pixels
    }

    // MARK: - Writing

    /// Creates a 2-D 32-bit float image as the current HDU; keywords follow, then `writePixels`.
    public func createImage(width: Int, height: Int) throws {
        var status: Int32 = 0
        var axes = [width, height]
        ffcrim(handle, FLOAT_IMG, 2, &axes, &status)
        try check(status, "cannot create the image")
    }

    /// Writes the whole image, row after row (NAXIS1 fastest).
    public func writePixels(_ pixels: [Float]) throws {
        var status: Int32 = 0
        var first = [1, 1]
        var data = pixels
        ffppx(handle, TFLOAT, &first, Int64(pixels.count), &data, &status)
        try check(status, "cannot write the image")
    }

    /// Writes one whole 80-character card.
    public func write(_ card: FITSCard) throws {
        var status: Int32 = 0
        ffprec(handle, card.text, &status)
        try check(status, "cannot write the card \(card.text.prefix(8))")
    }

    public func write(_ key: String, _ value: String, comment: String? = nil) throws {
        var status: Int32 = 0
        ffpkys(handle, key, value, comment, &status)
        try check(status, "cannot write keyword \(key)")
    }

    public func write(_ key: String, _ value: Int, comment: String? = nil) throws {
        var status: Int32 = 0
        ffpkyj(handle, key, Int64(value), comment, &status)
        try check(status, "cannot write keyword \(key)")
    }

    /// Writes a double with 15 significant digits in exponential notation.
    public func write(_ key: String, _ value: Double, comment: String? = nil) throws {
        var status: Int32 = 0
        ffpkyd(handle, key, value, -15, comment, &status)
        try check(status, "cannot write keyword \(key)")
    }
}

/// A FITS header as the concatenated 80-character cards cfitsio returns.
public struct FITSHeader: Sendable {
    public var cards: String
    public var count: Int
}

/// The text of a NUL-terminated C buffer.
func cString(_ buffer: [CChar]) -> String {
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}

extension FITSHeader {
    /// A header made of cards, for building a WCS that no file holds (e.g. a true WCS).
    public init(cards list: [FITSCard]) {
        let all = list + [FITSCard.end]
        self.init(cards: all.map(\.text).joined(), count: all.count)
    }
}

/// One 80-character header card.
public struct FITSCard: Sendable {
    public let text: String

    public init(_ key: String, _ value: Double) {
        self.init(key: key, value: String(format: "%.15E", value))
    }

    /// A string value, quoted from column 11 as the FITS standard's fixed format has it.
    public init(_ key: String, _ value: String) {
        let quoted = "'\(value.padding(toLength: max(8, value.count), withPad: " ", startingAt: 0))'"
        self.init(raw: key.padding(toLength: 8, withPad: " ", startingAt: 0) + "= " + quoted)
    }

    public init(_ key: String, _ value: Int) {
        self.init(key: key, value: String(value))
    }

    private init(key: String, value: String) {
        let head = key.padding(toLength: 8, withPad: " ", startingAt: 0) + "= "
        let body = value.count < 20 ? String(repeating: " ", count: 20 - value.count) + value : value
        text = (head + body).padding(toLength: 80, withPad: " ", startingAt: 0)
    }

    /// A card as a header holds it: 80 characters (fewer are padded with spaces).
    public init(text: String) { self.init(raw: text) }

    private init(raw: String) { text = raw.padding(toLength: 80, withPad: " ", startingAt: 0) }

    public static let end = FITSCard(raw: "END")
}
