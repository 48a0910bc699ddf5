import ArgumentParser
import Basics
import Catalog
import CatalogAnalysis
import Foundation
import Production

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two productions of the same sky (two software releases, configs or sites): outcomes and catalogs.",
        discussion: """
            Sets A's and B's outcomes side by side for each step and filter and lists the events whose outcome changed; \
            matches each catalog table's sources one-to-one by position within each coadd or exposure, and gives the \
            median and robust scatter of B's calibrated flux over A's and of B's position offset for the sources of \
            S/N > 50, and the sources only one has. Writes changed-events.csv and a page of control plots per table into \
            --output. Exits 1 when a threshold is passed, so that it can gate a release. Reads only.
            """)

    @Argument(help: "Production A (the reference, e.g. the earlier release): its tree directory or config file.")
    var a: String

    @Argument(help: "Production B: its tree directory or config file.")
    var b: String

    @Option(help: "The filters, as letters (default: all five).")
    var filters: String?

    @Option(help: ArgumentHelp("The largest |median B/A − 1| of the bright sources' flux: 0.5% or 0.005.", valueName: "fraction"))
    var maxFluxOffset = "0.5%"

    @Option(help: ArgumentHelp("The largest median position offset of the bright sources: 0.02arcsec or 0.02.", valueName: "arcsec"))
    var maxPositionOffset = "0.02arcsec"

    @Option(help: ArgumentHelp("The largest drop of a step and filter's ok fraction: 0.1% or 0.001.", valueName: "fraction"))
    var maxOkDrop = "0.1%"

    @Option(help: "How far apart, in degrees on each axis, the two measurements of a source may be.")
    var tolerance = 0.0005

    @Option(help: "Where changed-events.csv and the control plots go.")
    var output = "compare"

    @OptionGroup var catalogOptions: CatalogOptions

    func thresholds() throws -> ProductionComparison.Thresholds {
        func number(_ text: String, _ name: String, suffix: String, scale: Double) throws -> Double {
            let trimmed = text.hasSuffix(suffix) ? String(text.dropLast(suffix.count)) : text
            guard let value = Double(trimmed), value >= 0 else {
                throw ValidationError("--\(name) \(text): a number, e.g. 0.5\(suffix)")
            }
            return text.hasSuffix(suffix) ? value * scale : value
        }
        return .init(fluxOffset: try number(maxFluxOffset, "max-flux-offset", suffix: "%", scale: 0.01),
                     positionOffset: try number(maxPositionOffset, "max-position-offset", suffix: "arcsec", scale: 1),
                     okDrop: try number(maxOkDrop, "max-ok-drop", suffix: "%", scale: 0.01))
    }

    func validate() throws { _ = try thresholds() }

    func run() throws {
        let failed = try reporting { () -> Bool in
            let selected = try SelectionOptions.filters(filters ?? "", option: "--filters")
            let sides = try [a, b].map { path -> (production: Production, catalog: CatalogDatabase) in
                let production = try ProductionOptions.parse(["--production", path]).open(writing: false)
                return (production, try CatalogConnection.open(production, readOnly: true, defaultsFile: catalogOptions.defaultsFile))
            }
            let comparison = try ProductionComparison.make(a: (sides[0].production.store, sides[0].catalog),
                                                           b: (sides[1].production.store, sides[1].catalog),
                                                           tables: CatalogSelection.Table.allCases, filters: selected, tolerance: tolerance)
            print("A: \(sides[0].production.tree.root.path)\nB: \(sides[1].production.tree.root.path)")
            comparison.lines.forEach { print($0) }
            let files = try comparison.write(to: URL(fileURLWithPath: output))
            print("files: " + files.map(\.path).joined(separator: ", "))
            let violations = comparison.violations(try thresholds())
            for violation in violations { print("FAIL: \(violation)") }
            print(violations.isEmpty ? "compare: B agrees with A within the thresholds" : "compare: \(violations.count) thresholds passed")
            return !violations.isEmpty
        }
        if failed { throw ExitCode.failure }
    }
}
