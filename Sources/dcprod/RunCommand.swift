import ArgumentParser
import Basics
import Campaign
import Foundation
import Planning
import Production
import Views
import Verification

struct Run: ProductionCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the whole chain: processCcd, coadd, forcedPhot, each event as soon as what it needs is verified.",
        discussion: """
            Each event is planned and submitted to BACKEND as soon as what it needs is verified ok: a patch's coadd \
            once the calexps that touch it are, a frame's forced photometry once the coadds of the patches it touches \
            are loaded (DeepSource positions). Each step's outcomes are verified and its CSV results loaded into the \
            catalog as its jobs end. Killed at any moment and run again, it goes on where it \
            was and never runs a job twice.

            With --by-patch, each (tract, patch) and filter is one batch job that runs processCcd on the patch's \
            frames, then its coadd, then forcedPhot on its frames, as DC2013's conclusion proposed. A frame on several \
            patches is processed with the first and measured with the last; patches that share frames run one after \
            the other (at most eight waves), the others side by side. Each step keeps its own jobs, outcome files \
            and report.

            What failed is left to a person: the reports say what `dcprod resubmit STEP` would take. Exit status 0 when \
            every event of every step is ok, 1 when some failed, 2 when some never ran.
            """)

    @OptionGroup var options: ProductionOptions
    @OptionGroup var catalogOptions: CatalogOptions

    @Option(name: .customLong("filter"), help: "A filter to work on (repeatable); default: every filter of the config.")
    var filters: [Filter] = []

    @Flag(help: "One batch job per (tract, patch) and filter: its processCcd, coadd and forcedPhot in succession.")
    var byPatch = false

    @Flag(help: "Go on when INPUT is missing or empty, or no frame was inventoried, instead of exiting 1.")
    var allowEmpty = false

    func run(on production: Production) throws {
        if !allowEmpty {
            if let problem = InputDirectory(production: production).problem() { throw problem }
            if try production.store.eventTallies(step: .processCcd).isEmpty {
                throw ValidationError("no frame is inventoried yet: run `dcprod inventory` first (it reads the frames under INPUT \(production.config.input))")
            }
        }
        let filters = filters.isEmpty ? production.config.filters : filters.sorted()
        // One progress bar for the run: the jobs ended over those known so far (the total grows as
        // later steps are planned).
        var bar = ProgressBar(label: "run", unit: "jobs")
        let start = Date()
        let runs = try Chain(production: production, dcprod: runningExecutable, defaultsFile: catalogOptions.defaultsFile)
            .run(filters: filters, byPatch: byPatch) { progress in
                bar.update(done: progress.finished, total: max(progress.finished + progress.running + progress.pending, 1),
                           elapsed: Date().timeIntervalSince(start))
            }
        bar.finish()
        try ReportWriter(production: production).writeAll()
        var worst: Int32 = 0
        for run in runs {
            let step = run.step.rawValue
            let line = "run \(step): plan \(run.planned.line); submit \(run.submission.text); load \(run.load.summary.text)"
            print(line)
            print(run.verification.reports.map(\.text).joined(separator: "\n"))
            let retry = run.verification.reports.map(\.retry.count).reduce(0, +)
            if retry > 0 { print("`dcprod resubmit \(step)` would take \(retry) events.\n") }
            try production.record(typedCommandLine, line)
            worst = max(worst, run.verification.exitStatus)
        }
        if worst != 0 { throw ExitCode(worst) }
    }
}
