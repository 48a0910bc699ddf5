import ArgumentParser
import Foundation
import Planning
import Verification

struct Job: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "What batch jobs run.",
        subcommands: [JobRun.self])
}

struct JobRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a job's events and write one outcome record per event (what every batch script calls).",
        discussion: "Exit status 0 when every event is ok, 1 when some failed, 3 when the job could not start.")

    @Argument(help: "The job manifest (steps/STEP/FILTER/jobs/JOB.json).")
    var manifest: String

    @Option(help: "The attempt number (batch scripts pass $DCPROD_ATTEMPT).")
    var attempt: Int = 1

    func run() throws {
        do {
            let manifest = try JobManifest.read(manifest)
            let status = try JobRunner(manifest: manifest, attempt: attempt).run()
            throw ExitCode(status)
        } catch let exit as ExitCode {
            throw exit
        } catch {
            FileHandle.standardError.write(Data("dcprod job run: \(error)\n".utf8))
            throw ExitCode(3)
        }
    }
}
