import ArgumentParser
import Batch
import Foundation
import Production

struct Status: ProductionCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Events per step, filter and state; inventory failures and skips by reason.")

    @OptionGroup var options: ProductionOptions

    @Flag(help: "Print the status as JSON.")
    var json = false

    @Flag(help: "List every inventory failure with its file and message.")
    var failures = false

    @Flag(help: "List every job attempt: backend id, state, host, times, memory (maxrss; maxvmem on Grid Engine), exit code.")
    var jobs = false

    @Flag(help: ArgumentHelp(
        "Ask the batch system first what ended, and record it (a writer: takes the production's lock).",
        discussion: "Without it status only reads what the state store holds, as a running `dcprod run` or `submit --wait` keeps it; it also upgrades a state store of an older dcprod."))
    var refresh = false

    /// Reads only, unless --refresh: a reader never writes, so that it can never undo what a writer
    /// is doing (a refresh forgets the intents the batch system does not know yet).
    var changesProduction: Bool { refresh }

    func run(on production: Production) throws {
        // One squeue and one sacct (or a look at the local processes) for every active job first.
        if refresh { try Submitter(production: production).refresh() }
        let status = try production.store.status(production: production.config.dcName, tree: production.tree.root.path)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(status), as: UTF8.self))
            return
        }
        print(StatusText(status: status).text)
        if jobs { print(StatusText.attempts(try production.store.attempts())) }
        if failures { print(StatusText.failures(try production.store.inventoryFailures())) }
    }
}

/// The text form of a status: one table of events, then rejections by reason.
struct StatusText {
    let status: ProductionStatus

    /// The order job states appear in, as a production goes.
    static let jobStateOrder = JobState.allCases.map(\.rawValue)

    /// `status --jobs`: a line per attempt.
    static func attempts(_ rows: [AttemptSummary]) -> String {
        guard !rows.isEmpty else { return "No job has been submitted." }
        var cells = [["job", "attempt", "backend", "id", "state", "raw state", "node", "elapsed", "cpu", "maxrss", "maxvmem", "ended", "exit"]]
        for a in rows {
            cells.append([a.job, String(a.number), a.backend, a.backendId ?? "-", a.state.rawValue, a.rawState ?? "-",
                          a.node ?? a.host ?? "-", a.elapsed ?? "-", a.cpuTime ?? "-", a.maxRSS ?? "-", a.maxVMem ?? "-",
                          a.endedAt ?? "-",
                          a.signal.map { "signal \($0)" } ?? a.exitCode.map(String.init) ?? "-"])
        }
        return "\n" + table(cells).joined(separator: "\n")
    }

    /// `status --failures`: a line per file inventory refused.
    static func failures(_ list: [RejectionRecord]) -> String {
        guard !list.isEmpty else { return "No inventory failures." }
        return (["Inventory failures, one per file:"] + list.map { "  \($0.path): \($0.reason): \($0.message)" }).joined(separator: "\n")
    }

    var text: String {
        var lines = ["Production \(status.production) at \(status.tree) (state schema v\(status.schemaVersion))",
                     "Frames inventoried: \(status.frames)", ""]
        if status.events.isEmpty {
            lines.append("No events yet: put frames under INPUT and run `dcprod inventory`.")
        } else {
            lines.append("Events (the task summary of `dcprod report`: reports/index.html)")
            lines += Self.table(status.summary.cells)
        }
        if !status.jobs.isEmpty {
            lines.append("")
            lines.append("Jobs (latest attempt)")
            lines += Self.table(Self.pivot(status.jobs, order: Self.jobStateOrder))
        }
        if !status.stale.isEmpty {
            lines.append("")
            lines.append("Stale: planned on inputs redone since (`dcprod run` or `plan STEP` makes them again)")
            lines += status.stale.map { "  \($0.step) \($0.filter): \($0.count)" }
        }
        for (kind, title) in [("failure", "Inventory failures"), ("skip", "Inventory skips")] {
            let mine = status.rejections.filter { $0.kind == kind }
            lines.append("")
            lines.append("\(title): \(mine.map(\.count).reduce(0, +))")
            for rejection in mine { lines.append("  \(rejection.reason): \(rejection.count)") }
        }
        return lines.joined(separator: "\n")
    }

    /// One row per step and filter, one column per state (in `order`), and a total column.
    static func pivot(_ counts: [ProductionStatus.StateCount], order: [String]) -> [[String]] {
        let states = Set(counts.map(\.state)).sorted {
            (order.firstIndex(of: $0) ?? 99, $0) < (order.firstIndex(of: $1) ?? 99, $1)
        }
        var rows: [[String]] = [["step", "filter"] + states + ["total"]]
        var seen: [String] = []
        for count in counts where !seen.contains(count.step + "/" + count.filter) {
            seen.append(count.step + "/" + count.filter)
            let mine = counts.filter { $0.step == count.step && $0.filter == count.filter }
            let values = states.map { state in mine.first { $0.state == state }?.count ?? 0 }
            rows.append([count.step, count.filter] + values.map(String.init) + [String(values.reduce(0, +))])
        }
        return rows
    }

    /// Left-aligned text columns, right-aligned numbers.
    static func table(_ rows: [[String]]) -> [String] {
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return column < 2 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
    }
}
