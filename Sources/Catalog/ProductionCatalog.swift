import Basics
import Foundation
import Production

/// A production's catalog as `dcprod load` works on it: the schema created once, the CSV results of
/// a step's ok events loaded exactly once over DBCONNECTIONS connections, and the ledger's account.
///
/// ```swift
/// let catalog = try ProductionCatalog.open(production, readOnly: false, createDatabase: true)
/// _ = try catalog.initialize()
/// let load = try catalog.load(step: .processCcd, deferIndexes: false)
/// print("\(load.summary.loaded) files loaded, \(load.summary.rejected.count) rejected")
/// ```
public struct ProductionCatalog {
    /// The production whose results are loaded.
    public let production: Production
    /// The manager's own connection.
    public let database: CatalogDatabase
    /// The MariaDB option file that holds the password, for the loaders' own connections.
    public let defaultsFile: String?
    /// The schema version the catalog had when this writer's `open` upgraded it (`CatalogSchema.upgrade`);
    /// nil when it did not.
    public let upgradedFrom: Int?

    /// Opens the catalog of the production's config (see `CatalogConnection.open`) and makes sure
    /// the production's `templates/` has the schema files. A writable catalog of an older schema version
    /// is upgraded (`upgradedFrom`): writers hold the production's lock, readers never change it.
    ///
    /// - Parameters:
    ///   - production: The production.
    ///   - readOnly: Open a read-only connection.
    ///   - defaultsFile: A MariaDB client option file with the password; nil: the client's own files or MYSQL_PWD.
    ///   - createDatabase: On a server, create DBNAME if it is not there.
    /// - Throws: `CatalogError` when the catalog cannot be opened (one line naming user@host:port on a server)
    ///   or cannot be upgraded.
    public static func open(_ production: Production, readOnly: Bool, defaultsFile: String? = nil,
                            createDatabase: Bool = false) throws -> ProductionCatalog {
        let database = try CatalogConnection.open(production, readOnly: readOnly, defaultsFile: defaultsFile, createDatabase: createDatabase)
        try Templates.install(into: production.tree.templatesDirectory)
        let upgradedFrom = readOnly ? nil : try CatalogSchema.upgrade(database, splits: CatalogConnection.splits(production),
                                                                            templates: production.tree.templatesDirectory)
        // An upgraded catalog's files are looked at once more by the next load, which gives those of
        // before schema v5 their provenance.
        if upgradedFrom != nil { try production.store.forgetLoaded() }
        return ProductionCatalog(production: production, database: database, defaultsFile: defaultsFile, upgradedFrom: upgradedFrom)
    }

    /// Where the catalog is: a file path or `user@host:port/database`.
    public var location: String { database.location }
    var templates: URL { production.tree.templatesDirectory }
    var splits: [String] { CatalogConnection.splits(production) }

    /// A loader on the manager's connection, with the templates' tables and column descriptions.
    private func makeLoader() throws -> CatalogLoader {
        try CatalogLoader(catalog: database, templates: templates, splits: splits)
    }

    /// Creates the schema of `templates/schema/DIALECT.sql` if the catalog does not have it. A catalog
    /// made now holds none of the events the state store marks loaded (its predecessor was deleted):
    /// the marks are forgotten (`StateStore.forgetLoaded()`), and the next load takes every file again.
    ///
    /// - Returns: True when it was created, false when the catalog had it already.
    /// - Throws: `CatalogError` when a statement fails; `TemplateError` when the schema file cannot be read;
    ///   a GRDB `DatabaseError` when the state store cannot be written.
    public func initialize() throws -> Bool {
        let created = try CatalogSchema.initialize(database, templates: templates, splits: splits)
        if created { try production.store.forgetLoaded() }
        return created
    }

