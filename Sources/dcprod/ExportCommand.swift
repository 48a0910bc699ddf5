import ArgumentParser
import Basics
import Catalog
import CatalogExport
import Foundation
import Logging
import Production

struct ExportCommand: ProductionCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the catalog's sources of a region or patches into a FITS or HDF5 table that astropy and TOPCAT read.",
        discussion: """
            The rows of DeepSource (or --forced: DeepForcedSource, --single: Source) in a region or patches and filters, \
            primary rows only unless --all, as the catalog holds them, ordered by their id. The file's extension chooses \
            the format: .fits or .fit, a FITS binary table (TFORM K or J as the catalog's integer type, D, A; TUNIT, TUCD \
            and each column's description from the catalog's dcprod_column; TNULL for an integer NULL, NaN for a real \
            one); .h5 or .hdf5, an HDF5 file laid out as astropy's Table.write(path, path="data", serialize_meta=True) \
            lays one out, read back with Table.read(path) (an integer column that takes NULL is a masked column). Both \
            say the production (DCNAME), the table (DCTABLE), the SQL (DCQUERY), the software (DCPRODV) and the time \
            (DATE). Rows are streamed a chunk at a time, so any number of them takes little memory; the file is written \
            under a temporary name beside it and renamed when complete, so a failed export leaves nothing behind.
            """)

    @OptionGroup var options: ProductionOptions
    @OptionGroup var catalogOptions: CatalogOptions
    @OptionGroup var selectionOptions: SelectionOptions

    @Argument(help: "The file to write: NAME.fits (or .fit) or NAME.h5 (or .hdf5); a file there is replaced.")
    var output: String

    @Flag(help: "Print what was written as JSON.")
    var json = false

    var changesProduction: Bool { false }

    func validate() throws {
        do { _ = try ExportFormat(path: output) } catch let error as ExportError { throw ValidationError(error.message) }
    }

    /// The dcprod that writes a file, for its metadata.
    static var software: String {
        "dcprod \(DCProdVersion.current)"
    }

    func run(on production: Production) throws {
        let selection = try selectionOptions.selection()
        let catalog = try CatalogConnection.open(production, readOnly: true, defaultsFile: catalogOptions.defaultsFile)
        let summary = try CatalogExport(selection: selection)
            .write(catalog, to: output, production: production.config.dcName, software: Self.software)
        Logger(label: "dcprod.export").debug("on \(catalog.location): \(summary.query)")
        if json {
            let object: [String: Any] = ["path": summary.path, "format": summary.format.rawValue, "rows": summary.rows,
                                         "table": selection.table.rawValue, "columns": summary.columns.map(\.name), "query": summary.query]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("\(summary.rows) rows of \(selection.table.rawValue) (\(summary.columns.count) columns) written to \(summary.path)")
        }
    }
}
