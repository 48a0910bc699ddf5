import Basics
import Foundation
import Testing
@testable import Production

/// A scratch directory removed when the test ends.
final class Scratch {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("dcprod-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    func config(_ extra: String = "") -> String {
        """
        MAINDIR \(url.path)/lsstprod
        DCNAME DC_2013
        DATAMAIN \(url.path)/lsstprod-data
        DBHOST 127.0.0.1
        DBUSER lsst_prod
        \(extra)
        """
    }

    func write(_ text: String, to name: String) throws -> String {
        let file = url.appendingPathComponent(name)
        try Data(text.utf8).write(to: file)
        return file.path
    }

    /// Every path under the scratch directory, relative to it, sorted.
    func listing() -> [String] {
        (FileManager.default.enumerator(atPath: url.path)?.allObjects as? [String] ?? []).sorted()
    }
}

@Suite struct Preparing {
    @Test func aFiveKeyConfigPreparesTheWholeTree() throws {
        let scratch = try Scratch()
        let config = try ConfigParser.parse(text: scratch.config(), file: "fichconfig.txt")
        let (production, outcome) = try Production.prepare(config: config, source: "fichconfig.txt", commandLine: ["dcprod", "prepare", "fichconfig.txt"])
        #expect(outcome == .created)
        let root = production.tree.root.path
        let fm = FileManager.default
        for path in ["production.conf", "state.sqlite", "logbook", "reports"] {
            #expect(fm.fileExists(atPath: "\(root)/\(path)"), "\(path) missing")
        }
        for step in Step.allCases {
            for filter in Filter.allCases {
                for leaf in ["jobs", "logs", "outcomes"] {
                    #expect(fm.fileExists(atPath: "\(root)/steps/\(step.rawValue)/\(filter.rawValue)/\(leaf)"))
                }
                #expect(fm.fileExists(atPath: production.tree.dataDirectory(step, filter).path))
            }
        }
        #expect(fm.fileExists(atPath: config.input))
        #expect(try production.store.schemaVersion() == StateStore.latestSchemaVersion)
        let journal = try production.store.pool.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
        // No staging directory is left behind.
        #expect(try fm.contentsOfDirectory(atPath: "\(scratch.url.path)/lsstprod") == ["DC_2013"])
    }

    @Test func preparingAgainWithTheSameConfigChangesNothing() throws {
        let scratch = try Scratch()
        let config = try ConfigParser.parse(text: scratch.config(), file: "fichconfig.txt")
        let (first, _) = try Production.prepare(config: config, source: "a", commandLine: ["dcprod", "prepare"])
        let before = scratch.listing()
        let logbookBefore = try String(contentsOf: first.logbook.file(for: Date()), encoding: .utf8)
        let (_, outcome) = try Production.prepare(config: config, source: "a", commandLine: ["dcprod", "prepare"])
        #expect(outcome == .unchanged)
        #expect(scratch.listing() == before)
        #expect(try String(contentsOf: first.logbook.file(for: Date()), encoding: .utf8) == logbookBefore)
    }

    @Test func preparingWithADifferentConfigIsRefusedNamingTheKeys() throws {
        let scratch = try Scratch()
        let config = try ConfigParser.parse(text: scratch.config(), file: "fichconfig.txt")
        _ = try Production.prepare(config: config, source: "a", commandLine: ["dcprod", "prepare"])
        let changed = try ConfigParser.parse(text: scratch.config("BACKEND sge\nMAXRETRY 5"), file: "fichconfig.txt")
        do {
            _ = try Production.prepare(config: changed, source: "a", commandLine: ["dcprod", "prepare"])
            Issue.record("a different config was accepted")
        } catch let error as ProductionError {
            #expect(error == .differentConfig(tree: config.treeRoot.path, differences: ["BACKEND: local → sge", "MAXRETRY: 2 → 5"]))
            #expect(error.description.contains("was prepared from a different config; refusing to change it. Keys that differ:"))
        }
    }

