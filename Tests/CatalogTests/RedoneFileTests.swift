import Foundation
import Testing
@testable import Catalog

/// What the ledger says of a file: checksum, row count, first and last key.
func ledgerRow(_ scratch: ScratchCatalog, _ path: String, split: String? = nil) throws -> [String?] {
    let ledger = scratch.catalog.qualified("dcprod_load", split: split)
    return try #require(try scratch.catalog.query("SELECT checksum, rowCount, firstKey, lastKey FROM \(ledger) WHERE path = '\(path)'").rows.first)
}

/// The checksum the loader computes for a file as it is now.
func checksum(_ scratch: ScratchCatalog, _ path: String, table: String = "Source", split: String? = nil) throws -> String {
    try ValidatedCSV.read(path, tableColumns: try scratch.catalog.columns(of: table, split: split)).checksum
}

/// The ids of a table's rows, in order.
func ids(_ scratch: ScratchCatalog, _ column: String, from table: String) throws -> [String] {
    try scratch.catalog.query("SELECT \(column) FROM \(table) ORDER BY \(column)").rows.map { $0[0] ?? "NULL" }
}

/// A schema, a loader and two Source files loaded: ids 100–109 (`src-000094-r1-0011.csv`, the one the
/// tests redo) and 200–209 (its neighbour, `…-0012.csv`).
func twoLoadedFiles(_ engine: Engine) throws -> (scratch: ScratchCatalog, loader: CatalogLoader, file: String, neighbour: String) {
    let scratch = try ScratchCatalog(engine)
    try CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates)
    let loader = try CatalogLoader(catalog: scratch.catalog, templates: repositoryTemplates)
    let file = try scratch.write("src-000094-r1-0011.csv", sourceHeader + "\n" + sourceRows(100, 10))
    let neighbour = try scratch.write("src-000094-r1-0012.csv", sourceHeader + "\n" + sourceRows(200, 10))
    #expect(try loader.load([file, neighbour]).loaded == 2)
    return (scratch, loader, file, neighbour)
}

let forcedHeader = "deepForcedSourceId,deepSourceId,run,camcol,field,filterId,ra,decl,psfFlux,psfFluxSigma,modelFlux,modelFluxSigma"

func forcedRows(_ ids: [Int], filterId: Int = 1, flux: Double = 100.5) -> String {
    ids.map { "\($0),\($0 + 7),94,1,11,\(filterId),6.3,-0.1,\(flux),1.5,\(flux + 1),1.5\n" }.joined()
}

/// Downstream work follows its inputs: a coadd or forcedPhot event run again writes its CSV to the same
/// path, and the catalog takes the new file's rows in place of the old ones (issue 23).
extension SharedCatalog {
    /// A redone file rewritten with fewer, more, then other rows: each time the table holds exactly the
    /// new file's rows beside the other files', and the ledger the new checksum and key range.
    @Test(arguments: Engine.available)
    func aRedoneFileReplacesItsRowsAndLedgerRow(_ engine: Engine) throws {
        let (scratch, loader, file, neighbour) = try twoLoadedFiles(engine)
        #expect(try ledgerRow(scratch, file) == [try checksum(scratch, file), "10", "100", "109"])

        // Fewer rows, other values.
        _ = try scratch.write("src-000094-r1-0011.csv", sourceHeader + "\n" + sourceRows(100, 4).replacingOccurrences(of: "1000.5", with: "2000.5"))
        var summary = try loader.load([file, neighbour], redone: [file])
        #expect(summary.loaded == 1 && summary.replaced == 1 && summary.skipped == 1 && summary.rejected.isEmpty, "\(summary)")
        #expect(summary.rows == ["Source": 4] && summary.removed == ["Source": 10])
        #expect(try ids(scratch, "sourceId", from: "Source") == ["100", "101", "102", "103"] + (200..<210).map(String.init))
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM Source WHERE psfFlux = 2000.5") == "4")
        #expect(try ledgerRow(scratch, file) == [try checksum(scratch, file), "4", "100", "103"])
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM dcprod_load") == "2")

        // More rows.
        _ = try scratch.write("src-000094-r1-0011.csv", sourceHeader + "\n" + sourceRows(100, 30))
        summary = try loader.load([file], redone: [file])
        #expect(summary.replaced == 1 && summary.removed == ["Source": 4] && summary.rows == ["Source": 30], "\(summary)")
        #expect(try ids(scratch, "sourceId", from: "Source") == (100..<130).map(String.init) + (200..<210).map(String.init))
        #expect(try ledgerRow(scratch, file) == [try checksum(scratch, file), "30", "100", "129"])

        // Other ids altogether.
        _ = try scratch.write("src-000094-r1-0011.csv", sourceHeader + "\n" + sourceRows(150, 3))
        summary = try loader.load([file], redone: [file])
        #expect(summary.replaced == 1 && summary.removed == ["Source": 30], "\(summary)")
        #expect(try ids(scratch, "sourceId", from: "Source") == ["150", "151", "152"] + (200..<210).map(String.init))
        #expect(try ledgerRow(scratch, file) == [try checksum(scratch, file), "3", "150", "152"])

        // The same file again, redone or not, and the same path twice in one load: nothing changes.
        #expect(try loader.load([file, file], redone: [file]).skipped == 2)
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM Source") == "13")
    }

