import ArgumentParser
import Basics
import Foundation
import Production

extension Step: ExpressibleByArgument {}
extension Filter: ExpressibleByArgument {}

/// A step and the filters a verb works on.
struct StepOptions: ParsableArguments {
    @Argument(help: "The step: processCcd, coadd or forcedPhot.")
    var step: Step

    @Option(name: .customLong("filter"), help: "A filter to work on (repeatable); default: every filter of the config.")
    var filters: [Filter] = []

    func filters(of production: Production) -> [Filter] {
        filters.isEmpty ? production.config.filters : filters.sorted()
    }
}

/// The path of the running dcprod, which job scripts call back.
var runningExecutable: String {
    (Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])).resolvingSymlinksInPath().path
}