    @Test func anOccupiedDirectoryIsNotTaken() throws {
        let scratch = try Scratch()
        let config = try ConfigParser.parse(text: scratch.config(), file: "fichconfig.txt")
        try FileManager.default.createDirectory(at: config.treeRoot, withIntermediateDirectories: true)
        try Data("someone's notes".utf8).write(to: config.treeRoot.appendingPathComponent("notes.txt"))
        let error = #expect(throws: ProductionError.occupied(config.treeRoot.path)) {
            try Production.prepare(config: config, source: "a", commandLine: ["dcprod", "prepare"])
        }
        #expect(error?.description.contains("exists and is not a dcprod production; choose another MAINDIR or DCNAME") == true)
    }

    /// One DATAMAIN/DCNAME holds one production's outputs: a second tree (another MAINDIR) prepared
    /// onto it is refused at its config's DATAMAIN line, naming the tree that owns it, and creates nothing.
    @Test func aDataTreeBelongsToOneProduction() throws {
        let scratch = try Scratch()
        let firstPath = try scratch.write(scratch.config(), to: "fichconfig.txt")
        let first = try ConfigParser.parse(contentsOf: firstPath)
        let (production, _) = try Production.prepare(config: first, source: firstPath, commandLine: ["dcprod", "prepare"])
        let owner = production.tree.root.standardizedFileURL.path
        let ownerFile = first.dataRoot.appendingPathComponent(ProductionTree.ownerFileName)
        #expect(try String(contentsOf: ownerFile, encoding: .utf8) == owner + "\n")

        // Same DATAMAIN and DCNAME, another MAINDIR: the second tree would write the same outputs.
        let secondText = scratch.config().replacingOccurrences(of: "\(scratch.url.path)/lsstprod\n", with: "\(scratch.url.path)/other\n")
        let secondPath = try scratch.write("# the other shift's production\n" + secondText, to: "other.txt")
        let second = try ConfigParser.parse(contentsOf: secondPath)
        #expect(second.treeRoot != first.treeRoot && second.dataRoot == first.dataRoot)
        let before = scratch.listing()
        do {
            _ = try Production.prepare(config: second, source: secondPath, commandLine: ["dcprod", "prepare"])
            Issue.record("a second production was prepared onto \(second.dataRoot.path)")
        } catch let error as ConfigError {
            #expect(error.file == secondPath)
            #expect(error.line == 4, "DATAMAIN is on line 4 of \(secondPath)")
            #expect(error.message.hasPrefix("DATAMAIN: \(second.dataRoot.path)"))
            #expect(error.message.contains(owner) && error.message.contains("a data tree belongs to one production"))
        }
        #expect(scratch.listing() == before, "nothing of the second production is created")
        #expect(try String(contentsOf: ownerFile, encoding: .utf8) == owner + "\n")

        // The owner itself prepares again as before; a data tree with an empty owner file (a prepare
        // that died while writing it) is taken.
        let (_, again) = try Production.prepare(config: first, source: firstPath, commandLine: ["dcprod", "prepare"])
        #expect(again == .unchanged)
        #expect(scratch.listing() == before)
        try Data().write(to: ownerFile)
        let (other, outcome) = try Production.prepare(config: second, source: secondPath, commandLine: ["dcprod", "prepare"])
        #expect(outcome == .created)
        #expect(try String(contentsOf: ownerFile, encoding: .utf8) == other.tree.root.standardizedFileURL.path + "\n")
    }

    @Test func theProductionIsFoundFromInsideItsTreeAndFromTheSeedConfig() throws {
        let scratch = try Scratch()
        let path = try scratch.write(scratch.config(), to: "fichconfig.txt")
        let config = try ConfigParser.parse(contentsOf: path)
        let (production, _) = try Production.prepare(config: config, source: path, commandLine: ["dcprod"])
        let root = production.tree.root.standardizedFileURL.path
        let inside = production.tree.logsDirectory(.processCcd, .r).path
        #expect(try ProductionLocator.locate(explicit: nil, environment: [:], cwd: inside).path == root)
        #expect(try ProductionLocator.locate(explicit: nil, environment: [:], cwd: scratch.url.path).path == root)
        #expect(try ProductionLocator.locate(explicit: "fichconfig.txt", environment: [:], cwd: scratch.url.path).path == root)
        #expect(try ProductionLocator.locate(explicit: nil, environment: ["DCPROD_PRODUCTION": root], cwd: "/").path == root)
        #expect(throws: ProductionError.notFound) { try ProductionLocator.locate(explicit: nil, environment: [:], cwd: "/") }
        let reopened = try Production.open(root: production.tree.root)
        #expect(reopened.config == config)
    }
}

@Suite struct Logbooks {
    @Test func entriesAreAppendedPerDayWithWhoWhereAndWhat() throws {
        let scratch = try Scratch()
        let logbook = Logbook(directory: scratch.url)
        let day = Date(timeIntervalSince1970: 1_700_000_000) // 2023-11-14 22:13:20 UTC
        try logbook.append(LogbookEntry(date: day, user: "lsstprod", host: "ccwsge0042",
                                        commandLine: ["dcprod", "inventory"], summary: "inventory: 200 frame files"))
        try logbook.append(LogbookEntry(date: day.addingTimeInterval(60), user: "lsstprod", host: "ccwsge0042",
                                        commandLine: ["dcprod", "status"], summary: "second"))
        let text = try String(contentsOf: scratch.url.appendingPathComponent("2023-11-14.md"), encoding: .utf8)
        #expect(text.hasPrefix("# Logbook 2023-11-14\n"))
        #expect(text.contains("### 22:13:20 UTC · lsstprod@ccwsge0042\n\n`dcprod inventory`\n\ninventory: 200 frame files\n"))
        #expect(text.components(separatedBy: "### ").count == 3)
        #expect(try logbook.days(since: "2023-11-15").isEmpty)
        #expect(try logbook.days(since: "2023-11-14").count == 1)
    }

    @Test func passwordsNeverReachTheLogbook() {
        let entry = LogbookEntry(commandLine: ["dcprod", "load", "--password=hunter2", "--db-password", "hunter3", "MYSQL_PWD=x"],
                                 summary: "load")
        #expect(!entry.markdown.contains("hunter2"))
        #expect(!entry.markdown.contains("hunter3"))
        #expect(entry.commandLine == ["dcprod", "load", "--password=***", "--db-password", "***", "MYSQL_PWD=***"])
    }
}
