import Basics
import Foundation
import GRDB
import Planning
import Production
import Sky

/// What the rest of a production will take, per step and filter: jobs, core-hours, wall time at
/// MAXRUNNING, bytes written and catalog rows for the events still to do, each with a one-sigma
/// uncertainty — extrapolated from the events already done (`make(for:)`), or from a sample run in a
/// scratch copy before anything has run (`ForecastSample`, `dcprod forecast --sample N`).
///
/// The method, per step and filter:
///
/// - **The sample** is the events with an outcome read (ok, failed or not run). Each gives its
///   core-seconds (the CPU time accounted for each of its attempts — by the batch system, or where it
///   keeps none, as on the local backend, by the job runner from its payloads' rusage — shared among the
///   attempt's events in proportion to the seconds the runner measured for each; those seconds alone
///   for an attempt with no CPU time at all), its wall seconds (the same
///   with the attempt's elapsed time), its bytes (the sizes verify recorded for the outputs of its
///   latest outcome if ok, else 0) and its catalog rows (`event.loadedRows` if ok and loaded, 0 if it
///   failed; an ok event not loaded yet is left out of the rows sample). Failures are thus priced in:
///   a step where one event in ten fails and costs little forecasts less per event.
/// - **The events still to do**, N, are those in no outcome yet (new or planned). A later step's
///   events exist only once their inputs are verified: while processCcd has frames to do in a filter,
///   or before a later step's events are recorded, N is estimated (`eventsToDoEstimated`) — forcedPhot
///   one event per processCcd frame expected ok (those ok, and those to do times the ok fraction so
///   far), coadd one per sky map patch that the frames ok or to do touch (as `Planner` derives them) —
///   less those already done.
/// - **Totals** are N·m for the sample mean m, with uncertainty √(N²·s²/n + N·s²): the error of the
///   mean of n events (s their standard deviation) carried over N, and the events' own spread. With
///   one event in the sample its value stands for s (100 %); with none, nothing is forecast (0 ± 0).
/// - **Jobs**: the jobs that hold planned events, and ⌈unplanned / EVENTSPERJOB⌉ more.
/// - **Wall time**: waves of MAXRUNNING jobs (one per core on the local backend without it; one wave
///   for a batch system without it), ⌈jobs / MAXRUNNING⌉, each as long as one job: min(EVENTSPERJOB,
///   N) events of the mean wall seconds. The totals line runs the steps one after the other and the
///   filters of a step side by side under one MAXRUNNING: an upper bound for `dcprod run`, which
///   overlaps the steps.
/// - **Sample run**: a line with fewer events done than the sample run measured takes the sample's
///   measures. A coadd's cost grows with the frames it stacks, and a sample of a few frames stacks few:
///   the seconds of the sample's coadds (every filter's) are fitted as a + b·frames (`LinearFit`) and
///   predicted for each patch to do at the frames expected on it, with the fit's prediction error
///   (when the fit has three points, two frame counts and a positive slope; else the plain mean). A
///   sample's coadds are also shallower, so forcedPhot measures fewer DeepSource positions per frame
///   than it will: its forecast from a sample is low (by about a quarter in bytes on the demo).
///
/// Retries are not forecast: an event is priced once, as the sample's events were (with their retries).
public struct Forecast: Codable, Sendable, Equatable {
    /// A value and its one-sigma uncertainty.
    public struct Estimate: Codable, Sendable, Equatable {
        public var value: Double
        public var uncertainty: Double

        public init(value: Double, uncertainty: Double) {
            self.value = value
            self.uncertainty = uncertainty
        }

        public static let zero = Estimate(value: 0, uncertainty: 0)
    }

    /// One step in one filter, or all of them (`totals`, step and filter `all`).
    public struct Line: Codable, Sendable, Equatable {
        public var step: String
        public var filter: String
        /// Events with an outcome read: the sample, unless a sample run stands in for them (see `basis`).
        public var eventsDone: Int
        public var eventsToDo: Int
        /// True when the step's events do not all exist yet, and `eventsToDo` is estimated from its inputs.
        public var eventsToDoEstimated: Bool
        public var jobs: Estimate
        public var coreHours: Estimate
        /// Hours from now to the end of the step's jobs, MAXRUNNING at a time.
        public var wallHours: Estimate
        public var bytes: Estimate
        public var rows: Estimate
        /// In words: "12 events done", "sample run of 3 events", "no event done yet".
        public var basis: String
    }

