import Basics
import Foundation
import Mustache
import Production
import Sky

/// Turns a step's events into jobs: one manifest and one batch script per job, and the jobs
/// and their events as rows of the state store. Planning again plans only what is new.
public struct Planner {
    public struct Summary: Sendable, Equatable {
        public var jobs: [Filter: Int] = [:]
        public var events: [Filter: Int] = [:]

        /// Nothing planned.
        public init() {}

        public var line: String {
            let parts = Filter.allCases.compactMap { f in jobs[f].map { "\(f.rawValue) \($0) jobs/\(events[f] ?? 0) events" } }
            return "\(jobs.values.reduce(0, +)) jobs for \(events.values.reduce(0, +)) events"
                + (parts.isEmpty ? "" : " (" + parts.joined(separator: ", ") + ")")
        }
    }

    /// An event as planning needs it: its id and the variables of its command that are its own.
    struct PlannableEvent {
        var id: Int64
        var key: String
        var variables: [String: String]
    }

    /// Variables that differ from event to event; the others are the same for a step and filter.
    static let perEventVariables = ["frame", "mask", "key", "stem", "run", "camcol", "field", "tract", "patch", "inputs", "positions"]

    func sharedVariables(step: Step, filter: Filter) -> [String: String] {
        ["dcprod": dcprod, "filter": filter.rawValue, "filterId": String(filter.filterId),
         "out": production.tree.dataDirectory(step, filter).path, "refcat": production.config.refcat,
         "input": production.config.input, "production": production.tree.root.path,
         "skymap": templates.appendingPathComponent("skymap/dc2013.skymap").path,
         "jobs": production.tree.jobsDirectory(step, filter).path,
         "calexps": production.tree.dataDirectory(.processCcd, filter).path]
    }

    public let production: Production
    /// The dcprod that jobs call (`{{dcprod}}` in templates): the running one by default.
    public let dcprod: String
    /// Jobs written per state-store transaction.
    public var transactionSize = 64

    public init(production: Production, dcprod: String) {
        self.production = production
        self.dcprod = dcprod
    }

    var templates: URL { production.tree.templatesDirectory }

    /// Plans every event of `step` not yet in a job, per filter.
    ///
    /// - Parameter deriving: Record the step's events from the earlier step's first (`derive`); false
    ///   when the caller has just done so.
    public func plan(step: Step, filters: [Filter], deriving: Bool = true) throws -> Summary {
        try Templates.install(into: templates)
        var loaded: StepDefinition?
        var summary = Summary()
        // Events are read a page at a time, a whole number of jobs each, so that memory does not grow
        // with the production (313,000 frames a filter in DC2013); the jobs are those one read would make.
        let page = (production.config.eventsPerJob[step] ?? 100) * transactionSize
        for filter in filters {
            if deriving { try derive(step: step, filter: filter) }
            // A filter with nothing to plan (in a pass of `run`, all but the one whose job ended) has
            // neither its step definition read nor its commands specialised.
            guard try production.store.hasUnplannedEvents(step: step, filter: filter) else { continue }
            let definition = try loaded ?? StepDefinition.load(step: step, templates: templates)
            loaded = definition
            let commands = try definition.specialized(shared: sharedVariables(step: step, filter: filter), perEvent: Self.perEventVariables)
            var after: String?
            while true {
                let events = try plannable(step: step, filter: filter, .unplanned, after: after, limit: page, needing: commands.variables)
                guard let last = events.last else { break }
                summary.jobs[filter, default: 0] += try makeJobs(definition: definition, commands: commands, filter: filter, events: events)
                summary.events[filter, default: 0] += events.count
                after = last.key
            }
        }
        return summary
    }

    /// New jobs for chosen events (resubmission, stale events); their earlier jobs and outcomes stay as history.
    public func replan(step: Step, filter: Filter, eventIds: [Int64]) throws -> Int {
        let definition = try StepDefinition.load(step: step, templates: templates)
        let commands = try definition.specialized(shared: sharedVariables(step: step, filter: filter), perEvent: Self.perEventVariables)
        let events = try plannable(step: step, filter: filter, .all, only: Set(eventIds), needing: commands.variables)
        return try makeJobs(definition: definition, commands: commands, filter: filter, events: events)
    }

