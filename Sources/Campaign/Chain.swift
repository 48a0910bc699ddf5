import Basics
import Batch
import Catalog
import Foundation
import Planning
import Production
import Synchronization
import Verification
import Views

/// `dcprod run`: processCcd → coadd → forcedPhot, each event planned and submitted as soon as what
/// it needs is verified ok — a patch's coadd as soon as the calexps that touch it are, a frame's
/// forced photometry as soon as the coadds of the patches it touches are loaded — and each step's
/// results verified and loaded as its jobs end.
///
/// The run goes in passes: each polls the batch system once, reads the new outcome files and loads
/// the new results (earliest step first), then plans what became ready and hands over what waits
/// without waiting for it (latest step first, so that ready coadds take the free room before more
/// processCcd jobs), until a pass changes nothing and no job of the production is queued or running. Every move is
/// one that can be repeated: planning plans only new events, submission adopts the jobs a killed run
/// handed over and never submits a job twice, verify reads only new outcome files, loading skips
/// what the ledger has. A run killed at any moment and started again therefore goes on where it
/// was. What failed is left to a person: the reports say what `resubmit` would take.
public struct Chain {
    /// How each step is planned: the production, the dcprod its jobs call, the catalog's option file.
    public let planning: StepPlanning
    public var production: Production { planning.production }

    /// A chain on a production.
    ///
    /// - Parameters:
    ///   - production: The production.
    ///   - dcprod: The dcprod that the jobs' scripts call.
    ///   - defaultsFile: The MariaDB option file with the password; nil: the client's own files or MYSQL_PWD.
    public init(production: Production, dcprod: String, defaultsFile: String? = nil) {
        planning = StepPlanning(production: production, dcprod: dcprod, defaultsFile: defaultsFile)
    }

    /// What happened to one step of a run.
    public struct StepRun: Sendable {
        public var step: Step
        /// The jobs and events planned now (none when all were planned before).
        public var planned: Planner.Summary
        /// The submission, followed to its end.
        public var submission: Submitter.Summary
        /// The outcome records read and the step's reports.
        public var verification: Verification
        /// The results loaded into the catalog.
        public var load: ProductionCatalog.StepLoad
    }

    /// Where a run is: the jobs of this run ended so far, and those queued, running or not yet
    /// handed over (all steps'), after each pass.
    public struct Progress: Sendable, Equatable {
        public var finished = 0
        public var running = 0
        public var pending = 0
    }

    /// Seconds between passes while jobs run: from `interval`, ×1.5 after each pass in which nothing
    /// changed, up to `maximumInterval`.
    public var interval = 0.2
    public var maximumInterval = 5.0
    /// Least seconds between two writes of a step's page during the run: the page draws every event of
    /// the step (seconds at DC2013's size), so it is written again only after this long, or twenty
    /// times what its last write took if that is longer, and on a thread of its own (`PageSchedule`):
    /// no pass waits for it. The run's end writes every page.
    public var pageInterval = 10.0

