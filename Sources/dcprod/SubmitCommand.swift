import ArgumentParser
import Batch
import Foundation
import Production

struct Submit: ProductionCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Submit a step's planned jobs to the batch system of BACKEND and follow them.",
        discussion: """
            The local backend runs MAXRUNNING jobs at a time (default: one per core) and waits for them; a batch system gets \
            every job at once (job arrays, MAXRUNNING as their throttle) and `submit` returns, unless --wait. `dcprod \
            status` follows the jobs afterwards.

            A submit that is killed can be run again: it adopts the jobs that were started, records those that finished, and \
            never runs a job twice.
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

    func run(on production: Production) throws {
        var submitter = Submitter(production: production)
        submitter.hold = hold
        var bar = ProgressBar(label: "submit", unit: "jobs")
        let start = Date()
        let following = !hold && (wait || production.config.backend == .local)
        let summary = try submitter.submit(step: target.step, filters: target.filters(of: production), wait: following) { s in
            bar.update(done: s.finished, total: max(s.finished + s.running + s.pending, 1), elapsed: Date().timeIntervalSince(start))
        }
        bar.finish()
        let line = "submit \(target.step.rawValue) (\(production.config.backend.rawValue)): \(summary.text)"
        print(line)
        if summary.submitted + summary.adopted + summary.finished > 0 { try production.record(typedCommandLine, line) }
    }
}

struct Cancel: ProductionCommand {
    static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel a step's queued and running jobs.")

    @OptionGroup var options: ProductionOptions
    @OptionGroup var target: StepOptions

    func run(on production: Production) throws {
        let count = try Submitter(production: production).cancel(step: target.step, filters: target.filters(of: production))
        try report(count, "cancel \(target.step.rawValue): \(count) jobs cancelled", on: production)
    }
}

struct Release: ProductionCommand {
    static let configuration = CommandConfiguration(commandName: "release", abstract: "Release a step's jobs submitted with --hold.")

    @OptionGroup var options: ProductionOptions
    @OptionGroup var target: StepOptions

    func run(on production: Production) throws {
        let count = try Submitter(production: production).release(step: target.step, filters: target.filters(of: production))
        try report(count, "release \(target.step.rawValue): \(count) queued jobs released", on: production)
    }
}

/// Prints a verb's line, and logs it when it concerned any job.
private func report(_ count: Int, _ line: String, on production: Production) throws {
    print(line)
    if count > 0 { try production.record(typedCommandLine, line) }
}

extension Submitter.Summary {
    /// What `submit` and `resubmit` print of a submission.
    var text: String {
        "\(submitted) jobs submitted, \(adopted) adopted after a restart, \(finished) finished (\(failed) failed), "
            + "\(running) queued or running, \(pending) not yet submitted" + (requeued > 0 ? ", \(requeued) submitted again with more resources" : "")
    }
}
