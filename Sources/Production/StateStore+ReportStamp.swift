import Basics
import Foundation
import GRDB

extension StateStore {
    /// What says whether the report of a step and filter (`Verifier.report(filter:)`) changed since it was
    /// last made: the filter's events by state and class (kept by the store's triggers), its jobs'
    /// attempts by state with how many there are, the latest, how many are verified and how many were
    /// requeued for want of something, and its stale events. Every line of the report follows from
    /// those: an event's state, class, message and attempts change only when it is planned or an attempt
    /// of it is verified; an attempt's state only goes forward, so a count by state changes with it.
    /// A pass of `run` after one job ended makes again only the reports whose stamp changed — that job's
    /// step and filter, and what its outcome made ready — not every step's and filter's.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func reportStamp(step: Step, filter: Filter) throws -> String {
        let stale = try staleEventCount(step: step, filter: filter)
        return try pool.read { db in
            let counts = try Self.eventTallies(db, step: step, filter: filter)
                .map(\.stampWord).sorted()
            let attempts = try Row.fetchAll(db, SQLRequest(literal: """
                SELECT a.state, COUNT(*), MAX(a.id), SUM(a.verified), COUNT(a.exhausted)
                FROM job j JOIN attempt a ON a.jobId = j.id WHERE j.step = \(step) AND j.filter = \(filter)
                GROUP BY a.state ORDER BY a.state
                """, cached: true)).map { row in (0..<5).map { (row[$0] as DatabaseValue).description }.joined(separator: "/") }
            return (counts + attempts + ["stale=\(stale)"]).joined(separator: " ")
        }
    }
}
