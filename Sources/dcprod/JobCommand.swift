import ArgumentParser
import Basics
import Foundation
import Planning
import Verification

struct Job: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job",
        abstract: "What batch jobs run.",
        subcommands: [JobRun.self])
}

struct JobRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a job's events and write one outcome record per event (what every batch script calls).",
        discussion: """
            Several manifests are run one after the other, each writing its own outcome records: the jobs of one \
            patch that `dcprod run --by-patch` bundles into one batch job (processCcd, then coadd, then forcedPhot). \
            Exit status 0 when every event is ok, 1 when some failed, 3 when a job could not start (the others \
            still run).

            Exit status 143 (128 + SIGTERM) when it was ended by SIGTERM, as `dcprod cancel` ends a job on the local \
            backend and Slurm: the signal is forwarded to the running payload's process group and waited for; that event \
            gets no outcome record, the job no `end` line, and no later event or manifest is started. Verify counts \
            the events without a record as not run.
            """)

    @Argument(help: "The job manifests (steps/STEP/FILTER/jobs/JOB.json), run in this order.")
    var manifests: [String]

    @Option(help: "The attempt number (batch scripts pass $DCPROD_ATTEMPT).")
    var attempt: Int = 1

    func run() throws {
        var worst: Int32 = 0
        for path in manifests {
            do {
                let manifest = try JobManifest.read(path)
                worst = max(worst, try JobRunner(manifest: manifest, attempt: attempt).run())
            } catch {
                FileHandle.standardError.write(Data("dcprod job run: \(FileSystemProblem.text(of: error))\n".utf8))
                // 3 outranks 1, never 143: a terminated run says so whatever the manifests after it.
                worst = max(worst, 3)
            }
        }
        throw ExitCode(worst)
    }
}
