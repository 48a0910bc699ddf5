import ArgumentParser
import Basics
import CatalogAnalysis
import Foundation
import Sky

/// Which catalog rows a verb reads (`crossmatch`, `export`): a region or patches, filters, a table.
struct SelectionOptions: ParsableArguments {
    // Unconditional: a box written from −180, "-0.5,0.5,-1,1", is a value, not an option.
    @Option(parsing: .unconditional,
            help: ArgumentHelp("An RA/Dec box: RAMIN,RAMAX,DECMIN,DECMAX in degrees, RA in [0, 360] or in [-180, 180] (through RA 0 when RAMIN is above RAMAX).",
                               valueName: "box"))
    var region: String?

    @Option(help: ArgumentHelp("A patch, TRACT-X,Y as the seed writes it (0-380,5); repeat for several.", valueName: "patch"))
    var patch: [String] = []

    @Option(name: [.customLong("filter"), .customLong("filters")],
            help: ArgumentHelp("The filters, as letters (r, gri); default: all five.", valueName: "letters"))
    var filters: String?

    @Flag(help: "DeepForcedSource: forced photometry on the calexps at the primary DeepSources.")
    var forced = false

    @Flag(help: "Source: processCcd's single-frame sources (with --region only).")
    var single = false

    @Flag(name: .customLong("all"), help: "Non-primary DeepSources too (the copies in a neighbouring patch's border).")
    var includeNonPrimary = false

    func validate() throws { _ = try selection() }

    /// The filters of letters such as `gri` (empty: none named).
    ///
    /// - Throws: `ValidationError` naming `option` and the letter that is not a filter.
    static func filters(_ letters: String, option: String) throws -> [Filter] {
        try letters.map { letter in
            guard let filter = Filter(rawValue: String(letter)) else { throw ValidationError("\(option) \(letters): \(letter) is not one of u g r i z") }
            return filter
        }
    }

    /// The selection the options describe.
    func selection() throws -> CatalogSelection {
        if forced && single { throw ValidationError("--forced and --single: choose one table") }
        let area: CatalogSelection.Area
        switch (region, patch.isEmpty) {
        case (nil, true): throw ValidationError("say where: --region RAMIN,RAMAX,DECMIN,DECMAX or --patch TRACT-X,Y")
        case (.some, false): throw ValidationError("--region and --patch: choose one")
        case (let box?, true):
            let bounds = box.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard bounds.count == 4, bounds.allSatisfy({ $0 != nil }) else {
                throw ValidationError("--region \(box): four numbers RAMIN,RAMAX,DECMIN,DECMAX in degrees")
            }
            do {
                area = .region(try Region.written(bounds[0]!, bounds[1]!, bounds[2]!, bounds[3]!))
            } catch {
                throw ValidationError("region \(box): \(error)")
            }
        case (nil, false):
            area = .patches(try patch.map { text in
                guard let id = PatchId(key: text) else { throw ValidationError("--patch \(text): a patch is TRACT-X,Y, e.g. 0-380,5") }
                return id
            })
        }
        let letters = try Self.filters(filters ?? "", option: "--filter")
        let selection = CatalogSelection(table: forced ? .deepForcedSource : single ? .source : .deepSource, area: area,
                                         filters: letters, includeNonPrimary: includeNonPrimary)
        if let why = selection.impossibility { throw ValidationError(why) }
        return selection
    }
}
