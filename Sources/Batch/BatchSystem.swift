import Foundation
import Production

// MARK: - The protocol

/// A batch system: local processes, Slurm or Grid Engine.
///
/// Each call covers many jobs, so that a production of tens of thousands of jobs costs a handful
/// of calls per polling interval. A backend knows nothing of the state store: the `Submitter`
/// records what it is told. Every call that reaches the batch system throws a `BatchError` naming
/// the command and the batch system's own words when it fails.
public protocol BatchSystem: Sendable {
    /// The backend's name as BACKEND spells it (`local`, `slurm`, `sge`); it also names the jobs'
    /// scripts (`JOB.NAME.sh`) and is recorded in each attempt.
    var name: String { get }

    /// Submits jobs.
    ///
    /// A backend that `throttles` runs at most `throttle` of them at once itself (e.g. a job array's
    /// `%M`). Held jobs wait in the queue until `release(_:)`d (a batch system's `--hold` / `-h`).
    ///
    /// - Parameters:
    ///   - jobs: The jobs, each with the token the batch system must keep with it (for `find(tokens:)`).
    ///   - throttle: Most of these jobs running at once, for a backend that throttles.
    ///   - hold: Submit them held.
    /// - Returns: Each job's backend id, by token.
    /// - Throws: `BatchError` if the batch system refused. None of the jobs is submitted then, but
    ///   those the error lists in `accepted`.
    /// - Throws: `BatchError` with a non-empty `accepted` when a backend that submits in several
    ///   calls is refused after its first ones: the caller must record those jobs as submitted.
    func submit(_ jobs: [BatchJob], throttle: Int, hold: Bool) throws -> [String: String]

    /// True when the batch system holds queued jobs and enforces the running limit itself, so
    /// that every pending job can be handed over at once (up to `capacity()`).
    var throttles: Bool { get }

    /// How many more jobs the batch system accepts now (e.g. below Slurm's MaxJobCount).
    ///
    /// - Throws: `BatchError` if the batch system cannot be asked.
    func capacity() throws -> Int

    /// The states of jobs.
    ///
    /// - Parameter backendIds: The jobs' backend ids.
    /// - Returns: Each known job's status, by backend id; a job the system no longer knows is absent.
    /// - Throws: `BatchError` if the batch system cannot be asked; the caller changes nothing then.
    func status(_ backendIds: [String]) throws -> [String: BatchStatus]

    /// Cancels jobs, queued or running.
    ///
    /// - Parameter backendIds: The jobs' backend ids.
    /// - Throws: `BatchError` if the batch system refused.
    func cancel(_ backendIds: [String]) throws

    /// Releases held jobs.
    ///
    /// - Parameter backendIds: The jobs' backend ids.
    /// - Throws: `BatchError` if the batch system refused, or has no queue to hold jobs in (local).
    func release(_ backendIds: [String]) throws

    /// Finds live jobs by their tokens: what a manager killed between its submission call and
    /// recording the ids finds again.
    ///
    /// - Parameter tokens: The tokens of the intents to look for.
    /// - Returns: The backend id of each live job carrying one of the tokens, by token.
    /// - Throws: `BatchError` if the batch system cannot be asked.
    func find(tokens: [String]) throws -> [String: String]
}

// MARK: - What goes in and comes out

/// One job handed to a batch system: its script, which attempt this is, and the token that
/// lets a restarted manager recognise it.
public struct BatchJob: Sendable {
    /// The job's name (`STEP-FILTER-NNNNNN`).
    public var name: String
    /// The job's batch script (`jobs/JOB.BACKEND.sh`).
    public var script: String
    /// The attempt's number, passed to the script as `DCPROD_ATTEMPT`.
    public var attempt: Int
    /// Unique to the attempt; kept by the batch system with the job (environment, comment or context).
    public var token: String
    /// Where the batch system writes the job's standard output and error.
    public var output: String
    /// Memory learnt from earlier attempts, overriding the script's directive (e.g. `600M`).
    public var memory: String? = nil
    /// Walltime learnt from earlier attempts, overriding the script's directive (e.g. `00:20:00`).
    public var walltime: String? = nil
}