    /// A file changed since it was loaded that is not a rerun's output is refused as before: tampering
    /// is not a rerun. Its old rows stay.
    @Test(arguments: Engine.available)
    func aChangedFileNotRedoneIsStillRefused(_ engine: Engine) throws {
        let (scratch, loader, file, other) = try twoLoadedFiles(engine)
        let loaded = try checksum(scratch, file)
        _ = try scratch.write("src-000094-r1-0011.csv", sourceHeader + "\n" + sourceRows(100, 4))
        let summary = try loader.load([file, other], redone: [other])
        #expect(summary.loaded == 0 && summary.replaced == 0 && summary.skipped == 1, "\(summary)")
        let message = try #require(summary.rejected.first?.message)
        let now = try checksum(scratch, file)
        #expect(message.contains("changed since it was loaded") && message.contains(loaded)
                && message.contains(now) && message.contains("Source holds the rows of the file as it was. Put that file back"),
                "\(message)")
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM Source WHERE sourceId BETWEEN 100 AND 109") == "10")
        #expect(try ledgerRow(scratch, file) == [loaded, "10", "100", "109"])
    }

    /// A replacement is all or nothing: a malformed new file, one whose rows the engine refuses after the
    /// old rows were deleted, or one whose old key range holds rows of another file leaves the old rows
    /// and ledger row as they were, and the file is refused.
    @Test(arguments: Engine.available)
    func aReplacementThatFailsLeavesTheOldRowsAndLedgerRow(_ engine: Engine) throws {
        let (scratch, loader, file, _) = try twoLoadedFiles(engine)
        let loaded = try ledgerRow(scratch, file)
        func unchanged() throws {
            #expect(try ids(scratch, "sourceId", from: "Source") == (100..<110).map(String.init) + (200..<210).map(String.init))
            #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM Source WHERE psfFlux = 1000.5") == "20")
            #expect(try ledgerRow(scratch, file) == loaded)
        }

        // Malformed: refused at its line before anything is written.
        _ = try scratch.write("src-000094-r1-0011.csv", sourceHeader + "\n" + sourceRows(100, 3) + "103,94,1,11,2,400,0\n")
        var summary = try loader.load([file], redone: [file])
        #expect(summary.loaded == 0 && summary.replaced == 0 && summary.removed.isEmpty, "\(summary)")
        #expect(summary.rejected.map(\.line) == [5], "\(summary.rejected)")
        try unchanged()

        // A key of the neighbour's: the engine refuses it after the old rows were deleted; rolled back.
        _ = try scratch.write("src-000094-r1-0011.csv", sourceHeader + "\n" + sourceRows(100, 3) + sourceRows(205, 1).replacingOccurrences(of: "1000.5", with: "3000.5"))
        summary = try loader.load([file], redone: [file])
        #expect(summary.loaded == 0 && summary.replaced == 0, "\(summary)")
        let refused = try #require(summary.rejected.first)
        #expect(refused.line == 5, "\(refused)")
        try unchanged()

        // A file loaded with ids around another file's: its range holds rows that are not its own.
        let sparse = try scratch.write("src-000094-r1-0013.csv", sourceHeader + "\n" + sourceRows(300, 1) + sourceRows(320, 1))
        let inside = try scratch.write("src-000094-r1-0014.csv", sourceHeader + "\n" + sourceRows(310, 2))
        #expect(try loader.load([sparse, inside]).loaded == 2)
        _ = try scratch.write("src-000094-r1-0013.csv", sourceHeader + "\n" + sourceRows(300, 1))
        summary = try loader.load([sparse], redone: [sparse])
        #expect(summary.loaded == 0, "\(summary)")
        let message = try #require(summary.rejected.first?.message)
        #expect(message.contains("Source holds 4 rows with sourceId from 300 to 320") && message.contains("which had 2")
                && message.contains("rows of other files are among them"), "\(message)")
        #expect(try ids(scratch, "sourceId", from: "Source WHERE sourceId >= 300") == ["300", "310", "311", "320"])
        // The file as it was, back in place, is the one loaded: nothing to do.
        _ = try scratch.write("src-000094-r1-0013.csv", sourceHeader + "\n" + sourceRows(300, 1) + sourceRows(320, 1))
        #expect(try loader.load([sparse], redone: [sparse]).skipped == 1)
    }

    /// The views' rows follow: a forced-photometry file of a per-filter store (DBSPLIT filter) is replaced
    /// in its store's RunDeepForcedSource and ledger, and DeepForcedSource shows the new rows.
    @Test(arguments: Engine.available)
    func aRedoneFileOfASplitCatalogIsReplacedInItsStore(_ engine: Engine) throws {
        let scratch = try ScratchCatalog(engine)
        let splits = ["g", "r"]
        try CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates, splits: splits)
        let loader = try CatalogLoader(catalog: scratch.catalog, templates: repositoryTemplates, splits: splits)
        let file = try scratch.write("forced-000094-g1-0011.csv", forcedHeader + "\n" + forcedRows(Array(10..<15)))
        let other = try scratch.write("forced-000094-r1-0011.csv", forcedHeader + "\n" + forcedRows(Array(20..<25), filterId: 2))
        #expect(try loader.load([file, other]).loaded == 2)
        #expect(try ledgerRow(scratch, file, split: "g")[2...] == ["10", "14"])
        _ = try scratch.write("forced-000094-g1-0011.csv", forcedHeader + "\n" + forcedRows([10, 11, 16], flux: 7.5))
        let summary = try loader.load([file, other], redone: [file, other])
        #expect(summary.replaced == 1 && summary.skipped == 1 && summary.removed == ["RunDeepForcedSource": 5], "\(summary)")
        #expect(try ids(scratch, "deepForcedSourceId", from: "DeepForcedSource") == ["10", "11", "16", "20", "21", "22", "23", "24"])
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM DeepForcedSource WHERE psfFlux = 7.5") == "3")
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM \(scratch.catalog.qualified("RunDeepForcedSource", split: "g"))") == "3")
        #expect(try ledgerRow(scratch, file, split: "g") == [try checksum(scratch, file, table: "RunDeepForcedSource", split: "g"), "3", "10", "16"])
    }

    /// A file whose rows cannot be told from others' by its ledger row is refused even when redone,
    /// saying why: a table without a single integer key (Science_Ccd_Exposure), or a ledger row without
    /// a key range (a file loaded before catalog schema 3). A file that had no rows can be replaced.
    @Test(arguments: Engine.available)
    func aRedoneFileWhoseRowsCannotBeFoundIsRefused(_ engine: Engine) throws {
        let scratch = try ScratchCatalog(engine)
        try CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates)
        let loader = try CatalogLoader(catalog: scratch.catalog, templates: repositoryTemplates)
        let ccdHeader = "run,camcol,field,filterId,ra,decl\n"
        let ccd = try scratch.write("ccd-000094-r1-0011.csv", ccdHeader + "94,1,11,2,6.3,-0.1\n")
        let file = try scratch.write("src-000094-r1-0011.csv", sourceHeader + "\n" + sourceRows(100, 10))
        let empty = try scratch.write("src-000094-r1-0012.csv", sourceHeader + "\n")
        #expect(try loader.load([ccd, file, empty]).loaded == 3)
        #expect(try ledgerRow(scratch, ccd)[1...] == ["1", nil, nil])
        #expect(try ledgerRow(scratch, empty)[1...] == ["0", nil, nil])
        // What a ledger row of schema 2, upgraded, is like.
        try scratch.catalog.execute("UPDATE dcprod_load SET firstKey = NULL, lastKey = NULL WHERE path = ?", arguments: [file])

        _ = try scratch.write("ccd-000094-r1-0011.csv", ccdHeader + "94,1,11,2,6.4,-0.1\n")
        _ = try scratch.write("src-000094-r1-0011.csv", sourceHeader + "\n" + sourceRows(100, 4))
        _ = try scratch.write("src-000094-r1-0012.csv", sourceHeader + "\n" + sourceRows(400, 2))
        let summary = try loader.load([ccd, file, empty], redone: [ccd, file, empty])
        #expect(summary.loaded == 1 && summary.replaced == 1 && summary.removed == ["Source": 0], "\(summary)")
        let messages = summary.rejected.map(\.message)
        #expect(messages.count == 2)
        #expect(messages.first?.contains("Science_Ccd_Exposure holds the rows of the file as it was, and its rerun cannot replace them: "
                                         + "they cannot be told from other files' rows, Science_Ccd_Exposure has no single integer key") == true,
                "\(messages)")
        #expect(messages.last?.contains("the ledger has no key range for it (it was loaded before catalog schema 3). Put that file back") == true,
                "\(messages)")
        #expect(try scratch.catalog.scalar("SELECT ra FROM Science_Ccd_Exposure") == "6.3")
        #expect(try ids(scratch, "sourceId", from: "Source") == (100..<110).map(String.init) + ["400", "401"])
        #expect(try ledgerRow(scratch, empty)[1...] == ["2", "400", "401"])
    }
}