    /// What one `load(step:deferIndexes:)` did.
    public struct StepLoad: Sendable {
        /// The step loaded.
        public var step: Step
        /// Secondary indexes an interrupted `--defer-indexes` load had left dropped, rebuilt before this load.
        public var recoveredIndexes = 0
        /// With `deferIndexes`: the secondary indexes dropped for the load, and those rebuilt after it.
        public var deferredIndexes: (dropped: Int, rebuilt: Int)?
        /// The files loaded, skipped and refused.
        public var summary = CatalogLoader.Summary()
    }

    /// Loads the CSV outputs of a step's ok events, each file once, and records the refusals in the state store.
    /// The outputs of events run again on changed inputs (`UnloadedEvent.isRedone`) replace their earlier
    /// version's rows (`CatalogLoader.load(_:redone:progress:)`).
    ///
    /// The events are taken `pageSize` at a time, with their ledger rows and provenance, so that a load
    /// holds one page at once however many events it looks at. Without `everyFile` only the outputs of
    /// the events not marked loaded yet are looked at (`StateStore.unloadedEvents(step:everyEvent:ids:)`:
    /// new, refused, or run again since): a load costs what changed since the last one, not the size of
    /// the production (a pass of `dcprod run`). A file loaded before is then not opened again, so one
    /// changed by hand since is not seen; `everyFile` looks at every file of the step (as `dcprod load
    /// STEP` does), refuses those, and sets every event's mark to what the ledger says.
    ///
    /// The files are shared among DBCONNECTIONS − 1 loaders, each with its own connection (the
    /// manager's counts: with 1, the manager loads over its own); SQLite has one writer. With
    /// `deferIndexes`, the base tables' secondary indexes are dropped first and rebuilt after, also
    /// when the load fails; without it, indexes an interrupted deferred load left dropped are rebuilt first.
    ///
    /// - Parameters:
    ///   - step: The step whose results to load.
    ///   - deferIndexes: Drop the secondary indexes for the load (never on views).
    ///   - everyFile: Look at the outputs of every ok event of the step, not only those not loaded yet.
    ///   - pageSize: The events loaded at once (`eventsPerPage`).
    /// - Returns: The load's account; refused files are in `summary.rejected` (nothing of them is loaded).
    /// - Throws: `CatalogLoader.PartialLoad` when a connection or the catalog fails during the load: the
    ///   files loaded before (by every loader) are recorded in the state store and carried in it;
    ///   `CatalogError` when the catalog has no schema; a GRDB `DatabaseError` when the state store
    ///   cannot be written.
    public func load(step: Step, deferIndexes: Bool, everyFile: Bool = true, pageSize: Int = eventsPerPage) throws -> StepLoad {
        try CatalogSchema.require(database)
        var result = StepLoad(step: step)
        let loadFiles = { try self.loadByPages(of: step, everyFile: everyFile, pageSize: pageSize) }
        if deferIndexes {
            let loader = try makeLoader()
            let dropped = try loader.deferIndexes()
            do {
                result.summary = try loadFiles()
            } catch {
                _ = try? loader.rebuildDeferredIndexes()
                throw error
            }
            result.deferredIndexes = (dropped, try loader.rebuildDeferredIndexes())
        } else {
            result.recoveredIndexes = try CatalogLoader.rebuildDeferredIndexes(in: database)
            result.summary = try loadFiles()
        }
        return result
    }

    /// The events a load takes at once (`load(step:deferIndexes:everyFile:pageSize:)`): their outputs,
    /// ledger rows and provenance are held together, about 1 KB an event.
    public static let eventsPerPage = 10_000

