import ArgumentParser
import Foundation
import Planning
import Production

struct Plan: ProductionCommand {
    static let configuration = CommandConfiguration(
        abstract: "Group a step's events into jobs: a manifest and a batch script per job, from templates/.",
        discussion: "Events per job come from EVENTSPERJOB. Planning again plans only events not yet in a job.")

    @OptionGroup var options: ProductionOptions
    @OptionGroup var target: StepOptions

    func run(on production: Production) throws {
        let summary = try Planner(production: production, dcprod: runningExecutable).plan(step: target.step, filters: target.filters(of: production))
        let line = "plan \(target.step.rawValue): \(summary.line)"
        print(line)
        if !summary.jobs.isEmpty { try production.record(typedCommandLine, line) }
    }
}
