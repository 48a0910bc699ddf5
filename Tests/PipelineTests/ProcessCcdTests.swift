import Basics
import Foundation
@testable import Simulation
import Testing
@testable import Pipeline
import Sky

/// processCcd on simulated frames: its fitted WCS against the truth, and one failure per defect.
@Suite struct ProcessCcdOnTheSimulatedSky {
    static let region = Region(raMin: 5.9, raMax: 7.1, decMin: -0.45, decMax: 0.25)

    func simulate(_ directory: URL, frames: Int, defects: Double) throws -> Simulation {
        let simulation = Simulation(options: .init(directory: directory, frames: frames, seed: 7, defects: defects,
                                                   region: Self.region, width: 1024, height: 744, pixelScale: 0.8,
                                                   filters: [.g, .r, .i]))
        _ = try simulation.run()
        return simulation
    }

    /// RMS over a 9×9 grid of the separation between two WCSs, arcsec.
    func rms(_ a: TangentWCS, _ b: TangentWCS, width: Int, height: Int) throws -> Double {
        let stepX = Double(width - 1) / 8, stepY = Double(height - 1) / 8
        var grid: [(x: Double, y: Double)] = []
        for k in 0..<81 {
            let x: Double = 1 + Double(k % 9) * stepX
            let y: Double = 1 + Double(k / 9) * stepY
            grid.append((x, y))
        }
        let p = try a.wcs(width: width, height: height).sky(grid), q = try b.wcs(width: width, height: height).sky(grid)
        let squares: [Double] = zip(p, q).map { pair in
            let arcsec: Double = AstrometricFit.separation(pair.0, pair.1) * 3600
            return arcsec * arcsec
        }
        return (squares.reduce(0, +) / Double(squares.count)).squareRoot()
    }

    @Test func theFittedWCSIsWithinATenthOfAnArcsecondOfTheTruth() throws {
        let directory = Directory()
        let simulation = try simulate(directory.url.appendingPathComponent("in"), frames: 9, defects: 0)
        let processor = ProcessCcd(options: .init(referenceCatalog: directory.url.appendingPathComponent("in/refcat.csv").path,
                                                  outputDirectory: directory.url.appendingPathComponent("out")))
        for plan in simulation.plans() {
            let result = try processor.run(frame: directory.url.appendingPathComponent("in/\(plan.relativePath)").path)
            let truth = try rms(result.wcs, plan.trueWCS, width: 1024, height: 744)
            let header = try rms(plan.headerWCS, plan.trueWCS, width: 1024, height: 744)
            #expect(truth < 0.1, "\(plan.name): fitted WCS \(truth)\" rms from the truth")
            #expect(header > truth, "\(plan.name): the fit should improve on the header's pointing error")
            #expect(result.matches >= 20)
            #expect(abs(result.zeroPoint - Camera.zeroPoint[plan.name.filter.filterId]) < 0.1)
            for output in result.outputs { #expect(FileManager.default.fileExists(atPath: output)) }
            // `--timings`: every stage, in order, adding up to the total.
            #expect(result.timings.stages.map(\.name) == ["read", "background", "detection", "PSF model", "measurement",
                                                          "reference catalog", "astrometry and zero point", "outputs"])
            #expect(result.timings.stages.allSatisfy { $0.seconds >= 0 } && result.timings.total > 0)
            #expect(result.timings.lines.last?.hasPrefix("total") == true)
            let csv = try String(contentsOfFile: result.outputs[1], encoding: .utf8).split(separator: "\n")
            #expect(csv.first.map(String.init) == ProcessCcd.sourceColumns)
            #expect(csv.count == result.sources + 1)
        }
    }

    @Test func eachDefectFailsWithItsClass() throws {
        let directory = Directory()
        let simulation = try simulate(directory.url.appendingPathComponent("in"), frames: 40, defects: 0.2)
        let processor = ProcessCcd(options: .init(referenceCatalog: directory.url.appendingPathComponent("in/refcat.csv").path,
                                                  outputDirectory: directory.url.appendingPathComponent("out")))
        let expected: [Defect: ProcessCcdFailure.Kind] = [.missingFile: .missingFiles, .brokenWCS: .astrometry,
                                                          .fewStars: .matches, .corruptedHeader: .unreadableHeader]
        let defective = simulation.plans().filter { $0.defect != nil }
        #expect(Set(defective.compactMap(\.defect)) == Set(Defect.allCases))
        for plan in defective {
            let path = directory.url.appendingPathComponent("in/\(plan.relativePath)").path
            do {
                _ = try processor.run(frame: path)
                Issue.record("\(plan.name) with \(plan.defect!) was processed")
            } catch let failure as ProcessCcdFailure {
                #expect(failure.kind == expected[plan.defect!], "\(plan.name) \(plan.defect!): \(failure)")
            }
        }
        #expect(throws: ProcessCcdFailure.self) { try processor.run(frame: directory.url.appendingPathComponent("in/fpC-000001-r1-0001.fit").path) }
    }
}
