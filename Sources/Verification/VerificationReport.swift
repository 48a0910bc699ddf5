import Basics
import Foundation

/// The DC2013 verification report of one step and filter.
///
/// Made by `Verifier.report(step:filter:)` from the state store; `text` is what `dcprod verify` prints,
/// `json` its machine-readable form; the Views library draws the HTML page of a step from these.
public struct VerificationReport: Sendable {
    /// An event and the message of its latest outcome.
    public struct Message: Codable, Sendable, Equatable {
        /// The event's key.
        public var event: String
        /// The log line that classified it, or why it failed.
        public var message: String
    }

    /// The step reported on.
    public var step: Step
    /// The filter reported on.
    public var filter: Filter
    /// All the events of the step and filter, whatever their state.
    public var total: Int
    /// Events per class name (for ok/failed/not-run events) or per state (new, planned).
    public var counts: [String: Int]
    /// Planned events whose job has an attempt the batch system has or may have (submitting, queued, running).
    public var inProgress: Int
    /// The production's class list, for the order and labels of the lines.
    public var classes: FailureClasses
    /// The keys of the events `resubmit` would take now without options: failed or not run, in a class
    /// whose policy is `retry`, with at most MAXRETRY attempts so far (so at most MAXRETRY resubmissions in all).
    public var retry: [String]
    /// The first events of class `other` (by key, at most 10), so that a person can write the next rule.
    public var another: [Message]
    /// The first events (by key, at most `firstShown`) of each class that failed but `other`, which
    /// `another` lists: what a person looks at before choosing the class's remedy (`remedy(for:)`).
    public var firstFailures: [String: [Message]] = [:]
    /// Job attempts the batch system ended for want of memory, time or a node, which dcprod
    /// submitted again with more (resource learning), by reason.
    public var requeued: [String: Int] = [:]
    /// The lines of the outcome files that verify did not believe of any event, `file:line: reason`.
    public var damaged: [String] = []
    /// Events planned on inputs that have another outcome since (`StateStore.staleEvents`): counted
    /// under their outcome, and to be made again by `dcprod run` or `plan`.
    public var stale = 0

    /// The number of events counted under a class name or a state.
    ///
    /// - Parameter name: A class name (`ok`, `crash`, ...) or a state (`new`, `planned`).
    /// - Returns: The count; 0 for a name not counted.
    public func count(_ name: String) -> Int { counts[name] ?? 0 }

    /// Events whose command was killed by a signal (class `crash`).
    public var crashed: Int { count(FailureClasses.crash) }
    /// Events that never ran: recorded as not-run, or never submitted.
    public var notRun: Int { count(FailureClasses.notRun) + count("new") + count("planned") - inProgress }
    /// Events that ran and have an outcome: all but those not run and those in progress.
    public var processed: Int { total - notRun - inProgress }
    /// Processed events that are not ok.
    public var failed: Int { processed - count(FailureClasses.ok) }

    /// The classes that have a line of their own, in DC2013's order: all but crash and not-run, which
    /// the report counts apart.
    /// `bad-record` has a line only when some event is in it: DC2013's report, which users know, had none.
    public var listedClasses: [FailureClasses.Class] {
        classes.classes.filter { ![FailureClasses.crash, FailureClasses.notRun].contains($0.name) }
            .filter { $0.name != FailureClasses.badRecord || count($0.name) > 0 }
    }

