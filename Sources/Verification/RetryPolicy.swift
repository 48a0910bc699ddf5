import Foundation
import GRDB
import Production

/// Which failed or never-run events `resubmit` takes: those whose class says `retry` (with
/// `--force`, also `force`; named with `--class`, any), at most MAXRETRY times after the first.
public struct RetryPolicy {
    public let production: Production
    public let classes: FailureClasses

    public init(production: Production, classes: FailureClasses) {
        self.production = production
        self.classes = classes
    }

    public enum Refusal: Error, CustomStringConvertible {
        case unknownClass(String, known: [String])
        case needsForce(String)

        public var description: String {
            switch self {
            case .unknownClass(let name, let known): "unknown class '\(name)'; classes: \(known.joined(separator: ", "))"
            case .needsForce(let name): "class '\(name)' is resubmitted only with --force (its policy is `force`)"
            }
        }
    }

    /// The class names resubmission takes.
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

    /// The ids of the events of `step` and `filter` to resubmit.
    public func events(step: Step, filter: Filter, classNames: [String]) throws -> [Int64] {
        guard !classNames.isEmpty else { return [] }
        return try production.store.pool.read { db in
            try Int64.fetchAll(db, sql: """
                SELECT id FROM event WHERE step = ? AND filter = ? AND state IN ('failed', 'not-run')
                AND class IN (\(classNames.map { _ in "?" }.joined(separator: ","))) AND attempts <= ? ORDER BY key
                """, arguments: StatementArguments([step.rawValue, filter.rawValue] + classNames + [String(production.config.maxRetry)]))
        }
    }
}