    /// Loads the outputs of the events not marked loaded yet (with `everyFile`, of every ok event, whose
    /// marks are then set to what the ledger says), `pageSize` events at a time by id, so that the load
    /// holds one page's files, ledger rows and provenance, however many events it looks at (a first
    /// load, `dcprod load STEP`); its account names the first `CatalogLoader.Summary.filesNamed` files
    /// loaded and refused, and counts them all. A page cut short (`CatalogLoader.PartialLoad`) carries the account of
    /// the pages before it too.
    ///
    /// The loader (which reads the templates' tables and column descriptions) is made at the first page:
    /// a pass of `run` loads every step, and a step with nothing new reads no template.
    private func loadByPages(of step: Step, everyFile: Bool, pageSize: Int) throws -> CatalogLoader.Summary {
        var summary = CatalogLoader.Summary()
        var after = Int64.min
        let store = production.store
        var made: CatalogLoader?
        while let page = try store.unloadedEventPage(step: step, everyEvent: everyFile, after: after, size: pageSize) {
            let loader = try made ?? makeLoader()
            made = loader
            let events = try store.unloadedEvents(step: step, everyEvent: everyFile, ids: page)
            let outputs = Outputs(files: events.flatMap(\.files).sorted(), redone: Set(events.filter(\.isRedone).flatMap(\.files)),
                                  events: events.map(\.id))
            do {
                summary.add(later: try load(outputs, of: step, loader: loader, everyEvent: everyFile, page: page))
            } catch var partial as CatalogLoader.PartialLoad {
                summary.add(later: partial.summary)
                partial.summary = summary
                throw partial
            }
            after = page.upperBound
        }
        return summary
    }

    /// Loads some outputs, then from one read of these files' ledger rows: those the ledger holds without
    /// provenance get theirs, then the events whose every CSV output it holds are marked loaded
    /// (`StateStore.recordLoaded`), which takes them out of the next incremental load: after their
    /// provenance, never before. `everyEvent`: every ok event of the page gets its mark as the ledger says.
    private func load(_ outputs: Outputs, of step: Step, loader: CatalogLoader, everyEvent: Bool, page: ClosedRange<Int64>) throws
        -> CatalogLoader.Summary {
        let summary = try load(outputs, loader: loader)
        let ledger = try loader.ledgerEntries(of: outputs.files)
        try recordProvenance(of: outputs, loaded: summary.loadedPaths, ledger: ledger, step: step)
        try production.store.recordLoaded(step: step, everyEvent: everyEvent, ids: page) { ledger[CatalogLoader.pathHash($0)]?.rowCount }
        return summary
    }

    /// The files one load looks at: CSV outputs of a step's ok events, and those of them whose new
    /// version may replace the one loaded (`CatalogLoader.load(_:redone:progress:)`).
    struct Outputs {
        var files: [String]
        var redone: Set<String>
        /// The events whose outputs these are.
        var events: [Int64]
    }

    /// Writes the provenance (`dcprod_provenance`, `dcprod_provenance_input`) of the files that the
    /// ledger holds without one — those this load put in, those of a load cut short, those loaded
    /// before schema v5 — and again of those this load replaced, in one transaction.
    private func recordProvenance(of outputs: Outputs, loaded: [String], ledger: [String: CatalogLoader.LedgerEntry], step: Step) throws {
        let held = outputs.files.filter { ledger[CatalogLoader.pathHash($0)] != nil }
        var recorded = Set<String>()
        for list in CatalogLoader.hashLists(of: held) {
            try database.query("SELECT pathHash FROM dcprod_provenance WHERE pathHash IN (\(list))", columns: { _ in }, row: {
                if let hash = $0[0].text { recorded.insert(hash) }
            })
        }
        let replaced = Set(loaded)
        let missing = Set(held.filter { !recorded.contains(CatalogLoader.pathHash($0)) || replaced.contains($0) })
        let provenance = try production.store.fileProvenance(step: step, paths: missing, events: outputs.events)
        guard !provenance.isEmpty else { return }
        try CatalogSchema.transaction(database) {
            for file in provenance {
                let hash = CatalogLoader.pathHash(file.path)
                try record(file, hash: hash, ledger: ledger[hash])
            }
        }
    }

