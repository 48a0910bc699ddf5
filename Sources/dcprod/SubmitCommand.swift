import ArgumentParser
import Batch
import Foundation
import Production

/// The batch system of the production's BACKEND.
func batchSystem(for production: Production) throws -> any BatchSystem {
    switch production.config.backend {
    case .local: return LocalBatch()
    case .slurm: return SlurmBatch(templates: production.tree.templatesDirectory)
    case .sge: return GridEngineBatch(templates: production.tree.templatesDirectory)
    }
}

/// Most jobs running at once: MAXRUNNING; without it, one per core for the local backend and no
/// limit of dcprod's for a batch system.
func runningLimit(for production: Production) -> Int {
    if production.config.maxRunning > 0 { return production.config.maxRunning }
    return production.config.backend == .local ? ProcessInfo.processInfo.activeProcessorCount : 1_000_000
}

struct Submit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Submit a step's planned jobs to the batch system of BACKEND and follow them.",
        discussion: """
            The local backend runs MAXRUNNING jobs at a time (default: one per core) and waits for them; a batch
            system gets every job at once (job arrays, MAXRUNNING as their throttle) and `submit` returns, unless
            --wait. `dcprod status` follows the jobs afterwards.
            A submit that is killed can be run again: it adopts the jobs that were started, records those
            that finished, and never runs a job twice.
            """)

    @OptionGroup var options: ProductionOptions
    @OptionGroup var target: StepOptions

    @Flag(help: "Follow the jobs until none is queued or running (always so with BACKEND local).")
    var wait = false

    @Flag(help: "Submit the jobs held (sbatch --hold, qsub -h): they wait in the queue until `dcprod release`.")
    var hold = false

    func validate() throws {
        if hold && wait { throw ValidationError("--hold and --wait exclude each other: held jobs wait for `dcprod release`") }
    }

    func run() throws {
        try reporting {
            let production = try options.open()
            var submitter = Submitter(production: production, backend: try batchSystem(for: production), limit: runningLimit(for: production))
            submitter.hold = hold
            let filters = target.filters(of: production)
            var bar = ProgressBar(label: "submit", unit: "jobs")
            let start = Date()
            let following = !hold && (wait || production.config.backend == .local)
            let summary = try submitter.submit(step: target.step, filters: filters, wait: following) { s in
                let total = s.finished + s.running + s.pending
                bar.update(done: s.finished, total: max(total, 1), elapsed: Date().timeIntervalSince(start))
            }
            bar.finish()
            let line = "submit \(target.step.rawValue) (\(production.config.backend.rawValue)): " + summary.line.dropFirst("submit: ".count)
            print(line)
            if summary.submitted + summary.adopted + summary.finished > 0 { try production.record(typedCommandLine, line) }
        }
    }
}

struct Cancel: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Cancel a step's queued and running jobs.")

    @OptionGroup var options: ProductionOptions
    @OptionGroup var target: StepOptions

    func run() throws {
        try actOnJobs(options, target) { submitter, step, filters in
            let count = try submitter.cancel(step: step, filters: filters)
            return (count, "cancel \(step.rawValue): \(count) jobs cancelled")
        }
    }
}

struct Release: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Release a step's jobs submitted with --hold.")

    @OptionGroup var options: ProductionOptions
    @OptionGroup var target: StepOptions

    func run() throws {
        try actOnJobs(options, target) { submitter, step, filters in
            let count = try submitter.release(step: step, filters: filters)
            return (count, "release \(step.rawValue): \(count) queued jobs released")
        }
    }
}

/// Cancel and release: one call of the production's batch system on a step's jobs; its line is
/// printed, and logged when it concerned any job.
private func actOnJobs(_ options: ProductionOptions, _ target: StepOptions,
                       _ act: (Submitter, Step, [Filter]) throws -> (count: Int, line: String)) throws {
    try reporting {
        let production = try options.open()
        let submitter = Submitter(production: production, backend: try batchSystem(for: production), limit: 1)
        let (count, line) = try act(submitter, target.step, target.filters(of: production))
        print(line)
        if count > 0 { try production.record(typedCommandLine, line) }
    }
}
