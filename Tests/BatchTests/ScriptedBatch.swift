import Basics
import Foundation
import Batch
import Production

/// A batch system that runs nothing: it records every call and answers what the test scripted —
/// accept N jobs then refuse with `accepted`, never answer, report a job ended for want of memory,
/// hold a job's accounting back. The Submitter's decisions are then tested in seconds, on any laptop.
final class ScriptedBatch: BatchSystem, @unchecked Sendable {
    enum Call: Equatable {
        case submit(tokens: [String], throttle: Int, hold: Bool)
        case status([String])
        case find([String])
        case cancel([String])
        case release([String])
    }

    private let lock = NSLock()
    private var _calls: [Call] = []
    private var _jobs: [BatchJob] = []
    private var _states: [String: BatchStatus] = [:]
    private var _live: [String: String] = [:]
    private var nextId = 100

    let name = "scripted"
    let throttles: Bool
    let capacityValue: Int
    /// Accept at most this many more jobs, then refuse the rest with `BatchError.accepted`; nil: accept all.
    var acceptBeforeRefusing: Int? {
        get { lock.withLock { _accept } }
        set { lock.withLock { _accept = newValue } }
    }
    private var _accept: Int?
    /// The controller does not answer: every call throws, as a timed-out command would.
    var unreachable: Bool {
        get { lock.withLock { _unreachable } }
        set { lock.withLock { _unreachable = newValue } }
    }
    private var _unreachable = false
    /// Seconds each submission call takes before it answers, as a slow `sbatch` does (the lock is not
    /// held meanwhile: status calls go on).
    var submitDelay: Double {
        get { lock.withLock { _submitDelay } }
        set { lock.withLock { _submitDelay = newValue } }
    }
    private var _submitDelay = 0.0

    init(throttles: Bool = false, capacity: Int = .max) {
        self.throttles = throttles
        capacityValue = capacity
    }

    var calls: [Call] { lock.withLock { _calls } }
    /// Every job handed over, in order.
    var submitted: [BatchJob] { lock.withLock { _jobs } }
    var submitCalls: [[String]] {
        calls.compactMap { if case .submit(let tokens, _, _) = $0 { tokens } else { nil } }
    }

    /// What `status` answers for a job from now on; nil: the batch system no longer knows it.
    func set(_ id: String, _ status: BatchStatus?) { lock.withLock { _states[id] = status } }
    /// Sets every known job's answer.
    func setAll(_ status: BatchStatus?) { lock.withLock { for id in _states.keys { _states[id] = status } } }
    /// A live job carrying `token`, as a killed manager's submission left it.
    func adopt(token: String, as id: String) {
        lock.withLock {
            _live[token] = id
            _states[id] = BatchStatus(state: .running, rawState: "RUNNING")
        }
    }

    private func answer() throws {
        if _unreachable { throw BatchError(command: "scripted", message: "the controller does not answer (timed out)") }
    }

    func submit(_ jobs: [BatchJob], throttle: Int, hold: Bool) throws -> [String: String] {
        if submitDelay > 0 { Thread.sleep(forTimeInterval: submitDelay) }
        return try lock.withLock {
            _calls.append(.submit(tokens: jobs.map(\.token), throttle: throttle, hold: hold))
            try answer()
            var ids: [String: String] = [:]
            for job in jobs {
                if let left = _accept {
                    guard left > 0 else { throw BatchError(command: "scripted submit", message: "refused", accepted: ids) }
                    _accept = left - 1
                }
                let id = String(nextId)
                nextId += 1
                ids[job.token] = id
                _jobs.append(job)
                _live[job.token] = id
                _states[id] = BatchStatus(state: hold ? .queued : .running, rawState: hold ? "PENDING (held)" : "RUNNING")
            }
            return ids
        }
    }

    /// What the cluster's limit leaves: `capacity` less every job queued or running in it (dcprod's own included).
    func capacity() throws -> Int {
        lock.withLock {
            let live = _states.values.filter { [.queued, .running].contains($0.state) }.count
            return capacityValue == .max ? .max : capacityValue - live
        }
    }

    func status(_ backendIds: [String]) throws -> [String: BatchStatus] {
        try lock.withLock {
            _calls.append(.status(backendIds))
            try answer()
            return _states.filter { backendIds.contains($0.key) }
        }
    }

