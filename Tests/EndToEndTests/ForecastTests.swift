import Foundation
import Testing

/// `dcprod forecast`: what the rest of a production will take, from what has run or from a sample run,
/// checked against what the rest then used.
/// Serialized: the accuracy test measures run times, which the sample run beside it would slow.
@Suite(.serialized) struct ForecastOfAProduction {
    struct Forecast: Decodable {
        struct Estimate: Decodable { var value: Double; var uncertainty: Double }
        struct Line: Decodable {
            var step: String, filter: String, eventsDone: Int, eventsToDo: Int, eventsToDoEstimated: Bool
            var jobs: Estimate, coreHours: Estimate, wallHours: Estimate, bytes: Estimate, rows: Estimate
            var basis: String
        }
        var maxRunning: Int
        var lines: [Line]
        var totals: Line

        func line(_ step: String) throws -> Line { try #require(lines.first { $0.step == step }, "no \(step) line") }
    }

    struct Accounting: Decodable {
        struct Volume: Decodable { var bytes: Int64 }
        struct Line: Decodable { var step: String; var coreHours: Double; var outputs: [Volume] }
        var lines: [Line]

        func processCcd() throws -> (coreHours: Double, bytes: Double) {
            let line = try #require(lines.first { $0.step == "processCcd" })
            return (line.coreHours, Double(line.outputs.map(\.bytes).reduce(0, +)))
        }
    }

    static func forecast(_ work: Workspace, _ extra: [String] = []) throws -> Forecast {
        let result = try DCProd.run(["forecast", "--json"] + extra, in: work.url)
        try #require(result.status == 0, "\(result.stderr)")
        return try JSONDecoder().decode(Forecast.self, from: Data(result.stdout.utf8))
    }

    static func accounting(_ work: Workspace) throws -> Accounting {
        let result = try DCProd.run(["accounting", "--json"], in: work.url)
        try #require(result.status == 0, "\(result.stderr)")
        return try JSONDecoder().decode(Accounting.self, from: Data(result.stdout.utf8))
    }

    /// The state store's files, byte for byte (a write-ahead log that SQLite left empty is no write).
    static func store(_ work: Workspace) -> [Data] {
        let root = work.url.appendingPathComponent("lsstprod/DC_2013")
        return ["state.sqlite", "state.sqlite-wal"].map { FileManager.default.contents(atPath: root.appendingPathComponent($0).path) ?? Data() }
    }

    /// The issue's promise on the demo's sky: a forecast made after 20 % of processCcd is within 15 % of
    /// what the whole step then used. The frames arrive in two deliveries (INPUT gets a fifth of them,
    /// then the rest), as a campaign's data do.
    ///
    /// The local backend's core-hours are the payloads' CPU seconds as their runner measured them
    /// (getrusage), which move less with the machine's load than wall seconds but still move: the
    /// other suites of the run (and other users of a shared machine) start and stop while the fifth
    /// and the rest run, a dozen seconds apart, and share the caches and the memory bus. Bytes do not
    /// move: every trial must be within 15 % for them. Core-hours must be within 15 % on one of up to
    /// three trials, each a new production; every trial's figures are printed.
    @Test func aForecastAfterAFifthOfProcessCcdIsWithinFifteenPercentOfWhatTheStepUsed() throws {
        var trials: [String] = []
        for _ in 1...3 {
            let trial = try Self.forecastAfterAFifth()
            trials.append(trial.text)
            print("forecast accuracy: \(trial.text)")
            #expect(abs(trial.foreseen.bytes - trial.used.bytes) <= 0.15 * trial.used.bytes, "\(trial.text)")
            if abs(trial.foreseen.coreHours - trial.used.coreHours) <= 0.15 * trial.used.coreHours { return }
        }
        Issue.record("core-hours never within 15 %: \(trials.joined(separator: "\n"))")
    }

    /// One trial: a fifth of processCcd done, the forecast, the rest done; what was foreseen for the
    /// whole step (the fifth's accounting and the forecast of the rest) and what it used.
    static func forecastAfterAFifth() throws -> (foreseen: (coreHours: Double, bytes: Double), used: (coreHours: Double, bytes: Double), text: String) {
        let work = try Workspace()
        let input = work.url.appendingPathComponent("delivered")
        let simulated = work.url.appendingPathComponent("lsstprod-data/DC_2013/input")
        try SeedPatch.prepare(work, filters: "r", frames: 60, seed: 29, defects: 0,
                              extra: "INPUT \(input.path)\nREFCAT \(simulated.path)/refcat.csv\nEVENTSPERJOB processCcd 2\nMAXRUNNING 1",
                              region: SeedPatch.neighbourhood)
        let frames = try #require(FileManager.default.enumerator(atPath: simulated.path)?.compactMap { $0 as? String }
            .filter { $0.hasSuffix(".fit") && $0.contains("fpC-") }.sorted())
        try #require(frames.count == 60)
        /// Moves frames (and their masks) from where they were simulated into INPUT.
        func deliver(_ names: [String]) throws {
            for name in names {
                for file in [name, name.replacingOccurrences(of: "fpC-", with: "fpM-")] {
                    let target = input.appendingPathComponent(file)
                    try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                    try FileManager.default.moveItem(at: simulated.appendingPathComponent(file), to: target)
                }
            }
        }
        // A fifth, spread over the sky (every fifth frame by name), is processed.
        let first = frames.enumerated().filter { $0.offset % 5 == 0 }.map(\.element)
        try deliver(first)
        for arguments in [["inventory"], ["plan", "processCcd"], ["submit", "processCcd"], ["verify", "processCcd"]] {
            let result = try DCProd.run(arguments, in: work.url)
            try #require(result.status == 0, "\(arguments): \(result.stdout)\(result.stderr)")
        }
        // The rest are delivered and inventoried, not processed: the forecast is made now.
        try deliver(frames.filter { !first.contains($0) })
        let inventory = try DCProd.run(["inventory"], in: work.url)
        try #require(inventory.status == 0, "\(inventory.stderr)")
        let before = Self.store(work)
        let forecast = try Self.forecast(work)
        #expect(Self.store(work) == before, "forecast wrote the state store")
        let atAFifth = try Self.accounting(work).processCcd()