    /// Records the events of a step made from an earlier one's verified events (see `Step.inputStep`):
    /// a coadd's patches, forcedPhot's frames. Nothing for the first step.
    ///
    /// - Parameters:
    ///   - changed: The ids of the earlier steps' events (processCcd's, and for forcedPhot coadd's too)
    ///     whose outcome was recorded since the step was last derived: only what they touch is derived
    ///     again, and nothing at all, not a frame read, when the set is empty. nil when not known (the
    ///     first pass of a run, `dcprod plan`): everything is derived.
    ///   - positionsDerived: With `changed`, forcedPhot's coadds (`Step.positionsStep`) are derived from
    ///     those events already (`dcprod run`, from their own cursor): they are not derived again.
    ///
    /// Deriving everything moves the step's plan cursor (`StateStore.setPlanCursor`) to the last attempt
    /// verified before it began: a `dcprod run` after `dcprod plan` derives only from what was verified
    /// since, where it had derived the whole production again (400 s of CPU at DC2013's size).
    public func derive(step: Step, filter: Filter, changed: Set<Int64>? = nil, positionsDerived: Bool = false) throws {
        guard step.inputStep != nil else { return }
        let store = production.store
        switch (step.unit, changed) {
        case (.patch, let changed?): try derivePatches(step: step, filter: filter, changed: changed)
        case (.frame, let changed?): try deriveFrames(step: step, filter: filter, changed: changed, positionsDerived: positionsDerived)
        case (let unit, nil):
            let verified = try store.lastVerifiedSequence()
            if unit == .patch { try derivePatches(step: step, filter: filter) } else { try deriveFrames(step: step, filter: filter) }
            try store.setPlanCursor(step: step, filter: filter, sequence: verified)
        }
    }

    /// Every frame processCcd verified ok, recorded as the step's event with that frame's event as
    /// its input; for forcedPhot (`Step.positionsStep`) only once the coadds of all the patches it
    /// touches are settled, those coadds then inputs too (`positioned`).
    func deriveFrames(step: Step, filter: Filter) throws {
        let frames = try production.store.verifiedFrames(step: .processCcd, filter: filter)
        var events = frames.map { DerivedEvent(key: $0.key, inputIds: [$0.eventId], frameId: $0.frameId) }
        if let positions = step.positionsStep {
            // A coadd that is stale is to be made again: not settled. Its new inputs (a frame
            // redone since it was made) are recorded first, so that it is known stale now.
            try derive(step: positions, filter: filter)
            let settled = try production.store.verifiedKeys(step: positions, filter: filter)
                .subtracting(try production.store.staleEvents(step: positions, filter: filter).map(\.key))
            let coadds = try production.store.eventIds(step: positions, filter: filter).filter { settled.contains($0.key) }
            events = try positioned(frames, settled: { _ in coadds })
        }
        try production.store.recordDerivedEvents(events, step: step, filter: filter)
    }

    /// `deriveFrames(step:filter:)` for what changed: the frames whose processCcd event changed and, for
    /// forcedPhot, those touching the patches whose coadd changed — the only frames whose event can
    /// have become due. (New inputs recorded now to a coadd can only make it stale, never settled.)
    func deriveFrames(step: Step, filter: Filter, changed: Set<Int64>, positionsDerived: Bool) throws {
        guard !changed.isEmpty else { return }
        let store = production.store
        var frames = try store.frameStandings(step: .processCcd, filter: filter, ids: changed)
        var events: [DerivedEvent]
        if let positions = step.positionsStep {
            if !positionsDerived { try derive(step: positions, filter: filter, changed: changed) }
            frames += try store.frameStandings(step: .processCcd, filter: filter,
                                               touching: try store.eventKeys(step: positions, filter: filter, ids: changed))
            var seen = Set<Int64>()
            frames = frames.filter { $0.state == .ok && seen.insert($0.eventId).inserted }
            events = try positioned(frames, settled: { try store.settledEventIds(step: positions, filter: filter, keys: $0) })
        } else {
            events = frames.filter { $0.state == .ok }.map { DerivedEvent(key: $0.key, inputIds: [$0.eventId], frameId: $0.frameId) }
        }
        guard !events.isEmpty else { return }
        try store.recordDerivedEvents(events, step: step, filter: filter)
    }

