import Basics
import Foundation
import Planning
import Production
import Sky

/// A forecast's measures from a sample run, before anything has run (`dcprod forecast --sample N`).
///
/// A scratch production is made in a temporary directory from the production's config, with MAINDIR,
/// DATAMAIN and INPUT in the scratch directory, BACKEND local and the embedded catalog (a sample run
/// never writes the production's catalog server); the production's own `templates/` (its step
/// commands and sky map) replace the defaults. Its INPUT holds symbolic links to N frames per filter of
/// the production's processCcd events (N consecutive ones by key from the middle of the filter's
/// list, so that they share patches and the sample has coadds to make) and their masks; REFCAT is the
/// production's. The whole chain runs there (`dcprod run`, the same binary, as a child process with an
/// argument vector): N processCcd and N forcedPhot events per filter, and the coadds of the patches
/// the N frames touch. Its measures are read as `Forecast` reads a production's, and the scratch
/// directory is deleted. The production itself is only read.
public struct ForecastSample: Sendable {
    /// The frames per filter the sample ran.
    public var framesPerFilter: Int
    /// The measures of the sample's done events, per step and filter.
    var measures: [Forecast.LineKey: EventMeasures]

    /// Runs a sample of `frames` frames per filter of `production` in a scratch copy.
    ///
    /// - Parameters:
    ///   - frames: The processCcd events per filter to run (and so forcedPhot's).
    ///   - production: The production, opened for reading.
    ///   - dcprod: The dcprod binary that runs the chain (and that the scratch jobs call).
    ///   - directory: Where the scratch directory is made (and deleted); default: the temporary directory.
    /// - Throws: `ForecastSampleError` when the sample run fails or produces no outcome; what
    ///   `Production.prepare` and `Inventory` throw for the scratch production.
    public static func run(frames: Int, of production: Production, dcprod: String,
                           in directory: URL = FileManager.default.temporaryDirectory) throws -> ForecastSample {
        let fm = FileManager.default
        let scratch = directory.appendingPathComponent("dcprod-forecast-\(UUID().uuidString)")
        try fm.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: scratch) }
        let input = scratch.appendingPathComponent("input")
        guard try linkFrames(frames, of: production, into: input) > 0 else { throw ForecastSampleError.noFrames }
        let root = try prepareScratch(of: production, in: scratch, input: input, frames: frames)
        let tail = try runChain(dcprod: dcprod, root: root, log: scratch.appendingPathComponent("run.log"))
        let measures = try Forecast.measures(of: Production.open(root: root, access: .read).store)
        guard !measures.isEmpty else { throw ForecastSampleError.runFailed("no outcome was read", tail()) }
        return ForecastSample(framesPerFilter: frames, measures: measures)
    }

    /// Links `frames` frames per filter from the middle of the production's, with their masks, under
    /// `input`, each at its place under INPUT (RUN/CAMCOL/…); a frame elsewhere gets a directory of its own.
    ///
    /// - Returns: The frames linked.
    private static func linkFrames(_ frames: Int, of production: Production, into input: URL) throws -> Int {
        let fm = FileManager.default
        let realInput = URL(fileURLWithPath: production.config.input).standardizedFileURL.path
        var linked = 0
        for filter in production.config.filters {
            let events = try production.store.frameEvents(step: .processCcd, filter: filter, .all)
            let start = max(0, (events.count - frames) / 2)
            for (index, event) in events.dropFirst(start).prefix(frames).enumerated() {
                let frame = URL(fileURLWithPath: event.path)
                let relative = event.path.hasPrefix(realInput + "/") ? String(event.path.dropFirst(realInput.count + 1))
                                                                     : "\(filter.rawValue)-\(index)/\(frame.lastPathComponent)"
                let link = input.appendingPathComponent(relative)
                try fm.createDirectory(at: link.deletingLastPathComponent(), withIntermediateDirectories: true)
                try fm.createSymbolicLink(atPath: link.path, withDestinationPath: frame.path)
                let mask = frame.deletingLastPathComponent().appendingPathComponent(frame.lastPathComponent.replacingOccurrences(of: "fpC-", with: "fpM-"))
                if mask != frame && fm.fileExists(atPath: mask.path) {
                    try fm.createSymbolicLink(atPath: link.deletingLastPathComponent().appendingPathComponent(mask.lastPathComponent).path,
                                              withDestinationPath: mask.path)
                }
                linked += 1
            }
        }
        return linked
    }

    /// Prepares the scratch production — the production's config with its trees, INPUT, the local
    /// backend and the embedded catalog in `scratch`, and the production's own templates — and runs
    /// its inventory.
    ///
    /// - Returns: The scratch production's root.
    private static func prepareScratch(of production: Production, in scratch: URL, input: URL, frames: Int) throws -> URL {
        let fm = FileManager.default
        var config = production.config
        config.mainDir = scratch.appendingPathComponent("main").path
        config.dataMain = scratch.appendingPathComponent("data").path
        config.input = input.path
        config.backend = .local
        config.dbHost = "sqlite"
        config.dbSplit = .none
        let source = scratch.appendingPathComponent("fichconfig.txt")
        try Data(config.frozenText(preparedFrom: "the config of \(production.tree.root.path)").utf8).write(to: source)
        let (sample, _) = try Production.prepare(config: config, source: source.path,
                                                 commandLine: ["dcprod", "forecast", "--sample", String(frames)])
        let templates = sample.tree.templatesDirectory
        try fm.removeItem(at: templates)
        try fm.copyItem(at: production.tree.templatesDirectory, to: templates)
        _ = try Inventory(config: config, store: sample.store).run(skyMap: try? SkyMap.of(sample))
        return sample.tree.root
    }

    /// Runs the chain on the scratch production, as `dcprod run` runs it, its output kept in `log`.
    ///
    /// - Returns: The end of the log, for an error.
    /// - Throws: `ForecastSampleError.runFailed` unless the run ended with status 0, 1 (some events
    ///   failed) or 2 (some never ran).
    private static func runChain(dcprod: String, root: URL, log: URL) throws -> () -> String {
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        let result = ChildProcess.run([dcprod, "run", "--production", root.path], output: handle.fileDescriptor,
                                      timeLimit: 7 * 86_400)
        try? handle.close()
        let tail = { (try? String(contentsOf: log, encoding: .utf8)).map { String($0.suffix(2000)) } ?? "" }
        switch result {
        case .exited(let status) where status <= 2: break   // 1: some events failed; 2: some never ran
        case .exited(let status): throw ForecastSampleError.runFailed("exit status \(status)", tail())
        case .signaled(let signal): throw ForecastSampleError.runFailed("signal \(signal)", tail())
        case .timedOut: throw ForecastSampleError.runFailed("timed out", tail())
        case .couldNotStart(let reason): throw ForecastSampleError.runFailed("could not start \(dcprod): \(reason)", tail())
        }
        return tail
    }
}

/// Why a sample run gave nothing to extrapolate.
public enum ForecastSampleError: Error, CustomStringConvertible, Equatable {
    /// The production has no processCcd event: run `dcprod inventory` first.
    case noFrames
    /// The scratch run failed: how, and the end of its output.
    case runFailed(String, String)

    public var description: String {
        switch self {
        case .noFrames:
            return "forecast --sample: the production has no processCcd event to sample; run `dcprod inventory` first"
        case .runFailed(let how, let output):
            return "forecast --sample: the sample run failed (\(how)); its output ended with:\n\(output)"
        }
    }
}
