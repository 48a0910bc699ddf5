import Basics
import Foundation
import Production

/// Submits a step's jobs to a batch system and follows them, with the state store as the only truth.
///
/// The intent (an attempt row with a unique token) is recorded before the submission call and the
/// backend ids after it, so a manager killed at any point neither loses nor doubles a job: the next
/// run finds the job by its token (`BatchSystem.find(tokens:)`) and adopts it, records it finished
/// if its outcome file says so, or forgets the intent and submits the job again.
///
/// What becomes of each attempt is decided by pure functions of the attempt, the batch system's
/// answer and the time (`adoption(of:found:runner:)`, `decide(_:status:runner:requeues:now:grace:)`),
/// and written through the state store's gateway (`StateStore.apply(_:)`).
///
/// ```swift
/// let production = try Production.open(root: URL(fileURLWithPath: "/sps/lsst/dev/lsstprod/DC_2013"))
/// let submitter = Submitter(production: production)          // BACKEND and MAXRUNNING of its config
/// let summary = try submitter.submit(step: .processCcd, filters: [.r], wait: true) { progress in
///     print("\(progress.finished) finished, \(progress.running) running")
/// }
/// print("\(summary.submitted) submitted, \(summary.failed) failed")
/// ```
public struct Submitter {
    /// What one run of the submitter did, and where the step's jobs stand after it.
    public struct Summary: Sendable, Equatable {
        /// Jobs handed to the batch system by this run.
        public var submitted = 0
        /// Intents of a killed run found in the batch system, or found finished.
        public var adopted = 0
        /// Attempts seen ended by this run.
        public var finished = 0
        /// Attempts seen ended by this run that did not end `done` (requeued ones included).
        public var failed = 0
        /// Attempts queued or running in the batch system (the whole production's).
        public var running = 0
        /// Jobs of the step not yet handed over.
        public var pending = 0
        /// Attempts the batch system ended for want of memory, time or a node, submitted again.
        public var requeued = 0

        /// Nothing done yet.
        public init() {}
    }

    /// The production whose jobs are submitted.
    public let production: Production
    /// The batch system they are submitted to.
    public let backend: any BatchSystem
    /// Most jobs of this production running at once.
    public let limit: Int
    /// Seconds between polls while waiting; grows up to `maximumInterval` while nothing changes.
    public var interval = 0.2
    /// The longest pause between polls, in seconds.
    public var maximumInterval = 5.0
    /// Submit held: the jobs wait in the queue until `release`.
    public var hold = false
    /// Seconds an ended job is followed for its accounting before it is recorded without.
    public var accountingGrace = 120.0

    /// A submitter on a given batch system.
    ///
    /// - Parameters:
    ///   - production: The production whose jobs to submit.
    ///   - backend: The batch system.
    ///   - limit: Most jobs running at once (at least 1).
    public init(production: Production, backend: any BatchSystem, limit: Int) {
        self.production = production
        self.backend = backend
        self.limit = max(1, limit)
    }

    /// A submitter on the production's BACKEND, with its MAXRUNNING (see `Production.runningLimit`).
    public init(production: Production) {
        self.init(production: production, backend: production.batchSystem(), limit: production.runningLimit)
    }

    var store: StateStore { production.store }

    // MARK: - Submitting and following

