import Catalog

/// A column of an exported table: its name, the type its values are written as, and what the
/// catalog's `dcprod_column` says of it (unit, UCD, meaning).
public struct ExportColumn: Sendable, Equatable {
    /// How a column's values are written, from the catalog's own type.
    public enum ValueType: Sendable, Equatable {
        /// An integer type that fits in 32 bits (MariaDB TINYINT … INT): FITS `J`, HDF5 int32.
        case int32
        /// Any other integer type (SQLite INTEGER, MariaDB BIGINT): FITS `K`, HDF5 int64.
        case int64
        /// A floating-point or decimal type: FITS `D`, HDF5 float64; NULL is NaN.
        case double
        /// Text of at most `width` bytes (the longest value of the selection): FITS `nA`, HDF5 `S`n.
        case text(width: Int)

        /// The bytes a value takes in a row.
        public var size: Int {
            switch self {
            case .int32: 4
            case .int64, .double: 8
            case .text(let width): width
            }
        }
    }

    public var name: String
    public var type: ValueType
    /// False for a column the catalog declares NOT NULL: no TNULL, no mask.
    public var isNullable: Bool
    /// The unit as FITS writes it (`deg`, `ct`); nil for a number without one.
    public var unit: String?
    /// The IVOA UCD (`pos.eq.ra;meta.main`).
    public var ucd: String?
    public var description: String?

    public init(name: String, type: ValueType, isNullable: Bool, unit: String? = nil, ucd: String? = nil, description: String? = nil) {
        self.name = name
        self.type = type
        self.isNullable = isNullable
        self.unit = unit
        self.ucd = ucd
        self.description = description
    }

    /// The column of an engine's description, text given the width of its longest value.
    init(_ column: CatalogColumn, textWidth: Int) {
        let type: ValueType
        if let integers = column.integers {
            type = integers.lowerBound >= Int64(Int32.min) && integers.upperBound <= Int64(Int32.max) ? .int32 : .int64
        } else {
            type = column.isNumeric ? .double : .text(width: max(1, textWidth))
        }
        self.init(name: column.name, type: type, isNullable: column.isNullable)
    }

    /// True for an integer column that takes NULL: FITS marks its NULLs with TNULL, HDF5 with a mask column.
    public var hasIntegerNulls: Bool {
        guard isNullable else { return false }
        return type == .int32 || type == .int64
    }

    /// The value an integer NULL is written as in FITS (TNULLn): the type's smallest, outside every
    /// catalog column's values but a signed 64-bit one's.
    var nullInteger: Int64 { type == .int32 ? Int64(Int32.min) : Int64.min }
}

/// What a catalog's `dcprod_column` table says of its columns.
public struct CatalogColumnNotes: Sendable {
    public struct Note: Sendable, Equatable {
        public var unit: String?
        public var ucd: String?
        public var description: String?
    }

    /// Keyed by `table.column`, lowercased.
    var notes: [String: Note] = [:]

    /// Reads `dcprod_column` of a catalog; none when the catalog has no such table (made before schema v4).
    ///
    /// - Throws: `CatalogError` when the table is there but cannot be read.
    public init(catalog: CatalogDatabase) throws {
        do {
            try catalog.query("SELECT tableName, columnName, unit, ucd, description FROM dcprod_column", columns: { _ in }) { row in
                let text = row.map(\.text)
                guard let table = text[0], let column = text[1] else { return }
                notes["\(table).\(column)".lowercased()] = Note(unit: text[2], ucd: text[3], description: text[4])
            }
        } catch let error as CatalogError where error.kind == .schema {
            notes = [:]
        }
    }

    /// The note of a column of a table: its base table's for the DC2013 views (DeepSource is RunDeepSource's).
    public func note(_ column: String, of table: String) -> Note? {
        let base = ["DeepSource": "RunDeepSource", "DeepForcedSource": "RunDeepForcedSource"][table] ?? table
        return notes["\(base).\(column)".lowercased()]
    }
}