/// A copy of the repository's templates/ whose schema files are those of version 2 (no key range in
/// the ledger), as a production prepared by an older dcprod has them.
func templatesOfVersion2(in directory: URL) throws -> URL {
    try templatesWithEditedSchemas(in: directory, named: "templates-v2") { text in
        var lines = schemaOfVersion3(text).components(separatedBy: "\n")
        let first = try #require(lines.firstIndex { $0.contains("-- The smallest and largest value of the table's key") })
        lines.removeSubrange(first..<(first + 5))
        lines[first - 1] = String(lines[first - 1].dropLast())  // loadedAt ... NOT NULL, → no comma
        return lines.joined(separator: "\n").replacingOccurrences(of: "VALUES (3);", with: "VALUES (2);")
    }
}

/// A schema file of this version as version 4 had it: without the provenance tables version 5 added.
func schemaOfVersion4(_ text: String) -> String {
    var out = text
    let tables = out.range(of: "-- Where each loaded file came from")!.lowerBound..<out.range(of: "CREATE TABLE IF NOT EXISTS dcprod_schema")!.lowerBound
    out.removeSubrange(tables)
    return out.replacingOccurrences(of: "VALUES (5);", with: "VALUES (4);")
}

/// A schema file of this version as version 3 had it: without the columns version 4 added
/// (`CatalogSchema.addedColumns`) and `dcprod_column`.
func schemaOfVersion3(_ text: String) -> String {
    var out = schemaOfVersion4(text)
    for column in CatalogSchema.addedColumns where column.version == 4 {
        for type in [column.sqlite, column.mysql] {
            out = out.replacingOccurrences(of: ", \(column.name) \(type)", with: "")
                .replacingOccurrences(of: "\(column.name) \(type), ", with: "")
                .replacingOccurrences(of: "\n    \(column.name) \(type),", with: "")
                .replacingOccurrences(of: "\n    \(column.name) \(type)\n", with: "\n")
        }
    }
    let table = out.range(of: "-- What each column holds")!.lowerBound..<out.range(of: "CREATE TABLE IF NOT EXISTS dcprod_schema")!.lowerBound
    out.removeSubrange(table)
    return out.replacingOccurrences(of: ",\n)", with: "\n)").replacingOccurrences(of: "VALUES (4);", with: "VALUES (3);")
}