    /// Hands over the jobs of a step that await submission, as far as MAXRUNNING (or the batch
    /// system's capacity) allows, after adopting a killed run's intents and recording what ended.
    ///
    /// - Parameters:
    ///   - step: The step whose jobs to submit.
    ///   - filters: Their filters.
    ///   - wait: Follow the jobs until none is queued or running, submitting the rest as room frees up.
    ///   - polling: Ask the batch system first what ended (false: the caller has just `refresh()`ed,
    ///     and wants the room that frees up now for the steps it submits first; without `wait` only).
    ///   - progress: Called with the summary after each poll.
    /// - Returns: What this run did.
    /// - Throws: `BatchError` when the batch system refuses a call (the jobs it accepted before are
    ///   recorded, the others stay unsubmitted); a GRDB `DatabaseError` if the state store cannot be written.
    public func submit(step: Step, filters: [Filter], wait: Bool, polling: Bool = true,
                       progress: (Summary) -> Void = { _ in }) throws -> Summary {
        var summary = Summary()
        summary.adopted = try adoptIntents()
        var pause = interval
        while true {
            let changed = polling || wait ? try poll(&summary) : false
            let running = try store.activeAttemptCount()
            let room = Self.room(running: running, limit: limit, capacity: backend.throttles ? try backend.capacity() : nil)
            let pending = try store.unsubmittedJobs(step: step, filters: filters, limit: room)
            if !pending.isEmpty {
                summary.submitted += try handOver(pending)
            }
            summary.running = try store.activeAttemptCount()
            summary.pending = try store.unsubmittedJobCount(step: step, filters: filters)
            progress(summary)
            if !wait && summary.pending == 0 { break }
            if summary.running == 0 && summary.pending == 0 { break }
            if !wait && pending.isEmpty && (running >= limit || backend.throttles) { break }
            pause = (changed || !pending.isEmpty) ? interval : min(pause * 1.5, maximumInterval)
            Thread.sleep(forTimeInterval: pause)
        }
        return summary
    }

    /// One poll of the batch system for the production's active attempts (what `dcprod status` does
    /// first): intents adopted, ended jobs recorded, nothing submitted.
    ///
    /// - Returns: What was adopted and recorded.
    /// - Throws: `BatchError` when the batch system cannot be asked (nothing is changed then).
    @discardableResult
    public func refresh() throws -> Summary {
        var summary = Summary()
        summary.adopted = try adoptIntents()
        _ = try poll(&summary)
        summary.running = try store.activeAttemptCount()
        return summary
    }

    /// Cancels the queued and running attempts of a step.
    ///
    /// - Returns: How many attempts were cancelled.
    /// - Throws: `BatchError` if the batch system refused (then nothing is recorded cancelled).
    public func cancel(step: Step, filters: [Filter]) throws -> Int {
        let active = try store.attempts(in: AttemptState.followed, step: step, filters: filters).filter { $0.backendId != nil }
        try backend.cancel(active.compactMap(\.backendId))
        try store.apply(active.map { ($0.id, .cancelled) })
        return active.count
    }

    /// Releases the held (queued) attempts of a step.
    ///
    /// - Returns: How many attempts were released.
    /// - Throws: `BatchError` if the batch system refused.
    public func release(step: Step, filters: [Filter]) throws -> Int {
        let queued = try store.attempts(in: [.queued], step: step, filters: filters).filter { $0.backendId != nil }
        try backend.release(queued.compactMap(\.backendId))
        return queued.count
    }

    /// Attempts recorded as intents: adopted if the batch system has them (by token), finished if
    /// their outcome file shows they ran, and otherwise forgotten so that the job is submitted again.
    func adoptIntents() throws -> Int {
        let intents = try store.attempts(in: [.submitting])
        guard !intents.isEmpty else { return 0 }
        let found = try backend.find(tokens: Array(Set(intents.map(\.batchToken))).sorted())
        let transitions = intents.map { intent in
            (intent.id, Self.adoption(of: intent, found: found[intent.batchToken], runner: OutcomeEnd.read(intent.outcomes)))
        }
        try store.apply(transitions)
        return transitions.filter { $0.1 != .forgotten }.count
    }

