import Foundation

/// One job handed to a batch system: its script, which attempt this is, and the token that
/// lets a restarted manager recognise it.
public struct BatchJob: Sendable {
    public var name: String
    public var script: String
    public var attempt: Int
    public var token: String
    /// Where the batch system writes the job's standard output and error.
    public var output: String
    /// Resources learnt from earlier attempts, overriding the script's directives (e.g. `600M`, `00:20:00`).
    public var memory: String? = nil
    public var walltime: String? = nil
}

/// Why the batch system, not the payload, ended a job: dcprod submits it again by itself, without
/// counting against MAXRETRY, with more of what ran out.
public enum Exhaustion: String, Sendable, Codable {
    /// Killed over its memory limit: memory doubled, at most twice.
    case memory
    /// Killed at its walltime: walltime doubled, at most twice.
    case time
    /// A node failure, boot failure or preemption: the same again.
    case node
}

/// dcprod's view of a job in a batch system.
public enum BatchState: String, Sendable, Codable {
    case queued, running, done, failed, cancelled
    /// Gone from the batch system with nothing known about how it ended.
    case lost

    public var isFinished: Bool { [.done, .failed, .cancelled, .lost].contains(self) }
}

public struct BatchStatus: Sendable, Equatable {
    public var state: BatchState
    /// The batch system's own word for the state, kept in the attempt.
    public var rawState: String
    public var exitCode: Int32?
    public var signal: Int32?
    /// What the batch system's accounting says of a finished job, where it says it.
    public var accounting: Accounting?
    /// Set when the batch system ended the job for want of a resource or a node.
    public var exhausted: Exhaustion?
    /// The job has ended but the batch system's accounting does not have it yet (slurmdbd behind,
    /// Grid Engine's accounting flushed every 15 s): followed a while longer, for its accounting.
    public var awaitingAccounting = false

    public init(state: BatchState, rawState: String, exitCode: Int32? = nil, signal: Int32? = nil, accounting: Accounting? = nil) {
        self.state = state
        self.rawState = rawState
        self.exitCode = exitCode
        self.signal = signal
        self.accounting = accounting
    }

    /// An ended job whose accounting is still to come (`rawState` says what the batch system last said).
    public static func awaitingAccounting(after rawState: String) -> BatchStatus {
        var status = BatchStatus(state: .running, rawState: rawState + " (awaiting accounting)")
        status.awaitingAccounting = true
        return status
    }
}

/// A finished job's accounting, as the batch system words it (e.g. sacct's `00:01:02`, `51200K`).
public struct Accounting: Sendable, Equatable {
    public var node: String?
    public var elapsed: String?
    public var cpuTime: String?
    public var maxRSS: String?

    public init(node: String? = nil, elapsed: String? = nil, cpuTime: String? = nil, maxRSS: String? = nil) {
        self.node = node
        self.elapsed = elapsed
        self.cpuTime = cpuTime
        self.maxRSS = maxRSS
    }
}

/// A batch system: local processes, Slurm or Grid Engine. Each call covers many jobs, so that
/// a production of tens of thousands of jobs costs a handful of calls per polling interval.
public protocol BatchSystem: Sendable {
    var name: String { get }
    /// Submits the jobs; returns each one's backend id by token. Throws if the batch system
    /// refused them, in which case none of them is submitted but those the `BatchError` lists as accepted. A backend that `throttles` runs at
    /// most `throttle` of them at once itself (e.g. a job array's `%M`). Held jobs wait in the
    /// queue until `release`d (a batch system's `--hold` / `-h`).
    func submit(_ jobs: [BatchJob], throttle: Int, hold: Bool) throws -> [String: String]
    /// True when the batch system holds queued jobs and enforces the running limit itself, so
    /// that every pending job can be handed over at once (up to `capacity`).
    var throttles: Bool { get }
    /// How many more jobs the batch system accepts now.
    func capacity() throws -> Int
    /// The states of these jobs, by backend id; a job the system no longer knows is absent.
    func status(_ backendIds: [String]) throws -> [String: BatchStatus]
    func cancel(_ backendIds: [String]) throws
    /// Releases held jobs.
    func release(_ backendIds: [String]) throws
    /// The backend ids of live jobs carrying these tokens, by token: what a manager killed between
    /// its submission call and recording the ids finds again.
    func find(tokens: [String]) throws -> [String: String]
}

public struct BatchError: Error, CustomStringConvertible, Sendable {
    public var command: String
    public var message: String
    /// The jobs a submission handed over before the batch system refused the rest (backend ids by
    /// token): a backend that submits in several calls may be refused after its first ones.
    public var accepted: [String: String] = [:]
    public var description: String { "\(command): \(message)" }

    public init(command: String, message: String, accepted: [String: String] = [:]) {
        self.command = command
        self.message = message
        self.accepted = accepted
    }
}
