import Basics
import Foundation
import Planning
import Production
import Synchronization

/// `dcprod verify`: reads every finished attempt's outcome file once, records the latest outcome
/// of each event in the state store, and reports per step and filter. Events of a finished
/// attempt without a record are `not-run`.
public struct Verifier {
    /// The production whose outcome records are read.
    public let production: Production
    /// The step verified.
    public let step: Step
    /// The step's failure classes: its rule set's `rules/RULES.classes`, else `rules/classes`.
    public let classes: FailureClasses
    /// What the classes were read from, each stamped before it was read: the step's definition (which
    /// names the rule set), the rules directory (a rule set's own class list added or taken away) and the
    /// class list.
    private let sources: [FileStamp]

    /// A verifier of one step's outcome records.
    ///
    /// - Throws: `TemplateError` when the step's definition or its class list cannot be read.
    public init(production: Production, step: Step) throws {
        self.production = production
        self.step = step
        let templates = production.tree.templatesDirectory
        let definition = FileStamp(path: templates.appendingPathComponent("steps/\(step.rawValue).step").path)
        let rules = FileStamp(path: templates.appendingPathComponent("rules").path)
        let file = FileManager.default.fileExists(atPath: definition.path)
            ? try StepDefinition.load(step: step, templates: templates).classesFile(templates: templates)
            : templates.appendingPathComponent("rules/classes").path
        let classesFile = FileStamp(path: file)
        classes = try FailureClasses(contentsOf: file)
        sources = [definition, rules, classesFile]
    }

    /// True when none of the files the classes were read from changed since: the verifier a run keeps
    /// from pass to pass holds (making one compiles the step's definition, about a tenth of a pass after
    /// one job ended, for each step).
    public var isCurrent: Bool { sources.allSatisfy(\.isCurrent) }

    /// What one `read(step:filters:)` found.
    public struct Reading: Sendable, Equatable {
        /// Outcome files read (one per attempt).
        public var attempts = 0
        /// Event records found in them.
        public var records = 0
        /// Events of those attempts' jobs without a record: `not-run`.
        public var missing = 0
        /// Lines of those files not believed of any event (`OutcomeCheck`).
        public var damaged = 0
        /// With `namingEvents`, the events given an outcome (`not-run` included), by filter: what a later
        /// step's planning looks at again (`StepPlanning.plan(step:filters:changed:)`) instead of the
        /// whole production. Empty otherwise: `dcprod verify` of millions of records needs no list of them.
        public var recorded: [Filter: Set<Int64>] = [:]
    }

    /// Reads the outcome files of ended, unverified attempts of the step, oldest first, and records
    /// each event's outcome (in transactions of 32 attempts). The files of the next 32 attempts are
    /// read on one core while the last 32 are recorded on the other: recording is two thirds of the
    /// work, and only the state store's writer can do it.
    ///
    /// - Parameters:
    ///   - filters: The filters whose attempts to read.
    ///   - namingEvents: Also name the events given an outcome (`Reading.recorded`).
    /// - Returns: How many attempts, records and missing records were read.
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be written; the attempts already
    ///   recorded stay verified, the others are read again next time.
    public func read(filters: [Filter], namingEvents: Bool = false) throws -> Reading {
        let store = production.store
        let dataRoot = production.tree.dataRoot.standardizedFileURL.path + "/"
        let attempts = try store.unverifiedAttempts(step: step, filters: filters)
        let batches = stride(from: 0, to: attempts.count, by: 32).map { Array(attempts[$0..<min($0 + 32, attempts.count)]) }
        var reading = Reading()
        guard let first = batches.first else { return reading }
        var read = try Self.read(first, in: store, dataRoot: dataRoot)
        for index in batches.indices {
            let recorded = read
            let ahead = index + 1 < batches.count ? batches[index + 1] : []
            read = try Self.overlapping({ try store.recordOutcomes(recorded.readings) }, with: { try Self.read(ahead, in: store, dataRoot: dataRoot) })
            reading.attempts += recorded.reading.attempts
            reading.records += recorded.reading.records
            reading.missing += recorded.reading.missing
            reading.damaged += recorded.reading.damaged
            if namingEvents { reading.recorded.merge(recorded.reading.recorded) { $0.union($1) } }
        }
        return reading
    }