    /// One status call for every followed attempt; records what changed. True if anything did.
    func poll(_ summary: inout Summary) throws -> Bool {
        let active = try store.attempts(in: AttemptState.followed).filter { $0.backendId != nil }
        guard !active.isEmpty else { return false }
        let states = try backend.status(active.compactMap(\.backendId))
        let requeues = states.values.contains { $0.exhausted != nil } ? try store.requeueCounts() : [:]
        let now = Date()
        var transitions: [(attemptId: Int64, transition: AttemptTransition)] = []
        for attempt in active {
            guard let transition = Self.decide(attempt, status: states[attempt.backendId!],
                                               runner: OutcomeEnd.read(attempt.outcomes) ?? .died,
                                               requeues: requeues[attempt.jobId] ?? [:], now: now, grace: accountingGrace) else { continue }
            if case .ended(let end) = transition {
                summary.finished += 1
                if end.state != .done { summary.failed += 1 }
                if end.state == .requeued { summary.requeued += 1 }
            }
            transitions.append((attempt.id, transition))
        }
        try store.apply(transitions)
        return !transitions.isEmpty
    }

    /// Intent, call, ids: the three moves of a submission. A lead goes with the jobs that follow it
    /// (`run --by-patch`) in one batch job, its bundle script, when they all await submission.
    func handOver(_ jobs: [JobRecord]) throws -> Int {
        var batches: [[JobRecord]] = []
        for job in jobs {
            let followers = job.leadId == nil ? try store.followers(of: job) : []
            let bundled = !followers.isEmpty && followers.allSatisfy(\.awaitsSubmission)
            batches.append(bundled ? [job] + followers.map(\.job) : [job])
        }
        // A job whose manifest or script is gone would only fail in the batch system: nothing is
        // handed over, and the error names the file.
        for batch in batches {
            for file in batch.map(\.manifest) + [script(of: batch)] where !FileManager.default.fileExists(atPath: file) {
                throw MissingJobFile(job: batch[0].name, path: file)
            }
        }
        let config = production.config
        let bundled = Set(batches.flatMap { $0.dropFirst().map(\.id) })
        var batchToken = ""
        let intents = try store.recordIntents(for: batches.flatMap { $0 }, backend: backend.name) { job, number, previous in
            let learnt = Self.resources(after: previous, memory: config.memory[job.step], walltime: config.walltime[job.step])
            // A bundled follower's attempt carries its lead's token: the batch system knows the lead's only.
            let follows = bundled.contains(job.id)
            if !follows { batchToken = "dcprod-\(job.name)-a\(number)-\(UInt32.random(in: 0...UInt32.max))" }
            // steps/STEP/FILTER, where the manifest is under jobs/.
            let filterDirectory = URL(fileURLWithPath: job.manifest).deletingLastPathComponent().deletingLastPathComponent()
            return AttemptIntent(token: follows ? "\(batchToken)+\(job.name)" : batchToken,
                                 outcomes: filterDirectory.appendingPathComponent("outcomes/\(job.name).a\(number).jsonl").path,
                                 log: filterDirectory.appendingPathComponent("logs/\(job.name).a\(number).log").path,
                                 memory: learnt.memory, walltime: learnt.walltime)
        }
        let leads = Dictionary(intents.map { ($0.jobId, $0) }, uniquingKeysWith: { first, _ in first })
        let batch = batches.map { jobs in
            let (job, attempt) = (jobs[0], leads[jobs[0].id]!)
            let directory = URL(fileURLWithPath: job.manifest).deletingLastPathComponent()
            return BatchJob(name: job.name, script: script(of: jobs), attempt: attempt.number, token: attempt.token,
                            output: directory.deletingLastPathComponent().appendingPathComponent("logs/\(job.name).a\(attempt.number).out").path,
                            memory: attempt.memory, walltime: attempt.walltime)
        }
        let accepted: [String: String]
        var refusal: (any Error)?
        do {
            accepted = try backend.submit(batch, throttle: limit, hold: hold)
        } catch {
            accepted = (error as? BatchError)?.accepted ?? [:]
            refusal = error
        }
        logger.debug("handed \(batch.count) batch jobs to \(backend.name): \(accepted.count) accepted\(refusal.map { ", then refused: \($0)" } ?? "")")
        try store.apply(Self.submission(of: intents, accepted: accepted, refused: refusal != nil, host: ProcessInfo.processInfo.hostName))
        if let refusal { throw refusal }
        return batch.count
    }

