import Basics
import Foundation
import GRDB
import Production
import Simulation
import Sky
import Testing

// Helpers shared by the SkyTests: temporary directories, small simulations, truth.csv,
// productions over a simulated INPUT, and astropy run as a separate process.

// MARK: - Temporary directories

/// Runs `body` with a fresh directory under the system temporary directory, removed afterwards.
func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("dcprod-skytests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory)
}

// MARK: - Simulations

/// A small region, away from RA 0 and the poles: 15 strips across Dec, 26 fields along RA
/// at the small frame size below.
let smallRegion = Region(raMin: 10, raMax: 10.5, decMin: -0.2, decMax: 0.2)

/// Small frames (128 × 93 pixels at 0.8″) keep the debug-build tests fast.
func smallOptions(_ directory: URL, frames: Int, seed: UInt64 = 7, defects: Double = 0,
                  region: Region = smallRegion, filters: [Filter] = Filter.allCases) -> Simulation.Options {
    Simulation.Options(directory: directory, frames: frames, seed: seed, defects: defects, region: region,
                       width: 128, height: 93, pixelScale: 0.8, filters: filters)
}

@discardableResult
func simulate(_ options: Simulation.Options) throws -> Simulation.Summary {
    try Simulation(options: options).run()
}

/// The frame names a simulation plans, in order, rebuilt from the public survey layout:
/// pointings in turn, each imaged in every filter.
func plannedNames(_ options: Simulation.Options) -> [FrameName] {
    let layout = SurveyLayout(region: options.region, width: options.width, height: options.height,
                              scale: options.pixelScale / 3600)
    var names: [FrameName] = []
    var n = 0
    while names.count < options.frames {
        let pointing = layout.pointing(n)
        n += 1
        for filter in options.filters where names.count < options.frames {
            names.append(FrameName(run: pointing.run, filter: filter, camcol: pointing.camcol, field: pointing.field))
        }
    }
    return names
}

/// Every regular file under `directory`, as paths relative to it, sorted.
func relativeFiles(under directory: URL) -> [String] {
    guard let walker = FileManager.default.enumerator(atPath: directory.path) else { return [] }
    var out: [String] = []
    while let relative = walker.nextObject() as? String {
        var isDirectory: ObjCBool = false
        let path = directory.appendingPathComponent(relative).path
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            out.append(relative)
        }
    }
    return out.sorted()
}

/// Whether a relative path names an `fpC` frame (simulate also writes catalogs, and may write
/// other per-frame files beside the frames).
func isFrameFile(_ relative: String) -> Bool {
    FrameName(fileName: (relative as NSString).lastPathComponent) != nil
}

/// Copies a file with fresh bytes on disk (a new inode and a new modification time).
func copyFile(_ source: URL, to destination: URL) throws {
    try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
    try? FileManager.default.removeItem(at: destination)
    try Data(contentsOf: source).write(to: destination)
}

// MARK: - truth.csv

/// One row of a simulation's `truth.csv`.
struct TruthRow: Sendable, Equatable {
    var file: String
    var run: Int, camcol: Int, field: Int
    var filter: String
    var defect: String
    var inventory: String
    var fields: [String: String]

    var name: FrameName? { FrameName(fileName: (file as NSString).lastPathComponent) }
}

struct SkyTestError: Error, CustomStringConvertible {
    var description: String
}

func readTruth(_ directory: URL) throws -> [TruthRow] {
    let text = try String(contentsOf: directory.appendingPathComponent("truth.csv"), encoding: .utf8)
    var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    guard !lines.isEmpty else { throw SkyTestError(description: "truth.csv is empty") }
    let header = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    return try lines.enumerated().map { index, line in
        let values = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard values.count == header.count else {
            throw SkyTestError(description: "truth.csv line \(index + 2) has \(values.count) fields, the header \(header.count)")
        }
        let row = Dictionary(uniqueKeysWithValues: zip(header, values))
        guard let file = row["file"], let run = row["run"].flatMap({ Int($0) }),
              let camcol = row["camcol"].flatMap({ Int($0) }), let field = row["field"].flatMap({ Int($0) }),
              let filter = row["filter"], let defect = row["defect"], let inventory = row["inventory"] else {
            throw SkyTestError(description: "truth.csv line \(index + 2) lacks a column or a number: \(line)")
        }
        return TruthRow(file: file, run: run, camcol: camcol, field: field, filter: filter, defect: defect,
                        inventory: inventory, fields: row)
    }
}