    /// Runs the chain on some filters.
    ///
    /// - Parameters:
    ///   - filters: The filters.
    ///   - byPatch: One batch job per patch and filter running its three steps in succession
    ///     (`Planner.planBundles(filters:)`), instead of each step's events in jobs of EVENTSPERJOB.
    ///   - progress: Called after each pass.
    /// - Returns: Each step that has events, in order, with what this run did to it.
    /// - Throws: What a step's move throws: `TemplateError`, `BatchError` (the jobs already handed over
    ///   are recorded; run again to go on), `CatalogError`, a GRDB `DatabaseError`.
    public func run(filters: [Filter], byPatch: Bool = false, progress: (Progress) -> Void = { _ in }) throws -> [StepRun] {
        let catalog = try ProductionCatalog.open(production, readOnly: false, defaultsFile: planning.defaultsFile, createDatabase: true)
        _ = try catalog.initialize()
        let submitter = Submitter(production: production)
        let reports = try ReportWriter(production: production)
        // A poll sees every step's attempts end: which step's they were is counted from the store.
        let endedBefore = Set(try production.store.attempts(in: Self.endedStates).map(\.id))
        var runs: [Step: StepRun] = [:]
        var pause = interval
        var finished = 0
        let pages = PageSchedule(least: pageInterval)
        defer { try? pages.finish() }
        var unseen = UnseenOutcomes()
        var reported: [Step: Reported] = [:], submitted: [Step: (version: Int, summary: Submitter.Summary)] = [:]
        var plannedAt: [Step: Int] = [:]
        var verifiers: [Step: Verifier] = [:]
        while true {
            // Every attempt that ended since the last pass is recorded, whatever its step.
            let polled = try submitter.refresh()
            finished += polled.finished
            let read = try readEnded(filters: filters, catalog: catalog, reports: reports, pages: pages, namingEvents: byPatch,
                                     verifiers: &verifiers, reported: &reported)
            var changed = polled.adopted + polled.finished > 0 || read.changed, active = false
            if byPatch { for (step, verification) in read.verifications { unseen.add(verification.reading.recorded, of: step) } }
            // Later steps first: what became ready takes the free room (MAXRUNNING) before more of
            // the earlier steps' jobs do.
            var pass = Progress()
            let bundles = byPatch ? try Planner(production: production, dcprod: planning.dcprod)
                .planBundles(filters: filters, changed: unseen.take(for: nil)) : [:]
            for step in Step.allCases.reversed() {
                let planned = try namingALostCatalog(catalog) {
                    try plan(step: step, filters: filters, changed: unseen.take(for: step), byPatch: byPatch, bundled: bundles[step], kept: &plannedAt)
                }
                let submission = try submit(step: step, filters: filters, with: submitter, kept: &submitted)
                let (verification, load) = (read.verifications[step]!, read.loads[step]!)
                if var run = runs[step] {
                    run.add(planned: planned, submission: submission, verification: verification, load: load)
                    runs[step] = run
                } else {
                    runs[step] = StepRun(step: step, planned: planned, submission: submission, verification: verification, load: load)
                }
                changed = changed || !planned.jobs.isEmpty || submission.submitted + submission.adopted > 0
                active = active || submission.running + submission.pending > 0
                pass.running = submission.running
                pass.pending += submission.pending
            }
            pass.finished = finished
            progress(pass)
            if !active && !changed { break }
            pause = changed ? interval : min(pause * 1.5, maximumInterval)
            Thread.sleep(forTimeInterval: pause)
        }
        try pages.finish()
        // A catalog file deleted after the last pass's load took its rows with it: said, not left unseen.
        try catalog.database.requireFile()
        return try finish(runs, filters: filters, endedBefore: endedBefore)
    }

