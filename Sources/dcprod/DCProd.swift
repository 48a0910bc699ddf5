import ArgumentParser
import Basics
import Foundation
import Production

/// Every command names itself (`commandName:`): ArgumentParser would otherwise derive each name
/// from `String(describing:)` of its type, runtime conformance lookups that were a fifth of the
/// instructions of a short verb's run, paid again by every job that starts `dcprod`.
@main
struct DCProd: AsyncParsableCommand {
    /// Bootstraps logging before any verb runs: every library's logger then writes to standard error,
    /// at the level `--verbose` sets once the options are parsed.
    static func main() async {
        Verbosity.bootstrap()
        await main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "dcprod",
        abstract: "A production manager for astronomical data challenges.",
        discussion: """
            Prepare a production tree from a short config file, inventory the input frames, plan and submit jobs, verify \
            every event, load the results into the catalog and query it; the state store and the logbook keep what was done.
            """,
        version: DCProdVersion.current,
        subcommands: [Prepare.self, Inventory.self, Run.self, Plan.self, Submit.self, Verify.self, Resubmit.self, Cancel.self, Release.self, Load.self, Sql.self, CrossmatchCommand.self, CompareCommand.self, ExportCommand.self, ProvenanceCommand.self, Status.self,
                      AccountingCommand.self, ForecastCommand.self, Report.self, Serve.self, LogbookCommand.self, Keys.self, Job.self, Pipe.self]
    )
}

/// Where a verb finds its production.
struct ProductionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The production: its tree directory or its config file.",
        discussion: "Default: $DCPROD_PRODUCTION, else the nearest directory at or above the current one holding production.conf, else ./fichconfig.txt."))
    var production: String?

    @Flag(name: .shortAndLong, help: ArgumentHelp(
        "Log what is done, on standard error.",
        discussion: "Which files are read and written, which batch commands run and what they answer, which CSV files are loaded."))
    var verbose = false

    @Flag(name: .customLong("no-wait"), help: ArgumentHelp(
        "Exit 1 at once when another dcprod is changing the production, instead of waiting for it.",
        discussion: "Verbs that change the production (state store, submissions, catalog loads) take its lock, one at a time; reading verbs never wait."))
    var noWait = false

    /// Opens the production: read-only (`StateStore.Access.read`) unless `writing`.
    func open(writing: Bool = true) throws -> Production {
        if verbose { Verbosity.debug.store(true, ordering: .relaxed) }
        return try Production.open(root: try root(), access: writing ? .write : .read)
    }

    /// The production's tree directory.
    func root() throws -> URL {
        try ProductionLocator.locate(explicit: production, environment: ProcessInfo.processInfo.environment,
                                     cwd: FileManager.default.currentDirectoryPath)
    }
}


/// A verb that works on a production: its `run()` finds and opens the production, runs the verb's
/// body on it, and reports an error once, as one line and exit status 1.
protocol ProductionCommand: ParsableCommand {
    var options: ProductionOptions { get }
    /// Whether this run of the verb changes the production (its state store, submissions, catalog
    /// loads): it then holds the production's lock (`ProductionLock`) from start to end, so that two
    /// writers never interleave. True unless the verb says otherwise.
    var changesProduction: Bool { get }
    /// The verb's body, on the opened production.
    func run(on production: Production) throws
}

extension ProductionCommand {
    var changesProduction: Bool { true }

    func run() throws {
        try reporting {
            // A writer takes the lock before it opens (and perhaps migrates) the state store; a reader
            // opens it read-only and never waits.
            let root = try options.root()
            guard FileManager.default.fileExists(atPath: root.appendingPathComponent(ProductionTree.configFileName).path) else {
                throw ProductionError.notPrepared(root.path)
            }
            // A store this user cannot write is refused before the lock's file is touched.
            if changesProduction { try StateStore.requireWritable(root.appendingPathComponent(ProductionTree.stateFileName).path) }
            let lock = changesProduction
                ? try ProductionLock(root: root, verb: typedCommandLine.joined(separator: " "), wait: !options.noWait) { holder in
                    FileHandle.standardError.write(Data("dcprod: waiting for the production, held by \(holder)\n".utf8))
                }
                : nil
            let production = try options.open(writing: changesProduction)
            try withExtendedLifetime(lock) { try run(on: production) }
        }
    }
}

/// The command line as typed, for the logbook.
var typedCommandLine: [String] { ["dcprod"] + CommandLine.arguments.dropFirst() }

/// Runs a verb's body, turning the library's errors into one clear line (and a remedy's) and exit
/// status 1. Foundation's and the system's errors are said in the user's words
/// (`FileSystemProblem.userWords(for:)`), never as Foundation's dump of an `NSError`.
func reporting<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("dcprod: error: \(FileSystemProblem.text(of: error))\n".utf8))
        throw ExitCode.failure
    }
}
