import GRDB

// The states of the state store's rows, as Swift enums stored as their raw strings. Each
// property that groups states is an exhaustive `switch`, so that a new state is a compiler error
// wherever it must be placed; the SQL conditions of the gateway are built from these groups.

/// Where one event of a step stands: `event.state`.
public enum EventState: String, CaseIterable, Sendable, Codable, DatabaseValueConvertible {
    /// Recorded (by inventory, or from an earlier step's outputs); in no job yet.
    case new
    /// In a job whose outcome has not been read yet (also after a resubmission made a new job for it).
    case planned
    /// Its latest outcome record says ok.
    case ok
    /// Its latest outcome record says failed; `event.class` says why.
    case failed
    /// Its job's attempt ended without a record for it.
    case notRun = "not-run"
    /// An event of `run --by-patch` planned on inputs that the same batch job made, none of which
    /// came out ok: a step-by-step run would never have made it, so no report counts it.
    case withdrawn

    /// True when the state comes from an outcome that verify read, and the event carries a class.
    public var isVerified: Bool {
        switch self {
        case .new, .planned: false
        case .ok, .failed, .notRun, .withdrawn: true
        }
    }

    /// True when resubmission may take the event (if its class's policy allows).
    public var isRetryable: Bool {
        switch self {
        case .failed, .notRun: true
        case .new, .planned, .ok, .withdrawn: false
        }
    }
}

/// Why the batch system, not the payload, ended a job: dcprod submits it again by itself, without
/// counting against MAXRETRY, with more of what ran out. Stored in `attempt.exhausted`.
public enum Exhaustion: String, CaseIterable, Sendable, Codable, DatabaseValueConvertible {
    /// Killed over its memory limit: memory doubled, at most twice.
    case memory
    /// Killed at its walltime: walltime doubled, at most twice.
    case time
    /// A node failure, boot failure or preemption: the same again, at most three times.
    case node

    /// How many times dcprod submits a job again for this reason.
    public var maximumRequeues: Int {
        switch self {
        case .memory, .time: 2
        case .node: 3
        }
    }
}

/// Where one submission of a job stands: `attempt.state`. The row is written before the
/// submission call (`submitting`) so that a manager killed in between finds the job again.
public enum AttemptState: String, CaseIterable, Sendable, Codable, DatabaseValueConvertible {
    /// Recorded, its submission call not yet answered: an intent that the next run adopts or forgets.
    case submitting
    /// Accepted by the batch system, waiting (or held) in its queue.
    case queued
    /// Running, or ended with its accounting still to come.
    case running
    /// Ended, and its runner wrote its outcome file's end line.
    case done
    /// Ended without the runner's end line, or the batch system reported a failure.
    case failed
    /// Cancelled by `dcprod cancel` or by the batch system's operator.
    case cancelled
    /// Gone from the batch system with nothing known of how it ended.
    case lost
    /// Ended by the batch system for want of memory, time or a node, and submitted again by dcprod:
    /// verify never reads it and it does not count against MAXRETRY.
    case requeued

    /// True while the batch system has (or may have) the job: it counts against MAXRUNNING.
    public var isActive: Bool {
        switch self {
        case .submitting, .queued, .running: true
        case .done, .failed, .cancelled, .lost, .requeued: false
        }
    }

    /// True when the batch system has the job under a backend id, and status polls follow it.
    public var isFollowed: Bool {
        switch self {
        case .queued, .running: true
        case .submitting, .done, .failed, .cancelled, .lost, .requeued: false
        }
    }

    /// True when the attempt has ended and verify reads its outcome file.
    public var isVerifiable: Bool {
        switch self {
        case .done, .failed, .cancelled, .lost: true
        case .submitting, .queued, .running, .requeued: false
        }
    }

    /// The states of active attempts.
    public static let active = allCases.filter(\.isActive)
    /// The states of attempts that status polls follow.
    public static let followed = allCases.filter(\.isFollowed)
    /// The states of attempts verify reads.
    public static let verifiable = allCases.filter(\.isVerifiable)
}

/// Where one job stands: the state of its latest attempt, or `unsubmitted`.
public enum JobState: String, CaseIterable, Sendable, Codable, DatabaseValueConvertible {
    case unsubmitted, submitting, queued, running, done, failed, cancelled, lost, requeued

    /// The state of a job whose latest attempt is `latest` (none: `unsubmitted`).
    public init(latest: AttemptState?) {
        switch latest {
        case nil: self = .unsubmitted
        case .submitting: self = .submitting
        case .queued: self = .queued
        case .running: self = .running
        case .done: self = .done
        case .failed: self = .failed
        case .cancelled: self = .cancelled
        case .lost: self = .lost
        case .requeued: self = .requeued
        }
    }

    /// True when `submit` hands the job over: never submitted, or its latest attempt was ended by
    /// the batch system for want of resources.
    public var awaitsSubmission: Bool {
        switch self {
        case .unsubmitted, .requeued: true
        case .submitting, .queued, .running, .done, .failed, .cancelled, .lost: false
        }
    }
}
