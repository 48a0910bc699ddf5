import Basics
import Foundation
import GRDB

/// The task summary of a production, after SLAC's Pipeline-II: one row per step and filter, one
/// column per state an event can be in, totals. `dcprod status` prints it and the report's landing
/// page (`reports/index.html`, `dcprod serve`) draws it from the same value, so that the terminal and
/// the page can never disagree.
///
/// The state columns partition the events: each event is counted in exactly one of them, and their
/// sum is `total`. `loaded` (ok events whose CSV outputs the catalog holds) and `stale` (events planned
/// on inputs redone since) count events already in a state column.
public struct TaskSummary: Codable, Sendable, Equatable {
    /// One column: a state of the events, or a failure class of the failed ones.
    public struct Column: Codable, Sendable, Equatable, Hashable {
        /// What links and the JSON API call it: `new`, `planned`, `queued`, `running`, `ended`, `ok`,
        /// `failed.CLASS`, `not-run`, `withdrawn`, `loaded`, `stale`.
        public var key: String
        /// The heading: the state, or the failure class's name.
        public var label: String
        /// True for a failure class or `not-run`: a count a person on shift must look at.
        public var isFailure: Bool

        public init(key: String, label: String, isFailure: Bool) {
            self.key = key
            self.label = label
            self.isFailure = isFailure
        }

        public static let new = Column(key: "new", label: "new", isFailure: false)
        /// Planned: in a job not yet with the batch system (unsubmitted, or its submission unanswered).
        public static let planned = Column(key: "planned", label: "planned", isFailure: false)
        public static let queued = Column(key: "queued", label: "queued", isFailure: false)
        public static let running = Column(key: "running", label: "running", isFailure: false)
        /// Their job's attempt has ended; verify has not read its outcomes yet.
        public static let ended = Column(key: "ended", label: "to verify", isFailure: false)
        public static let ok = Column(key: "ok", label: "ok", isFailure: false)
        public static let notRun = Column(key: EventState.notRun.rawValue, label: "not run", isFailure: true)
        public static let withdrawn = Column(key: "withdrawn", label: "withdrawn", isFailure: false)
        public static let loaded = Column(key: "loaded", label: "loaded", isFailure: false)
        public static let stale = Column(key: "stale", label: "stale", isFailure: false)

        /// The column of failed events of a class.
        public static func failed(_ className: String) -> Column {
            Column(key: "failed." + className, label: className, isFailure: true)
        }

        /// The failure class of a `failed.CLASS` column.
        public var failureClass: String? { key.hasPrefix("failed.") ? String(key.dropFirst("failed.".count)) : nil }
    }

    /// One step in one filter.
    public struct Row: Codable, Sendable, Equatable {
        public var step: String
        public var filter: String
        /// One count per column of `TaskSummary.columns`, in order.
        public var counts: [Int]
        /// The events of the step and filter: the sum of `counts`.
        public var total: Int
        public var loaded: Int
        public var stale: Int
        /// The latest submission or end of an attempt of the step and filter (ISO 8601, UTC); nil before any.
        public var lastActivity: String?

        /// `lastActivity` as the table prints it: `2026-12-06 05:01:10`, UTC; `-` before any.
        public var lastActivityText: String {
            lastActivity.map { $0.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: "") } ?? "-"
        }
    }

    /// The state columns, in the order a production goes: new, planned, queued, running, to verify
    /// (only when some are), ok, the failure classes that occur (by name), not run, withdrawn.
    public var columns: [Column]
    public var rows: [Row]

    /// The totals row: one count per column, the total, loaded and stale; its last activity the latest.
    public var totals: Row {
        Row(step: "all", filter: "",
            counts: columns.indices.map { column in rows.map { $0.counts[column] }.reduce(0, +) },
            total: rows.map(\.total).reduce(0, +), loaded: rows.map(\.loaded).reduce(0, +), stale: rows.map(\.stale).reduce(0, +),
            lastActivity: rows.compactMap(\.lastActivity).max())
    }

    /// The counts by `event.state` that the columns split: planned for planned, queued, running
    /// and to verify, failed for every class; a state no column names under its own name. Only
    /// non-zero counts, a step and filter's in the rows' order.
    var eventStateCounts: [ProductionStatus.StateCount] {
        rows.flatMap { row in
            var byState: [String: Int] = [:]
            for (column, count) in zip(columns, row.counts) where count > 0 {
                let state: String = switch column {
                case .planned, .queued, .running, .ended: EventState.planned.rawValue
                default: column.failureClass == nil ? column.key : EventState.failed.rawValue
                }
                byState[state, default: 0] += count
            }
            return byState.map { ProductionStatus.StateCount(step: row.step, filter: row.filter, state: $0.key, count: $0.value) }
        }
    }

    /// The table as text cells: a heading row, a row per step and filter, the totals row. Both
    /// `dcprod status` and the summary page print these cells.
    public var cells: [[String]] {
        var table = [["step", "filter"] + columns.map(\.label) + ["total", "loaded", "stale", "last activity (UTC)"]]
        for row in rows + [totals] {
            table.append([row.step, row.filter] + row.counts.map(String.init)
                         + [String(row.total), String(row.loaded), String(row.stale), row.lastActivityText])
        }
        return table
    }
}

