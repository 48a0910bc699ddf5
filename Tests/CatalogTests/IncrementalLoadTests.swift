import Foundation
import Production
import Sky
import Testing
@testable import Catalog

/// A prepared production of processCcd events in r with its catalog (the embedded one, or a database
/// of the private MariaDB) made, whose events the tests end as verify records them, each with one
/// Source CSV; removed with its directory.
final class ProductionWithResults {
    let directory: URL
    let production: Production
    let defaultsFile: String?
    private let database: String?
    /// Each event's job, by event id, for its next attempt.
    private var jobs: [Int64: JobRecord] = [:]

    init(_ engine: Engine) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dcprod-incremental-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var text = """
            MAINDIR \(directory.path)/prod
            DCNAME DC_2013
            DATAMAIN \(directory.path)/data
            FILTERS r

            """
        let env = ProcessInfo.processInfo.environment
        if engine == .mariadb {
            let name = "dcprod_test_\(UUID().uuidString.prefix(8).lowercased())"
            text += """
                DBHOST \(env["DCPROD_TEST_MARIADB_HOST"] ?? "127.0.0.1")
                DBPORT \(env["DCPROD_TEST_MARIADB_PORT"] ?? "3306")
                DBUSER \(env["DCPROD_TEST_MARIADB_USER"] ?? "")
                DBNAME \(name)
                DBCONNECTIONS 3

                """
            (database, defaultsFile) = (name, env["DCPROD_TEST_MARIADB_DEFAULTS"])
        } else {
            (database, defaultsFile) = (nil, nil)
        }
        let config = try ConfigParser.parse(text: text, file: "fichconfig.txt")
        production = try Production.prepare(config: config, source: "fichconfig.txt", commandLine: ["dcprod", "prepare"]).0
        #expect(try open(createDatabase: true).initialize())
    }

    deinit {
        if let database, let catalog = try? open() { try? catalog.database.execute("DROP DATABASE IF EXISTS `\(database)`") }
        try? FileManager.default.removeItem(at: directory)
    }

    /// The production's catalog, as a writer opens it.
    func open(createDatabase: Bool = false) throws -> ProductionCatalog {
        try ProductionCatalog.open(production, readOnly: false, defaultsFile: defaultsFile, createDatabase: createDatabase)
    }

    /// A load of processCcd: only what changed (`dcprod run`'s pass), or every file (`dcprod load processCcd`).
    func load(everyFile: Bool = false) throws -> CatalogLoader.Summary {
        try open().load(step: .processCcd, deferIndexes: false, everyFile: everyFile).summary
    }

    /// New processCcd events, one per field from `field` on, each planned in a job of its own; their ids.
    func addEvents(fields: Range<Int>) throws -> [Int64] {
        let names = fields.map { FrameName(run: 94, filter: .r, camcol: 1, field: $0) }
        try production.store.recordInventory(frames: names.map { name in
            FrameRecord(path: "\(directory.path)/input/fpC-\(name.stem).fit", run: 94, camcol: 1, field: name.field, filter: .r,
                        eventKey: name.eventKey, width: 2048, height: 1489,
                        corners: [(6.0, -0.4), (6.2, -0.4), (6.2, -0.2), (6.0, -0.2)], center: (6.1, -0.3), size: 1, mtime: 0)
        }, rejections: [])
        let events = try production.store.frameEvents(step: .processCcd, filter: .r, .unplanned)
        try production.store.recordJobs(events.map { PlannedJob(name: "processCcd-r-\($0.key)", manifest: "m", eventIds: [$0.id]) },
                                        step: .processCcd, filter: .r)
        for job in try production.store.unsubmittedJobs(step: .processCcd, filters: [.r], limit: 1_000) {
            let event = try #require(try production.store.members(ofJob: job.id).first)
            jobs[event.id] = job
        }
        return events.map(\.id)
    }

    /// The CSV file an event writes: `src-000094-r1-0011.csv` for field 11.
    func csv(field: Int) -> String { "\(directory.path)/data/src-000094-r1-\(String(format: "%04d", field)).csv" }

    /// Writes a Source CSV of `count` rows from id `first`, and ends a new attempt of the event's job ok with it.
    @discardableResult
    func end(_ event: Int64, field: Int, first: Int, count: Int, flux: String = "1000.5") throws -> String {
        let path = csv(field: field)
        try FileManager.default.createDirectory(atPath: "\(directory.path)/data", withIntermediateDirectories: true)
        try Data((sourceHeader + "\n" + sourceRows(first, count).replacingOccurrences(of: "1000.5", with: flux)).utf8)
            .write(to: URL(fileURLWithPath: path))
        let job = try #require(jobs[event])
        let attempt = try #require(try production.store.recordIntents(for: [job], backend: "local") { job, number, _ in
            AttemptIntent(token: "\(job.name)-\(number)", outcomes: "o", log: "l", memory: nil, walltime: nil)
        }.first)
        try production.store.recordOutcomes([AttemptReading(attemptId: attempt.id, outcomes: [
            EventOutcome(eventId: event, state: .ok, className: "ok", message: "", seconds: 1, outputs: [path]),
        ])])
        return path
    }

    /// The events of processCcd the state store marks loaded, and the catalog rows it says they gave.
    func marked() throws -> (events: Int, rows: Int) {
        let tallies = try production.store.eventTallies(step: .processCcd)
        return (tallies.map(\.loaded).reduce(0, +), tallies.map(\.loadedRows).reduce(0, +))
    }

    /// A number the catalog answers.
    func scalar(_ sql: String) throws -> String? { try open().database.scalar(sql) }
}