    /// The events of `frames` whose positions are complete: every patch each touches has its coadd
    /// settled, and those coadds are inputs too, so that one redone makes the frame's event stale.
    ///
    /// - Parameter settled: Of the patch keys given, those whose coadd is settled, with its event id.
    func positioned<Frame: PlacedFrame>(_ frames: [Frame], settled: (Set<String>) throws -> [String: Int64]) throws -> [DerivedEvent] {
        var framePatches = FramePatches(production: production)
        let patches = try frames.map { frame in
            try framePatches.patches(frameId: frame.frameId, footprint: frame.footprint, kept: frame.patches).map(\.description)
        }
        try framePatches.keep(in: production.store)
        let coadds = try settled(Set(patches.joined()))
        return zip(frames, patches).compactMap { frame, patches in
            let inputs = patches.compactMap { coadds[$0] }
            guard inputs.count == patches.count else { return nil }
            return DerivedEvent(key: frame.key, inputIds: [frame.eventId] + inputs, frameId: frame.frameId)
        }
    }

    /// The events of a step and filter with the variables of their commands that are their own.
    /// - Parameters:
    ///   - only: When given, only these events (resubmission): nothing is computed or written for the others.
    ///   - after: Frames only: events whose key sorts after this one. Patch events are read at once.
    ///   - limit: Frames only: at most this many.
    private func plannable(step: Step, filter: Filter, _ selection: StateStore.EventSelection, only: Set<Int64>? = nil,
                           after: String? = nil, limit: Int? = nil, needing: Set<String>) throws -> [PlannableEvent] {
        switch step.unit {
        case .frame: try frames(step: step, filter: filter, selection, only: only, after: after, limit: limit, needing: needing)
        case .patch: after == nil ? try patches(step: step, filter: filter, selection, only: only, needing: needing) : []
        }
    }

    /// Patch events: `key`, `tract`, `patch`, and `inputs`, a file listing the calexps of its input
    /// frames (`jobs/inputs/KEY.txt`), which the manager writes now: a job never reads the state store.
    ///
    /// - Parameter optional: Per event key, calexps that a bundle makes before its coadd (`PatchBundles`):
    ///   listed after a `?`, used if they exist (their processCcd may fail).
    func patches(step: Step, filter: Filter, _ selection: StateStore.EventSelection, only: Set<Int64>?,
                 needing: Set<String>, optional: [String: [String]] = [:]) throws -> [PlannableEvent] {
        let directory = production.tree.jobsDirectory(step, filter).appendingPathComponent("inputs")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var events: [PlannableEvent] = []
        let withInputs = needing.contains("inputs")
        try production.store.forEachDerivedEvent(step: step, filter: filter, selection, only: only, withInputs: withInputs) { id, key, inputs in
            var variables = ["key": key]
            if let dash = key.firstIndex(of: "-") {
                variables["tract"] = String(key[..<dash])
                variables["patch"] = String(key[key.index(after: dash)...])
            }
            if withInputs {
                let list = directory.appendingPathComponent("\(key).txt")
                let calexps = inputs.filter(Self.isCalexp) + (optional[key] ?? []).map { "?" + $0 }
                try AtomicFile.write(Data(calexps.map { $0 + "\n" }.joined().utf8), to: list)
                variables["inputs"] = list.path
            }
            events.append(PlannableEvent(id: id, key: key, variables: variables))
        }
        return events
    }

    /// Where a frame's forced-photometry positions are written: `jobs/positions/KEY.csv` (from the
    /// catalog, `StepPlanning`) or, in a bundle, `KEY.sources` (`PatchBundles`).
    public static func positionsFile(step: Step, filter: Filter, key: String, tree: ProductionTree, bundled: Bool = false) -> URL {
        tree.jobsDirectory(step, filter).appendingPathComponent("positions/\(key).\(bundled ? "sources" : "csv")")
    }