    /// The most jobs running at once that the wall time assumes; 0: no limit (one wave).
    public var maxRunning: Int
    public var lines: [Line]
    /// Every step and filter: step and filter `all`.
    public var totals: Line
}

// MARK: - Making a forecast

extension Forecast {
    /// The forecast of a production from the events it has done.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read; a `ConfigError` or
    ///   `WCSError` if a later step's patches must be counted and the sky map cannot be read.
    public static func make(for production: Production) throws -> Forecast {
        try make(for: production, sample: nil)
    }

    /// The forecast of a production from the events it has done, and, for the lines with fewer events
    /// done than the sample run measured, from the sample run.
    ///
    /// - Throws: As `make(for:)`.
    public static func make(for production: Production, sample: ForecastSample?) throws -> Forecast {
        let config = production.config
        let limit = config.maxRunning > 0 ? config.maxRunning
            : config.backend == .local ? ProcessInfo.processInfo.activeProcessorCount : 0
        let measured = try measures(of: production.store)
        var lines: [Line] = []
        var patchInputs: [Filter: [Double]] = [:]
        for step in Step.allCases {
            for filter in config.filters {
                let key = LineKey(step: step, filter: filter)
                let standing = try standing(of: production, step: step, filter: filter, patchInputs: &patchInputs)
                var measures = measured[key] ?? EventMeasures()
                let done = measures.events
                var basis = measures.events == 0 ? noSample : "\(measures.events) event\(measures.events == 1 ? "" : "s") done"
                var stacking: Stacking?
                if let sample, let sampled = sample.measures[key], sampled.events > measures.events {
                    measures = sampled
                    basis = "sample run of \(sampled.events) event\(sampled.events == 1 ? "" : "s")"
                    // The sample's coadds stack fewer frames than the production's will: their seconds
                    // are fitted on the frames stacked, over every filter of the sample.
                    if step == .coadd, let inputs = patchInputs[filter], inputs.count == standing.toDo {
                        let points = sample.measures.filter { $0.key.step == .coadd }.flatMap(\.value.stacks)
                        if let core = LinearFit(points.map { ($0.inputs, $0.coreSeconds) }),
                           let wall = LinearFit(points.map { ($0.inputs, $0.wallSeconds) }) {
                            stacking = Stacking(core: core, wall: wall, inputs: inputs)
                            basis += ", seconds fitted on the frames stacked"
                        }
                    }
                }
                if measures.events > 0 && measures.rows.count == 0 { basis += "; no rows loaded yet" }
                let perJob = config.eventsPerJob[step] ?? 1
                lines.append(line(step: step.rawValue, filter: filter.rawValue, done: done, standing: standing, measures: measures,
                                  stacking: stacking, eventsPerJob: perJob, limit: limit, basis: basis))
            }
        }
        return Forecast(maxRunning: limit, lines: lines, totals: totals(of: lines, limit: limit))
    }

    /// One line: the sample's measures carried over the events to do.
    static func line(step: String, filter: String, done: Int, standing: Standing, measures: EventMeasures, stacking: Stacking? = nil,
                     eventsPerJob: Int, limit: Int, basis: String) -> Line {
        let toDo = standing.toDo
        let jobs = standing.plannedJobs + Int((Double(max(0, toDo - standing.planned)) / Double(eventsPerJob)).rounded(.up))
        let waves = limit > 0 ? Int((Double(jobs) / Double(limit)).rounded(.up)) : (jobs > 0 ? 1 : 0)
        // One job's wall time: its events one after the other.
        let perJob = Double(min(eventsPerJob, toDo))
        var jobWall = measures.wallSeconds.extrapolated(over: perJob)
        var core = measures.coreSeconds.extrapolated(over: Double(toDo))
        if let stacking {
            let typical = stacking.inputs.reduce(0, +) / Double(max(stacking.inputs.count, 1))
            jobWall = stacking.wall.total(over: Array(repeating: typical, count: Int(perJob)))
            core = stacking.core.total(over: stacking.inputs)
        }
        return Line(step: step, filter: filter, eventsDone: done, eventsToDo: toDo,
                    eventsToDoEstimated: standing.estimated,
                    jobs: Estimate(value: Double(jobs), uncertainty: 0),
                    coreHours: core.scaled(by: 1 / 3600),
                    wallHours: jobWall.scaled(by: Double(waves) / 3600),
                    bytes: measures.bytes.extrapolated(over: Double(toDo)),
                    rows: measures.rows.extrapolated(over: Double(toDo)),
                    basis: basis)
    }