    /// The batch script of a batch job: the job's own (`jobs/NAME.BACKEND.sh`), or for a lead with
    /// its followers the bundle's (`jobs/NAME.bundle.BACKEND.sh`), which runs them all in order.
    func script(of jobs: [JobRecord]) -> String {
        let directory = URL(fileURLWithPath: jobs[0].manifest).deletingLastPathComponent()
        return directory.appendingPathComponent("\(jobs[0].name).\(jobs.count > 1 ? "bundle." : "")\(backend.name).sh").path
    }

    // MARK: - Decisions

    /// What becomes of an intent found after a restart.
    ///
    /// - Parameters:
    ///   - intent: A `submitting` attempt.
    ///   - found: Its backend id, if the batch system has a live job with its token.
    ///   - runner: The end of its outcome file, nil when there is none (read only if the job was not found).
    /// - Returns: `adopted` when found; `ended` when the file shows the job ran; else `forgotten`.
    public static func adoption(of intent: AttemptRecord, found: String?, runner: @autoclosure () -> OutcomeEnd?) -> AttemptTransition {
        if let found { return .adopted(backendId: found) }
        if let ran = runner() { return .ended(AttemptEnd(state: ran.state, exitCode: ran.exit)) }
        return .forgotten
    }

    /// What the batch system's answer about one followed attempt changes.
    ///
    /// An ended job whose accounting has not come is followed for `grace` seconds from when dcprod
    /// first saw it ended (`endedAt`), then recorded without. An ended job is `done` when its
    /// runner wrote its end line; one the batch system ended for want of a resource is `requeued`
    /// (submitted again) unless its job has been requeued for that reason `Exhaustion.maximumRequeues` times.
    ///
    /// - Parameters:
    ///   - attempt: A `queued` or `running` attempt.
    ///   - status: The batch system's answer; nil when it no longer knows the job.
    ///   - runner: The end of the attempt's outcome file; read only once the job has ended.
    ///   - requeues: How many times the attempt's job was requeued, per reason.
    ///   - now: The time of the poll.
    ///   - grace: Seconds to wait for the accounting of an ended job.
    /// - Returns: The change to write, or nil when nothing changed.
    public static func decide(_ attempt: AttemptRecord, status: BatchStatus?, runner: @autoclosure () -> OutcomeEnd,
                              requeues: [Exhaustion: Int], now: Date, grace: TimeInterval) -> AttemptTransition? {
        var status = status
        if let waiting = status, waiting.awaitingAccounting {
            if let since = attempt.endDate, now.timeIntervalSince(since) > grace {
                status = BatchStatus(state: .lost, rawState: waiting.rawState)
            } else if attempt.endedAt == nil || waiting.rawState != attempt.rawState {
                return .awaitingAccounting(rawState: waiting.rawState)
            } else {
                return nil
            }
        }
        if let status, !status.state.isFinished {
            let state = AttemptState(status.state)
            return state != attempt.state || status.rawState != attempt.rawState ? .progressed(state, rawState: status.rawState) : nil
        }
        // Ended, or gone: the outcome file says whether the runner completed — unless the batch
        // system ended it for want of memory, time or a node, and it may be submitted again.
        let ran = runner()
        var state: AttemptState = status?.state == .cancelled ? .cancelled : ran.state
        var exhausted: Exhaustion?
        if let reason = status?.exhausted, !ran.completed, requeues[reason, default: 0] < reason.maximumRequeues {
            exhausted = reason
            state = .requeued
        }
        let accounting = status?.accounting
        return .ended(AttemptEnd(state: state, rawState: status?.rawState ?? "gone", exitCode: status?.exitCode ?? ran.exit,
                                 signal: status?.signal, node: accounting?.node, elapsed: accounting?.elapsed,
                                 cpuTime: accounting?.cpuTime, maxRSS: accounting?.maxRSS, maxVMem: accounting?.maxVMem, exhausted: exhausted))
    }

