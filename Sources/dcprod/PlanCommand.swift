import ArgumentParser
import Foundation
import Campaign
import Production

struct Plan: ProductionCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Group a step's events into jobs: a manifest and a batch script per job, from templates/.",
        discussion: """
            Events per job come from EVENTSPERJOB. Planning again plans only events not yet in a job. A coadd's events are \
            the sky map patches that frames verified ok touch; forcedPhot's, the frames verified ok, each with the DeepSource \
            positions on it read from the catalog now (load coadd first), so that its jobs never open a database.
            """)

    @OptionGroup var options: ProductionOptions
    @OptionGroup var catalogOptions: CatalogOptions
    @OptionGroup var target: StepOptions

    func run(on production: Production) throws {
        let summary = try StepPlanning(production: production, dcprod: runningExecutable, defaultsFile: catalogOptions.defaultsFile)
            .plan(step: target.step, filters: target.filters(of: production))
        let line = "plan \(target.step.rawValue): \(summary.line)"
        print(line)
        if !summary.jobs.isEmpty { try production.record(typedCommandLine, line) }
    }
}
