import ArgumentParser
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

struct Load: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load the CSV results of a step's ok events into the catalog, each file exactly once.",
        discussion: """
            The catalog is the embedded SQLite file (DBHOST sqlite, the default) or the MariaDB/MySQL server
            DBHOST. `--init` creates its schema (templates/schema/). Each CSV is loaded in one transaction with
            its ledger row; files in the ledger are skipped; a malformed file is refused naming its file and line.
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

    func run() throws {
        try reporting {
            let production = try options.open()
            let catalog = try CatalogConnection.open(production, readOnly: status && !initialize,
                                                     defaultsFile: catalogOptions.defaultsFile, createDatabase: initialize)
            let templates = production.tree.templatesDirectory
            try Templates.install(into: templates)
            if initialize {
                let created = try CatalogSchema.initialize(catalog, templates: templates, splits: CatalogConnection.splits(production))
                let line = created ? "load --init: catalog schema v\(CatalogSchema.version) created in \(catalog.location)"
                                   : "load --init: \(catalog.location) already has schema v\(CatalogSchema.version); nothing changed"
                print(line)
                if created { try production.record(typedCommandLine, line) }
            }
            try CatalogSchema.require(catalog)
            let splits = CatalogConnection.splits(production)
            let loader = try CatalogLoader(catalog: catalog, templates: templates, splits: splits)
            if let step {
                // Indexes an interrupted --defer-indexes load left dropped are rebuilt now, or after this load.
                let dropped = deferIndexes ? try loader.deferIndexes() : 0
                if !deferIndexes, try loader.rebuildDeferredIndexes() > 0 {
                    print("load: rebuilt the indexes an interrupted --defer-indexes load had dropped")
                }
                defer {
                    if deferIndexes, let rebuilt = try? loader.rebuildDeferredIndexes() {
                        print("load: \(dropped) secondary indexes dropped for the load, \(rebuilt) rebuilt")
                    }
                }
                let files = try production.store.resultFiles(step: step)
                // The manager's own connection counts: at most DBCONNECTIONS in all (with 1, it loads too).
                let workers = production.config.dbConnections - 1
                let defaultsFile = catalogOptions.defaultsFile
                let summary = workers == 0
                    ? try loader.load(files)
                    : try CatalogLoader.loadInParallel(files, connections: workers, dialect: catalog.dialect,
                                                       templates: templates, splits: splits) {
                        try CatalogConnection.open(production, readOnly: false, defaultsFile: defaultsFile)
                    }
                try production.store.recordLoad(rejections: summary.rejected.map { ($0.path, $0.line, $0.message) },
                                                loaded: summary.loadedPaths)
                let line = "load \(step.rawValue) into \(catalog.location): " + summary.line.dropFirst("load: ".count)
                print(line)
                for r in summary.rejected { print("  rejected \(r.path):\(r.line): \(r.message)") }
                if summary.loaded + summary.rejected.count > 0 { try production.record(typedCommandLine, line) }
                if !summary.rejected.isEmpty { throw ExitCode.failure }
            }
            if status {
                let ledger = try loader.ledger()
                let rejected = try production.store.loadRejections()
                let rejectedPaths = Set(rejected.map(\.path))
                var pending = 0
                for step in Step.allCases {
                    pending += try production.store.resultFiles(step: step).filter {
                        !ledger.contains(CatalogLoader.pathHash($0)) && !rejectedPaths.contains($0)
                    }.count
                }
                print("Catalog \(catalog.location) (schema v\(CatalogSchema.version))")
                print("Files: \(ledger.count) loaded, \(pending) pending, \(rejected.count) rejected")
                for r in rejected { print("  rejected \(r.path):\(r.line): \(r.message)") }
                print("Rows per table:")
                for (table, rows) in try loader.rowCounts().sorted(by: { $0.key < $1.key }) {
                    print("  \(table): \(rows)")
                }
            }
        }
    }
}