    /// The outcomes of some attempts' files, one per event of their jobs (`not-run` for an event
    /// without a record), checked against the jobs' manifests (`OutcomeCheck`), and their counts.
    private static func read(_ attempts: [AttemptRecord], in store: StateStore, dataRoot: String) throws -> (readings: [AttemptReading], reading: Reading) {
        var reading = Reading()
        var readings: [AttemptReading] = []
        for attempt in attempts {
            let members = try store.members(ofJob: attempt.jobId)
            let job = try store.job(id: attempt.jobId)
            let contents = OutcomeFile.read(attempt.outcomes)
            let check = OutcomeCheck(job: job.name, attempt: attempt.number, path: attempt.outcomes,
                                     expected: ManifestOutputs.read(job.manifest), dataRoot: dataRoot)
            let checked = check.check(contents, members: members)
            var outcomes = checked.outcomes
            let recorded = Set(outcomes.map(\.eventId))
            let why = contents.records.contains(where: { $0.type == .end }) ? "no record for this event in a finished attempt"
                : "the job ended without its end line: the runner died before this event"
            let missing = members.filter { !recorded.contains($0.id) }
            outcomes += missing.map {
                EventOutcome(eventId: $0.id, state: .notRun, className: FailureClasses.notRun, message: why, seconds: nil, outputs: nil)
            }
            let end = contents.records.last { $0.type == .end }
            logger.debug("read \(attempt.outcomes): \(checked.recorded) records for \(members.count) events, \(missing.count) missing, \(checked.damaged.count) damaged lines")
            readings.append(AttemptReading(attemptId: attempt.id, outcomes: outcomes, damaged: checked.damaged,
                                           runnerPeakKiB: end?.maxrss, runnerCPUSeconds: end?.cpu))
            reading.attempts += 1
            reading.records += checked.recorded
            reading.missing += missing.count
            reading.damaged += checked.damaged.count
            reading.recorded[job.filter, default: []].formUnion(outcomes.map(\.eventId))
        }
        return (readings, reading)
    }

    /// Runs `first` and `second` at once, on two threads; returns what `second` returns. An error of
    /// `first`'s is thrown before one of `second`'s.
    private static func overlapping<T: Sendable>(_ first: @Sendable () throws -> Void,
                                                 with second: @Sendable () throws -> T) throws -> T {
        let results = Mutex<(first: (any Error)?, second: Result<T, any Error>?)>((nil, nil))
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            if index == 0 {
                do { try first() } catch { results.withLock { $0.first = error } }
            } else {
                let result = Result { try second() }
                results.withLock { $0.second = result }
            }
        }
        let (error, result) = results.withLock { ($0.first, $0.second) }
        if let error { throw error }
        return try result!.get()
    }

    /// The report of the step in one filter, from the state store.
    ///
    /// - Returns: DC2013's counts by class, what is in progress, what resubmit would take, the first
    ///   unclassified messages and the jobs dcprod submitted again by itself.
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func report(filter: Filter) throws -> VerificationReport {
        let store = production.store
        var counts: [String: Int] = [:]
        var total = 0
        for count in try store.eventCounts(step: step, filter: filter) {
            total += count.count
            let key = count.state.isVerified ? (count.className ?? count.state.rawValue) : count.state.rawValue
            counts[key, default: 0] += count.count
        }
        let another = try store.events(step: step, filter: filter, className: FailureClasses.other, limit: 10).map {
            VerificationReport.Message(event: $0.key, message: $0.message ?? "")
        }
        var firstFailures: [String: [VerificationReport.Message]] = [:]
        for c in classes.classes where ![FailureClasses.ok, FailureClasses.other, FailureClasses.notRun].contains(c.name) && counts[c.name, default: 0] > 0 {
            firstFailures[c.name] = try store.events(step: step, filter: filter, className: c.name, limit: VerificationReport.firstShown).map {
                VerificationReport.Message(event: $0.key, message: $0.message ?? "")
            }
        }
        let retryable = classes.classes.filter { $0.retry == .retry }.map(\.name)
        let retry = try store.retryableEvents(step: step, filter: filter, classes: retryable, maxRetry: production.config.maxRetry).map(\.key)
        let requeued = try store.requeuedAttemptCounts(step: step, filter: filter)
        return VerificationReport(step: step, filter: filter, total: total, counts: counts,
                                  inProgress: try store.inProgressEventCount(step: step, filter: filter), classes: classes,
                                  retry: retry, another: another, firstFailures: firstFailures,
                                  requeued: Dictionary(uniqueKeysWithValues: requeued.map { ($0.key.rawValue, $0.value) }),
                                  damaged: try store.damagedLines(step: step, filter: filter),
                                  stale: try store.staleEventCount(step: step, filter: filter))
    }

    /// The report of the step in one filter, made from the state store only when its stamp
    /// (`StateStore.reportStamp`) changed since `kept` last held it; else the one kept, whose text is
    /// what it would be.
    ///
    /// - Returns: The report, and whether it was made now.
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func report(filter: Filter, kept: KeptReports?) throws -> (report: VerificationReport, made: Bool) {
        guard let kept else { return (try report(filter: filter), true) }
        // Read before the report: a commit while it is made changes the next stamp, so it is made again then.
        let stamp = try production.store.reportStamp(step: step, filter: filter) + " maxRetry=\(production.config.maxRetry)"
        if let report = kept.report(step: step, filter: filter, stamp: stamp), report.classes.classes == classes.classes {
            return (report, false)
        }
        let report = try report(filter: filter)
        kept.keep(report, stamp: stamp)
        return (report, true)
    }

    /// What `dcprod verify` does: reads the step's new outcome records, writes each filter's report
    /// (`reports/STEP-FILTER.txt` and `.json`) where it changed — a pass of `run` with nothing new
    /// writes none (`AtomicFile.replace`); the step's page (`reports/STEP.html`) is the Views
    /// library's, which the verbs write after this.
    ///
    /// - Parameters:
    ///   - filters: The filters whose reports to write and return.
    ///   - namingEvents: Also name the events given an outcome (`Reading.recorded`), as `run` does.
    ///   - kept: The reports as last made (`report(filter:kept:)`): a filter whose report's stamp did not
    ///     change is neither made nor written again, as `run` does after a job ended in another filter or step.
    /// - Returns: What was read, and the report of each of `filters`, in order.
    /// - Throws: A GRDB `DatabaseError`, or a file system error writing the reports.
    public func verify(filters: [Filter], namingEvents: Bool = false, kept: KeptReports? = nil) throws -> Verification {
        let reading = try read(filters: filters, namingEvents: namingEvents)
        var reports: [VerificationReport] = [], made: [VerificationReport] = []
        for filter in filters {
            let (report, isNew) = try report(filter: filter, kept: kept)
            reports.append(report)
            if isNew { made.append(report) }
        }
        try write(made)
        return Verification(step: step, reading: reading, reports: reports)
    }

    /// Writes reports of the step (`reports/STEP-FILTER.txt` and `.json`), each only where its text
    /// changed (`AtomicFile.replace`).
    ///
    /// - Throws: A file system error.
    public func write(_ reports: [VerificationReport]) throws {
        let directory = production.tree.reportsDirectory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for report in reports {
            let base = directory.appendingPathComponent("\(step.rawValue)-\(report.filter.rawValue)")
            try AtomicFile.replace(Data(report.text.utf8), at: base.appendingPathExtension("txt"))
            try AtomicFile.replace(report.json, at: base.appendingPathExtension("json"))
        }
    }
}

