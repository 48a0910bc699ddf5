import Basics
import Foundation
import GRDB

extension Step: DatabaseValueConvertible {}
extension Filter: DatabaseValueConvertible {}

/// A row of `job`: one batch script over a list of events of one step and filter.
public struct JobRecord: Codable, Sendable, Equatable, FetchableRecord, TableRecord {
    public static let databaseTableName = "job"

    public var id: Int64
    /// `STEP-FILTER-NNNNNN`, unique in the production.
    public var name: String
    public var step: Step
    public var filter: Filter
    /// The path of the job's manifest (`steps/STEP/FILTER/jobs/NAME.json`).
    public var manifest: String
    /// How many events the job holds.
    public var events: Int
    public var createdAt: String
    /// The job whose batch job this one runs in (`run --by-patch`), nil for a job submitted on its own.
    public var leadId: Int64?
}

/// A row of `attempt`: one submission of a job to a batch system.
public struct AttemptRecord: Codable, Sendable, Equatable, FetchableRecord, TableRecord {
    public static let databaseTableName = "attempt"

    public var id: Int64
    public var jobId: Int64
    /// 1 for the job's first submission, then 2, 3, …
    public var number: Int
    /// The batch system's name (`local`, `slurm`, `sge`).
    public var backend: String
    /// Unique; carried by the job in the batch system, so that a restarted manager adopts it. The
    /// attempt of a job that follows a lead in its batch job (`run --by-patch`) has the lead
    /// attempt's token, `+`, and its own job's name.
    public var token: String
    /// The batch system's id of the job (a pid, `1234_5`, `77.3`); nil while `submitting`.
    public var backendId: String?
    public var state: AttemptState
    /// The batch system's own word for the state (`PENDING`, `qw`, `exited 0`, `gone`).
    public var rawState: String?
    /// The host dcprod submitted from.
    public var host: String?
    /// ISO 8601 times, as dcprod saw them.
    public var submittedAt: String?
    public var startedAt: String?
    public var endedAt: String?
    public var exitCode: Int32?
    public var signal: Int32?
    /// The attempt's outcome file (`outcomes/JOB.aN.jsonl`) and log.
    public var outcomes: String
    public var log: String
    /// True once verify has read the outcome file.
    public var verified: Bool

    /// The token the batch system carries for this attempt: its own, or its lead attempt's.
    public var batchToken: String { Self.batchToken(token) }

    /// The part of a token before `+`: the batch job's token.
    public static func batchToken(_ token: String) -> String { String(token.prefix { $0 != "+" }) }
    /// The batch system's accounting, as it words it (`00:01:02`, `51200K`).
    public var node: String?
    public var elapsed: String?
    public var cpuTime: String?
    public var maxRSS: String?
    /// Peak virtual memory, where the batch system gives it instead of a resident set (Grid Engine's maxvmem).
    public var maxVMem: String?
    /// Resources learnt from earlier attempts (`600M`, `08:00:00`); nil: the step's own.
    public var memory: String?
    public var walltime: String?
    /// Set on a `requeued` attempt: what ran out.
    public var exhausted: Exhaustion?

    /// When dcprod first saw the attempt ended, if it has.
    public var endDate: Date? { endedAt.flatMap(StateStore.date) }
}

/// One event of a job, in the job's order: what verify matches outcome records against.
public struct JobMember: Sendable, Equatable, FetchableRecord {
    public var id: Int64
    /// The event's key (`RRRRRR-C-FFFF` for a frame).
    public var key: String

    /// Decoded by position (`SELECT id, key`): verify reads every member of every job.
    public init(row: Row) {
        id = row[0]
        key = row[1]
    }
}

/// An event of a frame, as planning renders its command.
public struct FrameEvent: Sendable, Equatable, FetchableRecord {
    public var id: Int64
    public var key: String
    /// The frame's path and SDSS numbers.
    public var path: String
    public var run: Int
    public var camcol: Int
    public var field: Int

    /// Decoded by position (`SELECT id, key, path, run, camcol, field`): planning reads millions.
    public init(row: Row) {
        id = row[0]
        key = row[1]
        path = row[2]
        run = row[3]
        camcol = row[4]
        field = row[5]
    }
}

/// A job that planning wrote (manifest and script on disk), to be recorded with its events.
public struct PlannedJob: Sendable {
    public var name: String
    public var manifest: String
    /// The job's events, in the manifest's order.
    public var eventIds: [Int64]

    public init(name: String, manifest: String, eventIds: [Int64]) {
        self.name = name
        self.manifest = manifest
        self.eventIds = eventIds
    }
}

/// What a submission records of an attempt before its call to the batch system.
public struct AttemptIntent: Sendable, Equatable {
    public var token: String
    public var outcomes: String
    public var log: String
    public var memory: String?
    public var walltime: String?

    public init(token: String, outcomes: String, log: String, memory: String?, walltime: String?) {
        self.token = token
        self.outcomes = outcomes
        self.log = log
        self.memory = memory
        self.walltime = walltime
    }
}

