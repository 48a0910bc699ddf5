import ArgumentParser
import Basics
import Catalog
import Foundation
import Production

/// How the catalog is reached: the password is never an argument.
struct CatalogOptions: ParsableArguments {
    @Option(name: .customLong("defaults-file"), help: ArgumentHelp(
        "A MariaDB client option file with the password ([client] password=...).",
        discussion: "Default: the client's own files (~/.my.cnf), or MYSQL_PWD."))
    var defaultsFile: String?
}

struct Load: ProductionCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Load the CSV results of a step's ok events into the catalog, each file exactly once.",
        discussion: """
            The catalog is the embedded SQLite file (DBHOST sqlite, the default) or the MariaDB/MySQL server DBHOST. \
            `--init` creates its schema (templates/schema/). Each CSV is loaded with its ledger row, all or nothing; \
            files in the ledger are skipped; a malformed file is refused naming its file and line.
            """)

    @OptionGroup var options: ProductionOptions
    @OptionGroup var catalogOptions: CatalogOptions

    @Argument(help: "The step whose results to load (processCcd, coadd, forcedPhot).")
    var step: Step?

    @Flag(name: .customLong("init"), help: "Create the catalog schema (and the database on a server) if it is not there.")
    var initialize = false

    @Flag(help: "Files loaded, pending and rejected; rows per table.")
    var status = false

    @Flag(help: "Drop the secondary indexes of the base tables before loading and rebuild them after (never on views).")
    var deferIndexes = false

    func validate() throws {
        if step == nil && !initialize && !status { throw ValidationError("give a STEP to load, --init or --status") }
    }

    /// All but --status.
    var changesProduction: Bool { !status }

    func run(on production: Production) throws {
        let catalog = try ProductionCatalog.open(production, readOnly: status && !initialize && step == nil,
                                                 defaultsFile: catalogOptions.defaultsFile, createDatabase: initialize)
        if let version = catalog.upgradedFrom {
            let line = "load: catalog \(catalog.location) upgraded from schema v\(version) to v\(CatalogSchema.version)"
            print(line)
            try production.record(typedCommandLine, line)
        }
        if initialize { try printInitialization(try catalog.initialize(), of: catalog, production) }
        if let step {
            let load: ProductionCatalog.StepLoad
            do {
                load = try catalog.load(step: step, deferIndexes: deferIndexes)
            } catch let partial as CatalogLoader.PartialLoad {
                // What loaded before the failure is reported with it, not lost.
                try printSummary(partial.summary, of: step, into: catalog, production)
                throw partial.error
            }
            if load.recoveredIndexes > 0 { print("load: rebuilt the indexes an interrupted --defer-indexes load had dropped") }
            try printSummary(load.summary, of: step, into: catalog, production)
            if let deferred = load.deferredIndexes {
                print("load: \(deferred.dropped) secondary indexes dropped for the load, \(deferred.rebuilt) rebuilt")
            }
            if load.summary.rejectedCount > 0 { throw ExitCode.failure }
        }
        if status { printStatus(try catalog.status(), of: catalog) }
    }

    private func printInitialization(_ created: Bool, of catalog: ProductionCatalog, _ production: Production) throws {
        let line = created ? "load --init: catalog schema v\(CatalogSchema.version) created in \(catalog.location)"
                           : "load --init: \(catalog.location) already has schema v\(CatalogSchema.version); nothing changed"
        print(line)
        if created { try production.record(typedCommandLine, line) }
    }

    /// The line of what a load did, its rejections, and the line in the logbook when it did anything.
    private func printSummary(_ summary: CatalogLoader.Summary, of step: Step, into catalog: ProductionCatalog,
                              _ production: Production) throws {
        let line = "load \(step.rawValue) into \(catalog.location): \(summary.text)"
        print(line)
        for r in summary.rejected { print("  rejected \(r.located)") }
        if summary.rejectedUnnamed > 0 {
            print("  and \(summary.rejectedUnnamed) more rejected: `dcprod load --status` names every one")
        }
        if summary.loaded + summary.rejectedCount > 0 { try production.record(typedCommandLine, line) }
    }

    private func printStatus(_ status: ProductionCatalog.Status, of catalog: ProductionCatalog) {
        print("Catalog \(catalog.location) (schema v\(CatalogSchema.version))")
        print("Files: \(status.loaded) loaded, \(status.pending) pending, \(status.rejected.count) rejected")
        for r in status.rejected { print("  rejected \(r.located)") }
        print("Rows per table:")
        for (table, rows) in status.rows.sorted(by: { $0.key < $1.key }) { print("  \(table): \(rows)") }
    }
}

extension LoadRejection {
    /// `FILE:LINE: MESSAGE`, or `FILE: MESSAGE` for what is not at a line (line 0: the whole file).
    var located: String { line > 0 ? "\(path):\(line): \(message)" : "\(path): \(message)" }
}

extension CatalogLoader.Summary {
    /// What `load` prints of a load: `N files loaded (R rows: Source R, ...), S already in the ledger, X rejected`,
    /// and, when a rerun's files replaced their earlier versions, `; K of them replaced a rerun's earlier file (D rows removed: ...)`.
    var text: String {
        func list(_ counts: [String: Int]) -> String {
            let perTable = counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            return "\(counts.values.reduce(0, +)) rows\(perTable.isEmpty ? "" : ": " + perTable)"
        }
        return "\(loaded) files loaded (\(list(rows))), \(skipped) already in the ledger, \(rejectedCount) rejected"
            + (replaced > 0 ? "; \(replaced) of them replaced a rerun's earlier file (\(list(removed)) removed)" : "")
    }
}
