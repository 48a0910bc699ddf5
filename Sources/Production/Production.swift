import Basics
import Foundation

/// An opened production: its frozen config, its tree, its state store and its logbook.
public final class Production: Sendable {
    public let config: ProductionConfig
    public let tree: ProductionTree
    public let store: StateStore
    public let logbook: Logbook

    init(config: ProductionConfig, tree: ProductionTree, access: StateStore.Access = .write) throws {
        self.config = config
        self.tree = tree
        store = try StateStore(path: tree.stateFile.path, access: access)
        logbook = Logbook(directory: tree.logbookDirectory)
    }

    /// Opens the production whose tree is at `root` (the directory holding `production.conf`).
    ///
    /// - Parameter access: `.write` for a verb that changes the production (under its lock): the state
    ///   store is migrated if it is older; `.read` for a reader, which never writes anything.
    public static func open(root: URL, access: StateStore.Access = .write) throws -> Production {
        let frozen = root.appendingPathComponent(ProductionTree.configFileName)
        guard FileManager.default.fileExists(atPath: frozen.path) else {
            throw ProductionError.notPrepared(root.path)
        }
        let config = try ConfigParser.parse(contentsOf: frozen.path)
        // The tree may have been moved since it was prepared; trust where it is now.
        let tree = ProductionTree(root: root.standardizedFileURL, dataRoot: config.dataRoot)
        return try Production(config: config, tree: tree, access: access == .read ? .read : .write)
    }

    /// Appends a logbook entry for a verb that changed something.
    public func record(_ commandLine: [String], _ summary: String) throws {
        try logbook.append(LogbookEntry(commandLine: commandLine, summary: summary))
    }
}

public enum ProductionError: Error, CustomStringConvertible, Equatable {
    case notPrepared(String)
    case differentConfig(tree: String, differences: [String])
    case occupied(String)
    case notFound

    public var description: String {
        switch self {
        case .notPrepared(let path):
            return "\(path): no production here (no \(ProductionTree.configFileName)); run `dcprod prepare CONFIG` first"
        case .differentConfig(let tree, let differences):
            return "\(tree) was prepared from a different config; refusing to change it. Keys that differ:\n"
                + differences.map { "  \($0)" }.joined(separator: "\n")
        case .occupied(let path):
            return "\(path) exists and is not a dcprod production; choose another MAINDIR or DCNAME"
        case .notFound:
            return "no production found: give --production DIR (or CONFIG), set DCPROD_PRODUCTION, run from inside a production tree, or from a directory holding fichconfig.txt"
        }
    }
}

extension Production {
    public enum PrepareOutcome: Equatable, Sendable { case created, unchanged }

    /// Prepares the production of `config`: the tree under MAINDIR/DCNAME, the data tree under
    /// DATAMAIN/DCNAME, `production.conf`, the state store and the first logbook entry.
    ///
    /// The tree is built under a temporary name beside its final place and renamed at the end,
    /// so an interrupted prepare leaves no half-made production. Preparing again with an equal
    /// config changes nothing; with a different one it refuses and names the keys that differ.
    /// DATAMAIN/DCNAME belongs to the first tree prepared onto it (`ProductionTree.ownerFile`): another
    /// tree's prepare onto it is refused at the config's DATAMAIN line, and nothing is created.
    public static func prepare(config: ProductionConfig, source: String, commandLine: [String]) throws -> (Production, PrepareOutcome) {
        let tree = ProductionTree(config: config)
        for (key, path) in [("MAINDIR", config.treeRoot.path), ("DATAMAIN", config.dataRoot.path), ("INPUT", config.input)] {
            if let obstacle = DirectoryPath.obstacle(to: path) {
                throw ConfigError(file: source, line: ConfigParser.line(of: key, in: source) ?? 0,
                                  message: "\(key): cannot make \(path): \(obstacle)")
            }
        }
        if FileManager.default.fileExists(atPath: tree.configFile.path) {
            let existing = try ConfigParser.parse(contentsOf: tree.configFile.path)
            let differences = config.differences(from: existing)
            guard differences.isEmpty else {
                throw ProductionError.differentConfig(tree: tree.root.path, differences: differences)
            }
            // A tree prepared before data trees had owners claims its own now.
            try claimData(of: tree, source: source)
            return (try Production(config: existing, tree: tree), .unchanged)
        }
        if let owner = owner(ofDataOf: tree), owner != tree.root.standardizedFileURL.path {
            throw dataTaken(tree, by: owner, source: source)
        }
        try makeTree(tree, config: config, source: source)
        let production = try Production(config: config, tree: tree)
        let directories = ProductionTree.directories(filters: config.filters).count
        try production.record(commandLine, "prepare: production \(config.dcName) created at \(tree.root.path) "
            + "(\(directories) directories, \(config.filters.count) filters, backend \(config.backend.rawValue), "
            + "catalog \(config.usesEmbeddedCatalog ? "sqlite" : "\(config.dbHost)/\(config.dbName)"))")
        return (production, .created)
    }