    /// `body`'s result; its error replaced by the catalog's when the catalog file was deleted under the run:
    /// forcedPhot's planning opens the catalog anew, and finds a file deleted since the pass's load missing
    /// before the run's own connection is asked (`requireFile`), which says what happened.
    private func namingALostCatalog<T>(_ catalog: ProductionCatalog, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            try catalog.database.requireFile()
            throw error
        }
    }

    /// The states of an attempt that ended and counts as ended in a run's summary.
    private static let endedStates = AttemptState.allCases.filter { !$0.isActive && $0 != .cancelled }

    /// The steps of a run that has ended, each with its attempts ended during it counted and its reports
    /// written as the run leaves them (also one whose file was taken away while it did not change).
    private func finish(_ runs: [Step: StepRun], filters: [Filter], endedBefore: Set<Int64>) throws -> [StepRun] {
        var runs = runs
        for (step, var run) in runs {
            try Verifier(production: production, step: step).write(run.verification.reports)
            let endedNow = try production.store.attempts(in: Self.endedStates, step: step, filters: filters).filter { !endedBefore.contains($0.id) }
            run.submission.finished = endedNow.count
            run.submission.failed = endedNow.filter { $0.state != .done }.count
            run.submission.requeued = endedNow.filter { $0.state == .requeued }.count
            runs[step] = run
        }
        return Step.allCases.compactMap { runs[$0] }.filter { run in run.verification.reports.contains { $0.total > 0 } }
    }

    /// Reads and loads what ended, earliest step first, so that what it makes ready is planned in the
    /// same pass; a step's page follows what was read, drawn beside the pass (the whole report is
    /// written when the run ends).
    ///
    /// - Returns: Each step's verification and load, and whether anything was read or loaded.
    /// - Parameter namingEvents: Name the events given an outcome (`Verifier.Reading.recorded`): only
    ///   `--by-patch` bundles plan from them; each step's own planning goes from the store (`deriveVerified`).
    private func readEnded(filters: [Filter], catalog: ProductionCatalog, reports: ReportWriter, pages: PageSchedule,
                           namingEvents: Bool, verifiers: inout [Step: Verifier], reported: inout [Step: Reported]) throws
        -> (verifications: [Step: Verification], loads: [Step: ProductionCatalog.StepLoad], changed: Bool) {
        var verifications: [Step: Verification] = [:], loads: [Step: ProductionCatalog.StepLoad] = [:], changed = false
        for step in Step.allCases {
            let verification = try verify(step: step, filters: filters, namingEvents: namingEvents, kept: reports.site.keptReports,
                                          verifiers: &verifiers, reported: &reported)
            if verification.reading.attempts > 0 { pages.read(step) }
            try pages.writeIfDue(step, with: reports)
            let load = try catalog.load(step: step, deferIndexes: false, everyFile: false)
            (verifications[step], loads[step]) = (verification, load)
            changed = changed || verification.reading.attempts > 0 || load.summary.loaded > 0
        }
        return (verifications, loads, changed)
    }

    /// Hands over what waits of a step, without waiting for it, unless nothing of the step waited at
    /// the last call and nothing was committed to the store since: then nothing can have come to wait,
    /// and the jobs are where they were. Finding what waits reads the latest attempt of every job of the
    /// step (40,000 at DC2013's size), which a pass with nothing new need not do.
    private func submit(step: Step, filters: [Filter], with submitter: Submitter,
                        kept: inout [Step: (version: Int, summary: Submitter.Summary)]) throws -> Submitter.Summary {
        // The version before the submission: what it commits makes the next call look again.
        let version = try production.store.readings.version()
        if let last = kept[step], last.version == version, last.summary.pending == 0 {
            var same = Submitter.Summary()
            same.running = last.summary.running
            return same
        }
        // No poll of its own: the room that ends freed is the pass's, given in this order.
        let summary = try submitter.submit(step: step, filters: filters, wait: false, polling: false)
        kept[step] = (version, summary)
        return summary
    }

    /// A step's verification as of a version of the state store (`StoreReadings.version`).
    struct Reported {
        var version: Int
        var verification: Verification
    }

    /// Reads a step's new outcome files and makes again those of its filters' reports that changed
    /// (`Verifier.verify`, `kept`: a job that ended makes its own step's and filter's, and those of what
    /// it made ready), unless nothing was read and nothing committed to the store since they were made:
    /// then they are what they were, and not even their stamps are read. A report lists each class's
    /// first failures and the events a resubmission would take, which a pass would otherwise read again
    /// from every failed event of the production. The step's verifier is kept from pass to pass
    /// (`verifiers`), made again when its definition or class list changed on disk.
    private func verify(step: Step, filters: [Filter], namingEvents: Bool, kept: KeptReports,
                        verifiers: inout [Step: Verifier], reported: inout [Step: Reported]) throws -> Verification {
        let verifier: Verifier
        if let current = verifiers[step], current.isCurrent {
            verifier = current
        } else {
            verifier = try Verifier(production: production, step: step)
            verifiers[step] = verifier
        }
        let reading = try verifier.read(filters: filters, namingEvents: namingEvents)
        // The version before the reports: a commit while they are made makes the next pass make them again.
        let version = try production.store.readings.version()
        if reading.attempts == 0, var kept = reported[step]?.verification, reported[step]?.version == version {
            kept.reading = reading
            return kept
        }
        var verification = try verifier.verify(filters: filters, namingEvents: namingEvents, kept: kept)
        reported[step] = Reported(version: version, verification: verification)
        // What this verify read arrived after the first reading: both are the pass's.
        let late = verification.reading
        verification.reading = reading
        verification.reading.attempts += late.attempts
        verification.reading.records += late.records
        verification.reading.missing += late.missing
        verification.reading.damaged += late.damaged
        verification.reading.recorded.merge(late.recorded) { $0.union($1) }
        return verification
    }

    /// Plans what is ready of a step: its events in jobs of EVENTSPERJOB, or, by patch, what the pass's
    /// bundles planned of it (`bundled`) and what no bundle will take.
    ///
    /// Step by step, a step is not planned at all when nothing was committed to the store since its last
    /// planning began (`kept`: the store's version then, by step): no event can have been recorded, verified,
    /// loaded or made stale, so none can have become ready. A pass with nothing new then reads no step
    /// definition, renders no script template and opens no catalog for forcedPhot's positions, three steps
    /// and every filter of them: 38–48 ms of its thread's CPU became 8–10 ms at 1/100 and 1/10 of DC2013.
    ///
    /// - Parameter changed: By patch, what the step's planning is to look at (`UnseenOutcomes`); nil: everything.
    ///   Step by step, a later step derives from what was verified since its cursor (`deriveVerified`).
    private func plan(step: Step, filters: [Filter], changed: [Filter: Set<Int64>]?, byPatch: Bool,
                      bundled: Planner.Summary?, kept: inout [Step: Int]) throws -> Planner.Summary {
        guard byPatch else {
            // The version before the planning: what it commits makes the next pass plan again.
            let version = try production.store.readings.version()
            guard kept[step] != version else { return Planner.Summary() }
            let summary: Planner.Summary
            if step.inputStep == nil {
                summary = try planning.plan(step: step, filters: filters)
            } else {
                for filter in filters { try deriveVerified(step: step, filter: filter) }
                // Derived above from what was verified since: the planning derives nothing more.
                summary = try planning.plan(step: step, filters: filters, changed: [:])
            }
            kept[step] = version
            return summary
        }
        var planned = bundled ?? Planner.Summary()
        guard step.inputStep != nil else { return planned }
        // What a bundle made on inputs that have since been redone (stale) is planned again on its own,
        // and so is the forced photometry of a frame redone outside a bundle (resubmitted): a frame is
        // measured in the bundle of the last patch it touches, so once all its patches are settled no
        // bundle will take it. A coadd is left to its bundle, which may not be ready yet.
        let again = step == .forcedPhot ? try planning.plan(step: step, filters: filters, changed: changed)
                                        : try planning.replanStale(step: step, filters: filters, changed: changed)
        planned.jobs.merge(again.jobs, uniquingKeysWith: +)
        planned.events.merge(again.events, uniquingKeysWith: +)
        return planned
    }
}

