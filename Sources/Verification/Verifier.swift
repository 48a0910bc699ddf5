import Foundation
import GRDB
import Planning
import Production

/// `dcprod verify`: reads every finished attempt's outcome file once, records the latest outcome
/// of each event in the state store, and reports per step and filter. Events of a finished
/// attempt without a record are `not-run`.
public struct Verifier {
    public let production: Production
    public let classes: FailureClasses

    public init(production: Production) throws {
        self.production = production
        classes = try FailureClasses(contentsOf: production.tree.templatesDirectory.appendingPathComponent("rules/classes").path)
    }

    public struct Reading: Sendable, Equatable {
        public var attempts = 0
        public var records = 0
        public var missing = 0
    }

    /// Reads the outcome files of finished, unverified attempts of `step`, oldest first.
    public func read(step: Step, filters: [Filter]) throws -> Reading {
        let filterList = filters.map { "'\($0.rawValue)'" }.joined(separator: ",")
        let attempts = try production.store.pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT a.id, a.jobId, a.outcomes FROM attempt a JOIN job j ON j.id = a.jobId
                WHERE j.step = ? AND j.filter IN (\(filterList)) AND a.verified = 0
                AND a.state IN ('done', 'failed', 'cancelled', 'lost')
                ORDER BY a.id
                """, arguments: [step.rawValue]).map { (id: $0["id"] as Int64, jobId: $0["jobId"] as Int64, outcomes: $0["outcomes"] as String) }
        }
        var reading = Reading()
        var batch: [(attemptId: Int64, records: [(Int64, OutcomeRecord)], missing: [Int64], why: String)] = []
        func flush() throws {
            try production.store.pool.write { db in
                let insert = try db.cachedStatement(sql: """
                    INSERT OR REPLACE INTO outcome (eventId, attemptId, status, class, message, seconds, outputs)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """)
                let update = try db.cachedStatement(sql: """
                    UPDATE event SET state = ?, class = ?, message = ?, attemptId = ?, attempts = attempts + 1
                    WHERE id = ? AND (attemptId IS NULL OR attemptId <= ?)
                    """)
                for entry in batch {
                    for (id, line) in entry.records {
                        let state = line.status == "ok" ? "ok" : "failed"
                        let className = line.class ?? FailureClasses.other
                        let message = line.message ?? ""
                        let outputs = line.outputs.map { $0.joined(separator: "\n") }
                        try insert.execute(arguments: [id, entry.attemptId, state, className, message, line.seconds, outputs])
                        try update.execute(arguments: [state, className, message, entry.attemptId, id, entry.attemptId])
                    }
                    for id in entry.missing {
                        try insert.execute(arguments: [id, entry.attemptId, "not-run", FailureClasses.notRun, entry.why, nil, nil])
                        try update.execute(arguments: ["not-run", FailureClasses.notRun, entry.why, entry.attemptId, id, entry.attemptId])
                    }
                    try db.execute(sql: "UPDATE attempt SET verified = 1 WHERE id = ?", arguments: [entry.attemptId])
                }
            }
            batch.removeAll(keepingCapacity: true)
        }

        for attempt in attempts {
            let members = try production.store.pool.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT e.id, e.key FROM job_event je JOIN event e ON e.id = je.eventId WHERE je.jobId = ? ORDER BY je.position
                    """, arguments: [attempt.jobId]).map { (id: $0["id"] as Int64, key: $0["key"] as String) }
            }
            var byKey: [String: Int64] = [:]
            for member in members { byKey[member.key] = member.id }
            var records: [(Int64, OutcomeRecord)] = []
            var ended = false
            for line in OutcomeFile.read(attempt.outcomes) {
                switch line.type {
                case .event:
                    if let key = line.event, let id = byKey[key] { records.append((id, line)) }
                case .end: ended = true
                case .start: break
                }
            }
            let recorded = Set(records.map(\.0))
            let why = ended ? "no record for this event in a finished attempt"
                            : "the job ended without its end line: the runner died before this event"
            let missing = members.filter { !recorded.contains($0.id) }.map(\.id)
            batch.append((attempt.id, records, missing, why))
            reading.attempts += 1
            reading.records += records.count
            reading.missing += missing.count
            if batch.count >= 32 { try flush() }
        }
        try flush()
        return reading
    }

    /// The report of one step and filter, from the state store.
    public func report(step: Step, filter: Filter) throws -> VerificationReport {
        try production.store.pool.read { db in
            var counts: [String: Int] = [:]
            var total = 0
            for row in try Row.fetchAll(db, sql: """
                SELECT state, class, COUNT(*) AS n FROM event WHERE step = ? AND filter = ? GROUP BY state, class
                """, arguments: [step.rawValue, filter.rawValue]) {
                let state: String = row["state"]
                let className: String? = row["class"]
                let n: Int = row["n"]
                total += n
                let key = (state == "ok" || state == "failed" || state == "not-run") ? (className ?? state) : state
                counts[key, default: 0] += n
            }
            let inProgress = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM event e WHERE e.step = ? AND e.filter = ? AND e.state = 'planned' AND EXISTS (
                    SELECT 1 FROM attempt a WHERE a.jobId = e.jobId AND a.state IN ('submitting', 'queued', 'running'))
                """, arguments: [step.rawValue, filter.rawValue]) ?? 0
            let another = try Row.fetchAll(db, sql: """
                SELECT key, message FROM event WHERE step = ? AND filter = ? AND class = ? ORDER BY key LIMIT 10
                """, arguments: [step.rawValue, filter.rawValue, FailureClasses.other]).map {
                    VerificationReport.Message(event: $0["key"], message: $0["message"])
                }
            let maxRetry = production.config.maxRetry
            let retryable = classes.classes.filter { $0.retry == .retry }.map(\.name)
            let retry = try String.fetchAll(db, sql: """
                SELECT key FROM event WHERE step = ? AND filter = ? AND state IN ('failed', 'not-run')
                AND class IN (\(retryable.map { _ in "?" }.joined(separator: ","))) AND attempts <= ? ORDER BY key
                """, arguments: StatementArguments([step.rawValue, filter.rawValue] + retryable + [String(maxRetry)]))
            var requeued: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT a.exhausted, COUNT(*) AS n FROM attempt a JOIN job j ON j.id = a.jobId
                WHERE j.step = ? AND j.filter = ? AND a.state = 'requeued' GROUP BY a.exhausted
                """, arguments: [step.rawValue, filter.rawValue]) {
                requeued[row["exhausted"] ?? "?"] = row["n"]
            }
            return VerificationReport(step: step, filter: filter, total: total, counts: counts, inProgress: inProgress,
                                      classes: classes, retry: retry, another: another, requeued: requeued)
        }
    }
}