    /// The line `all`: sums, with uncertainties added in quadrature (the lines' samples are
    /// independent). The steps run one after the other, the filters of a step side by side under one
    /// MAXRUNNING: a step's wall time is its filters' job-hours spread over MAXRUNNING, and at least
    /// its longest filter's.
    static func totals(of lines: [Line], limit: Int) -> Line {
        func sum(_ estimates: [Estimate]) -> Estimate {
            Estimate(value: estimates.map(\.value).reduce(0, +),
                     uncertainty: estimates.map { $0.uncertainty * $0.uncertainty }.reduce(0, +).squareRoot())
        }
        var walls: [Estimate] = []
        for step in Step.allCases {
            let mine = lines.filter { $0.step == step.rawValue && $0.jobs.value > 0 }
            guard !mine.isEmpty else { continue }
            let jobs = mine.map(\.jobs.value).reduce(0, +)
            // Each filter's wall over its waves is its job wall; job-hours = jobs × job wall.
            let jobHours = sum(mine.map { line in
                let waves = limit > 0 ? (line.jobs.value / Double(limit)).rounded(.up) : 1
                return line.wallHours.scaled(by: line.jobs.value / waves)
            })
            let spread = limit > 0 ? jobHours.scaled(by: (jobs / Double(limit)).rounded(.up) / jobs) : jobHours.scaled(by: 1 / jobs)
            let longest = mine.max { $0.wallHours.value < $1.wallHours.value }!.wallHours
            walls.append(spread.value >= longest.value ? spread : longest)
        }
        let done = lines.map(\.eventsDone).reduce(0, +)
        // The totals leave out what nothing forecasts: say which lines those are.
        let unknown = lines.filter { $0.eventsToDo > 0 && $0.coreHours.value == 0 && $0.coreHours.uncertainty == 0 }
        var basis = Set(lines.map(\.basis)).count == 1 ? lines.first?.basis ?? noSample
            : lines.contains { $0.basis.hasPrefix("sample run") } ? (done > 0 ? "sample run and \(done) events done" : "sample run")
            : "\(done) events done"
        if !unknown.isEmpty && unknown.count < lines.count {
            basis += "; without " + unknown.map { "\($0.step) \($0.filter)" }.joined(separator: ", ") + " (no event done yet)"
        }
        return Line(step: "all", filter: "all", eventsDone: done, eventsToDo: lines.map(\.eventsToDo).reduce(0, +),
                    eventsToDoEstimated: lines.contains(where: \.eventsToDoEstimated),
                    jobs: sum(lines.map(\.jobs)), coreHours: sum(lines.map(\.coreHours)), wallHours: sum(walls),
                    bytes: sum(lines.map(\.bytes)), rows: sum(lines.map(\.rows)),
                    basis: basis)
    }
}

// MARK: - What is done and what is to do

extension Forecast {
    /// The basis of a line with nothing to extrapolate from.
    static let noSample = "no event done yet"

    struct LineKey: Hashable, Sendable {
        var step: Step
        var filter: Filter
    }

    /// Where a step stands in a filter: the events to do, those of them in jobs, and those jobs.
    struct Standing {
        var toDo = 0
        /// Events to do that are already in a job, and the jobs that hold them.
        var planned = 0
        var plannedJobs = 0
        var estimated = false
    }

    /// The events of a step and filter by state, with those of them already in a job, and the jobs of
    /// the events to do.
    static func eventsByState(in store: StateStore, step: Step, filter: Filter) throws
        -> (byState: [EventState: (events: Int, inJobs: Int)], jobs: Int) {
        let tallies = try store.eventTallies(step: step, filter: filter)
        return try store.pool.read { db -> ([EventState: (events: Int, inJobs: Int)], Int) in
            var byState: [EventState: (events: Int, inJobs: Int)] = [:]
            for tally in tallies {
                if let state = EventState(rawValue: tally.state) { byState[state, default: (0, 0)].events += tally.events }
            }
            // Of the events to do, those already in a job: read event by event, but only those to do.
            for row in try Row.fetchAll(db, sql: """
                SELECT state, SUM(jobId IS NOT NULL) FROM event WHERE step = ? AND filter = ? AND state IN (?, ?) AND state != 'ok' GROUP BY state
                """, arguments: [step, filter, EventState.new, EventState.planned]) {
                if let state = EventState(rawValue: row[0] as String) { byState[state, default: (0, 0)].inJobs = row[1] as Int }
            }
            let jobs = try Int.fetchOne(db, sql: """
                SELECT COUNT(DISTINCT jobId) FROM event WHERE step = ? AND filter = ? AND state IN (?, ?) AND state != 'ok' AND jobId IS NOT NULL
                """, arguments: [step, filter, EventState.new, EventState.planned]) ?? 0
            return (byState, jobs)
        }
    }

