import Basics
import Foundation
import Production

/// Which failed or never-run events `resubmit` takes: those whose class says `retry` (with
/// `--force`, also `force`; named with `--class`, any), at most MAXRETRY times after the first.
public struct RetryPolicy {
    /// The production whose events are resubmitted.
    public let production: Production
    /// The production's failure classes, with their retry policies.
    public let classes: FailureClasses

    /// The retry policy of a production's classes.
    public init(production: Production, classes: FailureClasses) {
        self.production = production
        self.classes = classes
    }

    /// Why a choice of classes is refused.
    public enum Refusal: Error, CustomStringConvertible {
        /// `--class` named a class the production does not have; `known` lists those it has.
        case unknownClass(String, known: [String])
        /// `--class` named a class whose policy is `force`, without `--force`.
        case needsForce(String)

        /// The refusal, as `dcprod resubmit` prints it.
        public var description: String {
            switch self {
            case .unknownClass(let name, let known): "unknown class '\(name)'; classes: \(known.joined(separator: ", "))"
            case .needsForce(let name): "class '\(name)' is resubmitted only with --force (its policy is `force`)"
            }
        }
    }

    /// The class names resubmission takes.
    ///
    /// - Parameters:
    ///   - named: The classes of `--class`; empty: every class whose policy is `retry` (and `force`, with `force`).
    ///   - force: `--force`: classes whose policy is `force` may be taken.
    /// - Returns: The class names.
    /// - Throws: `Refusal` for an unknown class, or a `force` class without `force`.
    public func chosen(named: [String], force: Bool) throws -> [String] {
        if named.isEmpty {
            return classes.classes.filter { $0.retry == .retry || (force && $0.retry == .force) }.map(\.name)
        }
        for name in named {
            guard let known = classes.named(name) else { throw Refusal.unknownClass(name, known: classes.classes.map(\.name)) }
            if known.retry == .force && !force { throw Refusal.needsForce(name) }
        }
        return named
    }

    /// The events of a step and filter to resubmit: failed or never run, in one of `classNames`,
    /// tried at most MAXRETRY times after the first.
    ///
    /// - Parameters:
    ///   - step: The step.
    ///   - filter: The filter.
    ///   - classNames: The classes chosen (see `chosen(named:force:)`).
    /// - Returns: The events' ids, by event key.
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func events(step: Step, filter: Filter, classNames: [String]) throws -> [Int64] {
        try production.store.retryableEvents(step: step, filter: filter, classes: classNames, maxRetry: production.config.maxRetry).map(\.id)
    }
}