    /// Frame events: the frame's path, its mask, key, stem, run, camcol and field, and the file of
    /// their forced-photometry positions.
    func frames(step: Step, filter: Filter, _ selection: StateStore.EventSelection, only: Set<Int64>?,
                after: String? = nil, limit: Int? = nil, needing: Set<String>) throws -> [PlannableEvent] {
        try production.store.frameEvents(step: step, filter: filter, selection, after: after, limit: limit).filter { only?.contains($0.id) ?? true }.map { event in
            let name = FrameName(run: event.run, filter: filter, camcol: event.camcol, field: event.field)
            var variables: [String: String] = [:]
            for variable in needing {
                switch variable {
                case "frame": variables[variable] = event.path
                case "mask": variables[variable] = event.path.replacingOccurrences(of: "/fpC-", with: "/fpM-")
                case "key": variables[variable] = event.key
                case "stem": variables[variable] = name.stem
                case "run": variables[variable] = String(name.run)
                case "camcol": variables[variable] = String(name.camcol)
                case "field": variables[variable] = String(name.field)
                case "positions": variables[variable] = Self.positionsFile(step: step, filter: filter, key: event.key, tree: production.tree).path
                default: break
                }
            }
            return PlannableEvent(id: event.id, key: event.key, variables: variables)
        }
    }

    /// Groups events into jobs of EVENTSPERJOB, writes each job's manifest and batch script
    /// (temporary name, then rename), then records the jobs in transactions of `transactionSize`.
    private func makeJobs(definition: StepDefinition, commands: StepDefinition.Specialized, filter: Filter,
                          events: [PlannableEvent]) throws -> Int {
        let step = definition.step
        let perJob = production.config.eventsPerJob[step] ?? 100
        let writer = try JobWriter(planner: self, definition: definition, commands: commands, filter: filter)
        var next = try production.store.jobCount(step: step, filter: filter) + 1
        var pending: [PlannedJob] = []
        func flush() throws {
            try production.store.recordJobs(pending, step: step, filter: filter)
            pending.removeAll(keepingCapacity: true)
        }

        var count = 0
        for start in stride(from: 0, to: events.count, by: perJob) {
            pending.append(try writer.write(number: next, events: events[start..<min(start + perJob, events.count)]))
            next += 1
            count += 1
            if pending.count >= transactionSize { try flush() }
        }
        try flush()
        return count
    }

    /// Writes the files of a step's jobs in one filter: each job's manifest and batch script.
    ///
    /// What is the same for every job (paths, the shared part of the script's context) is made once
    /// here: with one event a job, URL arithmetic and shell quoting per job were half of planning.
    struct JobWriter {
        let definition: StepDefinition
        let commands: StepDefinition.Specialized
        let filter: Filter
        let script: StepDefinition.Specialized.Word
        let sharedContext: [String: Any]
        let rulesFile: String
        let classesFile: String
        let outcomes: String
        let logs: String
        let jobs: String
        let backend: String
        /// The step's template, the batch script's and the config, as the jobs are planned with them.
        let setupId: Int64

        init(planner: Planner, definition: StepDefinition, commands: StepDefinition.Specialized, filter: Filter) throws {
            (self.definition, self.commands, self.filter) = (definition, commands, filter)
            let (step, tree, templates) = (definition.step, planner.production.tree, planner.templates)
            backend = planner.production.config.backend.rawValue
            func text(_ url: URL) -> String { (try? String(contentsOf: url, encoding: .utf8)) ?? "" }
            setupId = try planner.production.store.recordSetup(JobSetup(
                template: text(templates.appendingPathComponent("steps/\(step.rawValue).step")),
                batch: text(templates.appendingPathComponent("batch/\(backend).sh.mustache")), config: text(tree.configFile)))
            sharedContext = planner.sharedScriptContext(step: step, filter: filter)
            script = StepDefinition.Specialized.Word(try planner.batchTemplate(backend), shared: sharedContext,
                                                     perEvent: Planner.jobScriptVariables)
            rulesFile = templates.appendingPathComponent("rules/\(definition.rules).rules").path
            guard FileManager.default.fileExists(atPath: rulesFile) else {
                throw TemplateError(file: templates.appendingPathComponent("steps/\(step.rawValue).step").path, line: 0,
                                    message: "rule set '\(definition.rules)' has no file \(rulesFile)")
            }
            classesFile = definition.classesFile(templates: templates)
            let directories = [tree.jobsDirectory(step, filter), tree.logsDirectory(step, filter), tree.outcomesDirectory(step, filter)]
            for directory in directories {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            }
            (jobs, logs, outcomes) = (directories[0].path, directories[1].path, directories[2].path)
        }

