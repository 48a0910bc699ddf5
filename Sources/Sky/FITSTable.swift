import CFITSIO
import Foundation

/// A column of a FITS binary table as its header declares it.
public struct FITSTableColumn: Sendable, Equatable {
    /// TTYPEn.
    public var name: String
    /// TFORMn: `K`, `J`, `D`, `16A` …
    public var format: String
    /// TUNITn, when it has one.
    public var unit: String?

    public init(name: String, format: String, unit: String?) {
        self.name = name
        self.format = format
        self.unit = unit
    }
}

extension FITSFile {
    // MARK: - Binary tables

    /// Creates an empty binary table extension as the current HDU (after an empty primary array when
    /// the file is new); keywords follow, then rows with `writeRows(_:firstRow:)`.
    public func createBinaryTable(name: String, columns: [FITSTableColumn]) throws {
        let names = columns.map { strdup($0.name) }
        let formats = columns.map { strdup($0.format) }
        let units = columns.map { strdup($0.unit ?? "") }
        defer { (names + formats + units).forEach { free($0) } }
        var status: Int32 = 0
        var ttype = names, tform = formats, tunit = units
        ffcrtb(handle, BINARY_TBL, 0, Int32(columns.count), &ttype, &tform, &tunit, name, &status)
        try check(status, "cannot create the binary table \(name)")
    }

    /// Writes whole rows, packed as the table's header declares them (big-endian, no padding),
    /// from row `firstRow` (from 1); rows past the end extend the table (NAXIS2 is set on closing).
    ///
    /// One call per chunk of rows: cfitsio copies them as they are, where `fits_write_col` would go
    /// through its buffers once per column.
    public func writeRows(_ bytes: UnsafeRawBufferPointer, firstRow: Int) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        var status: Int32 = 0
        ffptbb(handle, Int64(firstRow), 1, Int64(bytes.count), UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: UInt8.self)), &status)
        try check(status, "cannot write rows from \(firstRow)")
    }

    /// Writes a string of any length, continued over CONTINUE cards (the long-string convention,
    /// announced by a LONGSTRN card) when it does not fit one card.
    public func writeLongString(_ key: String, _ value: String, comment: String? = nil) throws {
        var status: Int32 = 0
        ffplsw(handle, &status)
        ffpkls(handle, key, value, comment, &status)
        try check(status, "cannot write keyword \(key)")
    }

    /// Writes a COMMENT card, or several when the text is longer than one.
    public func writeComment(_ text: String) throws {
        var status: Int32 = 0
        ffpcom(handle, text, &status)
        try check(status, "cannot write a COMMENT card")
    }

    /// Replaces the comment of a keyword already written (a column's description after its TTYPEn).
    public func setComment(_ key: String, _ comment: String) throws {
        var status: Int32 = 0
        ffmcom(handle, key, comment, &status)
        try check(status, "cannot write the comment of \(key)")
    }
}
