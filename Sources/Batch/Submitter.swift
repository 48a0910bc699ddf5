import Foundation
import GRDB
import Planning
import Production

/// Submits a step's jobs to a batch system and follows them, with the state store as the only
/// truth: the intent (attempt row and token) is recorded before the submission call and the
/// backend ids after it, so a manager killed at any point neither loses nor doubles a job.
public struct Submitter {
    public struct Summary: Sendable, Equatable {
        public var submitted = 0
        public var adopted = 0
        public var finished = 0
        public var failed = 0
        /// Queued or running in the batch system.
        public var running = 0
        public var pending = 0
        /// Attempts the batch system ended for want of memory, time or a node, submitted again.
        public var requeued = 0

        public var line: String {
            "submit: \(submitted) jobs submitted, \(adopted) adopted after a restart, \(finished) finished (\(failed) failed), "
                + "\(running) queued or running, \(pending) not yet submitted" + (requeued > 0 ? ", \(requeued) submitted again with more resources" : "")
        }
    }

    public let production: Production
    public let backend: any BatchSystem
    /// Most jobs of this production running at once.
    public let limit: Int
    /// Seconds between polls while waiting; grows up to `maximumInterval` while nothing changes.
    public var interval = 0.2
    public var maximumInterval = 5.0
    /// Submit held: the jobs wait in the queue until `release`.
    public var hold = false
    /// Seconds an ended job is followed for its accounting before it is recorded without.
    public var accountingGrace = 120.0

    public init(production: Production, backend: any BatchSystem, limit: Int) {
        self.production = production
        self.backend = backend
        self.limit = max(1, limit)
    }

    struct AttemptRow {
        var id: Int64
        var token: String
        var backendId: String?
        var state: String
        var rawState: String?
        var endedAt: String?
        var outcomes: String
    }

    /// Submits the jobs of `step` and `filters` that have never been submitted; with `wait`, follows
    /// them until none is queued or running. `progress` sees the summary after each poll.
    public func submit(step: Step, filters: [Filter], wait: Bool, progress: (Summary) -> Void = { _ in }) throws -> Summary {
        var summary = Summary()
        summary.adopted = try adoptIntents()
        var pause = interval
        while true {
            let changed = try poll(&summary)
            let running = try activeCount()
            // A backend that throttles itself gets every pending job, as far as it accepts them now.
            let room = backend.throttles ? max(0, try backend.capacity() - running) : max(0, limit - running)
            let pending = try unsubmittedJobs(step: step, filters: filters, limit: room)
            if !pending.isEmpty {
                summary.submitted += try submit(pending)
            }
            summary.running = try activeCount()
            summary.pending = try unsubmittedCount(step: step, filters: filters)
            progress(summary)
            if !wait && summary.pending == 0 { break }
            if summary.running == 0 && summary.pending == 0 { break }
            if !wait && pending.isEmpty && (running >= limit || backend.throttles) { break }
            pause = (changed || !pending.isEmpty) ? interval : min(pause * 1.5, maximumInterval)
            Thread.sleep(forTimeInterval: pause)
        }
        return summary
    }

    /// One poll of the batch system for the production's active attempts (what `dcprod status` shows
    /// first): intents adopted, finished jobs recorded, nothing submitted.
    @discardableResult
    public func refresh() throws -> Summary {
        var summary = Summary()
        summary.adopted = try adoptIntents()
        _ = try poll(&summary)
        summary.running = try activeCount()
        return summary
    }

    /// Attempts recorded as intents: adopted if the batch system has them (by token), finished if
    /// their outcome file shows they ran, and otherwise forgotten so that the job is submitted again.
    func adoptIntents() throws -> Int {
        let intents = try attempts(where: "state = 'submitting'")
        guard !intents.isEmpty else { return 0 }
        let found = try backend.find(tokens: intents.map(\.token))
        var adopted = 0
        try production.store.pool.write { db in
            for intent in intents {
                if let id = found[intent.token] {
                    try db.execute(sql: "UPDATE attempt SET backendId = ?, state = 'running' WHERE id = ?", arguments: [id, intent.id])
                    adopted += 1
                } else if FileManager.default.fileExists(atPath: intent.outcomes) {
                    let ended = OutcomeEnd.read(intent.outcomes)
                    try db.execute(sql: "UPDATE attempt SET state = ?, endedAt = ?, exitCode = ? WHERE id = ?",
                                   arguments: [ended.state.rawValue, Self.now(), ended.exit, intent.id])
                    adopted += 1
                } else {
                    try db.execute(sql: "DELETE FROM attempt WHERE id = ?", arguments: [intent.id])
                }
            }
        }
        return adopted
    }