extension Chain {
    /// Attempts read at a time by `deriveVerified`: 40 jobs of 250 events, 10,000 events.
    static let derivedAttempts = 40

    /// Derives a later step's events of a filter from the outcomes verified since its planning last
    /// derived (`StateStore.planCursor`, kept in the store), a few jobs' events at a time: neither the
    /// first pass of a run (everything verified before is new to it) nor a pass after a million outcomes
    /// holds them at once, and a restarted run goes on where the last stopped instead of deriving
    /// everything again. Frames whose patches the store does not know yet are placed first, a thousand
    /// at a time: the patches are then derived from `frame_patch`, not from every frame of the filter.
    ///
    /// A coadd's patches are derived once, after the last batch (`Planner.derivePatches(step:filter:changedIn:)`):
    /// a deep patch that many batches touch is not read again for each, which made a first pass's time grow
    /// with the square of the depth. forcedPhot's coadds are brought up to date first, from their own
    /// cursor, and its frames derived a batch at a time from them as they are then, without deriving
    /// the coadds again.
    ///
    /// - Throws: A GRDB `DatabaseError`; `WCSError` or the sky map's error when a frame cannot be placed.
    func deriveVerified(step: Step, filter: Filter) throws {
        if let positions = step.positionsStep { try deriveVerified(step: positions, filter: filter) }
        let store = production.store
        var cursor = try store.planCursor(step: step, filter: filter)
        let last = try store.lastVerifiedSequence()
        guard cursor < last else { return }
        if try store.hasFramesWithoutPatches(step: .processCcd, filter: filter, states: EventState.allCases) { _ = try FramePatches.fill(in: production) }
        let inputs = [step.inputStep, step.positionsStep].compactMap { $0 }
        let planner = Planner(production: production, dcprod: planning.dcprod)
        func next() throws -> StateStore.VerifiedEvents? {
            try store.eventsVerified(steps: inputs, filter: filter, after: cursor, through: last, attempts: Self.derivedAttempts)
        }
        switch step.unit {
        case .patch:
            // The cursor moves on once all is derived: a run killed before then derives those batches again.
            try planner.derivePatches(step: step, filter: filter) {
                guard let verified = try next() else { return nil }
                cursor = verified.through
                return verified.eventIds
            }
        case .frame:
            while let verified = try next() {
                try planner.derive(step: step, filter: filter, changed: verified.eventIds, positionsDerived: true)
                cursor = verified.through
                try store.setPlanCursor(step: step, filter: filter, sequence: cursor)
            }
        }
        try store.setPlanCursor(step: step, filter: filter, sequence: last)
    }
}

