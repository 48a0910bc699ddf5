import Catalog

/// Where each value of a catalog row goes in a file's fixed-size record, and in which byte order: a
/// FITS binary table's row (big-endian, integer NULLs as TNULL) or an HDF5 compound element
/// (little-endian, integer NULLs in a mask byte after the value, as astropy serializes a masked column).
///
/// Writers take whole chunks of packed records: one write of 64k rows instead of one call per value.
public struct RowLayout: Sendable {
    public enum ByteOrder: Sendable { case big, little }
    /// How a NULL of an integer column is written.
    public enum IntegerNulls: Sendable { case sentinel, mask }

    struct Field: Sendable {
        var column: ExportColumn
        var offset: Int
        /// Where its mask byte goes (1: NULL), for an integer column that takes NULL in a masked layout.
        var maskOffset: Int?
    }

    let fields: [Field]
    public let rowSize: Int
    public let byteOrder: ByteOrder
    public let integerNulls: IntegerNulls

    /// Lays the columns out one after another, without padding (numpy's and FITS's packed records).
    public init(columns: [ExportColumn], byteOrder: ByteOrder, integerNulls: IntegerNulls) {
        var fields: [Field] = []
        var offset = 0
        for column in columns {
            var field = Field(column: column, offset: offset, maskOffset: nil)
            offset += column.type.size
            if integerNulls == .mask && column.hasIntegerNulls {
                field.maskOffset = offset
                offset += 1
            }
            fields.append(field)
        }
        self.fields = fields
        rowSize = offset
        self.byteOrder = byteOrder
        self.integerNulls = integerNulls
    }

    /// Writes a row's values into the record at `record`, which has `rowSize` bytes.
    ///
    /// - Throws: `ExportError` naming the column when a value is not of its column's type.
    func pack(_ row: [QueryValue], into record: UnsafeMutableRawPointer) throws {
        guard row.count == fields.count else {
            throw ExportError("the query gave \(row.count) values in a row, the table has \(fields.count) columns")
        }
        for (field, value) in zip(fields, row) {
            let at = record + field.offset
            switch field.column.type {
            case .int64, .int32:
                let number = try integer(value, field)
                if field.column.type == .int64 {
                    store(UInt64(bitPattern: number ?? 0), at)
                } else {
                    guard let small = Int32(exactly: number ?? 0) else {
                        throw ExportError("column \(field.column.name): \(number ?? 0) does not fit the column's 32-bit type")
                    }
                    store(UInt32(bitPattern: small), at)
                }
                if let mask = field.maskOffset { record.storeBytes(of: number == nil ? 1 : 0, toByteOffset: mask, as: UInt8.self) }
            case .double: store(try real(value, field).bitPattern, at)
            case .text(let width): try text(value, field, width: width, at)
            }
        }
    }

    private func store<T: FixedWidthInteger>(_ value: T, _ at: UnsafeMutableRawPointer) {
        at.storeBytes(of: byteOrder == .big ? value.bigEndian : value.littleEndian, as: T.self)
    }

    /// An integer value; for NULL, the sentinel (`ExportColumn.nullInteger`), or nil with the mask byte set.
    private func integer(_ value: QueryValue, _ field: Field) throws -> Int64? {
        switch value {
        case .null:
            guard field.column.isNullable else { throw ExportError("column \(field.column.name): NULL in a NOT NULL column") }
            return integerNulls == .sentinel ? field.column.nullInteger : nil
        case .text(let text):
            if let number = Int64(text) { return number }
            // A number the engine wrote as a real (SQLite stores what it is given when it cannot convert).
            if let real = Double(text), let number = Int64(exactly: real) { return number }
            throw ExportError("column \(field.column.name): '\(text.prefix(40))' is not an integer")
        case .bytes:
            throw ExportError("column \(field.column.name): a byte string in an integer column")
        }
    }

    private func real(_ value: QueryValue, _ field: Field) throws -> Double {
        switch value {
        case .null: return .nan
        case .text(let text):
            guard let number = Double(text) else { throw ExportError("column \(field.column.name): '\(text.prefix(40))' is not a number") }
            return number
        case .bytes: throw ExportError("column \(field.column.name): a byte string in a numeric column")
        }
    }

    /// Text, NUL-padded to its width (FITS and HDF5 alike read a NUL as the end of the string); NULL is empty.
    private func text(_ value: QueryValue, _ field: Field, width: Int, _ at: UnsafeMutableRawPointer) throws {
        let bytes: [UInt8]
        switch value {
        case .null: bytes = []
        case .text(let text): bytes = Array(text.utf8)
        case .bytes(let raw): bytes = raw
        }
        guard bytes.count <= width else {
            throw ExportError("column \(field.column.name): a value of \(bytes.count) bytes, longer than the \(width) measured before the export")
        }
        at.initializeMemory(as: UInt8.self, repeating: 0, count: width)
        if !bytes.isEmpty { bytes.withUnsafeBytes { at.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
    }
}
