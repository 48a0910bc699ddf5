import ArgumentParser
import Foundation
import Production

struct LogbookCommand: ProductionCommand {
    static let configuration = CommandConfiguration(
        commandName: "logbook",
        abstract: "Print the production's logbook: what was done, when, by whom.")

    @OptionGroup var options: ProductionOptions

    @Option(help: "Only the days from this one on (YYYY-MM-DD).")
    var since: String?

    func validate() throws {
        if let since, !Logbook.isDay(since) {
            throw ValidationError("--since '\(since)' is not a day of the form YYYY-MM-DD")
        }
    }

    /// Reads only.
    var changesProduction: Bool { false }

    func run(on production: Production) throws {
        for day in try production.logbook.days(since: since) {
            print(try String(contentsOf: day, encoding: .utf8), terminator: "")
        }
    }
}