    /// Makes the tree in a staging directory beside it — directories, frozen config, templates, state
    /// store — claims the data tree and makes its directories, then renames the staging directory into
    /// place: a prepare that fails leaves no half-made tree. An empty directory in the tree's place is
    /// taken; one with contents is refused.
    private static func makeTree(_ tree: ProductionTree, config: ProductionConfig, source: String) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: tree.root.path) {
            let contents = (try? fm.contentsOfDirectory(atPath: tree.root.path)) ?? ["?"]
            guard contents.isEmpty else { throw ProductionError.occupied(tree.root.path) }
            try fm.removeItem(at: tree.root)
        }
        let parent = tree.root.deletingLastPathComponent()
        try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        let staging = parent.appendingPathComponent(".\(config.dcName).preparing-\(getpid())")
        try? fm.removeItem(at: staging)
        do {
            for directory in ProductionTree.directories(filters: config.filters) {
                try fm.createDirectory(at: staging.appendingPathComponent(directory), withIntermediateDirectories: true)
            }
            let frozen = config.frozenText(preparedFrom: source)
            try Data(frozen.utf8).write(to: staging.appendingPathComponent(ProductionTree.configFileName), options: .atomic)
            try Templates.install(into: staging.appendingPathComponent("templates"))
            // Create and migrate the store, then close it before the rename.
            _ = try StateStore(path: staging.appendingPathComponent(ProductionTree.stateFileName).path, access: .create)

            try claimData(of: tree, source: source)
            for step in Step.allCases {
                for filter in config.filters {
                    try fm.createDirectory(at: tree.dataDirectory(step, filter), withIntermediateDirectories: true)
                }
            }
            if !fm.fileExists(atPath: config.input) {
                try fm.createDirectory(atPath: config.input, withIntermediateDirectories: true)
            }
            try fm.moveItem(at: staging, to: tree.root)
        } catch {
            try? fm.removeItem(at: staging)
            throw error
        }
    }
}

extension Production {
    /// The tree that DATAMAIN/DCNAME's owner file names; nil when it has none (or an empty one, a
    /// prepare that died while writing it).
    static func owner(ofDataOf tree: ProductionTree) -> String? {
        guard let text = try? String(contentsOf: tree.ownerFile, encoding: .utf8) else { return nil }
        let owner = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return owner.isEmpty ? nil : owner
    }

