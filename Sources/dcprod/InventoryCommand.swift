import ArgumentParser
import Foundation
import Planning
import Production
import Sky

struct Inventory: ProductionCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory",
        abstract: "Read every frame under INPUT and record one processCcd event per frame inside REGION and FILTERS.",
        discussion: "Unreadable or inconsistent files are recorded as inventory failures with the reason. Rerunning reads only new or changed files.")

    @OptionGroup var options: ProductionOptions

    @Flag(help: "Go on when INPUT is missing, empty or holds no frames, instead of exiting 1.")
    var allowEmpty = false

    func run(on production: Production) throws {
        let input = InputDirectory(production: production)
        if !allowEmpty, let problem = input.problem() { throw problem }
        var bar = ProgressBar(label: "inventory", unit: "frames")
        let summary = try Planning.Inventory(config: production.config, store: production.store).run(skyMap: try? SkyMap.of(production)) {
            bar.update(done: $0.done, total: $0.total, elapsed: $0.elapsed)
        }
        bar.finish()
        if summary.candidates == 0 && !allowEmpty { throw input.noFrames() }
        print(summary.line)
        if summary.newEventCount + summary.failureCount + summary.skipCount > 0 {
            try production.record(typedCommandLine, summary.line)
        }
    }
}