extension SharedCatalog {
    /// A catalog of schema version 2 is refused by readers with what to do, and upgraded in place by a
    /// writer: its files stay loaded (skipped when unchanged) and cannot be replaced, having no key range.
    @Test(arguments: Engine.available)
    func aCatalogOfVersion2IsUpgradedKeepingWhatItLoaded(_ engine: Engine) throws {
        let scratch = try ScratchCatalog(engine)
        let old = try templatesOfVersion2(in: scratch.directory)
        let script = try String(contentsOf: old.appendingPathComponent("schema/\(scratch.catalog.dialect.rawValue).sql"), encoding: .utf8)
        #expect(!script.contains("firstKey") && script.contains("VALUES (2);"))
        try scratch.catalog.run(script: script)
        // A file loaded the way dcprod of version 2 did: its rows and a ledger row without a key range.
        let file = try scratch.write("src-000094-r1-0011.csv", sourceHeader + "\n" + sourceRows(100, 10))
        let csv = try ValidatedCSV.read(file, tableColumns: try scratch.catalog.columns(of: "Source"))
        try scratch.catalog.begin()
        #expect(try scratch.catalog.bulkInsert(csv, into: "Source") == 10)
        try scratch.catalog.execute("""
            INSERT INTO dcprod_load (pathHash, path, size, checksum, tableName, rowCount, loadedAt) VALUES (?, ?, ?, ?, ?, ?, ?)
            """, arguments: [CatalogLoader.pathHash(file), file, String(csv.size), csv.checksum, "Source", "10", "2026-01-01T00:00:00Z"])
        try scratch.catalog.commit()

        #expect(try CatalogSchema.installedVersion(scratch.catalog) == 2)
        #expect(performing: { try CatalogSchema.require(scratch.catalog) },
                throws: { "\($0)".contains("catalog schema version 2, older than this dcprod's \(CatalogSchema.version); run `dcprod load --init` to upgrade it") })
        #expect(try CatalogSchema.upgrade(scratch.catalog) == 2)
        #expect(try CatalogSchema.installedVersion(scratch.catalog) == CatalogSchema.version)
        #expect(try CatalogSchema.upgrade(scratch.catalog) == nil)
        #expect(try !CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates))
        try CatalogSchema.require(scratch.catalog)