extension StateStore {
    /// The task summary of the production (see `TaskSummary`).
    ///
    /// The counts come from the events the store keeps counted (`eventTallies`), and from the
    /// attempts the batch system has (or has ended and verify has not read): neither grows with the
    /// events done.
    ///
    /// The summary is kept until the store changes (`StoreReadings`): `dcprod serve` counts the events
    /// once for every request that comes before the next commit.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func taskSummary() throws -> TaskSummary {
        try readings.value("taskSummary") { try readTaskSummary() }
    }

    /// The task summary, counted now.
    private func readTaskSummary() throws -> TaskSummary {
        let stale = try staleCounts()
        return try pool.read { db in
            var counts = SummaryCounts()
            for tally in try Self.eventTallies(db) { counts.add(tally) }
            try counts.splitPlanned(db)
            var lastActivity: [SummaryCounts.Key: String] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT j.step, j.filter, MAX(MAX(COALESCE(a.endedAt, ''), COALESCE(a.submittedAt, '')))
                FROM attempt a JOIN job j ON j.id = a.jobId GROUP BY j.step, j.filter
                """) {
                if let time: String = row[2], !time.isEmpty { lastActivity[SummaryCounts.Key(step: row[0], filter: row[1])] = time }
            }
            return counts.summary(stale: stale, lastActivity: lastActivity)
        }
    }
}

/// A task summary's counts as they are read: per step and filter, per column.
private struct SummaryCounts {
    struct Key: Hashable { var step: String; var filter: String }
    var counts: [Key: [TaskSummary.Column: Int]] = [:]
    var loaded: [Key: Int] = [:]
    var failureClasses = Set<String>()
    /// True when some events are to verify: the column is shown only then.
    var ended = false

    /// Counts the events of a tally in the column of its state (or failure class).
    mutating func add(_ tally: EventTally) {
        let key = Key(step: tally.step, filter: tally.filter)
        let column: TaskSummary.Column
        switch EventState(rawValue: tally.state) {
        case .new: column = .new
        case .planned: column = .planned
        case .ok: column = .ok
        case .failed:
            let className = tally.className ?? "failed"
            failureClasses.insert(className)
            column = .failed(className)
        case .notRun: column = .notRun
        case .withdrawn: column = .withdrawn
        case nil: column = TaskSummary.Column(key: tally.state, label: tally.state, isFailure: true)
        }
        counts[key, default: [:]][column, default: 0] += tally.events
        loaded[key, default: 0] += tally.loaded
    }

    /// Moves from planned to queued, running or to verify the planned events whose job's latest
    /// attempt the batch system has, or has ended unread: found from the attempts' index, and summed
    /// from each such job's count of planned events (`JobPlannedCounts`) rather than read event by event.
    mutating func splitPlanned(_ db: Database) throws {
        let withBatch = try Row.fetchCursor(db, SQLRequest(literal: """
            SELECT j.step, j.filter, a.state, SUM(p.events) FROM attempt a JOIN job j ON j.id = a.jobId
            JOIN job_planned p ON p.jobId = j.id AND p.events > 0
            WHERE (a.state IN \([AttemptState.queued, .running]) OR (a.state IN \(AttemptState.verifiable) AND a.verified = 0))
            AND a.id = (SELECT MAX(id) FROM attempt WHERE jobId = a.jobId)
            GROUP BY j.step, j.filter, a.state
            """))
        while let row = try withBatch.next() {
            let key = Key(step: row[0], filter: row[1])
            let column: TaskSummary.Column
            switch AttemptState(rawValue: row[2]) {
            case .queued: column = .queued
            case .running: column = .running
            default: column = .ended; ended = true
            }
            let count: Int = row[3]
            counts[key, default: [:]][column, default: 0] += count
            counts[key, default: [:]][.planned, default: 0] -= count
        }
    }

    /// The summary: its columns in the order a production goes, its rows in step and filter order.
    func summary(stale: [ProductionStatus.StateCount], lastActivity: [Key: String]) -> TaskSummary {
        let columns: [TaskSummary.Column] = [.new, .planned, .queued, .running] + (ended ? [.ended] : []) + [.ok]
            + failureClasses.sorted().map(TaskSummary.Column.failed) + [.notRun, .withdrawn]
        let rows = counts.keys.sorted { tableOrder(step: $0.step, filter: $0.filter) < tableOrder(step: $1.step, filter: $1.filter) }.map { key in
            let values = columns.map { counts[key]?[$0] ?? 0 }
            return TaskSummary.Row(step: key.step, filter: key.filter, counts: values, total: values.reduce(0, +),
                                   loaded: loaded[key] ?? 0,
                                   stale: stale.first { $0.step == key.step && $0.filter == key.filter }?.count ?? 0,
                                   lastActivity: lastActivity[key])
        }
        return TaskSummary(columns: columns, rows: rows)
    }
}