    /// One status call for every active attempt; records what finished. True if anything changed.
    func poll(_ summary: inout Summary) throws -> Bool {
        let active = try attempts(where: "state IN ('queued', 'running') AND backendId IS NOT NULL")
        guard !active.isEmpty else { return false }
        let states = try backend.status(active.compactMap(\.backendId))
        var changed = false
        try production.store.pool.write { db in
            for attempt in active {
                var status = states[attempt.backendId!]
                // Ended, its accounting to come: followed until it comes, or for `accountingGrace` seconds
                // after dcprod first saw it ended (endedAt), then recorded without it.
                if let waiting = status, waiting.awaitingAccounting {
                    if let since = attempt.endedAt.flatMap(Self.date), Date().timeIntervalSince(since) > accountingGrace {
                        status = BatchStatus(state: .lost, rawState: waiting.rawState)
                    } else {
                        if attempt.endedAt == nil || waiting.rawState != attempt.rawState {
                            try db.execute(sql: "UPDATE attempt SET state = 'running', rawState = ?, endedAt = COALESCE(endedAt, ?) WHERE id = ?",
                                           arguments: [waiting.rawState, Self.now(), attempt.id])
                            changed = true
                        }
                        continue
                    }
                }
                if let status, !status.state.isFinished {
                    if status.state.rawValue != attempt.state || status.rawState != attempt.rawState {
                        try db.execute(sql: "UPDATE attempt SET state = ?, rawState = ?, startedAt = COALESCE(startedAt, ?) WHERE id = ?",
                                       arguments: [status.state.rawValue, status.rawState, Self.now(), attempt.id])
                        changed = true
                    }
                    continue
                }
                // Finished, or gone: the outcome file says whether the runner completed — unless the batch
                // system ended it for want of memory, time or a node, and it may be submitted again.
                let ended = OutcomeEnd.read(attempt.outcomes)
                var state = status?.state == .cancelled ? BatchState.cancelled : ended.state
                var exhausted: Exhaustion?
                if let reason = status?.exhausted, ended.state != .done,
                   try Self.requeues(db, jobOf: attempt.id, reason: reason) < Self.maximumRequeues[reason]! {
                    exhausted = reason
                    summary.requeued += 1
                }
                if exhausted != nil { state = .failed }
                let accounting = status?.accounting
                try db.execute(sql: """
                    UPDATE attempt SET state = ?, rawState = ?, endedAt = COALESCE(endedAt, ?), exitCode = ?, signal = ?,
                    node = ?, elapsed = ?, cpuTime = ?, maxRSS = ?, exhausted = ? WHERE id = ?
                    """, arguments: [exhausted == nil ? state.rawValue : "requeued", status?.rawState ?? "gone", Self.now(),
                                     status?.exitCode ?? ended.exit, status?.signal, accounting?.node, accounting?.elapsed,
                                     accounting?.cpuTime, accounting?.maxRSS, exhausted?.rawValue, attempt.id])
                summary.finished += 1
                if state != .done { summary.failed += 1 }
                changed = true
            }
        }
        return changed
    }

    struct PendingJob {
        var id: Int64
        var name: String
        var manifest: String
    }

