import Foundation
import GRDB

/// Counts of a production's events and inventory rejections, as `dcprod status` shows them.
public struct ProductionStatus: Codable, Sendable, Equatable {
    /// How many events (or jobs) of a step and filter are in a state.
    public struct StateCount: Codable, Sendable, Equatable {
        public var step: String
        public var filter: String
        public var state: String
        public var count: Int
    }
    public struct RejectionCount: Codable, Sendable, Equatable {
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
}

extension StateStore {
    public func status(production: String, tree: String) throws -> ProductionStatus {
        let version = try schemaVersion()
        return try pool.read { db in
            let events = try Row.fetchAll(db, sql: """
                SELECT step, filter, state, COUNT(*) AS n FROM event GROUP BY step, filter, state
                """).map { ProductionStatus.StateCount(step: $0["step"], filter: $0["filter"], state: $0["state"], count: $0["n"]) }
            let rejections = try Row.fetchAll(db, sql: """
                SELECT kind, reason, COUNT(*) AS n FROM inventory_rejection GROUP BY kind, reason ORDER BY kind, n DESC, reason
                """).map { ProductionStatus.RejectionCount(kind: $0["kind"], reason: $0["reason"], count: $0["n"]) }
            let frames = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM frame") ?? 0
            let jobs = try Row.fetchAll(db, sql: """
                SELECT j.step, j.filter, COALESCE(a.state, 'unsubmitted') AS state, COUNT(*) AS n
                FROM job j LEFT JOIN attempt a ON a.id = (SELECT MAX(id) FROM attempt WHERE jobId = j.id)
                GROUP BY j.step, j.filter, state
                """).map { ProductionStatus.StateCount(step: $0["step"], filter: $0["filter"], state: $0["state"], count: $0["n"]) }
            let order = { (e: ProductionStatus.StateCount) -> (Int, Int, String) in
                (Step(rawValue: e.step).map { Step.allCases.firstIndex(of: $0)! } ?? 99,
                 Filter(rawValue: e.filter)?.filterId ?? 99, e.state)
            }
            return ProductionStatus(production: production, tree: tree, schemaVersion: version, frames: frames,
                                    events: events.sorted { order($0) < order($1) }, rejections: rejections,
                                    jobs: jobs.sorted { order($0) < order($1) })
        }
    }

    /// One line per job attempt, for `status --jobs`.
    public func attempts() throws -> [AttemptSummary] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT j.name, a.number, a.backend, a.backendId, a.state, a.rawState, a.host, a.submittedAt, a.endedAt, a.exitCode, a.signal,
                       a.node, a.elapsed, a.cpuTime, a.maxRSS
                FROM attempt a JOIN job j ON j.id = a.jobId ORDER BY j.step, j.filter, j.name, a.number
                """).map {
                AttemptSummary(job: $0["name"], number: $0["number"], backend: $0["backend"], backendId: $0["backendId"],
                               state: $0["state"], rawState: $0["rawState"], host: $0["host"], submittedAt: $0["submittedAt"],
                               endedAt: $0["endedAt"], exitCode: $0["exitCode"], signal: $0["signal"],
                               node: $0["node"], elapsed: $0["elapsed"], cpuTime: $0["cpuTime"], maxRSS: $0["maxRSS"])
            }
        }
    }

    /// The rejected files with their messages, for `status --failures`.
    public func inventoryFailures() throws -> [RejectionRecord] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM inventory_rejection WHERE kind = 'failure' ORDER BY reason, path").map {
                RejectionRecord(path: $0["path"], kind: .failure, reason: $0["reason"], message: $0["message"],
                                size: $0["size"], mtime: $0["mtime"])
            }
        }
    }
}

/// One attempt of one job, as `status --jobs` lists it.
public struct AttemptSummary: Codable, Sendable {
    public var job: String
    public var number: Int
    public var backend: String
    public var backendId: String?
    public var state: String
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
}
