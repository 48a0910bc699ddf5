import ArgumentParser
import Foundation
import Production
import Verification

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read the outcome records of a step and print DC2013's verification report per filter.",
        discussion: """
            Writes reports/STEP-FILTER.txt and .json, and the step's page of every filter, reports/STEP.html. Exit status 0 when every event is ok, 1 when some
            failed, 2 when some never ran.
            """)

    @OptionGroup var options: ProductionOptions
    @OptionGroup var target: StepOptions

    func run() throws {
        let status: Int32 = try reporting {
            let production = try options.open()
            let verifier = try Verifier(production: production)
            let filters = target.filters(of: production)
            let reading = try verifier.read(step: target.step, filters: filters)
            var worst: Int32 = 0
            var totals = (events: 0, ok: 0, notRun: 0)
            try FileManager.default.createDirectory(at: production.tree.reportsDirectory, withIntermediateDirectories: true)
            // Every filter of the production, for the step's page; those verified now are also printed.
            let reports = try production.config.filters.map { try verifier.report(step: target.step, filter: $0) }
            let byFilter = Dictionary(uniqueKeysWithValues: reports.map { ($0.filter, $0) })
            for (index, filter) in filters.enumerated() {
                let report = try byFilter[filter] ?? verifier.report(step: target.step, filter: filter)
                if index > 0 { print() }
                print(report.text, terminator: "")
                let base = production.tree.reportsDirectory.appendingPathComponent("\(target.step.rawValue)-\(filter.rawValue)")
                try Data(report.text.utf8).write(to: base.appendingPathExtension("txt"), options: .atomic)
                try report.json.write(to: base.appendingPathExtension("json"), options: .atomic)
                totals.events += report.total
                totals.ok += report.count("ok")
                totals.notRun += report.notRun + report.inProgress
                if report.notRun + report.inProgress > 0 { worst = 2 } else if report.failed > 0 && worst == 0 { worst = 1 }
            }
            if let page = try ReportPage(templates: production.tree.templatesDirectory)
                .render(production: production.config.dcName, step: target.step, reports: reports) {
                try AtomicFile.write(Data(page.utf8), to: production.tree.reportsDirectory.appendingPathComponent("\(target.step.rawValue).html"))
            }
            if reading.attempts > 0 {
                try production.record(typedCommandLine, "verify \(target.step.rawValue): \(reading.attempts) attempts read, "
                    + "\(reading.records) records, \(reading.missing) events without a record; "
                    + "\(totals.ok) of \(totals.events) events ok, \(totals.notRun) not run")
            }
            return worst
        }
        if status != 0 { throw ExitCode(status) }
    }
}