        /// The name of the job numbered `number`: `STEP-FILTER-NNNNNN`.
        func name(_ number: Int) -> String {
            let digits = String(number)
            return "\(definition.step.rawValue)-\(filter.rawValue)-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
        }

        /// Writes job `number` of these events (temporary name, then rename); records nothing.
        func write(number: Int, events: ArraySlice<PlannableEvent>) throws -> PlannedJob {
            let name = name(number)
            let manifest = JobManifest(
                job: name, step: definition.step.rawValue, filter: filter.rawValue, rules: rulesFile, classes: classesFile,
                timeLimit: definition.timeLimit, outcomes: outcomes, logs: logs,
                events: events.map { event in
                    let rendered = commands.render(event.variables)
                    return JobManifest.Event(key: event.key, command: rendered.command, outputs: rendered.outputs)
                })
            let manifestPath = "\(jobs)/\(name).json"
            try AtomicFile.write(manifest.jsonData(), toPath: manifestPath)
            let text = script.render(Planner.jobScriptContext(job: name, events: events.count, manifest: manifestPath), shared: sharedContext)
            try AtomicFile.write(Data(text.utf8), toPath: "\(jobs)/\(name).\(backend).sh", mode: 0o755)
            logger.debug("wrote job \(name): \(events.count) events, \(manifestPath)")
            return PlannedJob(name: name, manifest: manifestPath, eventIds: events.map(\.id), setupId: setupId)
        }
    }

    func batchTemplate(_ backend: String) throws -> MustacheTemplate {
        let url = templates.appendingPathComponent("batch/\(backend).sh.mustache")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw TemplateError(file: url.path, line: 0, message: "no batch script template for backend \(backend)")
        }
        return try textTemplate(text, file: url.path, line: 1)
    }

    /// A value as one word for /bin/sh: in single quotes, each `'` written `'\''`. Nothing inside
    /// single quotes is interpreted (`$`, backticks, `;`, `*`, `"`, spaces), so a path from the config
    /// reaches the command as it is. The templates use `shellDcprod` and `shellManifests` (a bundle's
    /// are several words); `dcprod`, `manifest` and `shellManifest` stay for templates a production copied before.
    static func shellWord(_ value: String) -> String {
        value.utf8.contains(0x27) ? "'" + value.replacingOccurrences(of: "'", with: "'\\''") + "'" : "'" + value + "'"
    }

    func scriptContext(job: String, step: Step, filter: Filter, events: Int, manifest: String) -> [String: Any] {
        sharedScriptContext(step: step, filter: filter).merging(Self.jobScriptContext(job: job, events: events, manifest: manifest)) { $1 }
    }

    /// The variables of a batch script that are the same for every job of a step and filter.
    func sharedScriptContext(step: Step, filter: Filter) -> [String: Any] {
        let config = production.config
        var context: [String: Any] = [
            "step": step.rawValue, "filter": filter.rawValue, "dcprod": dcprod, "shellDcprod": Self.shellWord(dcprod),
            "walltime": config.walltime[step] ?? "01:00:00", "memory": config.memory[step] ?? "2G",
            "logs": production.tree.logsDirectory(step, filter).path, "directives": config.directives,
        ]
        if let queue = config.queue { context["queue"] = queue }
        if let project = config.project { context["project"] = project }
        return context
    }

    /// The variables of a batch script that are the job's own (`events` as text: the script is
    /// specialised with text markers for them).
    static func jobScriptContext(job: String, events: Int, manifest: String) -> [String: String] {
        ["job": job, "events": String(events), "manifest": manifest, "shellManifest": shellWord(manifest), "shellManifests": shellWord(manifest)]
    }

    static let jobScriptVariables = ["job", "events", "manifest", "shellManifest", "shellManifests"]
}

/// A frame event with its frame, as derivation reads it.
protocol PlacedFrame {
    var eventId: Int64 { get }
    var frameId: Int64 { get }
    var key: String { get }
    var footprint: [(ra: Double, dec: Double)] { get }
    /// The frame's patches as the store keeps them; nil when not known yet.
    var patches: String? { get }
}

extension VerifiedFrame: PlacedFrame {}
extension FrameStanding: PlacedFrame {}
