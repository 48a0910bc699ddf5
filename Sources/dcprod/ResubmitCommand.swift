import ArgumentParser
import Batch
import Foundation
import Planning
import Production
import Verification

struct Resubmit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "New attempts, as new jobs, for the failed and never-run events that the class policy says to retry.",
        discussion: """
            By default: classes whose policy is `retry` (crash, not run, time limit, another problem), each event
            at most MAXRETRY times after its first attempt. --class chooses classes; missing files need --force.
            Outcome records not yet read are read first, as verify does: resubmission follows the latest outcome
            of each event.
            """)

    @OptionGroup var options: ProductionOptions
    @OptionGroup var target: StepOptions

    @Option(name: .customLong("class"), help: "A class to resubmit (repeatable).")
    var classNames: [String] = []

    @Flag(help: "Also resubmit classes whose policy is `force` (missing files).")
    var force = false

    func run() throws {
        try reporting {
            let production = try options.open()
            let verifier = try Verifier(production: production)
            // Outcomes not yet read are read first: resubmission follows the latest outcome of each event.
            _ = try verifier.read(step: target.step, filters: target.filters(of: production))
            let policy = RetryPolicy(production: production, classes: verifier.classes)
            let chosen = try policy.chosen(named: classNames, force: force)
            let planner = Planner(production: production, dcprod: runningExecutable)
            var events = 0, jobs = 0
            for filter in target.filters(of: production) {
                let ids = try policy.events(step: target.step, filter: filter, classNames: chosen)
                guard !ids.isEmpty else { continue }
                jobs += try planner.replan(step: target.step, filter: filter, eventIds: ids)
                events += ids.count
            }
            guard jobs > 0 else {
                print("resubmit \(target.step.rawValue): nothing to resubmit (classes: \(chosen.joined(separator: ", ")))")
                return
            }
            let submitter = Submitter(production: production, backend: try batchSystem(for: production), limit: runningLimit(for: production))
            let summary = try submitter.submit(step: target.step, filters: target.filters(of: production), wait: true)
            let line = "resubmit \(target.step.rawValue): \(events) events in \(jobs) new jobs (classes: \(chosen.joined(separator: ", "))); "
                + summary.line.dropFirst("submit: ".count)
            print(line)
            try production.record(typedCommandLine, line)
        }
    }
}
