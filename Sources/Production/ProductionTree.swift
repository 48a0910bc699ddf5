import Basics
import Foundation

/// The directories and files of one production (see DESIGN.md, "The production tree").
public struct ProductionTree: Sendable {
    public let root: URL
    public let dataRoot: URL

    public init(config: ProductionConfig) {
        root = config.treeRoot
        dataRoot = config.dataRoot
    }

    public init(root: URL, dataRoot: URL) {
        self.root = root
        self.dataRoot = dataRoot
    }

    public static let configFileName = "production.conf"
    public static let stateFileName = "state.sqlite"

    /// The file in DATAMAIN/DCNAME that names the production tree owning it: one data tree holds one
    /// production's outputs, or two productions would overwrite each other's.
    public static let ownerFileName = ".dcprod-production"

    public var configFile: URL { root.appendingPathComponent(Self.configFileName) }
    /// DATAMAIN/DCNAME's owner file (`ownerFileName`).
    public var ownerFile: URL { dataRoot.appendingPathComponent(Self.ownerFileName) }
    public var stateFile: URL { root.appendingPathComponent(Self.stateFileName) }
    public var logbookDirectory: URL { root.appendingPathComponent("logbook") }
    public var reportsDirectory: URL { root.appendingPathComponent("reports") }
    /// The production's own copy of dcprod's templates.
    public var templatesDirectory: URL { root.appendingPathComponent("templates") }

    public func stepDirectory(_ step: Step, _ filter: Filter) -> URL {
        root.appendingPathComponent("steps").appendingPathComponent(step.rawValue).appendingPathComponent(filter.rawValue)
    }
    public func jobsDirectory(_ step: Step, _ filter: Filter) -> URL { stepDirectory(step, filter).appendingPathComponent("jobs") }
    public func logsDirectory(_ step: Step, _ filter: Filter) -> URL { stepDirectory(step, filter).appendingPathComponent("logs") }
    public func outcomesDirectory(_ step: Step, _ filter: Filter) -> URL { stepDirectory(step, filter).appendingPathComponent("outcomes") }

    /// Where a step writes its outputs (calexps, coadds, CSV) in the data tree.
    public func dataDirectory(_ step: Step, _ filter: Filter) -> URL {
        dataRoot.appendingPathComponent(step.rawValue).appendingPathComponent(filter.rawValue)
    }

    /// Every directory of the production tree, relative to `root`, for these filters.
    static func directories(filters: [Filter]) -> [String] {
        var out = ["logbook", "reports"]
        for step in Step.allCases {
            for filter in filters {
                for leaf in ["jobs", "logs", "outcomes"] {
                    out.append("steps/\(step.rawValue)/\(filter.rawValue)/\(leaf)")
                }
            }
        }
        return out
    }
}
