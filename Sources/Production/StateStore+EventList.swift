import Basics
import Foundation
import GRDB

/// The events behind one count of the task summary, a page at a time: what a link of the summary
/// page and `/api/events` list.
public struct EventList: Codable, Sendable, Equatable {
    /// One event, with the attempt that ran it (its latest one, for an event still planned).
    public struct Entry: Codable, Sendable, Equatable, FetchableRecord {
        public var key: String
        public var job: String?
        public var attempt: Int?
        /// The node the batch system ran it on, else the host the runner reported.
        public var host: String?
        /// What the runner measured for the event.
        public var seconds: Double?
        /// Peak resident memory as the batch system accounts it (maxrss; maxvmem on Grid Engine).
        public var peakMemory: String?
        public var className: String?
        public var message: String?
        /// The attempt's log file.
        public var log: String?
    }

    public var step: String
    public var filter: String
    /// The summary column listed (`TaskSummary.Column.key`).
    public var column: String
    /// The page shown, from 1, and how many there are.
    public var page: Int
    public var pages: Int
    public var pageSize: Int
    /// The events in the column, on every page.
    public var count: Int
    public var entries: [Entry]

    /// Events on a page.
    public static let defaultPageSize = 200
}

extension StateStore {
    /// A page of the events of a step and filter in one column of the task summary, by key.
    ///
    /// The events before the page are skipped by id alone; only the page's are joined to their job,
    /// attempt and outcome (a deep page of DC2013's 300,000 ok events of a filter skips the rest unjoined).
    ///
    /// - Parameters:
    ///   - column: A `TaskSummary.Column.key`: a state, `failed.CLASS`, `loaded` or `stale`.
    ///   - page: The page, from 1; past the last, an empty page.
    /// - Returns: The page, or nil when `column` is no column of the summary.
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func eventList(step: Step, filter: Filter, column: String, page: Int, pageSize: Int = EventList.defaultPageSize) throws -> EventList? {
        let latest: SQL = "(SELECT MAX(id) FROM attempt WHERE jobId = e.jobId)"
        let withBatch: SQL = "(SELECT state FROM attempt WHERE id = \(latest))"
        let unverified: SQL = "(SELECT verified = 0 FROM attempt WHERE id = \(latest))"
        let condition: SQL
        switch column {
        case TaskSummary.Column.new.key: condition = "e.state = \(EventState.new) AND \(Self.notOk("e."))"
        case TaskSummary.Column.queued.key: condition = "e.state = \(EventState.planned) AND \(withBatch) = \(AttemptState.queued) AND \(Self.notOk("e."))"
        case TaskSummary.Column.running.key: condition = "e.state = \(EventState.planned) AND \(withBatch) = \(AttemptState.running) AND \(Self.notOk("e."))"
        case TaskSummary.Column.ended.key:
            condition = "e.state = \(EventState.planned) AND \(withBatch) IN \(AttemptState.verifiable) AND \(unverified) AND \(Self.notOk("e."))"
        case TaskSummary.Column.planned.key:
            condition = """
                e.state = \(EventState.planned) AND \(Self.notOk("e.")) AND NOT COALESCE(\(withBatch) IN \([AttemptState.queued, .running])
                    OR (\(withBatch) IN \(AttemptState.verifiable) AND \(unverified)), 0)
                """
        case TaskSummary.Column.ok.key: condition = "e.state = \(EventState.ok)"
        case TaskSummary.Column.notRun.key: condition = "e.state = \(EventState.notRun) AND \(Self.notOk("e."))"
        case TaskSummary.Column.withdrawn.key: condition = "e.state = \(EventState.withdrawn) AND \(Self.notOk("e."))"
        case TaskSummary.Column.loaded.key: condition = "e.loadedRows IS NOT NULL"
        case TaskSummary.Column.stale.key: condition = "e.id IN (SELECT eventId FROM input_change) AND \(Self.isStale)"
        default:
            guard let className = TaskSummary.Column(key: column, label: "", isFailure: true).failureClass else { return nil }
            condition = "e.state = \(EventState.failed) AND e.class = \(className) AND \(Self.notOk("e."))"
        }
        let page = max(page, 1)
        return try pool.read { db in
            // The ok events, most of a step and no longer in the index by state (schema v22), are counted in event_count.
            let count = try Int.fetchOne(db, column == TaskSummary.Column.ok.key ? SQLRequest(literal: """
                SELECT COALESCE(SUM(events), 0) FROM event_count WHERE step = \(step) AND filter = \(filter) AND state = \(EventState.ok)
                """) : SQLRequest(literal: """
                SELECT COUNT(*) FROM event e WHERE e.step = \(step) AND e.filter = \(filter) AND \(condition)
                """)) ?? 0
            let entries = try EventList.Entry.fetchAll(db, SQLRequest(literal: """
                SELECT e.key, j.name AS job, a.number AS attempt, COALESCE(a.node, a.host) AS host, o.seconds,
                       COALESCE(a.maxRSS, a.maxVMem) AS peakMemory, e.class AS className, e.message, a.log
                FROM (SELECT e.id FROM event e WHERE e.step = \(step) AND e.filter = \(filter) AND \(condition)
                      ORDER BY e.key LIMIT \(pageSize) OFFSET \((page - 1) * pageSize)) shown
                JOIN event e ON e.id = shown.id LEFT JOIN job j ON j.id = e.jobId
                LEFT JOIN attempt a ON a.id = CASE WHEN e.state = \(EventState.planned) OR e.attemptId IS NULL THEN \(latest) ELSE e.attemptId END
                LEFT JOIN outcome o ON o.eventId = e.id AND o.attemptId = a.id
                ORDER BY e.key
                """))
            return EventList(step: step.rawValue, filter: filter.rawValue, column: column, page: page,
                             pages: max(1, (count + pageSize - 1) / pageSize), pageSize: pageSize, count: count, entries: entries)
        }
    }
}
