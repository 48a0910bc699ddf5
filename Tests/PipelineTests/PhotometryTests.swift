import Basics
import Foundation
@testable import Simulation
import Testing
@testable import Pipeline
import Sky

/// The photometry of the three steps against the simulator's truth: for stars with S/N > 100, the
/// median of measured/true flux − 1 within 1 % and its scatter under 1.5 %, in every filter.
@Suite struct PhotometryAgainstTheTruth {

    /// Four epochs of one pointing at the seed patch in the five filters, as the demo makes them
    /// (1024 × 744 frames of 0.8″ pixels), through processCcd, coadd and forcedPhot; the outputs'
    /// directories.
    func chain(in directory: URL) throws -> [URL] {
        let input = directory.appendingPathComponent("in")
        let simulation = Simulation(options: .init(directory: input, frames: 20, seed: 11, defects: 0,
                                                   region: Region(raMin: 6.37, raMax: 6.41, decMin: -0.125, decMax: -0.085),
                                                   width: 1024, height: 744, pixelScale: 0.8))
        _ = try simulation.run()
        let outputs = ["calexp", "coadd", "forced"].map { directory.appendingPathComponent($0) }
        let processor = ProcessCcd(options: .init(referenceCatalog: input.appendingPathComponent("refcat.csv").path, outputDirectory: outputs[0]))
        var calexps: [Filter: [String]] = [:]
        for plan in simulation.plans() {
            calexps[plan.name.filter, default: []].append(try processor.run(frame: input.appendingPathComponent(plan.relativePath).path).outputs[0])
        }
        let map = try SkyMap.load(contentsOf: skyMapFile)
        for (filter, frames) in calexps {
            let coadded = try Coadd(options: .init(skyMap: map, patch: PatchId(tract: 0, x: 380, y: 5), filter: filter, outputDirectory: outputs[1]))
                .run(calexps: frames)
            // The positions file as the manager writes it: deepSourceId,ra,decl.
            var positions = "deepSourceId,ra,decl\n"
            for line in try String(contentsOfFile: coadded.outputs[1], encoding: .utf8).split(separator: "\n").dropFirst() {
                let fields = CSVLine.fields(line)
                positions += "\(fields[0]),\(fields[5]),\(fields[6])\n"
            }
            let file = directory.appendingPathComponent("positions-\(filter.rawValue).csv")
            try positions.write(to: file, atomically: true, encoding: .utf8)
            let forced = ForcedPhot(options: .init(positions: file.path, outputDirectory: outputs[2]))
            for frame in frames { _ = try forced.run(calexp: frame) }
        }
        return outputs
    }

    @Test func everyStepMeasuresBrightStarsWithinOnePercentOfTheTruth() throws {
        let directory = Directory()
        let steps = try TruthComparison.measurements(under: try chain(in: directory.url))
        let truth = try TruthComparison(truth: directory.url.appendingPathComponent("in/truth-objects.csv").path)
        #expect(steps.map(\.step) == ["processCcd", "coadd", "forcedPhot"])
        for (step, measurements) in steps {
            let figures = truth.figures(measurements)
            for f in figures { print("\(step) \(f.line)") }
            let measured = Set(figures.map(\.filter))
            #expect(measured.isSuperset(of: [.g, .r, .i, .z]), "\(step): \(figures.map(\.line))")
            // Stars of S/N ≥ 100 in their own noise (`TruthComparison.figures`): u's coadd of four epochs,
            // whose σ its zero point's error (0.69 %) capped near S/N 95, has 6.
            #expect(measured.contains(.u), "\(step): \(figures.map(\.line))")
            for f in figures {
                // u's coadd of four epochs has only 3–6 stars above S/N 100, its σ holding its PSF model's error.
                #expect(f.stars >= (f.filter == .u ? 3 : 5), "\(step) \(f.line)")
                // Zero points fitted on refcat.csv's noisy magnitudes: u's rest on a few stars whose reference errors are 4–5 %.
                #expect(abs(f.medianPercent) < (f.filter == .u ? 2.5 : 1), "\(step) \(f.line)")
                #expect(f.scatterPercent < 1.5, "\(step) \(f.line)")
            }
        }
    }
}

@Suite struct Medians {
    @Test func selectionFindsWhatASortFinds() {
        var random = SeededRandom(seed: 3, stream: [1])
        for count in [1, 2, 3, 10, 101, 1000] {
            for duplicates in [false, true] {
                let values = (0..<count).map { _ in duplicates ? Float(Int(random.gaussian() * 3)) : Float(random.gaussian()) }
                let sorted = values.sorted()
                for k in Set([0, count / 2, count - 1]) {
                    var copy = values
                    #expect(RobustStatistics.select(k, in: &copy) == sorted[k], "k \(k) of \(count)")
                }
                #expect(RobustStatistics.median(values) == Double(sorted[count / 2]))
                #expect(RobustStatistics.sorted(values) == sorted)
            }
        }
        #expect(RobustStatistics.sorted([0.5, -0.0, -3, .greatestFiniteMagnitude, -1e-30, 2]) == [-3, -1e-30, -0.0, 0.5, 2, .greatestFiniteMagnitude])
    }

    /// The clipped median of a sorted run is the one that quickselect on the clipped arrays gives
    /// (the way it was computed before): the same number, so the same backgrounds byte for byte.
    @Test func theClippedMedianIsTheOneSelectionGives() {
        func byArrays(_ values: [Float]) -> Double {
            var kept = values
            for _ in 0..<2 {
                let m = RobustStatistics.median(kept)
                let s = MAD.toSigma * RobustStatistics.median(kept.map { abs($0 - Float(m)) })
                guard s > 0 else { return m }
                let next = kept.filter { abs(Double($0) - m) < 3 * s }
                if next.count < 5 { break }
                kept = next
            }
            return RobustStatistics.median(kept)
        }
        var random = SeededRandom(seed: 5, stream: [2])
        for count in [1, 2, 5, 64, 4096] {
            for stars in [0, 3, 40] {
                var values = (0..<count).map { _ in Float(100 + 5 * random.gaussian()) }
                for k in 0..<min(stars, count) { values[k * 7 % count] += Float(500 + 100 * k) }
                #expect(SigmaClipping().median(values) == byArrays(values), "\(count) values, \(stars) stars")
                let integers = values.map { $0.rounded() }
                #expect(SigmaClipping().median(integers) == byArrays(integers), "\(count) integer values, \(stars) stars")
            }
        }
    }
}
