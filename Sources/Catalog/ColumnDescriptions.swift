import Basics
import Foundation
import Production

/// What each catalog column holds — its unit, IVOA UCD and meaning — from `templates/schema/columns`,
/// kept in the catalog as `dcprod_column` so that a reader (an export's TUNIT and TUCD, a scientist's
/// `SELECT * FROM dcprod_column`) finds it beside the rows.
public struct ColumnDescriptions: Sendable, Equatable {
    public struct Column: Sendable, Equatable {
        public var table: String
        public var name: String
        /// The unit as FITS writes it (`deg`, `deg2`, `ct`, `arcsec`, `mag`, `pix`); nil for a number without one.
        public var unit: String?
        public var ucd: String
        public var description: String
    }

    public var columns: [Column]

    /// Reads `schema/columns` of a templates directory: `TABLE COLUMN UNIT UCD DESCRIPTION` lines, `-` for no unit.
    ///
    /// - Throws: `TemplateError` naming the file and line when the file cannot be read or a line has fewer than five words.
    public init(templates: URL) throws {
        let lines = try TemplateLines(path: templates.appendingPathComponent("schema/columns").path, what: "the catalog's column descriptions")
        columns = try lines.map { line in
            let words = line.text.split(separator: " ", maxSplits: 4, omittingEmptySubsequences: true).map(String.init)
            guard words.count == 5 else { throw lines.error(line.number, "expected `TABLE COLUMN UNIT UCD DESCRIPTION`") }
            return Column(table: words[0], name: words[1], unit: words[2] == "-" ? nil : words[2], ucd: words[3], description: words[4])
        }
    }

    /// The descriptions of a production's templates, or of dcprod's own when the production was
    /// prepared before its templates had them.
    public static func of(templates: URL) throws -> ColumnDescriptions {
        let own = templates.appendingPathComponent("schema/columns")
        return try ColumnDescriptions(templates: FileManager.default.fileExists(atPath: own.path) ? templates : Templates.source())
    }

    /// The description of a column of a table (its base table for the DC2013 views: DeepSource is RunDeepSource's).
    public func column(_ name: String, of table: String) -> Column? {
        let base = ["DeepSource": "RunDeepSource", "DeepForcedSource": "RunDeepForcedSource"][table] ?? table
        return columns.first { $0.table == base && $0.name.lowercased() == name.lowercased() }
    }

    /// Replaces the rows of `dcprod_column` with these (the caller holds the transaction).
    func store(in catalog: CatalogDatabase) throws {
        try catalog.execute("DELETE FROM dcprod_column")
        for column in columns {
            _ = try catalog.execute("INSERT INTO dcprod_column (tableName, columnName, unit, ucd, description) VALUES (?, ?, ?, ?, ?)",
                                    arguments: [column.table, column.name, column.unit, column.ucd, column.description])
        }
    }
}