/// How an attempt ended, as the submitter decided from the batch system and the outcome file.
public struct AttemptEnd: Sendable, Equatable {
    /// `done`, `failed`, `cancelled`, `lost` or `requeued`.
    public var state: AttemptState
    public var rawState: String?
    public var exitCode: Int32?
    public var signal: Int32?
    public var node: String?
    public var elapsed: String?
    public var cpuTime: String?
    public var maxRSS: String?
    /// Peak virtual memory (Grid Engine's maxvmem), which is not a resident set size.
    public var maxVMem: String?
    public var exhausted: Exhaustion?

    public init(state: AttemptState, rawState: String? = nil, exitCode: Int32? = nil, signal: Int32? = nil, node: String? = nil,
                elapsed: String? = nil, cpuTime: String? = nil, maxRSS: String? = nil, maxVMem: String? = nil,
                exhausted: Exhaustion? = nil) {
        self.state = state
        self.rawState = rawState
        self.exitCode = exitCode
        self.signal = signal
        self.node = node
        self.elapsed = elapsed
        self.cpuTime = cpuTime
        self.maxRSS = maxRSS
        self.maxVMem = maxVMem
        self.exhausted = exhausted
    }
}

/// A change of one attempt's row, as the submitter decides it and the gateway writes it.
public enum AttemptTransition: Sendable, Equatable {
    /// An intent the batch system has (found by its token): followed as `running` under `backendId`.
    case adopted(backendId: String)
    /// The batch system accepted the job: `queued` under `backendId`, submitted from `host`.
    case submitted(backendId: String, host: String)
    /// An intent the batch system never got: the row goes, and the job is submitted again.
    case forgotten
    /// Still in the batch system, in another state (`queued` or `running`); the first move sets `startedAt`.
    case progressed(AttemptState, rawState: String)
    /// Ended, its accounting still to come: followed as `running`; the first sight sets `endedAt`.
    case awaitingAccounting(rawState: String)
    /// Ended: its state, exit and accounting; `endedAt` set if it was not.
    case ended(AttemptEnd)
    /// Cancelled by dcprod: `cancelled`, ended now.
    case cancelled
}

/// A CSV file the catalog loader refused, with the line and reason.
public struct LoadRejection: Codable, Sendable, Equatable, FetchableRecord {
    public var path: String
    public var line: Int
    public var message: String

    public init(path: String, line: Int, message: String) {
        self.path = path
        self.line = line
        self.message = message
    }
}

/// What verify read of one attempt's outcome file: one outcome per event of its job.
public struct AttemptReading: Sendable {
    public var attemptId: Int64
    public var outcomes: [EventOutcome]
    /// `file:line: reason` for each line of the file not believed of any event.
    public var damaged: [String]
    /// The peak resident set of the job's payloads that its runner measured (its `end` line), in KiB:
    /// the attempt's maxrss where the batch system's accounting has none.
    public var runnerPeakKiB: Int?
    /// The CPU seconds (user and system) of the job's payloads that its runner measured (its `end`
    /// line): the attempt's CPU time where the batch system's accounting has none.
    public var runnerCPUSeconds: Double?

    public init(attemptId: Int64, outcomes: [EventOutcome], damaged: [String] = [], runnerPeakKiB: Int? = nil,
                runnerCPUSeconds: Double? = nil) {
        self.attemptId = attemptId
        self.outcomes = outcomes
        self.damaged = damaged
        self.runnerPeakKiB = runnerPeakKiB
        self.runnerCPUSeconds = runnerCPUSeconds
    }
}

/// The outcome of one event in one attempt: a row of `outcome`, and the event's latest state.
public struct EventOutcome: Sendable, Equatable {
    public var eventId: Int64
    /// `ok`, `failed` or `not-run`.
    public var state: EventState
    /// The failure class (`ok` for an ok event).
    public var className: String
    public var message: String
    public var seconds: Double?
    /// The outputs of an ok event.
    public var outputs: [String]?
    /// Their sizes in bytes, in the same order, as verify found them (the accounting's data volumes).
    public var sizes: [Int64]?

    public init(eventId: Int64, state: EventState, className: String, message: String, seconds: Double?, outputs: [String]?,
                sizes: [Int64]? = nil) {
        self.eventId = eventId
        self.state = state
        self.className = className
        self.message = message
        self.seconds = seconds
        self.outputs = outputs
        self.sizes = sizes
    }
}

/// How many events of one step and filter are in one state with one class.
public struct EventCount: Codable, Sendable, Equatable {
    public var state: EventState
    /// The class of verified events; nil for new and planned ones.
    public var className: String?
    public var count: Int
}

/// How many attempts dcprod submitted again for one reason (of one job, or of a step and filter).
struct RequeueCount: Decodable, FetchableRecord {
    /// The job, when counted per job.
    var jobId: Int64?
    var exhausted: Exhaustion
    var count: Int
}

/// An event's key and its latest message: what a report lists.
public struct EventMessage: Codable, Sendable, Equatable, FetchableRecord {
    public var id: Int64
    public var key: String
    public var message: String?
}

/// An event's outcome as `dcprod compare` sets two productions' side by side: its state, or for a
/// failed event its failure class.
public struct EventResult: Codable, Sendable, Equatable, FetchableRecord {
    public var step: String
    public var filter: String
    public var key: String
    /// `ok`, `new`, `planned`, `not-run`, `withdrawn`, or the failure class of a failed event.
    public var outcome: String
}
