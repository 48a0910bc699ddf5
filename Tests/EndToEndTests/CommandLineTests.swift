import Basics
import Foundation
import Testing

/// Runs the built `dcprod` as a user would, as an argument vector.
struct DCProd {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The `dcprod` beside this test bundle in the build products directory.
    static let executable: URL = {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("dcprod")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/dcprod")
    }()

    @discardableResult
    static func run(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws -> Result {
        let run = try ProgramRun.run(process(arguments, in: directory, environment: environment))
        return Result(status: run.status, stdout: run.stdout, stderr: run.stderr)
    }

    /// dcprod with `arguments`, to run in `directory`: the test's environment without
    /// DCPROD_PRODUCTION, and `environment` over it.
    static func process(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) -> Process {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "DCPROD_PRODUCTION")
        env.merge(environment) { $1 }
        process.environment = env
        return process
    }
}

final class Workspace: Sendable {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("dcprod-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    func write(_ text: String, to name: String) throws {
        try Data(text.utf8).write(to: url.appendingPathComponent(name))
    }

    var seedConfig: String {
        """
        MAINDIR \(url.path)/lsstprod
        DCNAME DC_2013
        DATAMAIN \(url.path)/lsstprod-data
        DBHOST 127.0.0.1
        DBUSER lsst_prod
        """
    }

    func entries() -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: url.path))?.sorted() ?? [] }
}

@Suite struct EndToEnd {
    @Test func aBadConfigFailsWithFileAndLineAndCreatesNothing() throws {
        let work = try Workspace()
        try work.write(work.seedConfig + "\nREGION 5 55 1 -1\n", to: "fichconfig.txt")
        let result = try DCProd.run(["prepare", "fichconfig.txt"], in: work.url)
        #expect(result.status != 0)
        #expect(result.stderr.contains("fichconfig.txt:6: impossible REGION"), "\(result.stderr)")
        #expect(work.entries() == ["fichconfig.txt"])
    }

    @Test func theSeedFlowFromConfigToStatus() throws {
        let work = try Workspace()
        try work.write(work.seedConfig + "\nREGION 6 7 -0.4 0.2\n", to: "fichconfig.txt")
        let prepared = try DCProd.run(["prepare", "fichconfig.txt"], in: work.url)
        #expect(prepared.status == 0, "\(prepared.stderr)")
        #expect(prepared.stdout.contains("Production DC_2013 prepared"))
        let again = try DCProd.run(["prepare", "fichconfig.txt"], in: work.url)
        #expect(again.status == 0)
        #expect(again.stdout.contains("nothing changed"))

        let input = "\(work.url.path)/lsstprod-data/DC_2013/input"
        let simulated = try DCProd.run(["pipe", "simulate", "--frames", "40", "--seed", "7", "--defects", "0.1",
                                        "--size", "128x93", "--pixel-scale", "1.6", "--region", "6 7 -0.4 0.2", input], in: work.url)
        #expect(simulated.status == 0, "\(simulated.stderr)")
        #expect(simulated.stdout.contains("simulate: 40 frames written, 4 defects"), "\(simulated.stdout)")

        // From the directory holding fichconfig.txt, as in the seed.
        let inventory = try DCProd.run(["inventory"], in: work.url)
        #expect(inventory.status == 0, "\(inventory.stderr)")
        #expect(inventory.stdout.contains("inventory: 40 frame files, 0 already known, 39 new events"), "\(inventory.stdout)")
        #expect(inventory.stdout.contains("1 failures (unreadable file 1)"))

        let rerun = try DCProd.run(["inventory"], in: work.url)
        #expect(rerun.stdout.contains("40 frame files, 40 already known, 0 new events"), "\(rerun.stdout)")

        let status = try DCProd.run(["status", "--json"], in: work.url)
        #expect(status.status == 0)
        struct Status: Decodable {
            struct Count: Decodable { var step: String; var filter: String; var state: String; var count: Int }
            struct Rejection: Decodable { var kind: String; var reason: String; var count: Int }
            var frames: Int
            var events: [Count]
            var rejections: [Rejection]
        }
        let decoded = try JSONDecoder().decode(Status.self, from: Data(status.stdout.utf8))
        #expect(decoded.frames == 39)
        #expect(decoded.events.map(\.count).reduce(0, +) == 39)
        #expect(Set(decoded.events.map(\.filter)) == ["u", "g", "r", "i", "z"])
        #expect(decoded.rejections.map(\.reason) == ["unreadable file"])

        let text = try DCProd.run(["status"], in: work.url)
        #expect(text.stdout.contains("processCcd"))
        #expect(text.stdout.contains("Inventory failures: 1"))

        let logbook = try DCProd.run(["logbook"], in: work.url)
        #expect(logbook.stdout.contains("`dcprod prepare fichconfig.txt`"))
        #expect(logbook.stdout.contains("`dcprod inventory`"))
        #expect(logbook.stdout.contains("39 new events"))
        // The second prepare and the no-op inventory changed nothing, so they left no entry.
        #expect(logbook.stdout.components(separatedBy: "### ").count == 3, "\(logbook.stdout)")
        let future = try DCProd.run(["logbook", "--since", "2999-01-01"], in: work.url)
        #expect(future.stdout.isEmpty)
        let badDay = try DCProd.run(["logbook", "--since", "yesterday"], in: work.url)
        #expect(badDay.status != 0)
    }

    @Test func aVerbOutsideAnyProductionSaysHowToFindOne() throws {
        let work = try Workspace()
        let result = try DCProd.run(["status"], in: work.url)
        #expect(result.status != 0)
        #expect(result.stderr.contains("no production found"))
    }
}

@Suite struct Documentation {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theManualDocumentsEveryConfigKeyThatDcprodKnows() throws {
        let manual = try String(contentsOf: Self.root.appendingPathComponent("docs/config.md"), encoding: .utf8)
        let work = try Workspace()
        let keys = try DCProd.run(["keys"], in: work.url)
        let names = keys.stdout.split(separator: "\n").filter { !$0.hasPrefix(" ") }.compactMap { $0.split(separator: " ").first }
        #expect(names.count >= 20)
        for name in names {
            #expect(manual.contains("| `\(name)"), "docs/config.md does not document \(name)")
        }
    }
}
