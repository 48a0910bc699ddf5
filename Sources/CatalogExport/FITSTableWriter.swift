import Sky

/// A FITS binary table written with cfitsio: an empty primary array, then the table, named after
/// the catalog table. Each column has its TTYPE (its description as the card's comment), TFORM
/// (`K`/`J` as the catalog's integer type, `D`, `nA`), TUNIT and TUCD from the catalog's
/// `dcprod_column` (the description also whole in TDOCn, as LSST's afw tables write it), and TNULL when it is an integer column that takes NULL; a real NULL is NaN.
/// The header says where the rows came from (`ExportMetadata`), the query over CONTINUE cards.
public final class FITSTableWriter: TableWriter {
    public let layout: RowLayout
    private let file: FITSFile
    private var rowsWritten = 0

    /// Creates the file at `path` (replacing one there) and writes the table's header.
    ///
    /// - Throws: `ExportError` naming the file, with cfitsio's words.
    public init(path: String, columns: [ExportColumn], metadata: ExportMetadata) throws {
        layout = RowLayout(columns: columns, byteOrder: .big, integerNulls: .sentinel)
        do {
            file = try FITSFile.create(path)
            try Self.writeHeader(file, columns: columns, metadata: metadata)
        } catch let error as FITSError {
            throw ExportError(error.description)
        }
    }

    private static func writeHeader(_ file: FITSFile, columns: [ExportColumn], metadata: ExportMetadata) throws {
        try file.createBinaryTable(name: metadata.table, columns: columns.map {
            FITSTableColumn(name: $0.name, format: format($0.type), unit: $0.unit)
        })
        for (index, column) in columns.enumerated() {
            let n = index + 1
            if let description = column.description {
                // The TTYPE card's comment holds what fits of it; TDOCn (LSST afw's column documentation) all of it.
                try file.setComment("TTYPE\(n)", description)
                try file.writeLongString("TDOC\(n)", description)
            }
            if column.hasIntegerNulls { try file.write("TNULL\(n)", Int(column.nullInteger), comment: "NULL in the catalog") }
            if let ucd = column.ucd { try file.write("TUCD\(n)", ucd) }
        }
        try file.write("DCNAME", metadata.production, comment: "the dcprod production")
        try file.write("DCTABLE", metadata.table, comment: "the catalog table")
        try file.writeLongString("DCQUERY", metadata.query, comment: "the SQL that selected the rows")
        try file.write("DCPRODV", metadata.software, comment: "the software that wrote the file")
        try file.write("DATE", metadata.dateText, comment: "UTC time of the export")
        try file.writeComment("Rows of the dcprod catalog. NULL: NaN for a real, TNULLn for an integer, empty for text.")
    }

    /// TFORM of a column's type.
    static func format(_ type: ExportColumn.ValueType) -> String {
        switch type {
        case .int32: "J"
        case .int64: "K"
        case .double: "D"
        case .text(let width): "\(width)A"
        }
    }

    public func write(rows: UnsafeRawBufferPointer, count: Int) throws {
        do {
            try file.writeRows(rows, firstRow: rowsWritten + 1)
        } catch let error as FITSError {
            throw ExportError(error.description)
        }
        rowsWritten += count
    }

    public func finish() throws {
        do { try file.close() } catch let error as FITSError { throw ExportError(error.description) }
    }
}
