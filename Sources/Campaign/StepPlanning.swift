import Basics
import Catalog
import Foundation
import Planning
import Production

/// `dcprod plan STEP`: the events of a later step are made from the earlier step's verified ones
/// first, and what its jobs need from the catalog is written into files beside them — forcedPhot's
/// DeepSource positions — so that a batch job never opens a database (DC2013's forced photometry
/// ran the server out of connections).
public struct StepPlanning {
    public let production: Production
    /// The dcprod that the jobs' scripts call.
    public let dcprod: String
    /// The MariaDB option file with the password, for reading the catalog; nil: the client's own.
    public let defaultsFile: String?

    public init(production: Production, dcprod: String, defaultsFile: String? = nil) {
        self.production = production
        self.dcprod = dcprod
        self.defaultsFile = defaultsFile
    }

    /// Plans a step's new events into jobs, per filter, and again those that are stale: planned on
    /// inputs that have another outcome since (`StateStore.staleEvents`), they get new jobs and run
    /// again on what their inputs are now.
    ///
    /// - Parameter changed: Per filter, the ids of the earlier steps' events whose outcome was recorded
    ///   since the step was last planned (`Planner.derive(step:filter:changed:)`; a filter not in it:
    ///   none); nil when not known — everything is derived again.
    /// - Returns: The jobs and events planned per filter, stale ones included.
    /// - Throws: `TemplateError` for a broken template; `CatalogError` when forcedPhot's positions
    ///   cannot be read from the catalog (no catalog, or no schema: load the coadds first).
    public func plan(step: Step, filters: [Filter], changed: [Filter: Set<Int64>]? = nil) throws -> Planner.Summary {
        // replanStale derives the step's events first (their stale ones are found after the inputs
        // they did not have are recorded): the planner need not again.
        let again = try replanStale(step: step, filters: filters, changed: changed)
        var summary = try Planner(production: production, dcprod: dcprod).plan(step: step, filters: filters, deriving: step.inputStep == nil)
        summary.jobs.merge(again.jobs, uniquingKeysWith: +)
        summary.events.merge(again.events, uniquingKeysWith: +)
        return summary
    }

    /// New jobs for the stale events of a later step (`StateStore.staleEvents`), after its events
    /// are derived again from what their inputs are now; forcedPhot's positions are written for
    /// them and for its unplanned events.
    ///
    /// - Parameter changed: As `plan(step:filters:changed:)`.
    /// - Returns: The jobs and events planned again, per filter.
    /// - Throws: As `plan(step:filters:changed:)`.
    public func replanStale(step: Step, filters: [Filter], changed: [Filter: Set<Int64>]? = nil) throws -> Planner.Summary {
        var again = Planner.Summary()
        guard step.inputStep != nil else { return again }
        let planner = Planner(production: production, dcprod: dcprod)
        let catalog = step == .forcedPhot ? try CatalogConnection.open(production, readOnly: true, defaultsFile: defaultsFile) : nil
        if let catalog { try CatalogSchema.require(catalog) }
        for filter in filters {
            try planner.derive(step: step, filter: filter, changed: changed.map { $0[filter] ?? [] })
            let stale = try production.store.staleEvents(step: step, filter: filter)
            if let catalog { try writePositions(step: step, filter: filter, from: catalog, stale: Set(stale.map(\.id))) }
            guard !stale.isEmpty else { continue }
            again.jobs[filter] = try planner.replan(step: step, filter: filter, eventIds: stale.map(\.id))
            again.events[filter] = stale.count
        }
        return again
    }

    /// For each unplanned event of the step, and each of `stale` (ids), `jobs/positions/KEY.csv`: the
    /// primary DeepSource rows of the filter inside the frame's footprint (its bounding box in RA and
    /// Dec), `deepSourceId,ra,decl` — one position per object, so that no frame measures an object twice.
    /// Only those events' frames are read: none when nothing is to be planned.
    func writePositions(step: Step, filter: Filter, from catalog: CatalogDatabase, stale: Set<Int64>) throws {
        let frames = try production.store.framesToPlan(step: step, filter: filter, stale: stale)
        guard !frames.isEmpty else { return }
        try FileManager.default.createDirectory(at: production.tree.jobsDirectory(step, filter).appendingPathComponent("positions"),
                                                withIntermediateDirectories: true)
        for frame in frames {
            let ras = RightAscension.span(frame.footprint.map(\.ra)), decs = frame.footprint.map(\.dec)
            // Numbers only, formatted here: nothing from a file reaches the SQL as text. A frame across
            // RA 0 holds RA from its low bound up to 360 or from 0 up to its high one.
            let inRA = String(format: ras.low <= ras.high ? "ra BETWEEN %.10f AND %.10f" : "(ra >= %.10f OR ra <= %.10f)", ras.low, ras.high)
            let query = "SELECT deepSourceId, ra, decl FROM DeepSource WHERE filterId = \(filter.filterId) AND isPrimary = 1 AND \(inRA) AND "
                + String(format: "decl BETWEEN %.10f AND %.10f ORDER BY deepSourceId", decs.min()!, decs.max()!)
            let rows = try catalog.query(query).rows
            let text = "deepSourceId,ra,decl\n" + rows.map { $0.map { $0 ?? "" }.joined(separator: ",") + "\n" }.joined()
            try AtomicFile.write(Data(text.utf8), to: Planner.positionsFile(step: step, filter: filter, key: frame.key, tree: production.tree))
        }
    }
}
