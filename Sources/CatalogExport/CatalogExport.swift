import Basics
import Catalog
import CatalogAnalysis
import Foundation

/// The rows of a selection written into a FITS or HDF5 table (`dcprod export`), streamed: rows are
/// packed as the engine hands them over and written a chunk at a time, so that memory holds one
/// chunk whatever the row count. The file is written under a temporary name in its directory and
/// renamed when complete: a failed export leaves nothing at the name asked for.
public struct CatalogExport: Sendable {
    public var selection: CatalogSelection
    /// Rows per write: 64k rows, about 12 MB for DeepSource's.
    public var rowsPerChunk = 65_536

    public init(selection: CatalogSelection) {
        self.selection = selection
    }

    /// What an export wrote.
    public struct Summary: Sendable, Equatable {
        public var path: String
        public var format: ExportFormat
        public var rows: Int
        public var columns: [ExportColumn]
        public var query: String
    }

    // MARK: - API

    /// Writes the selected rows of `catalog` into `path`, in the format its extension names.
    ///
    /// - Parameters:
    ///   - catalog: The catalog, read-only is enough.
    ///   - path: The file to write (`.fits`, `.fit`, `.h5`, `.hdf5`); a file there is replaced.
    ///   - production: The production's name, for the file's metadata.
    ///   - software: The dcprod that writes it, for the file's metadata.
    ///   - date: The time of the export, for the file's metadata.
    /// - Returns: What was written.
    /// - Throws: `ExportError` (an impossible selection, an unknown extension, a file that cannot be
    ///   written), `CatalogError` (the catalog cannot be read); the file is then not there.
    public func write(_ catalog: CatalogDatabase, to path: String, production: String, software: String,
                      date: Date = Date()) throws -> Summary {
        if let why = selection.impossibility { throw ExportError(why) }
        let format = try ExportFormat(path: path)
        let columns = try exportColumns(catalog)
        let query = selection.rowsQuery(columns: columns.map(\.name))
        let metadata = ExportMetadata(production: production, table: selection.table.rawValue, query: query,
                                      software: software, date: date)
        let temporary = AtomicFile.temporary(for: URL(fileURLWithPath: path))
        do {
            let writer = try format.writer(path: temporary.path, columns: columns, metadata: metadata)
            let rows = try stream(catalog, query: query, columns: columns, into: writer)
            try writer.finish()
            try AtomicFile.commit(temporary, to: URL(fileURLWithPath: path))
            return Summary(path: path, format: format, rows: rows, columns: columns, query: query)
        } catch let error as ExportError {
            unlink(temporary.path)
            // The writers name the file they write; the user asked for the other name.
            throw ExportError(error.message.replacingOccurrences(of: temporary.path, with: path))
        } catch {
            unlink(temporary.path)
            throw error
        }
    }

    /// The selection's rows, packed into chunks of `rowsPerChunk` and handed to `writer`.
    private func stream(_ catalog: CatalogDatabase, query: String, columns: [ExportColumn], into writer: TableWriter) throws -> Int {
        let layout = writer.layout
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: layout.rowSize * rowsPerChunk, alignment: 8)
        defer { chunk.deallocate() }
        var inChunk = 0, total = 0
        func flush() throws {
            try writer.write(rows: UnsafeRawBufferPointer(rebasing: chunk[..<(inChunk * layout.rowSize)]), count: inChunk)
            inChunk = 0
        }
        try catalog.query(query, columns: { names in
            guard names == columns.map(\.name) else {
                throw ExportError("\(catalog.location): the query returned the columns \(names), expected \(columns.map(\.name))")
            }
        }, row: { row in
            do {
                try layout.pack(row, into: chunk.baseAddress! + inChunk * layout.rowSize)
            } catch let error as ExportError {
                throw ExportError("\(catalog.location): \(selection.table.rawValue) row \(total + 1): \(error.message)")
            }
            inChunk += 1
            total += 1
            if inChunk == rowsPerChunk { try flush() }
        })
        if inChunk > 0 { try flush() }
        return total
    }

    /// The base tables of the DC2013 views.
    static let baseTable = ["DeepSource": "RunDeepSource", "DeepForcedSource": "RunDeepForcedSource"]

    /// The columns of the table the rows are stored in, which say which columns take NULL: a view's
    /// all do, as the engines describe them. That table is in the per-filter store of each filter
    /// under DBSPLIT filter (the main catalog then has union views of the same names), else in the
    /// main catalog (DeepSource's and DeepForcedSource's base tables, Source itself).
    private func baseColumns(_ catalog: CatalogDatabase) throws -> [CatalogColumn] {
        let table = selection.table.rawValue
        let base = Self.baseTable[table] ?? table
        for filter in selection.selectedFilters {
            // A store that is not there is an empty answer or an error, by engine: either way, not split.
            if let columns = try? catalog.columns(of: base, split: filter.rawValue), !columns.isEmpty { return columns }
        }
        return base == table ? [] : try catalog.columns(of: base)
    }

    /// The table's columns as the engine declares them, with what `dcprod_column` says of each and
    /// each text column's width: the longest value of the selection, in bytes.
    func exportColumns(_ catalog: CatalogDatabase) throws -> [ExportColumn] {
        let table = selection.table.rawValue
        // SQLite describes no TEMP view (DBSPLIT filter's union views): its base table in a store does.
        let base = try baseColumns(catalog)
        let view = try catalog.columns(of: table)
        let declared = view.isEmpty ? base : view
        guard !declared.isEmpty else {
            throw ExportError("\(catalog.location): the catalog has no table \(table): load the step that fills it first (dcprod load)")
        }
        let texts = declared.filter { !$0.isNumeric }.map(\.name)
        var widths: [String: Int] = [:]
        if !texts.isEmpty {
            // In bytes: SQLite's LENGTH of text counts characters, MariaDB's counts bytes.
            let length: (String) -> String = catalog.dialect == .sqlite ? { "MAX(LENGTH(CAST(t.\($0) AS BLOB)))" } : { "MAX(LENGTH(t.\($0)))" }
            let sql = "SELECT \(texts.map(length).joined(separator: ", ")) FROM \(table) t WHERE \(selection.condition)"
            let row = try catalog.query(sql).rows.first ?? []
            for (name, value) in zip(texts, row) { widths[name] = value.flatMap { Int($0) } ?? 1 }
        }
        let notes = try CatalogColumnNotes(catalog: catalog)
        return declared.map { column in
            var export = ExportColumn(column, textWidth: widths[column.name] ?? 1)
            if let own = base.first(where: { $0.name == column.name }) { export.isNullable = own.isNullable }
            let note = notes.note(column.name, of: table)
            export.unit = note?.unit
            export.ucd = note?.ucd
            export.description = note?.description
            return export
        }
    }
}
