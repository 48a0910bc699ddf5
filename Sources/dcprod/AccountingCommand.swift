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
        var cells = [["step", "filter", "jobs", "attempts", "events", "ok", "core-hours", "read", "written"]]
        for line in accounting.lines {
            cells.append([line.step, line.filter, String(line.jobs), String(line.attempts), String(line.events), String(line.ok),
                          String(format: "%.3f", line.coreHours), Self.volumes(line.inputs), Self.volumes(line.outputs)])
        }
        print(StatusText.table(cells).joined(separator: "\n"))
        let loaded = rows.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print("\nRows loaded: " + (loaded.isEmpty ? "none" : loaded))
    }

    /// `8 fits 96.1 MB, 16 csv 512.0 kB`.
    static func volumes(_ volumes: [ProductionAccounting.Volume]) -> String {
        volumes.isEmpty ? "-" : volumes.map { "\($0.files) \($0.format) \(bytes($0.bytes))" }.joined(separator: ", ")
    }

    /// A size in decimal units, as data-volume tables give them.
    static func bytes(_ count: Int64) -> String {
        ByteCountFormatter.string(fromByteCount: count, countStyle: .decimal)
    }
}
