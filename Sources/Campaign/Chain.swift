import Batch
import Catalog
import Foundation
import Planning
import Production
import Verification

/// `dcprod run`: processCcd → coadd → forcedPhot, each step planned from what the one before verified
/// ok, submitted and followed to its end, verified, and its results loaded into the catalog.
///
/// Every move is one that can be repeated: planning plans only new events, submission adopts the
/// jobs a killed run handed over and never submits a job twice, verify reads only new outcome files,
/// loading skips what the ledger has. A run killed at any moment and started again therefore goes on
/// where it was. It stops before a step that has nothing to start from (no event of the step before
/// verified ok), and leaves to a person what failed: the reports say what `resubmit` would take.
public struct Chain {
    /// How each step is planned: the production, the dcprod its jobs call, the catalog's option file.
    public let planning: StepPlanning
    public var production: Production { planning.production }

    /// A chain on a production.
    ///
    /// - Parameters:
    ///   - production: The production.
    ///   - dcprod: The dcprod that the jobs' scripts call.
    ///   - defaultsFile: The MariaDB option file with the password; nil: the client's own files or MYSQL_PWD.
    public init(production: Production, dcprod: String, defaultsFile: String? = nil) {
        planning = StepPlanning(production: production, dcprod: dcprod, defaultsFile: defaultsFile)
    }

    /// What happened to one step of a run.
    public struct StepRun: Sendable {
        public var step: Step
        /// The jobs and events planned now (none when all were planned before).
        public var planned: Planner.Summary
        /// The submission, followed to its end.
        public var submission: Submitter.Summary
        /// The outcome records read and the step's reports.
        public var verification: Verification
        /// The results loaded into the catalog.
        public var load: ProductionCatalog.StepLoad
    }

    /// Where a run is, for a progress line.
    public enum Stage: Sendable {
        case planning(Step), submitting(Step), verifying(Step), loading(Step)
    }

    /// Runs the chain on some filters.
    ///
    /// - Parameters:
    ///   - filters: The filters.
    ///   - stage: Called as each move starts.
    ///   - submitting: Called with the submission's summary after each poll.
    /// - Returns: Each step that ran, in order.
    /// - Throws: What a step's move throws: `TemplateError`, `BatchError` (the jobs already handed over
    ///   are recorded; run again to go on), `CatalogError`, a GRDB `DatabaseError`.
    public func run(filters: [Filter], stage: (Stage) -> Void = { _ in },
                    submitting: (Submitter.Summary) -> Void = { _ in }) throws -> [StepRun] {
        let catalog = try ProductionCatalog.open(production, readOnly: false, defaultsFile: planning.defaultsFile, createDatabase: true)
        _ = try catalog.initialize()
        var runs: [StepRun] = []
        for step in Step.allCases {
            if let input = step.inputStep, let before = runs.last(where: { $0.step == input }),
               before.verification.reports.allSatisfy({ $0.count(FailureClasses.ok) == 0 }) {
                break
            }
            stage(.planning(step))
            let planned = try planning.plan(step: step, filters: filters)
            stage(.submitting(step))
            let submission = try Submitter(production: production).submit(step: step, filters: filters, wait: true, progress: submitting)
            stage(.verifying(step))
            let verification = try Verifier(production: production, step: step).verify(filters: filters)
            stage(.loading(step))
            let load = try catalog.load(step: step, deferIndexes: false)
            runs.append(StepRun(step: step, planned: planned, submission: submission, verification: verification, load: load))
        }
        return runs
    }
}