/// Each step's and filter's report as last made, with the stamp of the store it was made at
/// (`StateStore.reportStamp`), kept between the passes of `run` and shared with its step pages: a
/// report is made again only for the step and filter that changed, not for all of them after every job.
public final class KeptReports: Sendable {
    private let reports = Mutex<[Step: [Filter: (stamp: String, report: VerificationReport)]]>([:])

    public init() {}

    /// The report kept for a step and filter, if it was made at `stamp`.
    func report(step: Step, filter: Filter, stamp: String) -> VerificationReport? {
        reports.withLock { kept in kept[step]?[filter].flatMap { $0.stamp == stamp ? $0.report : nil } }
    }

    /// Keeps a report made at `stamp`, in place of the one kept for its step and filter.
    func keep(_ report: VerificationReport, stamp: String) {
        reports.withLock { $0[report.step, default: [:]][report.filter] = (stamp, report) }
    }
}

/// What one `dcprod verify` found: what it read, and the reports of the filters it was asked for.
public struct Verification: Sendable {
    /// The step verified.
    public var step: Step
    /// What was read of the outcome files.
    public var reading: Verifier.Reading
    /// The report of each filter asked for, in order.
    public var reports: [VerificationReport]

    /// Events of the reports.
    public var events: Int { reports.map(\.total).reduce(0, +) }
    /// Events of the reports that are ok.
    public var ok: Int { reports.map { $0.count(FailureClasses.ok) }.reduce(0, +) }
    /// Events that never ran or are still to come.
    public var notRun: Int { reports.map { $0.notRun + $0.inProgress }.reduce(0, +) }

    /// `dcprod verify`'s exit status: 0 when every event is ok, 1 when some failed, 2 when some never ran (or are still to come).
    public var exitStatus: Int32 {
        if notRun > 0 { return 2 }
        return reports.contains { $0.failed > 0 } ? 1 : 0
    }
}
