import Basics
import Foundation
import GRDB

// MARK: - What /metrics reads: jobs by state, core-hours, frames

extension StateStore {
    /// The jobs of each step and filter by the state of their latest attempt (`unsubmitted` for none):
    /// what `status` and `/metrics` show.
    static func jobCounts(_ db: Database) throws -> [ProductionStatus.StateCount] {
        try ProductionStatus.StateCount.fetchAll(db, sql: """
            SELECT j.step, j.filter, COALESCE(a.state, ?) AS state, COUNT(*) AS count
            FROM job j LEFT JOIN attempt a ON a.id = (SELECT MAX(id) FROM attempt WHERE jobId = j.id)
            GROUP BY j.step, j.filter, state
            """, arguments: [JobState.unsubmitted])
    }

    /// The jobs of each step and filter by the state of their latest attempt (see `jobCounts(_:)`).
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func jobCounts() throws -> [ProductionStatus.StateCount] {
        try pool.read(Self.jobCounts)
    }

    /// The frames inventoried: inventory records each with its one processCcd event, which the store
    /// keeps counted (`eventTallies`), so that 1.57M frame rows are not counted for each scrape.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func frameCount() throws -> Int {
        try pool.read(Self.frameCount)
    }

    static func frameCount(_ db: Database) throws -> Int {
        try eventTallies(db, step: .processCcd).map(\.events).reduce(0, +)
    }

    /// The CPU hours of each step and filter, as `accounting()` counts them: each attempt's CPU time
    /// from the batch accounting, else the seconds the runner measured for its events.
    ///
    /// The runner's seconds of a verified attempt never change once read (its outcomes are recorded
    /// with its verification), so a process that asks again (`/metrics`) keeps them
    /// (`StoreReadings`) and reads only the outcomes of attempts verified since, through their jobs'
    /// events: the outcome table has no index by attempt, and DC2013's 1.57M outcomes are not read
    /// for each scrape.
    ///
    /// - Returns: Hours by step and filter, for every step and filter with attempts.
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func coreHours() throws -> [(step: String, filter: String, hours: Double)] {
        try pool.read { db in
            struct Attempt { var id: Int64; var step: String; var filter: String; var cpuTime: String?; var verified: Bool }
            var attempts: [Attempt] = []
            let rows = try Row.fetchCursor(db, sql: "SELECT a.id, j.step, j.filter, a.cpuTime, a.verified FROM attempt a JOIN job j ON j.id = a.jobId")
            while let row = try rows.next() {
                attempts.append(Attempt(id: row[0], step: row[1], filter: row[2], cpuTime: row[3], verified: row[4]))
            }
            let verified = attempts.filter(\.verified).map(\.id)
            var seconds = readings.runnerSeconds(of: verified)
            let unread = verified.filter { seconds[$0] == nil }
            var read: [Int64: Double] = [:]
            for first in stride(from: 0, to: unread.count, by: 10_000) {
                let chunk = Array(unread[first..<min(first + 10_000, unread.count)])
                for row in try Row.fetchAll(db, SQLRequest(literal: """
                    SELECT a.id, SUM(o.seconds) FROM attempt a JOIN job_event je ON je.jobId = a.jobId
                    JOIN outcome o ON o.eventId = je.eventId AND o.attemptId = a.id WHERE a.id IN \(chunk) GROUP BY a.id
                    """)) {
                    read[row[0]] = (row[1] as Double?) ?? 0
                }
                // A verified attempt without outcomes (an empty or damaged file) has none to add.
                for id in chunk where read[id] == nil { read[id] = 0 }
            }
            readings.keep(runnerSeconds: read)
            seconds.merge(read) { _, new in new }
            var hours: [String: (step: String, filter: String, hours: Double)] = [:]
            for attempt in attempts {
                let used = attempt.cpuTime.flatMap(BatchResources.duration) ?? seconds[attempt.id] ?? 0
                hours["\(attempt.step)/\(attempt.filter)", default: (attempt.step, attempt.filter, 0)].hours += used / 3600
            }
            return hours.values.sorted { tableOrder(step: $0.step, filter: $0.filter) < tableOrder(step: $1.step, filter: $1.filter) }
        }
    }
}