    private func record(_ file: FileProvenance, hash: String, ledger entry: CatalogLoader.LedgerEntry?) throws {
        for table in ["dcprod_provenance", "dcprod_provenance_input"] {
            _ = try database.execute("DELETE FROM \(table) WHERE pathHash = ?", arguments: [hash])
        }
        let values: [String?] = [hash, file.path, entry?.table ?? "", entry?.keys.map { String($0.lowerBound) }, entry?.keys.map { String($0.upperBound) },
                                 file.step, file.filter, file.eventKey, file.jobName, String(file.attempt), file.batchId, file.host,
                                 file.startedAt, file.endedAt, file.exitCode.map(String.init), file.dcprodVersion, file.templateHash,
                                 file.batchHash, file.configHash]
        _ = try database.execute("""
            INSERT INTO dcprod_provenance (pathHash, path, tableName, firstKey, lastKey, step, filterName, eventKey, jobName, attempt, \
            batchId, host, startedAt, endedAt, exitCode, dcprodVersion, templateHash, batchHash, configHash) \
            VALUES (\(Array(repeating: "?", count: values.count).joined(separator: ", ")))
            """, arguments: values)
        for (position, input) in file.inputs.enumerated() {
            _ = try database.execute("INSERT INTO dcprod_provenance_input (pathHash, position, input, madeFrom) VALUES (?, ?, ?, ?)",
                                     arguments: [hash, String(position), input.path, input.madeFrom])
        }
    }

    private func load(_ outputs: Outputs, loader: CatalogLoader) throws -> CatalogLoader.Summary {
        // Nothing new (most passes of `run`): no loader opens a connection.
        guard !outputs.files.isEmpty else { return CatalogLoader.Summary() }
        let workers = production.config.dbConnections - 1
        let production = production, defaultsFile = defaultsFile
        let (files, redone) = (outputs.files, outputs.redone)
        let summary: CatalogLoader.Summary
        do {
            summary = workers == 0
                ? try loader.load(files, redone: redone)
                : try CatalogLoader.loadInParallel(files, redone: redone, connections: workers, dialect: database.dialect, templates: templates,
                                                   splits: splits) {
                    try CatalogConnection.open(production, readOnly: false, defaultsFile: defaultsFile)
                }
        } catch let partial as CatalogLoader.PartialLoad {
            // What did load is loaded: the state store says so too.
            try production.store.recordLoad(rejections: partial.summary.rejected, loaded: partial.summary.loadedPaths)
            throw partial
        }
        if !summary.rejected.isEmpty || !summary.loadedPaths.isEmpty {
            try production.store.recordLoad(rejections: summary.rejected, loaded: summary.loadedPaths)
        }
        return summary
    }

    /// The catalog's account, as `dcprod load --status` prints it.
    public struct Status: Sendable {
        /// Files in the ledger.
        public var loaded: Int
        /// Result files of ok events neither in the ledger nor refused.
        public var pending: Int
        /// Files refused and not loaded since.
        public var rejected: [LoadRejection]
        /// Rows per table.
        public var rows: [String: Int]
    }

    /// Files loaded, pending and rejected, and rows per table.
    ///
    /// - Throws: `CatalogError` when the catalog has no schema or cannot be read; a GRDB `DatabaseError`
    ///   when the state store cannot be read.
    public func status() throws -> Status {
        try CatalogSchema.require(database)
        let loader = try CatalogLoader(catalog: database, templates: templates, splits: splits)
        let ledger = try loader.ledger()
        let rejected = try production.store.loadRejections()
        let rejectedPaths = Set(rejected.map(\.path))
        var pending = 0
        for step in Step.allCases {
            pending += try production.store.resultFiles(step: step).filter {
                !ledger.contains(CatalogLoader.pathHash($0)) && !rejectedPaths.contains($0)
            }.count
        }
        return Status(loaded: ledger.count, pending: pending, rejected: rejected, rows: try loader.rowCounts())
    }
}