    func cancel(_ backendIds: [String]) throws {
        try lock.withLock {
            _calls.append(.cancel(backendIds))
            try answer()
            for id in backendIds { _states[id] = BatchStatus(state: .cancelled, rawState: "CANCELLED") }
        }
    }

    func release(_ backendIds: [String]) throws {
        try lock.withLock {
            _calls.append(.release(backendIds))
            try answer()
            for id in backendIds { _states[id] = BatchStatus(state: .running, rawState: "RUNNING") }
        }
    }

    func find(tokens: [String]) throws -> [String: String] {
        try lock.withLock {
            _calls.append(.find(tokens))
            try answer()
            return _live.filter { tokens.contains($0.key) && _states[$0.value].map { !$0.state.isFinished } == true }
        }
    }
}

/// A prepared production in a temporary directory with `jobs` planned jobs of processCcd in r, one event each.
final class ScriptedProduction {
    let root: URL
    let production: Production

    /// - Parameter bundled: Each processCcd job leads a coadd job of one event (`run --by-patch`).
    init(jobs: Int, extraConfig: String = "", bundled: Bool = false) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("dcprod-scripted-\(UUID().uuidString)")
        let config = try ConfigParser.parse(text: """
            MAINDIR \(root.path)/prod
            DCNAME DC_TEST
            DATAMAIN \(root.path)/data
            FILTERS r
            \(extraConfig)
            """, file: "fichconfig.txt")
        production = try Production.prepare(config: config, source: "fichconfig.txt", commandLine: ["test"]).0
        let frames = (1...jobs).map { field in
            FrameRecord(path: "\(root.path)/fpC-000094-r1-\(String(format: "%04d", field)).fit", run: 94, camcol: 1, field: field,
                        filter: .r, eventKey: "000094-1-\(String(format: "%04d", field))", width: 10, height: 10,
                        corners: Array(repeating: (ra: 6.0, dec: 0.0), count: 4), center: (ra: 6.0, dec: 0.0), size: 1, mtime: 0)
        }
        try production.store.recordInventory(frames: frames, rejections: [])
        let events = try production.store.frameEvents(step: .processCcd, filter: .r, .unplanned)
        // The files planning writes, which submission checks are there; a scripted batch never runs them.
        func job(_ step: Step, _ number: Int, eventId: Int64, bundle: Bool = false) throws -> PlannedJob {
            let directory = production.tree.jobsDirectory(step, .r)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let name = "\(step.rawValue)-r-\(String(format: "%06d", number))"
            let manifest = directory.appendingPathComponent("\(name).json")
            for file in [manifest, directory.appendingPathComponent("\(name).scripted.sh")]
                + (bundle ? [directory.appendingPathComponent("\(name).bundle.scripted.sh")] : []) {
                try Data("{}".utf8).write(to: file)
            }
            return PlannedJob(name: name, manifest: manifest.path, eventIds: [eventId])
        }
        guard bundled else {
            try production.store.recordJobs(try events.enumerated().map { try job(.processCcd, $0 + 1, eventId: $1.id) }, step: .processCcd, filter: .r)
            return
        }
        for (index, event) in events.enumerated() {
            try production.store.recordDerivedEvents([DerivedEvent(key: "0-\(index),5", inputIds: [event.id])], step: .coadd, filter: .r)
            var coaddIds: [Int64] = []
            try production.store.forEachDerivedEvent(step: .coadd, filter: .r, .unplanned, withInputs: false) { id, _, _ in coaddIds.append(id) }
            try production.store.recordBundle([(try job(.processCcd, index + 1, eventId: event.id, bundle: true), .processCcd),
                                               (try job(.coadd, index + 1, eventId: coaddIds[0]), .coadd)], filter: .r)
        }
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    var store: StateStore { production.store }

    func attempts() throws -> [AttemptRecord] { try store.attempts(in: AttemptState.allCases) }

    /// Writes an attempt's outcome file as its runner would have left it: with its end line, or cut short.
    func writeOutcome(of attempt: AttemptRecord, completed: Bool) throws {
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: attempt.outcomes).deletingLastPathComponent(),
                                                withIntermediateDirectories: true)
        let start = #"{"attempt":1,"job":"j","type":"start","version":1}"# + "\n"
        let end = #"{"events":1,"exit":0,"type":"end"}"# + "\n"
        try Data((start + (completed ? end : "")).utf8).write(to: URL(fileURLWithPath: attempt.outcomes))
    }
}
