import ArgumentParser
import Campaign
import Foundation
import Production

struct Resubmit: ProductionCommand {
    static let configuration = CommandConfiguration(
        commandName: "resubmit",
        abstract: "New attempts, as new jobs, for the failed and never-run events that the class policy says to retry.",
        discussion: """
            By default: classes whose policy is `retry` (crash, not run, time limit, another problem), each event at most \
            MAXRETRY times after its first attempt. --class chooses classes; missing files need --force.

            Outcome records not yet read are read first, as verify does: resubmission follows the latest outcome of each \
            event.
            """)

    @OptionGroup var options: ProductionOptions
    @OptionGroup var target: StepOptions

    @Option(name: .customLong("class"), help: "A class to resubmit (repeatable).")
    var classNames: [String] = []

    @Flag(help: "Also resubmit classes whose policy is `force` (missing files).")
    var force = false

    func run(on production: Production) throws {
        let result = try Resubmission(production: production, dcprod: runningExecutable)
            .run(step: target.step, filters: target.filters(of: production), classNames: classNames, force: force)
        let classes = result.classes.joined(separator: ", ")
        guard let submission = result.submission else {
            print("resubmit \(target.step.rawValue): nothing to resubmit (classes: \(classes))")
            return
        }
        let line = "resubmit \(target.step.rawValue): \(result.events) events in \(result.jobs) new jobs (classes: \(classes)); \(submission.text)"
        print(line)
        try production.record(typedCommandLine, line)
    }
}