        let processCcd = try forecast.line("processCcd")
        #expect(processCcd.eventsDone == 12 && processCcd.eventsToDo == 48 && !processCcd.eventsToDoEstimated)
        #expect(processCcd.jobs.value == 24 && processCcd.basis.hasPrefix("12 events done"), "\(processCcd.basis)")
        #expect(processCcd.coreHours.uncertainty > 0 && processCcd.bytes.uncertainty > 0)
        #expect(processCcd.wallHours.value > 0 && forecast.maxRunning == 1)
        // Later steps have no event yet: their counts are estimated from the frames.
        let forcedPhot = try forecast.line("forcedPhot"), coadd = try forecast.line("coadd")
        #expect(forcedPhot.eventsToDoEstimated && forcedPhot.eventsToDo == 60, "\(forcedPhot)")
        #expect(coadd.eventsToDoEstimated && coadd.eventsToDo >= 9, "\(coadd)")
        #expect(forecast.totals.step == "all" && forecast.totals.eventsToDo == 48 + coadd.eventsToDo + 60)

        // The rest is processed; the whole step's accounting is compared with what was foreseen.
        for arguments in [["plan", "processCcd"], ["submit", "processCcd"], ["verify", "processCcd"]] {
            let result = try DCProd.run(arguments, in: work.url)
            try #require(result.status == 0, "\(arguments): \(result.stdout)\(result.stderr)")
        }
        let whole = try Self.accounting(work).processCcd()
        let coreHours = atAFifth.coreHours + processCcd.coreHours.value
        let bytes = atAFifth.bytes + processCcd.bytes.value
        let text = String(format: "core-hours foreseen %.5f ± %.5f, used %.5f (%+.1f %%); bytes foreseen %.0f ± %.0f, written %.0f (%+.2f %%)",
                          coreHours, processCcd.coreHours.uncertainty, whole.coreHours, 100 * (coreHours / whole.coreHours - 1),
                          bytes, processCcd.bytes.uncertainty, whole.bytes, 100 * (bytes / whole.bytes - 1))
        // Nothing left to do: the forecast says so.
        let after = try Self.forecast(work).line("processCcd")
        #expect(after.eventsDone == 60 && after.eventsToDo == 0 && after.coreHours.value == 0 && after.jobs.value == 0)
        return ((coreHours, bytes), whole, text)
    }

    /// Before anything has run, a sample run in a scratch copy gives every step an estimate, and the
    /// production is left as it was.
    @Test func aSampleRunForecastsEveryStepBeforeAnythingHasRun() throws {
        let work = try Workspace()
        try SeedPatch.prepare(work, filters: "r", frames: 6, seed: 31, defects: 0, extra: "")
        let nothing = try Self.forecast(work)
        #expect(nothing.lines.allSatisfy { $0.coreHours.value == 0 && $0.eventsDone == 0 && $0.basis == "no event done yet" })
        #expect(try nothing.line("processCcd").eventsToDo == 6)

        let tree = work.url.appendingPathComponent("lsstprod/DC_2013")
        let logbook = try FileManager.default.contentsOfDirectory(atPath: tree.appendingPathComponent("logbook").path)
        let temporary = Set((try? FileManager.default.contentsOfDirectory(atPath: FileManager.default.temporaryDirectory.path)) ?? [])
        let before = Self.store(work)
        let forecast = try Self.forecast(work, ["--sample", "2"])
        #expect(Self.store(work) == before, "forecast --sample wrote the state store")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tree.appendingPathComponent("logbook").path) == logbook)
        let left = Set((try? FileManager.default.contentsOfDirectory(atPath: FileManager.default.temporaryDirectory.path)) ?? [])
            .subtracting(temporary).filter { $0.hasPrefix("dcprod-forecast-") }
        #expect(left.isEmpty, "scratch copies left: \(left)")
        for line in forecast.lines {
            #expect(line.basis.hasPrefix("sample run of"), "\(line.step): \(line.basis)")
            #expect(line.coreHours.value > 0 && line.bytes.value > 0 && line.wallHours.value > 0 && line.jobs.value > 0, "\(line.step)")
            #expect(line.eventsToDo > 0 && line.eventsDone == 0, "\(line.step)")
        }
        #expect(try forecast.line("processCcd").rows.value > 0)
        #expect(forecast.totals.coreHours.value > 0)
        // The text form has a line per step and the totals.
        let text = try DCProd.run(["forecast"], in: work.url)
        #expect(text.status == 0 && text.stdout.contains("forcedPhot") && text.stdout.contains("all"), "\(text.stdout)")
    }
}
