import ArgumentParser
import Catalog
import Foundation
import Production

struct AccountingCommand: ProductionCommand {
    static let configuration = CommandConfiguration(
        commandName: "accounting",
        abstract: "Per step and filter: jobs, attempts, core-hours, files, bytes and formats read and written, rows loaded.",
        discussion: """
            The data-volume table of DC2013, computed from what verify recorded when it read the outcomes (the size of \
            every output it checked), never by walking the tree. Core-hours are the batch system's CPU time of each \
            attempt, or the seconds the job runner measured where the batch system keeps none (the local backend).
            """)

    @OptionGroup var options: ProductionOptions

    @Flag(help: "Print the accounting as JSON.")
    var json = false

    @OptionGroup var catalogOptions: CatalogOptions

    /// Reads only.
    var changesProduction: Bool { false }

    func run(on production: Production) throws {
        let accounting = try production.store.accounting()
        // Rows loaded come from the catalog's own count; a production with no catalog yet has none.
        let rows = (try? ProductionCatalog.open(production, readOnly: true, defaultsFile: catalogOptions.defaultsFile).status().rows) ?? [:]
        if json {
            struct Document: Encodable { var lines: [ProductionAccounting.Line]; var rows: [String: Int] }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(Document(lines: accounting.lines, rows: rows)), as: UTF8.self))
            return
        }
        var cells = [["step", "filter", "jobs", "attempts", "events", "ok", "core-hours", "read", "written", "rows loaded"]]
        for line in accounting.lines {
            cells.append([line.step, line.filter, String(line.jobs), String(line.attempts), String(line.events), String(line.ok),
                          String(format: "%.3f", line.coreHours), ProductionAccounting.text(line.inputs), ProductionAccounting.text(line.outputs),
                          String(line.rowsLoaded)])
        }
        print(StatusText.table(cells).joined(separator: "\n"))
        let loaded = rows.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print("\nCatalog rows per table: " + (loaded.isEmpty ? "none" : loaded))
    }
}