// MARK: - Productions

/// Prepares a production whose INPUT is `input`, with the embedded catalog, under `root`.
func prepareProduction(root: URL, input: URL, region: Region, filters: String? = nil) throws -> Production {
    var text = """
        # SkyTests production
        MAINDIR \(root.appendingPathComponent("main").path)
        DCNAME skytests
        DATAMAIN \(root.appendingPathComponent("data").path)
        DBHOST sqlite
        INPUT \(input.path)
        REGION \(region.description)

        """
    if let filters { text += "FILTERS \(filters)\n" }
    let file = root.appendingPathComponent("fichconfig.txt").path
    try Data(text.utf8).write(to: URL(fileURLWithPath: file))
    let config = try ConfigParser.parse(text: text, file: file)
    let (production, outcome) = try Production.prepare(config: config, source: file, commandLine: ["dcprod", "prepare", file])
    #expect(outcome == .created)
    return production
}

/// An event of the state store with the frame it was made from.
struct StoredEvent: Sendable, Hashable, CustomStringConvertible {
    var step: String
    var filter: String
    var key: String
    var state: String
    var path: String

    var description: String { "\(step)/\(filter)/\(key) (\(state)) \(path)" }
}

/// A file inventory did not make an event of, as the state store keeps it.
struct StoredRejection: Sendable, Hashable {
    var path: String
    var kind: String
    var reason: String
    var message: String
}

func storedEvents(_ store: StateStore) throws -> [StoredEvent] {
    try store.pool.read { db in
        try Row.fetchAll(db, sql: """
            SELECT event.step, event.filter, event.key, event.state, frame.path
            FROM event JOIN frame ON frame.id = event.frameId ORDER BY frame.path
            """).map { StoredEvent(step: $0[0], filter: $0[1], key: $0[2], state: $0[3], path: $0[4]) }
    }
}

func storedEventCount(_ store: StateStore) throws -> Int {
    try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM event") ?? -1 }
}

func storedRejections(_ store: StateStore) throws -> [StoredRejection] {
    try store.pool.read { db in
        try Row.fetchAll(db, sql: "SELECT path, kind, reason, message FROM inventory_rejection ORDER BY path").map {
            StoredRejection(path: $0[0], kind: $0[1], reason: $0[2], message: $0[3])
        }
    }
}

// MARK: - Sky positions

typealias SkyPoint = (ra: Double, dec: Double)

/// The on-sky offsets between two positions in degrees: |ΔRA|·cos(Dec), with ΔRA taken
/// through the RA wrap, and |ΔDec|.
func offsets(_ a: SkyPoint, _ b: SkyPoint) -> (ra: Double, dec: Double) {
    let dRA = remainder(a.ra - b.ra, 360)
    let cosDec = cos((a.dec + b.dec) / 2 * .pi / 180)
    return (abs(dRA) * cosDec, abs(a.dec - b.dec))
}

/// The footprint FrameHeader reads: four corners then the centre.
func footprint(_ header: FrameHeader) -> [SkyPoint] { header.corners + [header.center] }

/// Expects the two footprints to agree within `tolerance` degrees, point by point.
func expectAgreement(_ ours: [SkyPoint], _ theirs: [SkyPoint], tolerance: Double = 1e-6, _ what: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(ours.count == theirs.count, "\(what): \(ours.count) points against \(theirs.count)", sourceLocation: sourceLocation)
    let labels = ["(1,1)", "(NAXIS1,1)", "(NAXIS1,NAXIS2)", "(1,NAXIS2)", "centre"]
    for (index, (a, b)) in zip(ours, theirs).enumerated() {
        let d = offsets(a, b)
        let label = index < labels.count ? labels[index] : "point \(index)"
        #expect(d.ra <= tolerance && d.dec <= tolerance,
                "\(what) \(label): dcprod (\(a.ra), \(a.dec)) astropy (\(b.ra), \(b.dec)); ΔRA·cosδ \(d.ra)°, ΔDec \(d.dec)°",
                sourceLocation: sourceLocation)
    }
}

// MARK: - Processes and astropy