/// What each later step's planning has yet to look at during a `--by-patch` run — the events of the steps it is
/// made from (`Step.inputStep`, `positionsStep`) that verify gave an outcome since it was last
/// planned, by filter — so that a pass derives from what changed, not from the whole production.
/// Before a step's first planning in the run nothing is known (nil): that planning derives
/// everything, once. `--by-patch` bundles (the step nil) look at every step's outcomes.
struct UnseenOutcomes {
    private var recorded: [Step?: [Filter: Set<Int64>]] = [:]

    /// Adds the events of `step` that a pass's verify gave an outcome (`Verifier.Reading.recorded`).
    mutating func add(_ events: [Filter: Set<Int64>], of step: Step) {
        for later in [nil] + Step.allCases where later == nil || later?.inputStep == step || later?.positionsStep == step {
            recorded[later]?.merge(events) { $0.union($1) }
        }
    }

    /// What the planning of `step` (nil: the bundles) is to look at now, forgotten once given.
    mutating func take(for step: Step?) -> [Filter: Set<Int64>]? {
        defer { recorded[step] = [:] }
        return recorded[step]
    }
}

/// When each step's page is written during a run: when something of the step was read since its
/// last write, and `least` seconds or twenty times that write's cost have passed since. A page's first
/// drawing reads every event of its step (seconds at DC2013's size; later ones only the filters that
/// changed, kept by the run's `ReportWriter`), so it is drawn on a thread of its own: the pass that
/// asked for it goes on verifying, loading, planning and submitting without waiting, and a page still
/// being drawn is not asked for again until it is done.
final class PageSchedule: Sendable {
    let least: Double
    private struct State {
        /// The steps read since their page was last asked for.
        var unwritten: Set<Step> = []
        /// When each page was last asked for, and how long its drawing took (nil: not done yet).
        var last: [Step: (at: Date, seconds: Double?)] = [:]
        /// The first error a drawing met, given to the pass that comes next.
        var error: (any Error)?
    }
    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "dcprod.run.pages")

    init(least: Double) {
        self.least = least
    }

    /// Notes that something of `step` was read: its page is to be drawn again.
    func read(_ step: Step) {
        state.withLock { _ = $0.unwritten.insert(step) }
    }

    /// Has the page of `step` drawn, on the pages' thread, if something of it was read since it was
    /// last asked for and that drawing is done and long enough ago.
    ///
    /// - Throws: What an earlier drawing threw (a GRDB `DatabaseError`, `TemplateError`, a file system error).
    func writeIfDue(_ step: Step, with reports: ReportWriter) throws {
        let due = try state.withLock { state -> Bool in
            if let error = state.error { throw error }
            guard state.unwritten.contains(step) else { return false }
            if let last = state.last[step] {
                guard let seconds = last.seconds, Date().timeIntervalSince(last.at) >= max(least, 20 * seconds) else { return false }
            }
            state.unwritten.remove(step)
            state.last[step] = (Date(), nil)
            return true
        }
        guard due else { return }
        queue.async { [self] in
            let start = Date()
            do {
                try reports.writeStep(step)
            } catch {
                state.withLock { if $0.error == nil { $0.error = error } }
            }
            state.withLock { $0.last[step] = (start, Date().timeIntervalSince(start)) }
        }
    }

    /// Waits for the pages being drawn: a run leaves none half-drawn behind it, even one that stops on an error.
    ///
    /// - Throws: What a drawing threw.
    func finish() throws {
        queue.sync {}
        if let error = state.withLock({ $0.error }) { throw error }
    }
}

extension Chain.StepRun {
    /// Adds a later pass: what it planned, submitted and loaded adds up; where the jobs stand and
    /// the reports are the latest.
    mutating func add(planned more: Planner.Summary, submission next: Submitter.Summary, verification latest: Verification,
                      load again: ProductionCatalog.StepLoad) {
        planned.jobs.merge(more.jobs, uniquingKeysWith: +)
        planned.events.merge(more.events, uniquingKeysWith: +)
        // Ended attempts are counted from the store at the end of the run (a poll sees every step's).
        submission.submitted += next.submitted
        submission.adopted += next.adopted
        submission.running = next.running
        submission.pending = next.pending
        verification = latest
        // Files skipped are those the ledger had before the run: the first pass's count.
        load.recoveredIndexes += again.recoveredIndexes
        let skipped = load.summary.skipped
        load.summary.add(later: again.summary)
        load.summary.skipped = skipped
    }
}