/// `dcprod run` loads, at every pass, the outputs of the events not loaded yet alone (issue 29): what a
/// pass costs is what changed, not the size of the production. `dcprod load STEP` still looks at every file.
@Suite(.serialized) struct IncrementalLoad {
    /// Once a production is loaded, the next load opens no result file: a loaded file changed by hand
    /// and another removed are neither refused nor reported, and nothing is loaded, skipped or refused.
    /// A load of every file then sees the changed one, and refuses it.
    @Test(arguments: Engine.available)
    func aLoadedProductionsNextLoadOpensNoResultFile(_ engine: Engine) throws {
        let work = try ProductionWithResults(engine)
        let events = try work.addEvents(fields: 11..<14)
        let files = try events.enumerated().map { index, event in try work.end(event, field: 11 + index, first: 100 * (index + 1), count: 10) }
        let first = try work.load()
        #expect(first.loaded == 3 && first.skipped == 0 && first.rejected.isEmpty, "\(first)")
        #expect(try work.marked() == (3, 30))
        #expect(try work.production.store.unloadedEvents(step: .processCcd).isEmpty)

        // One file grows by a row behind dcprod's back, another is removed.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: files[0]))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(sourceRows(190, 1).utf8))
        try handle.close()
        try FileManager.default.removeItem(atPath: files[1])
        #expect(try work.load() == CatalogLoader.Summary())
        #expect(try work.production.store.loadRejections().isEmpty)
        #expect(try work.scalar("SELECT COUNT(*) FROM Source") == "30")

        // Every file: the changed one is refused, the removed one is left as it was loaded.
        let every = try work.load(everyFile: true)
        #expect(every.loaded == 0 && every.skipped == 2 && every.rejected.map(\.path) == [files[0]], "\(every)")
        #expect(every.rejected.first?.message.contains("changed since it was loaded") == true)
        #expect(try work.production.store.loadRejections().map(\.path) == [files[0]])
        #expect(try work.marked() == (3, 30))
    }

    /// A new event's file is loaded by the next load, and only it; a redone event's new file replaces
    /// the rows of its earlier version. Both get their provenance.
    @Test(arguments: Engine.available)
    func aNewEventsFileLoadsAndARedoneEventsFileReplacesItsRows(_ engine: Engine) throws {
        let work = try ProductionWithResults(engine)
        let events = try work.addEvents(fields: 11..<13)
        try work.end(events[0], field: 11, first: 100, count: 10)
        try work.end(events[1], field: 12, first: 200, count: 10)
        #expect(try work.load().loaded == 2)

        let later = try work.addEvents(fields: 13..<14)
        #expect(try work.production.store.unloadedEvents(step: .processCcd).isEmpty, "a planned event is not ok yet")
        let new = try work.end(later[0], field: 13, first: 300, count: 7)
        #expect(try work.production.store.unloadedEvents(step: .processCcd) == [UnloadedEvent(id: later[0], files: [new], isRedone: false)])
        let next = try work.load()
        #expect(next.loaded == 1 && next.skipped == 0 && next.loadedPaths == [new] && next.rows == ["Source": 7], "\(next)")
        #expect(try work.marked() == (3, 27))

        // The first event run again on changed inputs: its file, rewritten with 4 rows, replaces its 10.
        let redone = try work.end(events[0], field: 11, first: 100, count: 4, flux: "2000.5")
        #expect(try work.production.store.unloadedEvents(step: .processCcd) == [UnloadedEvent(id: events[0], files: [redone], isRedone: true)])
        #expect(try work.marked() == (2, 17))
        let replaced = try work.load()
        #expect(replaced.loaded == 1 && replaced.replaced == 1 && replaced.removed == ["Source": 10] && replaced.rejected.isEmpty, "\(replaced)")
        #expect(try work.scalar("SELECT COUNT(*) FROM Source") == "21")
        #expect(try work.scalar("SELECT COUNT(*) FROM Source WHERE psfFlux = 2000.5") == "4")
        #expect(try work.marked() == (3, 21))
        #expect(try work.scalar("SELECT COUNT(*) FROM dcprod_provenance") == "3")
        #expect(try work.scalar("SELECT attempt FROM dcprod_provenance WHERE path = '\(redone)'") == "2")
        #expect(try work.load() == CatalogLoader.Summary())
    }