struct ProcessResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `executable` with an argument vector (no shell); output goes through files so that
/// neither stream can fill a pipe and block the child.
func runProcess(_ executable: String, _ arguments: [String]) throws -> ProcessResult {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("dcprod-skytests-process-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outURL = scratch.appendingPathComponent("stdout"), errURL = scratch.appendingPathComponent("stderr")
    guard FileManager.default.createFile(atPath: outURL.path, contents: nil),
          FileManager.default.createFile(atPath: errURL.path, contents: nil) else {
        throw SkyTestError(description: "cannot create the output files of \(executable) in \(scratch.path)")
    }
    let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
    defer { try? out.close(); try? err.close() }

    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = out
    process.standardError = err
    try process.run()
    process.waitUntilExit()
    return ProcessResult(status: process.terminationStatus,
                         stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
                         stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
}

enum Astropy {
    /// `Tests/support/astropy_footprints.py`, found from this source file.
    static func script(filePath: String = #filePath) -> String {
        URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("support").appendingPathComponent("astropy_footprints.py").path
    }

    /// python3 is found on PATH through env(1), still an argument vector and no shell.
    static let env = "/usr/bin/env"

    /// Why python3 with astropy cannot be used here, or nil when it can.
    static func unavailability() -> String? {
        guard FileManager.default.isExecutableFile(atPath: env) else { return "\(env) does not exist" }
        do {
            let result = try runProcess(env, ["python3", "-c", "import astropy.wcs, astropy.io.fits"])
            guard result.status == 0 else {
                let detail = result.stderr.split(separator: "\n").last.map(String.init) ?? "exit status \(result.status)"
                return "`python3 -c 'import astropy.wcs'` failed: \(detail)"
            }
            return nil
        } catch {
            return "cannot run python3: \(error)"
        }
    }

    /// Why astropy cannot be used, asked once per test run.
    static let unavailable: String? = unavailability()

    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// The condition trait of the astropy tests: they run when astropy is usable, and under CI
    /// always (where its absence then fails them); elsewhere they are reported as skipped.
    static var usableOrCI: ConditionTrait {
        .enabled(if: unavailable == nil || isCI,
                 "needs python3 with astropy (`pip install astropy`); under CI=true its absence is a failure")
    }

    /// Returns normally when astropy can be used. Otherwise, under CI (CI=true) the test fails
    /// with an explanation; elsewhere (where `usableOrCI` has normally skipped the test already)
    /// it is cancelled with the reason.
    static func require(sourceLocation: SourceLocation = #_sourceLocation) throws {
        guard let why = unavailable else { return }
        if isCI {
            // A thrown error fails the test and shows its description: one clear issue.
            throw SkyTestError(description: "python3 with astropy is required under CI (CI=true) but is not usable: "
                               + "\(why). Install it with `pip install astropy` (Tests/run does).")
        }
        try Test.cancel("python3 with astropy is not usable (\(why)); `pip install astropy` to run this comparison",
                        sourceLocation: sourceLocation)
    }

    /// The footprints of `paths` computed by astropy, by path: corners then centre.
    static func footprints(_ paths: [String]) throws -> [String: [SkyPoint]] {
        let script = script()
        guard FileManager.default.fileExists(atPath: script) else {
            throw SkyTestError(description: "the helper script \(script) does not exist")
        }
        let result = try runProcess(env, ["python3", script] + paths)
        guard result.status == 0 else {
            throw SkyTestError(description: "astropy_footprints.py exited with status \(result.status): \(result.stderr)")
        }
        var out: [String: [SkyPoint]] = [:]
        for line in result.stdout.split(separator: "\n") {
            let words = line.split(separator: " ").map(String.init)
            guard words.count >= 11 else { throw SkyTestError(description: "unexpected line from astropy: \(line)") }
            let numbers = words.suffix(10).compactMap(Double.init)
            guard numbers.count == 10 else { throw SkyTestError(description: "unexpected numbers from astropy: \(line)") }
            let path = words.dropLast(10).joined(separator: " ")
            out[path] = (0..<5).map { (ra: numbers[2 * $0], dec: numbers[2 * $0 + 1]) }
        }
        return out
    }
}

extension FrameFile {
    /// Every `fpC-*` file under `directory`, sorted by path: the whole walk at once, as tests look at it.
    static func all(under directory: String) -> [FrameFile] {
        var found: [FrameFile] = []
        walk(under: directory, batch: 1 << 16) { found += $0 }
        return found
    }
}
