import ArgumentParser
import Foundation
import Production
import Views

struct ForecastCommand: ProductionCommand {
    static let configuration = CommandConfiguration(
        commandName: "forecast",
        abstract: "From what has run: what the rest will take, per step and filter, with its uncertainty.",
        discussion: """
            For the events still to do of each step and filter: jobs, core-hours, wall time at MAXRUNNING, bytes written \
            and catalog rows, each with a one-sigma uncertainty from the spread of the events already done (the mean of \
            the n done carried over the N to do, N·mean ± √(N²·s²/n + N·s²)). A later step's events exist only once \
            their inputs are verified: until then their number is estimated (forcedPhot: a frame per processCcd frame \
            expected ok; coadd: the sky map patches the frames touch), and marked with *. The totals run the steps one \
            after the other.

            Before anything has run, --sample N runs the whole chain on N frames per filter in a scratch copy of the \
            production (a temporary directory, BACKEND local, the embedded catalog, the frames read in place), \
            extrapolates from it, and deletes the copy: the production itself is only read.
            """)

    @OptionGroup var options: ProductionOptions

    @Flag(help: "Print the forecast as JSON.")
    var json = false

    @Option(help: ArgumentHelp("Run N frames per filter through the chain in a scratch copy first, and forecast from them where fewer events are done.",
                               valueName: "N"))
    var sample: Int?

    /// Reads only: a sample runs in a scratch copy.
    var changesProduction: Bool { false }

    func validate() throws {
        if let sample, sample < 1 { throw ValidationError("--sample takes a number of frames per filter, at least 1") }
    }

    func run(on production: Production) throws {
        let sampled = try sample.map { try ForecastSample.run(frames: $0, of: production, dcprod: runningExecutable) }
        let forecast = try Forecast.make(for: production, sample: sampled)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(forecast), as: UTF8.self))
            return
        }
        var cells = [["step", "filter", "done", "to do", "jobs", "core-hours", "wall hours", "written", "rows", "basis"]]
        for line in forecast.lines + [forecast.totals] {
            // Nothing to extrapolate from: unknown, not zero.
            let unknown = line.eventsToDo > 0 && line.eventsDone == 0 && !line.basis.hasPrefix("sample")
            func show(_ estimate: Forecast.Estimate, _ format: (Double) -> String) -> String {
                unknown && line.step != "all" ? "?" : estimate.value == 0 && estimate.uncertainty == 0 ? "-"
                    : format(estimate.value) + " ± " + format(estimate.uncertainty)
            }
            cells.append([line.step, line.filter, String(line.eventsDone), String(line.eventsToDo) + (line.eventsToDoEstimated ? "*" : ""),
                          String(Int(line.jobs.value)), show(line.coreHours, Self.hours), show(line.wallHours, Self.hours),
                          show(line.bytes, Self.bytes), show(line.rows, Self.count), line.basis])
        }
        print(StatusText.table(cells).joined(separator: "\n"))
        let limit = forecast.maxRunning > 0 ? "\(forecast.maxRunning) jobs at a time" : "every job at once"
        print("\nWall time at MAXRUNNING: \(limit). Uncertainties are one sigma."
              + (forecast.lines.contains(where: \.eventsToDoEstimated) ? " *: estimated from the processCcd frames." : ""))
    }

    /// Hours to three significant figures, whole hours from 1,000 on.
    static func hours(_ value: Double) -> String {
        value >= 1000 ? String(format: "%.0f", value) : String(format: "%.3g", value)
    }

    /// Bytes in decimal units, as the accounting's data volumes.
    static func bytes(_ value: Double) -> String {
        ByteCountFormatter.string(fromByteCount: Int64(value), countStyle: .decimal)
    }

    static func count(_ value: Double) -> String {
        String(format: "%.0f", value)
    }
}