        let loader = try CatalogLoader(catalog: scratch.catalog, templates: repositoryTemplates)
        #expect(try loader.load([file], redone: [file]).skipped == 1)
        _ = try scratch.write("src-000094-r1-0011.csv", sourceHeader + "\n" + sourceRows(100, 4))
        let summary = try loader.load([file], redone: [file])
        #expect(summary.rejected.first?.message.contains("it was loaded before catalog schema 3") == true, "\(summary)")
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM Source") == "10")
        let next = try scratch.write("src-000094-r1-0012.csv", sourceHeader + "\n" + sourceRows(200, 5))
        #expect(try loader.load([next]).loaded == 1)
        #expect(try ledgerRow(scratch, next)[1...] == ["5", "200", "204"])
    }

    /// A production's templates/ of version 2 (prepared by an older dcprod) makes a catalog of this version,
    /// with DBSPLIT filter each per-filter store's ledger too.
    @Test(arguments: Engine.available)
    func olderTemplatesMakeACatalogOfThisVersion(_ engine: Engine) throws {
        let scratch = try ScratchCatalog(engine)
        let old = try templatesOfVersion2(in: scratch.directory)
        let splits = ["g", "r"]
        #expect(try CatalogSchema.initialize(scratch.catalog, templates: old, splits: splits))
        #expect(try CatalogSchema.installedVersion(scratch.catalog) == CatalogSchema.version)
        for split in [nil] + splits.map(Optional.some) {
            let columns = try scratch.catalog.columns(of: "dcprod_load", split: split).map(\.name)
            #expect(columns.suffix(2) == ["firstKey", "lastKey"], "\(split ?? "main"): \(columns)")
        }
        let loader = try CatalogLoader(catalog: scratch.catalog, templates: old, splits: splits)
        let file = try scratch.write("src-000094-g1-0011.csv", sourceHeader + "\n" + sourceRows(1, 10, filterId: 1))
        #expect(try loader.load([file]).loaded == 1)
        #expect(try ledgerRow(scratch, file, split: "g")[2...] == ["1", "10"])
    }
}