    /// What a submission call's answer makes of its intents: accepted ones `submitted` (a follower
    /// with its lead, by the batch token they share); after a refusal, the others `forgotten` (nothing may stay marked as submitted but what the batch
    /// system accepted).
    public static func submission(of intents: [AttemptRecord], accepted: [String: String], refused: Bool,
                                  host: String) -> [(attemptId: Int64, transition: AttemptTransition)] {
        intents.compactMap { intent in
            if let id = accepted[intent.batchToken] { return (intent.id, .submitted(backendId: id, host: host)) }
            return refused ? (intent.id, .forgotten) : nil
        }
    }

    /// How many jobs may be handed over now: up to `limit` running for a backend dcprod throttles;
    /// for one that throttles itself, the batch system's `capacity`, which already counts every job
    /// of the cluster, dcprod's own included.
    public static func room(running: Int, limit: Int, capacity: Int?) -> Int {
        capacity.map { max(0, $0) } ?? max(0, limit - running)
    }

    /// The resources of a job's next attempt: what the previous one ran out of, doubled (resource
    /// learning), else what it had.
    ///
    /// - Parameters:
    ///   - previous: The job's latest attempt, if any.
    ///   - memory: The step's MEMORY, doubled when the previous attempt had no learnt memory.
    ///   - walltime: The step's WALLTIME, likewise.
    public static func resources(after previous: AttemptRecord?, memory: String?, walltime: String?) -> (memory: String?, walltime: String?) {
        guard let previous else { return (nil, nil) }
        switch previous.exhausted {
        case .memory: return (doubled(previous.memory ?? memory ?? "2G"), previous.walltime)
        case .time: return (previous.memory, doubled(previous.walltime ?? walltime ?? "01:00:00"))
        case .node, nil: return (previous.memory, previous.walltime)
        }
    }

    /// Twice a Slurm-style size (`300M` → `600M`) or time (`04:00:00` → `08:00:00`, `1-00:00:00` → `2-00:00:00`).
    static func doubled(_ value: String) -> String {
        if let unit = value.last, "KMGT".contains(unit), let number = Double(value.dropLast()) {
            return String(Int((number * 2).rounded(.up))) + String(unit)
        }
        if let number = Int(value) { return String(number * 2) }
        guard let seconds = BatchResources.seconds(value) else { return value }
        return BatchResources.walltime(seconds: 2 * seconds)
    }
}

/// What an outcome file's last line says about how its runner ended.
public struct OutcomeEnd: Sendable, Equatable {
    /// True when the runner wrote its `end` line.
    public var completed: Bool
    /// The `end` line's exit status.
    public var exit: Int32?

    /// An end as an outcome file shows it.
    public init(completed: Bool, exit: Int32?) {
        self.completed = completed
        self.exit = exit
    }

    /// A runner that died before its end line, or never wrote a file.
    public static let died = OutcomeEnd(completed: false, exit: nil)

    /// The attempt's state that this end gives: `done` or `failed`.
    public var state: AttemptState { completed ? .done : .failed }

    /// Reads the end of an outcome file.
    ///
    /// - Returns: nil when there is no file; `died` when its last complete line is not an `end` line.
    public static func read(_ path: String) -> OutcomeEnd? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        guard let last = data.split(separator: 0x0A).last,
              let line = try? JSONDecoder().decode(OutcomeLine.self, from: Data(last)), line.type == .end else {
            return .died
        }
        return OutcomeEnd(completed: true, exit: line.exit)
    }
}

/// A planned job's manifest or batch script is not where planning wrote it.
public struct MissingJobFile: Error, CustomStringConvertible, Sendable {
    public var job: String
    public var path: String
    public var description: String {
        "\(path): missing: job \(job) cannot be submitted without the file `dcprod plan` wrote for it, so nothing was submitted"
    }
}

