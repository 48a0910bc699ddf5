import ArgumentParser
import Catalog
import CatalogAnalysis
import Foundation
import Logging
import Planning
import Production
import Sky

struct CrossmatchCommand: ProductionCommand {
    static let configuration = CommandConfiguration(
        commandName: "crossmatch",
        abstract: "Match the catalog's sources of a region against a reference catalog, as DC2013 did against Stripe 82's CAS.",
        discussion: """
            One-to-one, nearest first, within ±0.0005° in RA·cos Dec and in Dec and ±1 mag (the seed's tolerances), \
            filter by filter. A source's magnitude is zeroPoint − 2.5 log10(psfFlux), with the zero point the catalog \
            holds for its coadd (DeepSource) or calexp (Source, DeepForcedSource). REFERENCE is a CSV file with a header: \
            RA and Dec in degrees and a magnitude column per filter (the simulator's refcat.csv is one; for CAS's \
            psfMag_r give --mag-column 'psfMag_{filter}'). Prints the counts; writes the matched pairs, both unmatched \
            lists and a figure per filter into --output.
            """)

    @OptionGroup var options: ProductionOptions
    @OptionGroup var catalogOptions: CatalogOptions
    @OptionGroup var selectionOptions: SelectionOptions

    @Argument(help: "The reference catalog (CSV).")
    var reference: String

    @Option(help: "The position tolerance on each axis, degrees.")
    var tolerance = 0.0005

    @Option(help: "The magnitude tolerance (or 3σ of the reference's magnitude, when larger).")
    var magTolerance = 1.0

    @Flag(help: "Match on position only, as the seed's \"match only in RA and DEC\".")
    var positionOnly = false

    @Option(help: "The reference's RA column.")
    var raColumn = "ra"

    @Option(help: "The reference's Dec column (default: dec, else decl).")
    var decColumn: String?

    @Option(help: "The reference's magnitude column, {filter} standing for the filter's letter.")
    var magColumn = "{filter}"

    @Option(help: "The reference's magnitude error column (default: the magnitude column's name with Err, if present).")
    var magErrorColumn: String?

    @Option(help: "The reference's id column (default: id if present, else the line number).")
    var idColumn: String?

    @Option(help: "The reference's star column, 1 for a star (default: isStar if present).")
    var starColumn: String?

    @Option(help: "Where the CSV files and figures go.")
    var output = "crossmatch"

    var changesProduction: Bool { false }

    func run(on production: Production) throws {
        let selection = try selectionOptions.selection()
        let columns = ReferenceObjects.Columns(ra: raColumn, dec: decColumn, magnitude: magColumn, magnitudeError: magErrorColumn, id: idColumn, star: starColumn)
        let logger = Logger(label: "dcprod.crossmatch")
        var clock = ContinuousClock.now
        /// Logs how long the phase just ended took (`--verbose`; Benchmarks/crossmatch reads it).
        func lap(_ what: String) {
            let now = ContinuousClock.now, spent = (now - clock).components
            logger.debug("\(what) in \(String(format: "%.3f", Double(spent.seconds) + Double(spent.attoseconds) / 1e18)) s")
            clock = now
        }
        let reference = try ReferenceObjects(path: reference, columns: columns)
        lap("read \(reference.objects.count) reference objects")
        let catalog = try CatalogConnection.open(production, readOnly: true, defaultsFile: catalogOptions.defaultsFile)
        let sources = try Crossmatch.sources(of: selection, in: catalog)
        lap("read \(sources.count) catalog sources")
        let skyMap: SkyMap? = if case .patches = selection.area { try SkyMap.of(production) } else { nil }
        let match = Crossmatch(tolerances: .init(position: tolerance, magnitude: positionOnly ? nil : magTolerance))
        let filters = selection.selectedFilters.filter(reference.filters.contains)
        guard !filters.isEmpty else {
            throw ValidationError("\(reference.path): no magnitude column \(magColumn) for \(selection.selectedFilters.map(\.rawValue).joined())")
        }
        let results = try match.run(sources: sources, reference: reference, filters: filters) {
            try selection.contains($0, skyMap: skyMap)
        }
        lap("matched")
        let directory = URL(fileURLWithPath: output)
        for result in results {
            result.lines.forEach { print($0) }
            let files = try CrossmatchFiles.write(result, to: directory, idColumn: selection.table.idColumn)
            print("files: \(files.matched.path), \(files.unmatchedReference.path), \(files.unmatchedSources.path), \(files.figure.path)")
        }
        lap("wrote the files")
    }
}
