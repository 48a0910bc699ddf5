import ArgumentParser
import Campaign
import Foundation
import Production
import Verification

struct Run: ProductionCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the whole chain: processCcd, coadd, forcedPhot, each planned, submitted, verified and loaded in turn.",
        discussion: """
            Each step is planned from what the step before verified ok (a coadd from the calexps of its patch, forced \
            photometry at the DeepSource positions of the loaded coadds), submitted to BACKEND and followed to its end, \
            verified, and its CSV results loaded into the catalog. Killed at any moment and run again, it goes on where it \
            was and never runs a job twice.

            What failed is left to a person: the reports say what `dcprod resubmit STEP` would take. Exit status 0 when \
            every event of every step is ok, 1 when some failed, 2 when some never ran.
            """)

    @OptionGroup var options: ProductionOptions
    @OptionGroup var catalogOptions: CatalogOptions

    @Option(name: .customLong("filter"), help: "A filter to work on (repeatable); default: every filter of the config.")
    var filters: [Filter] = []

    func run(on production: Production) throws {
        let filters = filters.isEmpty ? production.config.filters : filters.sorted()
        // A progress bar per step's submission.
        var bar = ProgressBar(label: "run", unit: "jobs")
        var start = Date()
        let runs = try Chain(production: production, dcprod: runningExecutable, defaultsFile: catalogOptions.defaultsFile)
            .run(filters: filters, stage: { stage in
                guard case .submitting(let step) = stage else { return }
                bar = ProgressBar(label: "run \(step.rawValue)", unit: "jobs")
                start = Date()
            }, submitting: { s in
                bar.update(done: s.finished, total: max(s.finished + s.running + s.pending, 1), elapsed: Date().timeIntervalSince(start))
                if s.running + s.pending == 0 { bar.finish() }
            })
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