    /// The events a step has to do in a filter; for a later step whose events are not all recorded
    /// yet, an estimate from the processCcd frames (see the type's discussion). `patchInputs` gets,
    /// when coadd's patches are counted, the frames expected on each patch.
    static func standing(of production: Production, step: Step, filter: Filter, patchInputs: inout [Filter: [Double]]) throws -> Standing {
        let (byState, plannedJobs) = try eventsByState(in: production.store, step: step, filter: filter)
        let pending = (byState[.new]?.events ?? 0) + (byState[.planned]?.events ?? 0)
        var standing = Standing(toDo: pending, planned: (byState[.new]?.inJobs ?? 0) + (byState[.planned]?.inJobs ?? 0),
                                plannedJobs: plannedJobs)
        guard step.inputStep != nil else { return standing }
        let existing = byState.values.map(\.events).reduce(0, +)
        let verified = existing - pending
        // The processCcd frames of the filter: ok, to do, and the fraction of those verified that came out ok.
        // As the store keeps them counted, not read event by event: 313,000 frames a filter.
        var frames: [EventState: Int] = [:]
        for tally in try production.store.eventTallies(step: .processCcd, filter: filter) {
            if let state = EventState(rawValue: tally.state) { frames[state, default: 0] += tally.events }
        }
        let framesOk = frames[.ok] ?? 0
        let framesToDo = (frames[.new] ?? 0) + (frames[.planned] ?? 0)
        let framesVerified = frames.filter { $0.key.isVerified && $0.key != .withdrawn }.values.reduce(0, +)
        guard framesToDo > 0 || existing == 0 else {
            if step == .coadd {
                // The frames each coadd to do stacks, as recorded.
                patchInputs[filter] = try production.store.pool.read { db in
                    try Double.fetchAll(db, sql: """
                        SELECT COUNT(*) FROM event e JOIN event_input ei ON ei.eventId = e.id
                        WHERE e.step = ? AND e.filter = ? AND e.state IN (?, ?) GROUP BY e.id
                        """, arguments: [step, filter, EventState.new, EventState.planned])
                }
            }
            return standing
        }
        let okFraction = framesVerified > 0 ? Double(framesOk) / Double(framesVerified) : 1
        let expected: Int
        switch step.unit {
        case .frame:
            expected = framesOk + Int((Double(framesToDo) * okFraction).rounded())
        case .patch:
            let inputs = try framesOnPatches(of: production, filter: filter)
            expected = inputs.count
            patchInputs[filter] = inputs.values.map(Double.init)
        }
        standing.toDo = max(pending, expected - verified)
        standing.estimated = true
        return standing
    }

    /// The processCcd frames of a filter ok or to do on each sky map patch they touch: the patches the
    /// store keeps for them, by set; a reader finds those of an older store's frames without keeping them,
    /// a page at a time (a synthetic store of DC2013's size has none kept: 1.57M footprints held at once
    /// made `verify`'s pages 110 MiB larger).
    static func framesOnPatches(of production: Production, filter: Filter) throws -> [PatchId: Int] {
        let map = try SkyMap.of(production)
        var inputs: [PatchId: Int] = [:]
        let (store, states) = (production.store, [EventState.ok, .new, .planned])
        for set in try store.framePatchSets(step: .processCcd, filter: filter, states: states) {
            for patch in FramePatches.patches(set.patches) ?? [] { inputs[patch, default: 0] += set.frames }
        }
        var after = Int64.min
        while case let unknown = try store.framesWithoutPatches(step: .processCcd, filter: filter, states: states, after: after, limit: 10_000),
              let last = unknown.last {
            for frame in unknown {
                for patch in try map.patches(touching: frame.footprint) { inputs[patch, default: 0] += 1 }
            }
            after = last.frameId
        }
        return inputs
    }

