import Basics
import Batch
import Foundation
import Planning
import Production
import Verification

/// `dcprod resubmit`: new jobs for the failed and never-run events that the class policy retries,
/// submitted and followed until they end.
///
/// Outcome records not yet read are read first, as verify does, so that resubmission follows the
/// latest outcome of each event; the earlier jobs and outcomes stay as history.
public struct Resubmission {
    public let production: Production
    /// The dcprod that the new jobs' scripts call.
    public let dcprod: String

    public init(production: Production, dcprod: String) {
        self.production = production
        self.dcprod = dcprod
    }

    /// What one resubmission did.
    public struct Result: Sendable {
        /// The classes taken.
        public var classes: [String]
        /// Events resubmitted, and the new jobs that hold them.
        public var events = 0
        public var jobs = 0
        /// The submission of the new jobs; nil when there was nothing to resubmit.
        public var submission: Submitter.Summary?
    }

    /// Plans new jobs for the chosen events of a step and submits them, waiting for them to end.
    ///
    /// - Parameters:
    ///   - step: The step.
    ///   - filters: Its filters.
    ///   - classNames: The classes of `--class`; empty: those whose policy is `retry`.
    ///   - force: Also take classes whose policy is `force`.
    /// - Returns: The classes, events and jobs, and the submission's summary.
    /// - Throws: `RetryPolicy.Refusal` for a class that cannot be taken; `TemplateError` for a broken
    ///   step template; `BatchError` when the batch system refuses.
    public func run(step: Step, filters: [Filter], classNames: [String], force: Bool) throws -> Result {
        let verifier = try Verifier(production: production, step: step)
        _ = try verifier.read(filters: filters)
        let policy = RetryPolicy(production: production, classes: verifier.classes)
        var result = Result(classes: try policy.chosen(named: classNames, force: force))
        let planner = Planner(production: production, dcprod: dcprod)
        for filter in filters {
            let ids = try policy.events(step: step, filter: filter, classNames: result.classes)
            guard !ids.isEmpty else { continue }
            result.jobs += try planner.replan(step: step, filter: filter, eventIds: ids)
            result.events += ids.count
        }
        guard result.jobs > 0 else { return result }
        result.submission = try Submitter(production: production).submit(step: step, filters: filters, wait: true)
        return result
    }
}
