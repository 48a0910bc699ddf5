import Foundation

// MARK: - Protocol

/// A file a table is written into, one chunk of rows at a time: a FITS binary table
/// (`FITSTableWriter`) or an HDF5 table as astropy writes one (`HDF5TableWriter`).
///
/// A writer writes at the path it is given and nowhere else; `CatalogExport` gives it a temporary
/// name and renames the file once `finish()` has succeeded, so that no half-written file is ever
/// at the name asked for.
public protocol TableWriter: AnyObject {
    /// How a row is packed for this file; `write(rows:count:)` takes rows packed so.
    var layout: RowLayout { get }
    /// Appends `count` rows packed by `layout`, one after another in `rows`.
    ///
    /// - Throws: `ExportError` naming the file.
    func write(rows: UnsafeRawBufferPointer, count: Int) throws
    /// Writes what follows the rows (the row count, metadata) and closes the file.
    ///
    /// - Throws: `ExportError` naming the file.
    func finish() throws
}

// MARK: - Formats

/// The formats an export writes, chosen by the file's extension.
public enum ExportFormat: String, Sendable, CaseIterable {
    /// A FITS binary table (`.fits`, `.fit`), written with cfitsio.
    case fits
    /// An HDF5 file laid out as astropy's `Table.write(path, path="data", serialize_meta=True)` (`.h5`, `.hdf5`).
    case hdf5

    public var extensions: [String] {
        switch self {
        case .fits: ["fits", "fit"]
        case .hdf5: ["h5", "hdf5"]
        }
    }

    /// The format of a file name's extension.
    ///
    /// - Throws: `ExportError` naming the file and the extensions there are.
    public init(path: String) throws {
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        guard let format = Self.allCases.first(where: { $0.extensions.contains(ext) }) else {
            let choices = Self.allCases.flatMap(\.extensions).map { ".\($0)" }.joined(separator: ", ")
            throw ExportError("\(path): unknown format \(ext.isEmpty ? "(no extension)" : ".\(ext)"); name the file with one of \(choices)")
        }
        self = format
    }

    /// A writer of this format creating `path`.
    public func writer(path: String, columns: [ExportColumn], metadata: ExportMetadata) throws -> TableWriter {
        switch self {
        case .fits: try FITSTableWriter(path: path, columns: columns, metadata: metadata)
        case .hdf5: try HDF5TableWriter(path: path, columns: columns, metadata: metadata)
        }
    }
}

// MARK: - Metadata and errors

/// What a file says of where its rows came from: header keys in FITS, the table's meta in HDF5,
/// under the same names (`DCNAME`, `DCTABLE`, `DCQUERY`, `DCPRODV`, `DATE`).
public struct ExportMetadata: Sendable, Equatable {
    /// The production's name (its config's `DCNAME`).
    public var production: String
    /// The catalog table the rows are of (`DeepSource`).
    public var table: String
    /// The SQL that selected them.
    public var query: String
    /// The dcprod that wrote the file.
    public var software: String
    /// When the export ran.
    public var date: Date

    public init(production: String, table: String, query: String, software: String, date: Date) {
        self.production = production
        self.table = table
        self.query = query
        self.software = software
        self.date = date
    }

    /// The export's time as FITS writes DATE: UTC, to the second, without a zone letter.
    public var dateText: String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }

    /// The keys and values, in the order both formats write them.
    var entries: [(key: String, value: String)] {
        [("DCNAME", production), ("DCTABLE", table), ("DCQUERY", query), ("DCPRODV", software), ("DATE", dateText)]
    }
}

/// An export that failed, in one line naming the file (or the column) and what to do.
public struct ExportError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
