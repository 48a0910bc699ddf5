import ArgumentParser
import Catalog
import CatalogAnalysis
import Foundation
import Production

struct ProvenanceCommand: ProductionCommand {
    static let configuration = CommandConfiguration(
        commandName: "provenance",
        abstract: "Say where a catalog row or file came from: its file, event, job attempt, setup and inputs.",
        discussion: """
            The catalog's dcprod_provenance table, which each load fills for the files it loads: the file a row was \
            loaded from, the event and the job attempt that wrote it (batch id, host, start, end, exit), the dcprod \
            version and the hashes of the step's template, the batch script's and the config the job was planned \
            with (their texts are kept in the state store: --texts prints them), and the files the event read (a \
            processCcd frame; a coadd's calexps with the frames they came from). In SQL: SELECT * FROM \
            dcprod_provenance WHERE tableName = 'Source' AND firstKey <= ID AND lastKey >= ID.
            """)

    @OptionGroup var options: ProductionOptions
    @OptionGroup var catalogOptions: CatalogOptions

    @Option(help: "A Source row's sourceId.")
    var source: Int64?

    @Option(help: "A DeepSource row's deepSourceId.")
    var deepSource: Int64?

    @Option(help: "A DeepForcedSource row's deepForcedSourceId.")
    var forcedSource: Int64?

    @Option(help: "A DeepCoadd row's deepCoaddId.")
    var coadd: Int64?

    @Option(help: "A loaded CSV file's path.")
    var file: String?

    @Flag(help: "Print the texts of the step's template, the batch script's and the config as they were.")
    var texts = false

    var changesProduction: Bool { false }

    func subject() throws -> Provenance.Subject {
        let given: [Provenance.Subject] = [source.map { .row(table: "Source", key: $0) }, deepSource.map { .row(table: "RunDeepSource", key: $0) },
                                           forcedSource.map { .row(table: "RunDeepForcedSource", key: $0) },
                                           coadd.map { .row(table: "DeepCoadd", key: $0) },
                                           file.map { .file(URL(fileURLWithPath: $0).standardizedFileURL.path) }].compactMap { $0 }
        guard given.count == 1 else { throw ValidationError("give one of --source, --deep-source, --forced-source, --coadd, --file") }
        return given[0]
    }

    func validate() throws { _ = try subject() }

    func run(on production: Production) throws {
        let catalog = try CatalogConnection.open(production, readOnly: true, defaultsFile: catalogOptions.defaultsFile)
        let provenance = try Provenance(of: try subject(), in: catalog)
        let store = production.store
        provenance.lines { try? store.provenanceText(hash: $0) }.forEach { print($0) }
        guard texts else { return }
        for name in ["templateHash", "batchHash", "configHash"] {
            guard let hash = provenance[name], let text = try store.provenanceText(hash: hash) else { continue }
            print("\n--- \(text.kind) \(hash) ---\n\(text.text)", terminator: text.text.hasSuffix("\n") ? "" : "\n")
        }
    }
}
