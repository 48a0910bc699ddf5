import Basics
import Catalog
import CatalogAnalysis
import CatalogExport
import Foundation
import Testing

/// The two patches of `ExportScratch`, as a region.
let bothPatches = CatalogSelection.Area.region(Region(raMin: 6.0, raMax: 7.0, decMin: -1, decMax: 1))

/// What the catalog says of the selected rows, to compare with what astropy read: the row count,
/// and each numeric column's sum and NULL count.
func catalogFigures(_ catalog: CatalogDatabase, _ selection: CatalogSelection, _ columns: [CatalogColumn]) throws
    -> (rows: Int, sums: [String: Double], nulls: [String: Int]) {
    let numeric = columns.filter(\.isNumeric).map(\.name)
    let list = numeric.map { "SUM(t.\($0)), SUM(CASE WHEN t.\($0) IS NULL THEN 1 ELSE 0 END)" }.joined(separator: ", ")
    let row = try catalog.query("SELECT COUNT(*), \(list) FROM \(selection.table.rawValue) t WHERE \(selection.condition)").rows[0]
    var sums: [String: Double] = [:], nulls: [String: Int] = [:]
    for (index, name) in numeric.enumerated() {
        sums[name] = row[1 + 2 * index].flatMap(Double.init) ?? 0
        nulls[name] = row[2 + 2 * index].flatMap { Int(Double($0) ?? -1) } ?? -1
    }
    return (Int(row[0] ?? "") ?? -1, sums, nulls)
}

/// A table to export, from a catalog whose big tables are in the main catalog or in per-filter stores.
struct Layout: Sendable, CustomTestStringConvertible {
    var table: CatalogSelection.Table
    var split: Bool

    var testDescription: String { table.rawValue + (split ? ", DBSPLIT filter" : "") }

    static let all = [Layout(table: .deepSource, split: false), Layout(table: .deepForcedSource, split: false),
                      Layout(table: .deepSource, split: true), Layout(table: .deepForcedSource, split: true)]

    /// The integer columns the schema declares NOT NULL: no TNULL, no mask, not a masked column in astropy.
    var notNullIntegers: Set<String> {
        switch table {
        case .deepSource: ["deepSourceId", "deepCoaddId", "tract", "filterId", "isPrimary"]
        case .deepForcedSource: ["deepForcedSourceId", "deepSourceId", "run", "camcol", "field", "filterId"]
        case .source: ["sourceId", "run", "camcol", "field", "filterId"]
        }
    }
}

@Suite(.serialized) struct ExportTests {
    /// Both files of a selection, read back by astropy: the catalog's columns in order, integer
    /// dtypes as the engine declares them, reals as float64, the units, UCDs and descriptions of
    /// `dcprod_column`, the rows, NULLs masked (integers that take NULL, and only those) or NaN
    /// (reals), and the same sums; from the main catalog and from per-filter stores.
    @Test(Astropy.usableOrCI, arguments: Engine.available, Layout.all)
    func astropyReadsBothFormatsAsTheCatalogHoldsThem(_ engine: Engine, _ layout: Layout) throws {
        let table = layout.table
        let scratch = try ExportScratch(engine, splits: layout.split ? ["g", "r", "i"] : [])
        let selection = CatalogSelection(table: table, area: bothPatches, filters: [.g, .r])
        // The stored table's columns: those of a store when split (SQLite describes no TEMP view).
        let stored = ["DeepSource": "RunDeepSource", "DeepForcedSource": "RunDeepForcedSource"][table.rawValue]!
        let declared = try scratch.catalog.columns(of: stored, split: layout.split ? "g" : nil)
        let figures = try catalogFigures(scratch.catalog, selection, declared)
        #expect(figures.rows > 50)
        let notes = try CatalogColumnNotes(catalog: scratch.catalog)
        for name in ["out.fits", "out.h5"] {
            var export = CatalogExport(selection: selection)
            export.rowsPerChunk = 17  // many chunks, the last one partial
            let summary = try export.write(scratch.catalog, to: scratch.path(name), production: "DCtest", software: "dcprod test")
            #expect(summary.rows == figures.rows)
            let read = try Astropy.read(scratch.path(name))
            #expect(read.rows == figures.rows, "\(name)")
            #expect(read.columns.map(\.name) == declared.map(\.name), "\(name)")
            for column in declared {
                let found = try read.column(column.name)
                let note = notes.note(column.name, of: table.rawValue)
                #expect(found.unit == note?.unit, "\(name) \(column.name)")
                #expect(found.ucd == note?.ucd, "\(name) \(column.name)")
                #expect(found.description == note?.description, "\(name) \(column.name)")
                let integerSize = column.integers.map { $0.lowerBound >= Int64(Int32.min) && $0.upperBound <= Int64(Int32.max) ? 4 : 8 }
                let expectedType = integerSize.map { "i\($0)" } ?? (column.isNumeric ? "f8" : "S")
                #expect(found.dtype.hasPrefix(expectedType), "\(name) \(column.name): \(found.dtype)")
                // (astropy reads a FITS real column with a NaN as a masked one, too.)
                if column.integers != nil {
                    #expect(found.maskedColumn == !layout.notNullIntegers.contains(column.name),
                            "\(name) \(column.name) is a masked column: \(found.maskedColumn)")
                }
                guard column.isNumeric else { continue }
                let nulls = figures.nulls[column.name] ?? -1
                #expect((column.integers != nil ? found.masked : found.nan) == nulls, "\(name) \(column.name) NULLs")
                let sum = figures.sums[column.name] ?? .nan
                #expect(abs((found.sum ?? .nan) - sum) <= 1e-9 * max(1, abs(sum)), "\(name) \(column.name) sum")
            }
            #expect(read.meta["DCNAME"] == "DCtest")
            #expect(read.meta["DCTABLE"] == table.rawValue)
            #expect(read.meta["DCQUERY"] == summary.query)
            #expect(read.meta["DCPRODV"] == "dcprod test")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.directory.path).allSatisfy { !$0.hasSuffix(".tmp") })
    }