    /// A refused file's event stays to be loaded: each load tries it again and records the refusal
    /// anew, until the file is mended; then it loads and its refusal is forgotten.
    @Test(arguments: Engine.available)
    func aRefusedFileIsTriedAgainUntilItLoads(_ engine: Engine) throws {
        let work = try ProductionWithResults(engine)
        let events = try work.addEvents(fields: 11..<13)
        try work.end(events[0], field: 11, first: 100, count: 10)
        let bad = try work.end(events[1], field: 12, first: 200, count: 10)
        let text = try String(contentsOfFile: bad, encoding: .utf8)
        try Data(text.replacingOccurrences(of: "\n205,94,", with: "\nfive,94,").utf8).write(to: URL(fileURLWithPath: bad))
        for _ in 0..<2 {
            let load = try work.load()
            #expect(load.rejected.map(\.path) == [bad] && load.rejected.first?.line == 7, "\(load)")
            #expect(try work.production.store.loadRejections().map(\.path) == [bad])
            #expect(try work.marked().events == 1)
        }
        try Data(text.utf8).write(to: URL(fileURLWithPath: bad))
        let mended = try work.load()
        #expect(mended.loaded == 1 && mended.rejected.isEmpty, "\(mended)")
        #expect(try work.production.store.loadRejections().isEmpty)
        #expect(try work.marked() == (2, 20))
    }

    /// Files a load cut short put in the catalog (in the ledger, their events not marked yet) are
    /// skipped by the next load, which marks their events and gives them their provenance.
    @Test(arguments: Engine.available)
    func filesOfALoadCutShortAreMarkedAndGetTheirProvenance(_ engine: Engine) throws {
        let work = try ProductionWithResults(engine)
        let events = try work.addEvents(fields: 11..<13)
        let file = try work.end(events[0], field: 11, first: 100, count: 10)
        try work.end(events[1], field: 12, first: 200, count: 10)
        let catalog = try work.open()
        let loader = try CatalogLoader(catalog: catalog.database, templates: work.production.tree.templatesDirectory)
        #expect(try loader.load([file]).loaded == 1)
        #expect(try work.marked().events == 0)

        let next = try work.load()
        #expect(next.loaded == 1 && next.skipped == 1, "\(next)")
        #expect(try work.marked() == (2, 20))
        #expect(try work.scalar("SELECT COUNT(*) FROM dcprod_provenance") == "2")
    }

    /// A catalog made anew (the old one deleted) holds nothing the marks say: making it forgets them,
    /// and the next load takes every file again.
    @Test func aCatalogMadeAnewIsLoadedWhole() throws {
        let work = try ProductionWithResults(.sqlite)
        let events = try work.addEvents(fields: 11..<13)
        try work.end(events[0], field: 11, first: 100, count: 10)
        try work.end(events[1], field: 12, first: 200, count: 10)
        #expect(try work.load().loaded == 2)
        try FileManager.default.removeItem(atPath: CatalogConnection.sqlitePath(work.production))
        #expect(try work.open(createDatabase: true).initialize())
        #expect(try work.marked() == (0, 0))
        let again = try work.load()
        #expect(again.loaded == 2 && again.rejected.isEmpty, "\(again)")
        #expect(try work.scalar("SELECT COUNT(*) FROM Source") == "20")
        #expect(try work.marked() == (2, 20))
    }
}
