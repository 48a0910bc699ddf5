import Basics
import Foundation
import GRDB

/// Counts of a production's events and inventory rejections, as `dcprod status` shows them.
public struct ProductionStatus: Codable, Sendable, Equatable {
    /// How many events (or jobs) of a step and filter are in a state.
    public struct StateCount: Codable, Sendable, Equatable, FetchableRecord {
        public var step: String
        public var filter: String
        public var state: String
        public var count: Int
    }
    /// How many files inventory rejected for one reason.
    public struct RejectionCount: Codable, Sendable, Equatable, FetchableRecord {
        public var kind: String
        public var reason: String
        public var count: Int
    }

    public var production: String
    public var tree: String
    public var schemaVersion: Int
    public var frames: Int
    public var events: [StateCount]
    public var rejections: [RejectionCount]
    /// Jobs by the state of their latest attempt, or `unsubmitted`.
    public var jobs: [StateCount]
    /// Events planned on inputs that have another outcome since (`StateStore.staleEvents`), state `stale`.
    public var stale: [StateCount] = []
    /// The task summary: events per step, filter and state, as the report's landing page shows them.
    public var summary: TaskSummary
}

extension StateStore {
    /// The production's counts, as `dcprod status` shows them.
    ///
    /// - Parameters:
    ///   - production: The production's name (DCNAME).
    ///   - tree: The production tree's path.
    /// - Returns: Events and jobs per step, filter and state, in the order a production goes; rejections by reason.
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func status(production: String, tree: String) throws -> ProductionStatus {
        let version = try schemaVersion()
        let summary = try taskSummary()
        // The events by state and the stale ones are the summary's own counts, added up: counting them
        // again would read every event twice more.
        return try pool.read { db in
            let rejections = try ProductionStatus.RejectionCount.fetchAll(db, sql: """
                SELECT kind, reason, COUNT(*) AS count FROM inventory_rejection GROUP BY kind, reason ORDER BY kind, count DESC, reason
                """)
            let frames = try Self.frameCount(db)
            let jobs = try Self.jobCounts(db)
            let order = { (e: ProductionStatus.StateCount) -> (Int, Int, String) in
                (Step(rawValue: e.step).map { Step.allCases.firstIndex(of: $0)! } ?? 99,
                 Filter(rawValue: e.filter)?.filterId ?? 99, e.state)
            }
            return ProductionStatus(production: production, tree: tree, schemaVersion: version, frames: frames,
                                    events: summary.eventStateCounts.sorted { order($0) < order($1) }, rejections: rejections,
                                    jobs: jobs.sorted { order($0) < order($1) },
                                    stale: summary.rows.filter { $0.stale > 0 }
                                        .map { ProductionStatus.StateCount(step: $0.step, filter: $0.filter, state: "stale", count: $0.stale) },
                                    summary: summary)
        }
    }

    /// Every attempt of every job, by step, filter, job and number: what `status --jobs` lists.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func attempts() throws -> [AttemptSummary] {
        try pool.read { db in
            try AttemptSummary.fetchAll(db, sql: """
                SELECT j.name AS job, a.number, a.backend, a.backendId, a.state, a.rawState, a.host, a.submittedAt, a.endedAt,
                       a.exitCode, a.signal, a.node, a.elapsed, a.cpuTime, a.maxRSS, a.maxVMem
                FROM attempt a JOIN job j ON j.id = a.jobId ORDER BY j.step, j.filter, j.name, a.number
                """)
        }
    }

    /// The files inventory rejected as failures (not skips), by reason and path: what `status --failures` lists.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func inventoryFailures() throws -> [RejectionRecord] {
        try pool.read { db in
            try RejectionRecord.fetchAll(db, sql: "SELECT * FROM inventory_rejection WHERE kind = ? ORDER BY reason, path",
                                         arguments: [RejectionRecord.Kind.failure])
        }
    }
}

/// One attempt of one job, as `status --jobs` lists it.
public struct AttemptSummary: Codable, Sendable, FetchableRecord {
    public var job: String
    public var number: Int
    public var backend: String
    public var backendId: String?
    public var state: AttemptState
    public var rawState: String?
    public var host: String?
    public var submittedAt: String?
    public var endedAt: String?
    public var exitCode: Int?
    public var signal: Int?
    /// The batch system's accounting of the attempt, where it keeps one.
    public var node: String?
    public var elapsed: String?
    public var cpuTime: String?
    public var maxRSS: String?
    /// Peak virtual memory, which Grid Engine gives instead of a resident set (its `maxvmem`, what
    /// `h_vmem` limits): shown beside maxrss, never in its place.
    public var maxVMem: String?
}
