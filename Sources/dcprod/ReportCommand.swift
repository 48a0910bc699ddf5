import ArgumentParser
import Foundation
import Production
import Views

struct Report: ProductionCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the production's report: the task summary, a page per step with figures, the logbook, accounting and forecast.",
        discussion: """
            Self-contained HTML files under reports/ (index.html is the task summary), readable without JavaScript or \
            network. Each count of the summary links to the list of its events (the first \(ReportWriter.writtenEventPages) \
            pages of each list; `dcprod serve` lists them all).
            """)

    @OptionGroup var options: ProductionOptions

    /// Reads the state store only; the pages are files of their own, each written whole.
    var changesProduction: Bool { false }

    func run(on production: Production) throws {
        let pages = try ReportWriter(production: production).writeAll()
        print("report: \(pages) pages in \(production.tree.reportsDirectory.path)/ (open index.html)")
        print("live: dcprod serve --production \(production.tree.root.path)")
    }
}