    func unsubmittedJobs(step: Step, filters: [Filter], limit: Int) throws -> [PendingJob] {
        guard limit > 0 else { return [] }
        return try production.store.pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT j.id, j.name, j.manifest FROM job j
                WHERE j.step = ? AND j.filter IN (\(Self.list(filters))) AND \(Self.awaitingSubmission)
                ORDER BY j.id LIMIT ?
                """, arguments: [step.rawValue, limit]).map { PendingJob(id: $0["id"], name: $0["name"], manifest: $0["manifest"]) }
        }
    }

    func unsubmittedCount(step: Step, filters: [Filter]) throws -> Int {
        try production.store.pool.read { db in
            try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM job j WHERE j.step = ? AND j.filter IN (\(Self.list(filters)))
                AND \(Self.awaitingSubmission)
                """, arguments: [step.rawValue]) ?? 0
        }
    }

    func activeCount() throws -> Int {
        try production.store.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM attempt WHERE state IN ('submitting', 'queued', 'running')") ?? 0
        }
    }

    /// Intent, call, ids: the three moves of a submission.
    func submit(_ pending: [PendingJob]) throws -> Int {
        let backendName = backend.name
        var batch: [(attemptId: Int64, job: BatchJob)] = []
        try production.store.pool.write { db in
            for job in pending {
                let number = (try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(number), 0) FROM attempt WHERE jobId = ?", arguments: [job.id]) ?? 0) + 1
                // What the previous attempt ran out of, doubled (resource learning).
                let previous = try Row.fetchOne(db, sql: """
                    SELECT a.memory, a.walltime, a.exhausted, j.step FROM attempt a JOIN job j ON j.id = a.jobId
                    WHERE a.jobId = ? ORDER BY a.number DESC LIMIT 1
                    """, arguments: [job.id])
                var memory: String? = previous?["memory"], walltime: String? = previous?["walltime"]
                if let previous, let step = Step(rawValue: previous["step"]) {
                    switch Exhaustion(rawValue: previous["exhausted"] ?? "") {
                    case .memory: memory = Self.doubled(memory ?? production.config.memory[step] ?? "2G")
                    case .time: walltime = Self.doubled(walltime ?? production.config.walltime[step] ?? "01:00:00")
                    default: break
                    }
                }
                let manifest = URL(fileURLWithPath: job.manifest)
                let directory = manifest.deletingLastPathComponent()
                let step = directory.deletingLastPathComponent()
                let token = "dcprod-\(job.name)-a\(number)-\(UInt32.random(in: 0...UInt32.max))"
                let outcomes = step.appendingPathComponent("outcomes/\(job.name).a\(number).jsonl").path
                let log = step.appendingPathComponent("logs/\(job.name).a\(number).log").path
                let output = step.appendingPathComponent("logs/\(job.name).a\(number).out").path
                try db.execute(sql: """
                    INSERT INTO attempt (jobId, number, backend, token, state, submittedAt, outcomes, log, memory, walltime)
                    VALUES (?, ?, ?, ?, 'submitting', ?, ?, ?, ?, ?)
                    """, arguments: [job.id, number, backendName, token, Self.now(), outcomes, log, memory, walltime])
                let script = directory.appendingPathComponent("\(job.name).\(backendName).sh").path
                batch.append((db.lastInsertedRowID, BatchJob(name: job.name, script: script, attempt: number, token: token, output: output,
                                                             memory: memory, walltime: walltime)))
            }
        }
        // Refused, nothing may stay marked as submitted but what the batch system accepted before the refusal.
        let ids: [String: String]
        var refusal: (any Error)?
        do {
            ids = try backend.submit(batch.map(\.job), throttle: limit, hold: hold)
        } catch {
            ids = (error as? BatchError)?.accepted ?? [:]
            refusal = error
        }
        try production.store.pool.write { db in
            for entry in batch {
                if let id = ids[entry.job.token] {
                    try db.execute(sql: "UPDATE attempt SET backendId = ?, state = 'queued', host = ? WHERE id = ?",
                                   arguments: [id, ProcessInfo.processInfo.hostName, entry.attemptId])
                } else if refusal != nil {
                    try db.execute(sql: "DELETE FROM attempt WHERE id = ?", arguments: [entry.attemptId])
                }
            }
        }
        if let refusal { throw refusal }
        return batch.count
    }

    /// Cancels the queued and running attempts of a step.
    public func cancel(step: Step, filters: [Filter]) throws -> Int {
        let active = try attempts(where: "state IN ('queued', 'running') AND backendId IS NOT NULL AND " + Self.ofJobs(step, filters))
        try backend.cancel(active.compactMap(\.backendId))
        try production.store.pool.write { db in
            for attempt in active {
                try db.execute(sql: "UPDATE attempt SET state = 'cancelled', endedAt = ? WHERE id = ?", arguments: [Self.now(), attempt.id])
            }
        }
        return active.count
    }

    /// Releases the held (queued) attempts of a step; returns how many.
    public func release(step: Step, filters: [Filter]) throws -> Int {
        let queued = try attempts(where: "state = 'queued' AND backendId IS NOT NULL AND " + Self.ofJobs(step, filters))
        try backend.release(queued.compactMap(\.backendId))
        return queued.count
    }

    func attempts(where condition: String) throws -> [AttemptRow] {
        try production.store.pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, token, backendId, state, rawState, endedAt, outcomes FROM attempt WHERE \(condition) ORDER BY id
                """).map {
                AttemptRow(id: $0["id"], token: $0["token"], backendId: $0["backendId"], state: $0["state"], rawState: $0["rawState"],
                           endedAt: $0["endedAt"], outcomes: $0["outcomes"])
            }
        }
    }

    /// A job never submitted, or whose latest attempt was ended by the batch system for want of resources.
    static let awaitingSubmission = """
        COALESCE((SELECT a.state FROM attempt a WHERE a.jobId = j.id ORDER BY a.number DESC LIMIT 1), 'none') IN ('none', 'requeued')
        """

    /// Submissions again by dcprod itself, per reason: memory and time doubled at most twice.
    static let maximumRequeues: [Exhaustion: Int] = [.memory: 2, .time: 2, .node: 3]

    static func requeues(_ db: Database, jobOf attemptId: Int64, reason: Exhaustion) throws -> Int {
        try Int.fetchOne(db, sql: """
            SELECT COUNT(*) FROM attempt WHERE exhausted = ? AND jobId = (SELECT jobId FROM attempt WHERE id = ?)
            """, arguments: [reason.rawValue, attemptId]) ?? 0
    }

    /// Twice a Slurm-style size (`300M` → `600M`) or time (`04:00:00` → `08:00:00`, `1-00:00:00` → `2-00:00:00`).
    static func doubled(_ value: String) -> String {
        if let unit = value.last, "KMGT".contains(unit), let number = Double(value.dropLast()) {
            return String(Int((number * 2).rounded(.up))) + String(unit)
        }
        if let number = Int(value) { return String(number * 2) }
        var days = 0, clock = Substring(value)
        if let dash = value.firstIndex(of: "-") {
            days = Int(value[..<dash]) ?? 0
            clock = value[value.index(after: dash)...]
        }
        let parts = clock.split(separator: ":").compactMap { Int($0) }
        guard parts.count == 3 else { return value }
        let seconds = 2 * (((days * 24 + parts[0]) * 60 + parts[1]) * 60 + parts[2])
        let (d, h, m, s) = (seconds / 86400, seconds / 3600 % 24, seconds / 60 % 60, seconds % 60)
        let time = String(format: "%02d:%02d:%02d", h, m, s)
        return d > 0 ? "\(d)-\(time)" : time
    }

    static func list(_ filters: [Filter]) -> String { filters.map { "'\($0.rawValue)'" }.joined(separator: ",") }
    /// The attempts of a step's jobs in these filters, as an SQL condition on `attempt`.
    static func ofJobs(_ step: Step, _ filters: [Filter]) -> String {
        "jobId IN (SELECT id FROM job WHERE step = '\(step.rawValue)' AND filter IN (\(list(filters))))"
    }
    static func now() -> String { ISO8601DateFormatter().string(from: Date()) }
    static func date(_ text: String) -> Date? { ISO8601DateFormatter().date(from: text) }
}

/// What an outcome file's last line says about how its runner ended.
enum OutcomeEnd {
    static func read(_ path: String) -> (state: BatchState, exit: Int32?) {
        guard let data = FileManager.default.contents(atPath: path),
              let last = data.split(separator: 0x0A).last,
              let line = try? JSONDecoder().decode(OutcomeLine.self, from: Data(last)), line.type == .end else {
            return (.failed, nil)
        }
        return (.done, line.exit)
    }
}