    /// The measures of every done event of the store, by step and filter (see the type's discussion).
    static func measures(of store: StateStore) throws -> [LineKey: EventMeasures] {
        try store.pool.read { db in
            let attempts = try AttemptTimes.all(db)
            // The frames each done coadd stacked.
            var stacked: [Int64: Double] = [:]
            let inputs = try Row.fetchCursor(db, sql: """
                SELECT e.id, COUNT(*) FROM event e JOIN event_input ei ON ei.eventId = e.id
                WHERE e.step = ? AND e.state IN (?, ?, ?) GROUP BY e.id
                """, arguments: [Step.coadd, EventState.ok, EventState.failed, EventState.notRun])
            while let row = try inputs.next() { stacked[row[0] as Int64] = row[1] as Double }
            var measures: [LineKey: EventMeasures] = [:]
            // Every outcome of every done event, an event's together.
            let rows = try Row.fetchCursor(db, sql: """
                SELECT e.id, e.step, e.filter, e.state, e.loadedRows, o.attemptId, o.seconds, o.attemptId = e.attemptId, o.sizes
                FROM event e JOIN outcome o ON o.eventId = e.id
                WHERE e.state IN (?, ?, ?) ORDER BY e.id
                """, arguments: [EventState.ok, EventState.failed, EventState.notRun])
            var current: (id: Int64, key: LineKey, state: EventState, rows: Int?, core: Double, wall: Double, bytes: Double)?
            func flush() {
                guard let event = current else { return }
                measures[event.key, default: EventMeasures()].add(core: event.core, wall: event.wall,
                                                                   bytes: event.state == .ok ? event.bytes : 0,
                                                                   rows: event.state == .ok ? event.rows.map(Double.init) : 0)
                if let frames = stacked[event.id] {
                    measures[event.key]!.stacks.append(StackPoint(inputs: frames, coreSeconds: event.core, wallSeconds: event.wall))
                }
            }
            while let row = try rows.next() {
                let id: Int64 = row[0]
                if current?.id != id {
                    flush()
                    guard let step = Step(rawValue: row[1] as String), let filter = Filter(rawValue: row[2] as String),
                          let state = EventState(rawValue: row[3] as String) else {
                        current = nil
                        continue
                    }
                    current = (id, LineKey(step: step, filter: filter), state, row[4] as Int?, 0, 0, 0)
                }
                guard current != nil else { continue }
                let seconds = (row[6] as Double?) ?? 0
                if let attempt = attempts[row[5] as Int64] {
                    current!.core += attempt.share(attempt.cpu, seconds: seconds)
                    current!.wall += attempt.share(attempt.elapsed, seconds: seconds)
                } else {
                    current!.core += seconds
                    current!.wall += seconds
                }
                if (row[7] as Bool?) == true {
                    current!.bytes = ((row[8] as String?) ?? "").split(separator: "\n").compactMap { Double($0) }.reduce(0, +)
                }
            }
            flush()
            return measures
        }
    }

}

// MARK: - Statistics

/// The per-event measures of the done events of one step and filter.
struct EventMeasures: Sendable, Equatable {
    var coreSeconds = Moments()
    var wallSeconds = Moments()
    var bytes = Moments()
    /// Events ok and loaded, and those that failed (0 rows); not those ok and not yet loaded.
    var rows = Moments()
    /// For coadd: the frames each event stacked, and its seconds.
    var stacks: [StackPoint] = []

    var events: Int { coreSeconds.count }

    mutating func add(core: Double, wall: Double, bytes: Double, rows: Double?) {
        coreSeconds.add(core)
        wallSeconds.add(wall)
        self.bytes.add(bytes)
        if let rows { self.rows.add(rows) }
    }

}

/// A done coadd: the frames it stacked and its seconds.
struct StackPoint: Sendable, Equatable {
    var inputs: Double
    var coreSeconds: Double
    var wallSeconds: Double
}

/// The seconds of a coadd to do, for a sample run's coadds that stacked fewer frames: they are fitted
/// as a + b·frames, and predicted over each patch's expected frames.
struct Stacking {
    var core: LinearFit
    var wall: LinearFit
    /// The frames expected on each patch to do.
    var inputs: [Double]
}

/// A least-squares line y = a + b·x through a sample.
struct LinearFit: Sendable, Equatable {
    var a: Double
    var b: Double
    var count: Int
    var meanX: Double
    /// Σ(x − x̄)², and the residuals' variance.
    var sxx: Double
    var residualVariance: Double