/// What verify needs of an outcome line; the other fields are left unparsed into values.
struct OutcomeRecord: Decodable {
    var type: OutcomeLine.Kind
    var event: String?
    var status: String?
    var `class`: String?
    var message: String?
    var seconds: Double?
    var outputs: [String]?
}

/// Reading an outcome file (one job attempt's: small) into its records.
enum OutcomeFile {
    /// The complete lines of the file, decoded in one pass as a JSON array (newlines become
    /// commas); a line cut by a crash (no newline) is left out, and a damaged line is skipped
    /// rather than failing the file.
    static func read(_ path: String) -> [OutcomeRecord] {
        guard let data = FileManager.default.contents(atPath: path), let last = data.lastIndex(of: 0x0A) else { return [] }
        var bytes = [UInt8](repeating: 0x5B, count: 1)
        bytes.reserveCapacity(last - data.startIndex + 2)
        bytes.append(contentsOf: data[..<last])
        for k in 1..<bytes.count where bytes[k] == 0x0A { bytes[k] = 0x2C }
        bytes.append(0x5D)
        let decoder = JSONDecoder()
        if let records = try? decoder.decode([OutcomeRecord].self, from: Data(bytes)) { return records }
        return data[..<last].split(separator: 0x0A).compactMap { try? decoder.decode(OutcomeRecord.self, from: Data($0)) }
    }
}
