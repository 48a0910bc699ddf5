import Foundation
import Production
import Testing
@testable import Catalog

/// An incremental load (`dcprod run`'s pass) goes a page of unloaded events at a time, and `dcprod load
/// STEP` a page of ok events at a time, so that what they hold does not grow with the number of events to
/// load (issue 29: a first load at DC2013's size).
@Suite(.serialized) struct PagedLoad {
    /// What a load left: its account, and the catalog's rows, ledger, provenance and the loaded marks,
    /// with the production's directory taken out of the paths.
    struct Outcome: Equatable {
        var summaries: [String] = []
        var catalog: [String?] = []
        var marked: [Int] = []
        var unloaded: [[String]] = []
    }

    /// Seven events, one of whose files is refused, loaded `pageSize` events at a time; then two of
    /// them run again on changed inputs, and a new one, loaded likewise. `everyFile`: as `dcprod load STEP`.
    func loadSevenEvents(_ engine: Engine, pageSize: Int, everyFile: Bool = false) throws -> Outcome {
        let work = try ProductionWithResults(engine)
        var outcome = Outcome()
        let events = try work.addEvents(fields: 11..<18)
        var bad = ""
        for (index, event) in events.enumerated() {
            let path = try work.end(event, field: 11 + index, first: 100 * (index + 1), count: 10)
            if index == 3 { bad = path }
        }
        let text = try String(contentsOfFile: bad, encoding: .utf8)
        try Data(text.replacingOccurrences(of: "\n405,94,", with: "\nfive,94,").utf8).write(to: URL(fileURLWithPath: bad))
        let record = { (summary: CatalogLoader.Summary) throws in
            let prefix = work.directory.path
            var sorted = summary
            sorted.loadedPaths = summary.loadedPaths.sorted().map { $0.replacingOccurrences(of: prefix, with: "") }
            sorted.rejected = summary.rejected.map { .init(path: $0.path.replacingOccurrences(of: prefix, with: ""), line: $0.line, message: $0.message.replacingOccurrences(of: prefix, with: "")) }
            outcome.summaries.append("\(sorted)")
            outcome.catalog += try [
                "SELECT COUNT(*) FROM Source", "SELECT SUM(psfFlux) FROM Source", "SELECT COUNT(*) FROM dcprod_load",
                "SELECT SUM(rowCount) FROM dcprod_load", "SELECT MIN(firstKey) FROM dcprod_load", "SELECT MAX(lastKey) FROM dcprod_load",
                "SELECT COUNT(*) FROM dcprod_provenance", "SELECT SUM(attempt) FROM dcprod_provenance",
                "SELECT COUNT(*) FROM dcprod_provenance_input",
            ].map { try work.scalar($0) }
            let marked = try work.marked()
            outcome.marked += [marked.events, marked.rows]
            outcome.unloaded.append(try work.production.store.unloadedEvents(step: .processCcd).map {
                "\($0.isRedone) " + $0.files.joined().replacingOccurrences(of: prefix, with: "")
            })
        }
        try record(try work.open().load(step: .processCcd, deferIndexes: false, everyFile: everyFile, pageSize: pageSize).summary)

        try Data(text.utf8).write(to: URL(fileURLWithPath: bad))
        try work.end(events[0], field: 11, first: 100, count: 4, flux: "2000.5")
        try work.end(events[5], field: 16, first: 600, count: 3, flux: "3000.5")
        let later = try work.addEvents(fields: 18..<19)
        try work.end(later[0], field: 18, first: 800, count: 5)
        try record(try work.open().load(step: .processCcd, deferIndexes: true, everyFile: everyFile, pageSize: pageSize).summary)
        return outcome
    }

    /// Loaded two events or one at a time, a production gets the same rows, ledger, provenance and
    /// marks, and the load the same account, as in one page; a refused file's event stays to be loaded.
    @Test(arguments: Engine.available)
    func pagesLoadWhatOnePageLoads(_ engine: Engine) throws {
        let whole = try loadSevenEvents(engine, pageSize: ProductionCatalog.eventsPerPage)
        #expect(whole.marked == [6, 60, 8, 62], "\(whole)")
        #expect(whole.unloaded.first?.count == 1 && whole.unloaded.last == [], "\(whole)")
        #expect(whole.summaries.last?.contains("replaced: 2") == true, "\(whole)")
        for pageSize in [1, 2] {
            let paged = try loadSevenEvents(engine, pageSize: pageSize)
            #expect(paged == whole, "pages of \(pageSize)")
        }
    }

    /// `dcprod load STEP` looks at every file by the same pages: one or two events at a time, it gives
    /// the same rows, ledger, provenance, marks and account as in one page, and the same rows and
    /// marks as the incremental loads.
    @Test(arguments: Engine.available)
    func everyFileGoesByTheSamePages(_ engine: Engine) throws {
        let whole = try loadSevenEvents(engine, pageSize: ProductionCatalog.eventsPerPage, everyFile: true)
        let incremental = try loadSevenEvents(engine, pageSize: ProductionCatalog.eventsPerPage)
        #expect(whole.catalog == incremental.catalog && whole.marked == incremental.marked, "\(whole)\n\(incremental)")
        #expect(whole.summaries.last?.contains("replaced: 2") == true, "\(whole)")
        for pageSize in [1, 2] {
            let paged = try loadSevenEvents(engine, pageSize: pageSize, everyFile: true)
            #expect(paged == whole, "pages of \(pageSize)")
        }
    }

    /// A load's account of many pages names at most `filesNamed` files loaded and refused and counts
    /// them all (the first load at DC2013's size held a string for each of 1.57M files and grew past
    /// 1 GB); `dcprod load` prints the count, and says where the unnamed ones are.
    @Test func anAccountOfManyPagesCountsWhatItDoesNotName() {
        func page(_ number: Int, files: Int) -> CatalogLoader.Summary {
            var part = CatalogLoader.Summary()
            part.loaded = files
            part.loadedPaths = (0..<files).map { "/p\(number)/loaded\($0).csv" }
            part.rejected = (0..<files).map { .init(path: "/p\(number)/bad\($0).csv", line: 2, message: "not a number") }
            part.rows = ["Source": 10 * files]
            return part
        }
        var account = CatalogLoader.Summary()
            for number in 0..<3 { account.add(later: page(number, files: 600)) }
        #expect(account.loaded == 1_800 && account.rows == ["Source": 18_000])
        #expect(account.loadedPaths.count == CatalogLoader.Summary.filesNamed && account.loadedPaths.last == "/p1/loaded399.csv")
        #expect(account.rejected.count == CatalogLoader.Summary.filesNamed && account.rejectedCount == 1_800 && account.rejectedUnnamed == 800)
        #expect(account.rejected.first?.path == "/p0/bad0.csv" && account.rejected.last?.path == "/p1/bad399.csv")
        var later = CatalogLoader.Summary()
        later.add(later: account)
        #expect(later == account, "an account added to an empty one is itself")
    }
}