    /// DC2013's wording and order; then Not run, Crashed, what resubmit would take, and the
    /// first "Another problem" messages so that a person can write the next rule.
    public var text: String {
        var lines = ["Step \(step.rawValue), filter \(filter.rawValue)", "Events processed: \(processed) out of \(total):"]
        for c in listedClasses {
            lines.append("\(c.label): \(count(c.name)) - \(Self.percent(count(c.name), of: total)) %")
        }
        lines.append("Not run: \(notRun)")
        lines.append("Crashed: \(crashed)")
        if inProgress > 0 { lines.append("In progress: \(inProgress)") }
        lines.append("To resubmit: \(retry.count)")
        if stale > 0 { lines.append("Stale, their inputs redone since they were planned: \(stale) (`dcprod run` or `plan` makes them again)") }
        if let requeuedLine { lines.append("Jobs submitted again by dcprod: " + requeuedLine) }
        let failing = classes.classes.filter { firstFailures[$0.name]?.isEmpty == false }
        if !failing.isEmpty {
            lines.append("Failures, first events and what to do:")
            for c in failing {
                lines.append("  \(c.label): \(count(c.name)) - \(remedy(for: c))")
                lines += firstFailures[c.name, default: []].map { "    \($0.event): \($0.message)" }
            }
        }
        if !another.isEmpty {
            lines.append("Another problem, first messages:")
            lines += another.map { "  \($0.event): \($0.message)" }
        }
        if !damaged.isEmpty {
            lines.append("Damaged outcome lines: \(damaged.count)")
            lines += damaged.prefix(Self.damagedShown).map { "  \($0)" }
            if damaged.count > Self.damagedShown { lines.append("  … and \(damaged.count - Self.damagedShown) more (reports/\(step.rawValue)-\(filter.rawValue).json)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The events of a failed class the report lists.
    public static let firstShown = 5

    /// What takes a failed class's events again: `resubmit` alone for a class whose policy is `retry`,
    /// with `--class NAME --force` for `force` (missing files: once they are back), and for `never` (the
    /// input is at fault) the input fixed first, then `--class NAME`.
    public func remedy(for failed: FailureClasses.Class) -> String {
        let resubmit = "`dcprod resubmit \(step.rawValue) --filter \(filter.rawValue)"
        switch failed.retry {
        case .retry: return "\(resubmit)` takes them (up to MAXRETRY retries)"
        case .force: return "\(resubmit) --class \(failed.name) --force` takes them once their files are back (`resubmit` alone does not)"
        case .never: return "the input is at fault: fix it, then \(resubmit) --class \(failed.name)`"
        }
    }

    /// The damaged lines the text names; the JSON has all.
    static let damagedShown = 10

    /// "memory doubled N, walltime doubled N, node lost N", when dcprod submitted any job again.
    public var requeuedLine: String? {
        guard !requeued.isEmpty else { return nil }
        return "memory doubled \(requeued["memory"] ?? 0), walltime doubled \(requeued["time"] ?? 0), node lost \(requeued["node"] ?? 0)"
    }

    /// One decimal as in "98.7 %", three below 1 % as the seed's ".680 %", "0.0" for none.
    ///
    /// - Parameters:
    ///   - count: The events of a line.
    ///   - total: All the events of the step and filter.
    /// - Returns: The percentage without the `%` sign: `98.7`, `0.680`; `99.950` rather than `100.0` when
    ///   `count` is less than `total`; `0.0` when either is 0.
    public static func percent(_ count: Int, of total: Int) -> String {
        guard total > 0, count > 0 else { return "0.0" }
        let value = 100 * Double(count) / Double(total)
        // Never "100.0" for less than all, nor "1.000" where one decimal would do.
        if count < total && value >= 99.95 { return String(format: "%.3f", value) }
        return value >= 0.9995 ? String(format: "%.1f", value) : String(format: "%.3f", value)
    }

    /// The report as a JSON document (pretty-printed, keys sorted): `dcprod verify` writes it to `reports/STEP-FILTER.json`.
    ///
    /// Keys: `step`, `filter`, `events` (the total), `processed`, `classes` (every class of the list with
    /// `name`, `label`, `count` and `percent`, crash and not-run included), `notRun`, `crashed`,
    /// `inProgress`, `retry`, `anotherProblem` (`event`, `message`), `firstFailures` (the same, by class), `requeued`, `damagedLines` (`file:line: reason`) and `stale`. Empty data if the
    /// encoder were to fail, which it does not for these types.
    public var json: Data {
        struct Line: Codable { var name: String; var label: String; var count: Int; var percent: String }
        struct Document: Codable {
            var step: String, filter: String, events: Int, processed: Int
            var classes: [Line]
            var notRun: Int, crashed: Int, inProgress: Int
            var retry: [String]
            var anotherProblem: [Message]
            var firstFailures: [String: [Message]]
            var requeued: [String: Int]
            var damagedLines: [String]
            var stale: Int
        }
        let document = Document(
            step: step.rawValue, filter: filter.rawValue, events: total, processed: processed,
            classes: classes.classes.map { Line(name: $0.name, label: $0.label, count: count($0.name), percent: Self.percent(count($0.name), of: total)) },
            notRun: notRun, crashed: crashed, inProgress: inProgress, retry: retry, anotherProblem: another, firstFailures: firstFailures, requeued: requeued,
            damagedLines: damaged, stale: stale)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(document)) ?? Data()
    }
}
