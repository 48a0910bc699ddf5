import Basics
import Foundation

/// A production's configuration with every default resolved.
public struct ProductionConfig: Equatable, Sendable {
    public enum Backend: String, CaseIterable, Sendable { case local, slurm, sge }
    public enum DatabaseSplit: String, CaseIterable, Sendable { case none, filter }

    public var mainDir: String
    public var dcName: String
    public var dataMain: String
    public var dbHost: String
    public var dbUser: String
    public var dbPort: Int
    public var dbName: String
    public var dbSplit: DatabaseSplit
    public var dbConnections: Int
    public var input: String
    public var refcat: String
    public var filters: [Filter]
    public var region: Region
    public var backend: Backend
    public var queue: String?
    public var project: String?
    public var walltime: [Step: String]
    public var memory: [Step: String]
    public var eventsPerJob: [Step: Int]
    public var directives: [String]
    public var maxRetry: Int
    public var maxRunning: Int

    public static let defaultWalltime: [Step: String] = [.processCcd: "04:00:00", .coadd: "08:00:00", .forcedPhot: "04:00:00"]
    public static let defaultMemory: [Step: String] = [.processCcd: "4G", .coadd: "8G", .forcedPhot: "4G"]
    /// processCcd's 250 gives DC2013's 1254 jobs for 313,000 frames per filter.
    public static let defaultEventsPerJob: [Step: Int] = [.processCcd: 250, .coadd: 10, .forcedPhot: 150]

    /// The ranges the config's numbers must lie in, checked where the file is read (`ConfigParser`)
    /// so that no arithmetic on them later (pages of jobs, summed walltimes, sizes) can overflow.
    public enum Limits {
        /// A TCP port.
        public static let dbPort = 1...65535
        /// Catalog connections the manager opens at once: a server's `max_connections` is 151 by default.
        public static let dbConnections = 1...1000
        /// Events per job: a manifest of 100,000 events is 400 times DC2013's 250 frames a job.
        public static let eventsPerJob = 1...100_000
        /// Attempts after the first.
        public static let maxRetry = 0...100
        /// Tasks running at once (0: no limit).
        public static let maxRunning = 0...10_000_000
        /// The longest walltime of a job: a year, beyond every batch system's longest queue.
        public static let walltimeSeconds = 1...(365 * 86_400)
        /// The most memory a job may ask for: 64 TiB, beyond the largest node a centre has.
        public static let memoryBytes = 1.0...Double(64 << 40)
    }

    /// `MAINDIR/DCNAME`: the production tree.
    public var treeRoot: URL { URL(fileURLWithPath: mainDir).appendingPathComponent(dcName) }
    /// `DATAMAIN/DCNAME`: the data tree.
    public var dataRoot: URL { URL(fileURLWithPath: dataMain).appendingPathComponent(dcName) }
    public var usesEmbeddedCatalog: Bool { dbHost == "sqlite" }

    /// The frozen form: every key with its effective value, in the order of `ConfigKey.all`.
    /// It parses back to an equal config.
    public var entries: [(key: String, value: String)] {
        var out: [(String, String)] = [
            ("MAINDIR", mainDir), ("DCNAME", dcName), ("DATAMAIN", dataMain),
            ("DBHOST", dbHost), ("DBUSER", dbUser), ("DBPORT", String(dbPort)), ("DBNAME", dbName),
            ("DBSPLIT", dbSplit.rawValue), ("DBCONNECTIONS", String(dbConnections)),
            ("INPUT", input), ("REFCAT", refcat), ("FILTERS", filters.map(\.rawValue).joined(separator: " ")),
            ("REGION", region.description), ("BACKEND", backend.rawValue),
        ]
        if let queue { out.append(("QUEUE", queue)) }
        if let project { out.append(("PROJECT", project)) }
        for step in Step.allCases { out.append(("WALLTIME \(step.rawValue)", walltime[step]!)) }
        for step in Step.allCases { out.append(("MEMORY \(step.rawValue)", memory[step]!)) }
        for step in Step.allCases { out.append(("EVENTSPERJOB \(step.rawValue)", String(eventsPerJob[step]!))) }
        for directive in directives { out.append(("DIRECTIVE", directive)) }
        out.append(("MAXRETRY", String(maxRetry)))
        out.append(("MAXRUNNING", String(maxRunning)))
        return out
    }

    /// The text of `production.conf`.
    public func frozenText(preparedFrom source: String) -> String {
        var text = "# production.conf: frozen by `dcprod prepare` from \(source).\n"
        text += "# Every key with its effective value; defaults included. Do not edit: prepare again instead.\n"
        for (key, value) in entries { text += "\(key) \(value)\n" }
        return text
    }

    /// The keys (with their step, for per-step keys) whose values differ, as `KEY: old → new`.
    public func differences(from other: ProductionConfig) -> [String] {
        func table(_ config: ProductionConfig) -> [String: String] {
            var t: [String: String] = [:]
            for (key, value) in config.entries {
                t[key] = t[key].map { $0 + " | " + value } ?? value
            }
            return t
        }
        let mine = table(self), theirs = table(other)
        let keys = (entries.map(\.key) + other.entries.map(\.key)).reduce(into: [String]()) { list, key in
            if !list.contains(key) { list.append(key) }
        }
        return keys.compactMap { key in
            let old = theirs[key] ?? "(unset)", new = mine[key] ?? "(unset)"
            return old == new ? nil : "\(key): \(old) → \(new)"
        }
    }
}