    /// An empty selection is an empty table, not an error; metadata that YAML or FITS could misread
    /// (quotes, a colon, a hash, a tab, a number) comes back as written.
    @Test(Astropy.usableOrCI)
    func anEmptySelectionIsAnEmptyTableAndOddMetadataComesBackAsWritten() throws {
        let scratch = try ExportScratch(.sqlite)
        let selection = CatalogSelection(area: .region(Region(raMin: 100, raMax: 101, decMin: 10, decMax: 11)))
        for (name, production) in [("empty.fits", "DC 'odd': #1"), ("empty.h5", "DC 'odd': \"#1\"\tend"), ("number.h5", "2026")] {
            let summary = try CatalogExport(selection: selection).write(scratch.catalog, to: scratch.path(name), production: production, software: "t")
            #expect(summary.rows == 0)
            let read = try Astropy.read(scratch.path(name))
            #expect(read.rows == 0)
            #expect(read.columns.count == 24)
            #expect(read.meta["DCNAME"] == production)
        }
    }

    /// An unknown extension is refused naming the choices; so is a selection that cannot be made;
    /// nothing is written.
    @Test func anUnknownFormatOrAnImpossibleSelectionWritesNothing() throws {
        let scratch = try ExportScratch(.sqlite)
        let export = CatalogExport(selection: CatalogSelection(area: bothPatches))
        #expect(performing: { try export.write(scratch.catalog, to: scratch.path("out.csv"), production: "p", software: "s") },
                throws: { "\($0)".contains("out.csv: unknown format .csv; name the file with one of .fits, .fit, .h5, .hdf5") })
        let single = CatalogExport(selection: CatalogSelection(table: .source, area: .patches([.init(tract: 0, x: 380, y: 5)])))
        #expect(performing: { try single.write(scratch.catalog, to: scratch.path("out.fits"), production: "p", software: "s") },
                throws: { "\($0)".contains("give a --region") })
        #expect(!FileManager.default.fileExists(atPath: scratch.path("out.fits")))
    }

    /// A row that cannot be written (text in a REAL column, which SQLite keeps) stops the export
    /// naming the row and column; neither the file nor its temporary is left, and a file already at
    /// the name is untouched.
    @Test(arguments: ["bad.fits", "bad.h5"])
    func aFailedExportLeavesNothingHalfWritten(_ name: String) throws {
        let scratch = try ExportScratch(.sqlite)
        try scratch.catalog.execute("UPDATE RunDeepSource SET psfFlux = 'lots' WHERE deepSourceId = 151")
        try Data("before".utf8).write(to: URL(fileURLWithPath: scratch.path(name)))
        var export = CatalogExport(selection: CatalogSelection(area: bothPatches))
        export.rowsPerChunk = 10
        #expect(performing: { try export.write(scratch.catalog, to: scratch.path(name), production: "p", software: "s") },
                throws: { "\($0)".contains("column psfFlux: 'lots' is not a number") })
        #expect(try String(contentsOfFile: scratch.path(name), encoding: .utf8) == "before")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.directory.path).allSatisfy { !$0.hasSuffix(".tmp") })
    }
}