    /// Makes `tree` the owner of its data tree, unless another tree owns it. The owner file is created
    /// exclusively (`O_EXCL`), so that of two prepares at once onto one data tree, one is refused.
    ///
    /// - Throws: `ConfigError` at the DATAMAIN line of `source` when another tree owns the data tree; a
    ///   `CocoaError` when the data tree or its owner file cannot be made.
    static func claimData(of tree: ProductionTree, source: String) throws {
        let path = tree.root.standardizedFileURL.path
        switch owner(ofDataOf: tree) {
        case path: return
        case let other?: throw dataTaken(tree, by: other, source: source)
        case nil: break
        }
        try FileManager.default.createDirectory(at: tree.dataRoot, withIntermediateDirectories: true)
        let text = Array((path + "\n").utf8)
        let descriptor = Glibc.open(tree.ownerFile.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if descriptor >= 0 {
            defer { close(descriptor) }
            guard write(descriptor, text, text.count) == text.count, fsync(descriptor) == 0 else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: tree.ownerFile.path])
            }
            return
        }
        if errno == EEXIST, let other = owner(ofDataOf: tree) {
            guard other == path else { throw dataTaken(tree, by: other, source: source) }
            return
        }
        // Left empty by a prepare that died while writing it (or not writable: then this throws).
        try AtomicFile.write(Data(text), to: tree.ownerFile)
    }

    static func dataTaken(_ tree: ProductionTree, by owner: String, source: String) -> ConfigError {
        ConfigError(file: source, line: ConfigParser.line(of: "DATAMAIN", in: source) ?? 0, message: """
            DATAMAIN: \(tree.dataRoot.path) holds the outputs of the production at \(owner) (\(tree.ownerFile.path)); \
            a data tree belongs to one production, or each would overwrite the other's outputs: choose another DATAMAIN or DCNAME
            """)
    }
}

/// Finds the production a verb works on.
public enum ProductionLocator {
    /// In order: `explicit` (a tree directory or a config file), `DCPROD_PRODUCTION`, the nearest
    /// directory at or above `cwd` holding `production.conf`, then `cwd/fichconfig.txt`.
    public static func locate(explicit: String?, environment: [String: String], cwd: String) throws -> URL {
        if let given = explicit ?? environment["DCPROD_PRODUCTION"], !given.isEmpty {
            return try resolve(given, relativeTo: cwd)
        }
        var directory = URL(fileURLWithPath: cwd).standardizedFileURL
        while true {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent(ProductionTree.configFileName).path) {
                return directory
            }
            let parent = directory.deletingLastPathComponent()
            if parent.path == directory.path { break }
            directory = parent
        }
        let seedConfig = URL(fileURLWithPath: cwd).appendingPathComponent("fichconfig.txt")
        if FileManager.default.fileExists(atPath: seedConfig.path) {
            return try ConfigParser.parse(contentsOf: seedConfig.path).treeRoot
        }
        throw ProductionError.notFound
    }

    static func resolve(_ given: String, relativeTo cwd: String) throws -> URL {
        let url = given.hasPrefix("/") ? URL(fileURLWithPath: given) : URL(fileURLWithPath: cwd).appendingPathComponent(given)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            return try ConfigParser.parse(contentsOf: url.path).treeRoot
        }
        return url.standardizedFileURL
    }
}

/// What stands in the way of a directory the config names.
enum DirectoryPath {
    /// Why `path` cannot be a directory: a part of it that is a file, a symbolic link to nothing, or
    /// an existing directory under which nothing may be written; nil when it is one or can be made.
    static func obstacle(to path: String) -> String? {
        let fm = FileManager.default
        var url = URL(fileURLWithPath: path).standardized
        var parts: [URL] = []
        while url.path != "/" && !url.path.isEmpty {
            parts.append(url)
            url.deleteLastPathComponent()
        }
        var deepest = "/"
        for part in parts.reversed() {
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: part.path, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else { return "\(part.path) is a file, not a directory" }
                deepest = part.path
                continue
            }
            if let target = try? fm.destinationOfSymbolicLink(atPath: part.path) {
                return "\(part.path) is a symbolic link to \(target), which does not exist"
            }
            break
        }
        return access(deepest, W_OK | X_OK) == 0 || deepest == path ? nil : "\(deepest) is not writable"
    }
}