    /// The fit of `points`; nil with fewer than three, all at one x, or a slope that is not positive
    /// (more frames never cost less: the sample is then too noisy to say how much more).
    init?(_ points: [(x: Double, y: Double)]) {
        guard points.count >= 3 else { return nil }
        let n = Double(points.count)
        let meanX = points.map(\.x).reduce(0, +) / n, meanY = points.map(\.y).reduce(0, +) / n
        let sxx = points.map { ($0.x - meanX) * ($0.x - meanX) }.reduce(0, +)
        guard sxx > 0 else { return nil }
        let b = points.map { ($0.x - meanX) * ($0.y - meanY) }.reduce(0, +) / sxx
        guard b > 0 else { return nil }
        let a = meanY - b * meanX
        let residuals = points.map { $0.y - a - b * $0.x }
        self.init(a: a, b: b, count: points.count, meanX: meanX, sxx: sxx,
                  residualVariance: residuals.map { $0 * $0 }.reduce(0, +) / max(n - 2, 1))
    }

    init(a: Double, b: Double, count: Int, meanX: Double, sxx: Double, residualVariance: Double) {
        (self.a, self.b, self.count, self.meanX, self.sxx, self.residualVariance) = (a, b, count, meanX, sxx, residualVariance)
    }

    /// The total over events at `xs`: Σ(a + b·x), ± √(N²·s²·(1/n + (x̄ₚ − x̄)²/Sxx) + N·s²) — the fitted
    /// line's error at the events' mean x carried over N, and their own scatter about it.
    func total(over xs: [Double]) -> Forecast.Estimate {
        guard !xs.isEmpty else { return .zero }
        let n = Double(xs.count), meanXs = xs.reduce(0, +) / n
        let lineError = residualVariance * (1 / Double(count) + (meanXs - meanX) * (meanXs - meanX) / sxx)
        return Forecast.Estimate(value: n * a + b * xs.reduce(0, +), uncertainty: (n * n * lineError + n * residualVariance).squareRoot())
    }
}

/// Count, mean and sum of squared deviations of a sample, accumulated one value at a time (Welford):
/// a production's million events are never held in memory.
struct Moments: Sendable, Equatable {
    private(set) var count = 0
    private(set) var mean = 0.0
    private var squares = 0.0

    mutating func add(_ value: Double) {
        count += 1
        let delta = value - mean
        mean += delta / Double(count)
        squares += delta * (value - mean)
    }

    /// The sample's standard deviation; with one value, the value itself (nothing says it is typical).
    var deviation: Double {
        count > 1 ? (squares / Double(count - 1)).squareRoot() : abs(mean)
    }

    /// The total over `n` more events like these: n·mean, ± √(n²·s²/count + n·s²) (the error of the
    /// mean carried over n events, and their own spread). Nothing without a sample.
    func extrapolated(over n: Double) -> Forecast.Estimate {
        guard count > 0, n > 0 else { return .zero }
        let s2 = deviation * deviation
        return Forecast.Estimate(value: n * mean, uncertainty: (n * n * s2 / Double(count) + n * s2).squareRoot())
    }
}

extension Forecast.Estimate {
    func scaled(by factor: Double) -> Forecast.Estimate {
        Forecast.Estimate(value: value * factor, uncertainty: uncertainty * abs(factor))
    }
}

/// What the batch system accounted of an attempt (CPU and elapsed time) and the seconds its events'
/// outcomes add up to: an event's share of the attempt's time goes by its seconds.
private struct AttemptTimes {
    var cpu: Double?
    var elapsed: Double?
    var seconds: Double
    var outcomes: Int

    /// Every attempt with outcomes, by id.
    static func all(_ db: Database) throws -> [Int64: AttemptTimes] {
        var attempts: [Int64: AttemptTimes] = [:]
        let rows = try Row.fetchCursor(db, sql: """
            SELECT a.id, a.cpuTime, a.elapsed, SUM(o.seconds), COUNT(o.eventId)
            FROM attempt a JOIN outcome o ON o.attemptId = a.id GROUP BY a.id
            """)
        while let row = try rows.next() {
            attempts[row[0] as Int64] = AttemptTimes(cpu: (row[1] as String?).flatMap(BatchResources.duration),
                                                     elapsed: (row[2] as String?).flatMap(BatchResources.duration),
                                                     seconds: (row[3] as Double?) ?? 0, outcomes: row[4] as Int)
        }
        return attempts
    }

    /// An outcome's share of the attempt's accounted `total`: in proportion to its seconds; its own
    /// seconds where nothing was accounted.
    func share(_ total: Double?, seconds: Double) -> Double {
        guard let total else { return seconds }
        return self.seconds > 0 ? total * seconds / self.seconds : total / Double(max(outcomes, 1))
    }
}