extension SharedCatalog {
    /// A catalog of schema version 3 with rows in it gains DC2013's columns, the sources' flags and
    /// `dcprod_column` in place: the rows stay (their new columns NULL), the views show the new
    /// columns (MariaDB's too, whose `*` was expanded when the view was made), and new files load them.
    @Test(arguments: Engine.available)
    func aCatalogOfVersion3GainsTheNewColumnsInPlace(_ engine: Engine) throws {
        let scratch = try ScratchCatalog(engine)
        let old = try templatesWithEditedSchemas(in: scratch.directory, named: "templates-v3") { schemaOfVersion3($0) }
        try scratch.catalog.run(script: try String(contentsOf: old.appendingPathComponent("schema/\(scratch.catalog.dialect.rawValue).sql"), encoding: .utf8))
        #expect(try CatalogSchema.installedVersion(scratch.catalog) == 3)
        let loader3 = try CatalogLoader(catalog: scratch.catalog, templates: old)
        let file = try scratch.write("src-000094-r1-0011.csv", sourceHeader + "\n" + sourceRows(100, 3))
        #expect(try loader3.load([file]).loaded == 1)
        #expect(try !(scratch.catalog.columns(of: "DeepSource").map(\.name).contains("extendedness")))

        #expect(try CatalogSchema.upgrade(scratch.catalog) == 3)
        #expect(try CatalogSchema.installedVersion(scratch.catalog) == CatalogSchema.version)
        let view = try scratch.catalog.columns(of: "DeepSource").map(\.name)
        #expect(view.suffix(6) == ["extendedness", "flagPixEdge", "flagPixSaturCen", "flagBlended", "flagBadCentroid", "flagBadPsfFlux"], "\(view)")
        #expect(try scratch.catalog.columns(of: "DeepForcedSource").map(\.name).contains("objectId"))
        #expect(try scratch.catalog.query("SELECT sourceId, scienceCcdExposureId, flagPixEdge FROM Source ORDER BY sourceId").rows
                == [["100", nil, nil], ["101", nil, nil], ["102", nil, nil]])
        #expect(try scratch.catalog.scalar("SELECT unit FROM dcprod_column WHERE tableName = 'Source' AND columnName = 'raVar'") == "deg2")
        let next = try scratch.write("src-000094-r1-0012.csv", "sourceId,scienceCcdExposureId,run,camcol,field,filterId,ra,decl,flagPixEdge\n"
                                     + "200,940210012,94,1,12,2,6.3,-0.1,1\n")
        #expect(try CatalogLoader(catalog: scratch.catalog, templates: repositoryTemplates).load([next]).loaded == 1)
        #expect(try scratch.catalog.query("SELECT scienceCcdExposureId, flagPixEdge FROM Source WHERE sourceId = 200").rows == [["940210012", "1"]])
        #expect(try CatalogSchema.upgrade(scratch.catalog) == nil)
    }

    /// A catalog of schema version 4 gains the provenance tables in place, its rows and ledger kept.
    @Test(arguments: Engine.available)
    func aCatalogOfVersion4GainsTheProvenanceTables(_ engine: Engine) throws {
        let scratch = try ScratchCatalog(engine)
        let old = try templatesWithEditedSchemas(in: scratch.directory, named: "templates-v4") { schemaOfVersion4($0) }
        try scratch.catalog.run(script: try String(contentsOf: old.appendingPathComponent("schema/\(scratch.catalog.dialect.rawValue).sql"), encoding: .utf8))
        #expect(try CatalogSchema.installedVersion(scratch.catalog) == 4)
        #expect(try scratch.catalog.columns(of: "dcprod_provenance").isEmpty)
        let file = try scratch.write("src-000094-r1-0011.csv", sourceHeader + "\n" + sourceRows(100, 3))
        #expect(try CatalogLoader(catalog: scratch.catalog, templates: old).load([file]).loaded == 1)
        #expect(try CatalogSchema.upgrade(scratch.catalog) == 4)
        #expect(try CatalogSchema.installedVersion(scratch.catalog) == 5)
        #expect(try scratch.catalog.columns(of: "dcprod_provenance").map(\.name).prefix(3) == ["pathHash", "path", "tableName"])
        #expect(try scratch.catalog.columns(of: "dcprod_provenance_input").map(\.name) == ["pathHash", "position", "input", "madeFrom"])
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM Source") == "3")
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM dcprod_load") == "1")
    }

    /// Every column of every catalog table has its unit, UCD and meaning in `dcprod_column`, and
    /// nothing there names a column that is not.
    @Test(arguments: Engine.available)
    func everyColumnIsDescribed(_ engine: Engine) throws {
        let scratch = try ScratchCatalog(engine)
        try CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates)
        let tables = ["Filter", "Science_Ccd_Exposure", "DeepCoadd", "Source", "RunDeepSource", "RunDeepForcedSource"]
        var columns: Set<String> = []
        for table in tables {
            for column in try scratch.catalog.columns(of: table) { columns.insert("\(table).\(column.name)") }
        }
        let described = try scratch.catalog.query("SELECT tableName, columnName, description FROM dcprod_column").rows
        #expect(Set(described.map { "\($0[0]!).\($0[1]!)" }) == columns)
        #expect(described.allSatisfy { ($0[2] ?? "").count > 10 })
    }
}