/// dcprod's view of a job in a batch system.
public enum BatchState: String, Sendable, Codable {
    /// Waiting in the queue, or held.
    case queued
    /// Running (or ended, its accounting still to come: see `BatchStatus.awaitingAccounting`).
    case running
    /// Ended with exit status 0.
    case done
    /// Ended otherwise: a non-zero exit, a signal, a limit, a node failure.
    case failed
    /// Cancelled, by dcprod or by an operator.
    case cancelled
    /// Gone from the batch system with nothing known about how it ended.
    case lost

    /// True when the job has ended, whatever the way.
    public var isFinished: Bool {
        switch self {
        case .queued, .running: false
        case .done, .failed, .cancelled, .lost: true
        }
    }
}

extension AttemptState {
    /// The attempt state a batch system's state gives.
    public init(_ state: BatchState) {
        switch state {
        case .queued: self = .queued
        case .running: self = .running
        case .done: self = .done
        case .failed: self = .failed
        case .cancelled: self = .cancelled
        case .lost: self = .lost
        }
    }
}

/// What a batch system says of one job.
public struct BatchStatus: Sendable, Equatable {
    /// dcprod's view of the state.
    public var state: BatchState
    /// The batch system's own word for the state, kept in the attempt.
    public var rawState: String
    /// The job's exit status, where the batch system tells it.
    public var exitCode: Int32?
    /// The signal that killed the job, where the batch system tells it.
    public var signal: Int32?
    /// What the batch system's accounting says of a finished job, where it says it.
    public var accounting: Accounting?
    /// Set when the batch system ended the job for want of a resource or a node.
    public var exhausted: Exhaustion?
    /// The job has ended but the batch system's accounting does not have it yet (slurmdbd behind,
    /// Grid Engine's accounting flushed every 15 s): followed a while longer, for its accounting.
    public var awaitingAccounting = false

    /// A status as a batch system reports it.
    public init(state: BatchState, rawState: String, exitCode: Int32? = nil, signal: Int32? = nil, accounting: Accounting? = nil) {
        self.state = state
        self.rawState = rawState
        self.exitCode = exitCode
        self.signal = signal
        self.accounting = accounting
    }

    /// An ended job whose accounting is still to come.
    ///
    /// - Parameter rawState: What the batch system last said of the job.
    /// - Returns: A `running` status, `awaitingAccounting`, whose raw state says so.
    public static func awaitingAccounting(after rawState: String) -> BatchStatus {
        var status = BatchStatus(state: .running, rawState: rawState + " (awaiting accounting)")
        status.awaitingAccounting = true
        return status
    }
}

/// A finished job's accounting, as the batch system words it (e.g. sacct's `00:01:02`, `51200K`).
public struct Accounting: Sendable, Equatable {
    /// The node (host) the job ran on.
    public var node: String?
    /// Wall-clock time (`00:01:02`, or seconds).
    public var elapsed: String?
    /// CPU time, as the batch system words it.
    public var cpuTime: String?
    /// Peak resident memory: Slurm's MaxRSS (`51200K`).
    public var maxRSS: String?
    /// Peak virtual memory: Grid Engine's maxvmem (`3.434MB`), which is what its h_vmem limits; far
    /// above the resident set of a program that maps much and touches little.
    public var maxVMem: String?

    /// An accounting record; every field may be missing.
    public init(node: String? = nil, elapsed: String? = nil, cpuTime: String? = nil, maxRSS: String? = nil, maxVMem: String? = nil) {
        self.node = node
        self.elapsed = elapsed
        self.cpuTime = cpuTime
        self.maxRSS = maxRSS
        self.maxVMem = maxVMem
    }
}

/// A batch system's refusal or failure: the command and what the batch system said.
public struct BatchError: Error, CustomStringConvertible, Sendable {
    /// The command that failed (`sbatch`, `qstat -xml`, …).
    public var command: String
    /// The batch system's own words, on one line.
    public var message: String
    /// The jobs a submission handed over before the batch system refused the rest (backend ids by
    /// token): a backend that submits in several calls may be refused after its first ones.
    public var accepted: [String: String] = [:]
    /// `command: message`.
    public var description: String { "\(command): \(message)" }

    /// An error of `command`, saying `message`, after `accepted` jobs were handed over.
    public init(command: String, message: String, accepted: [String: String] = [:]) {
        self.command = command
        self.message = message
        self.accepted = accepted
    }
}
