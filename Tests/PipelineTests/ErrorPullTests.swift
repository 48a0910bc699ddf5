import Basics
import Foundation
@testable import Simulation
import Testing
@testable import Pipeline
import Sky

/// One simulated production shared by the suite's tests: `epochs` epochs of one pointing at the
/// seed patch in the five filters (1024 × 744 frames of 0.8″ pixels), through processCcd, coadd
/// (of every epoch, and of the first 2 and 4 in r) and forcedPhot.
final class PullProduction: @unchecked Sendable {
    static let epochs = 8
    static let shared = Result { try PullProduction() }

    let directory: Directory
    let truth: TruthComparison
    /// processCcd's, coadd's (all epochs) and forcedPhot's PSF fluxes, as `TruthComparison.measurements` reads them.
    let steps: [(step: String, measurements: [TruthComparison.Measurement])]
    /// The r coadds of the first 2, 4 and all epochs' calexps: their measurements.
    let coadds: [Int: [TruthComparison.Measurement]]

    init() throws {
        let directory = Directory()
        self.directory = directory
        let input = directory.url.appendingPathComponent("in")
        let simulation = Simulation(options: .init(directory: input, frames: 5 * Self.epochs, seed: 11, defects: 0,
                                                   region: Region(raMin: 6.37, raMax: 6.41, decMin: -0.125, decMax: -0.085),
                                                   width: 1024, height: 744, pixelScale: 0.8))
        _ = try simulation.run()
        let outputs = ["calexp", "coadd", "forced"].map { directory.url.appendingPathComponent($0) }
        let processor = ProcessCcd(options: .init(referenceCatalog: input.appendingPathComponent("refcat.csv").path, outputDirectory: outputs[0]))
        var calexps: [Filter: [String]] = [:]
        for plan in simulation.plans() {
            calexps[plan.name.filter, default: []].append(try processor.run(frame: input.appendingPathComponent(plan.relativePath).path).outputs[0])
        }
        let map = try SkyMap.load(contentsOf: skyMapFile)
        let patch = PatchId(tract: 0, x: 380, y: 5)
        var coadds: [Int: [TruthComparison.Measurement]] = [:]
        for (filter, frames) in calexps.sorted(by: { $0.key.filterId < $1.key.filterId }) {
            let coadded = try Coadd(options: .init(skyMap: map, patch: patch, filter: filter, outputDirectory: outputs[1])).run(calexps: frames)
            var positions = "deepSourceId,ra,decl\n"
            for line in try String(contentsOfFile: coadded.outputs[1], encoding: .utf8).split(separator: "\n").dropFirst() {
                let fields = CSVLine.fields(line)
                positions += "\(fields[0]),\(fields[5]),\(fields[6])\n"
            }
            let file = directory.url.appendingPathComponent("positions-\(filter.rawValue).csv")
            try positions.write(to: file, atomically: true, encoding: .utf8)
            let forced = ForcedPhot(options: .init(positions: file.path, outputDirectory: outputs[2]))
            for frame in frames { _ = try forced.run(calexp: frame) }
            guard filter == .r else { continue }
            coadds[frames.count] = try TruthComparison.measurements(csv: coadded.outputs[1], zeroPoint: 27)
            for n in [2, 4] where n < frames.count {
                let out = directory.url.appendingPathComponent("coadd-\(n)")
                let partial = try Coadd(options: .init(skyMap: map, patch: patch, filter: filter, outputDirectory: out)).run(calexps: Array(frames.prefix(n)))
                coadds[n] = try TruthComparison.measurements(csv: partial.outputs[1], zeroPoint: 27)
            }
        }
        self.coadds = coadds
        steps = try TruthComparison.measurements(under: outputs)
        truth = try TruthComparison(referenceCatalog: input.appendingPathComponent("refcat.csv").path)
    }
}

/// Issue 26's honest errors: the pull (measured − true)/σ of fluxes and positions has a robust
/// standard deviation between 0.9 and 1.2 in every S/N bin, step and filter.
@Suite struct ErrorPulls {
    @Test func printPulls() throws {
        let production = try PullProduction.shared.get()
        for (step, measurements) in production.steps {
            for pulls in production.truth.pulls(measurements) { print("\(step) \(pulls.line)") }
        }
        let inputs = production.steps[0].measurements
        for (n, coadd) in production.coadds.sorted(by: { $0.key < $1.key }) where true {
            for f in production.truth.figures(coadd) { print("coadd of \(n): \(f.line)") }
            for (filter, c) in TruthComparison.coaddAgainstInputs(coadd, inputs: inputs) {
                print(String(format: "coadd of %d vs inputs %@: %d, median %+.3f %%, scatter %.3f %%, pull σ %.2f median %+.2f", n, filter.rawValue,
                             c.offsets.count, 100 * TruthComparison.Pulls.median(c.offsets), 100 * TruthComparison.Pulls.clippedSigma(c.offsets),
                             TruthComparison.Pulls.clippedSigma(c.pulls), TruthComparison.Pulls.median(c.pulls)))
            }
        }
    }
}
