import ArgumentParser
import Foundation
import Production
import Verification
import Views

struct Verify: ProductionCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Read the outcome records of a step and print DC2013's verification report per filter.",
        discussion: """
            Writes reports/STEP-FILTER.txt and .json and, when it read new outcomes, the step's report pages \
            (reports/STEP.html, its event lists and the summary index.html; every page when there is no report yet: \
            see `dcprod report`). Exit status 0 \
            when every event is ok, 1 when some failed, 2 when some never ran.
            """)

    @OptionGroup var options: ProductionOptions
    @OptionGroup var target: StepOptions

    func run(on production: Production) throws {
        let verification = try Verifier(production: production, step: target.step).verify(filters: target.filters(of: production))
        // The pages change only with what verify read, and only the step's: a verify (every few minutes
        // in a campaign's cron) costs what it read, not the whole report of a production of DC2013's size.
        let writer = try ReportWriter(production: production)
        if !writer.hasWritten {
            try writer.writeAll()
        } else if verification.reading.attempts > 0 {
            try writer.writeVerified(target.step)
        }
        print(verification.reports.map(\.text).joined(separator: "\n"), terminator: "")
        let reading = verification.reading
        if reading.attempts > 0 {
            try production.record(typedCommandLine, "verify \(target.step.rawValue): \(reading.attempts) attempts read, "
                + "\(reading.records) records, \(reading.missing) events without a record; "
                + "\(verification.ok) of \(verification.events) events ok, \(verification.notRun) not run")
        }
        if verification.exitStatus != 0 { throw ExitCode(verification.exitStatus) }
    }
}
