import Basics
import Foundation
@testable import Simulation
import Testing
@testable import Pipeline
import Sky

/// A file whose header says it is another frame or filter than its event's fails the event, naming
/// the file, the keyword, what it says and what was expected: a calexp replaced by another filter's
/// is never stacked into this filter's coadd, a frame replaced by another's is never processed as it.
@Suite struct InputsThatAreNotTheirEvents {
    /// One pointing of the seed patch in g and r (same run, camcol and field), through processCcd.
    struct Pointing {
        let directory = Directory()
        let frames: [Filter: String]
        let calexps: [Filter: String]

        init() throws {
            let input = directory.url.appendingPathComponent("in")
            let simulation = Simulation(options: .init(directory: input, frames: 2, seed: 11, defects: 0,
                                                       region: Region(raMin: 6.37, raMax: 6.41, decMin: -0.125, decMax: -0.085),
                                                       width: 1024, height: 744, pixelScale: 0.8, filters: [.g, .r]))
            _ = try simulation.run()
            let processor = ProcessCcd(options: .init(referenceCatalog: input.appendingPathComponent("refcat.csv").path,
                                                      outputDirectory: directory.url.appendingPathComponent("calexp")))
            var frames: [Filter: String] = [:], calexps: [Filter: String] = [:]
            for plan in simulation.plans() {
                let frame = input.appendingPathComponent(plan.relativePath).path
                frames[plan.name.filter] = frame
                calexps[plan.name.filter] = try processor.run(frame: frame).outputs[0]
            }
            self.frames = frames
            self.calexps = calexps
        }

        /// A copy of `source` under `name` in a directory of its own, as if the file had been replaced.
        func replace(_ name: String, with source: String) throws -> String {
            let replaced = directory.url.appendingPathComponent("replaced")
            try FileManager.default.createDirectory(at: replaced, withIntermediateDirectories: true)
            let path = replaced.appendingPathComponent(name).path
            try FileManager.default.copyItem(atPath: source, toPath: path)
            return path
        }

        var referenceCatalog: String { directory.url.appendingPathComponent("in/refcat.csv").path }
    }

    @Test func aCalexpOfAnotherFilterFailsTheCoaddNamingFileKeywordAndValues() throws {
        let sky = try Pointing()
        let map = try SkyMap.load(contentsOf: skyMapFile)
        let red = URL(fileURLWithPath: try #require(sky.calexps[.r])).lastPathComponent
        let replaced = try sky.replace(red, with: try #require(sky.calexps[.g]))
        let out = sky.directory.url.appendingPathComponent("coadd")
        let coadd = Coadd(options: .init(skyMap: map, patch: PatchId(tract: 0, x: 380, y: 5), filter: .r, outputDirectory: out))
        // The good r calexp first: the wrong one is not skipped, the whole coadd fails.
        let failure = #expect(throws: CoaddFailure.self) { try coadd.run(calexps: [sky.calexps[.r]!, replaced]) }
        #expect(failure?.kind == .unreadableInput)
        #expect(failure?.message == "wrong input: \(replaced): FILTER = 'g', expected 'r' (the coadd's --filter)")
        #expect(!FileManager.default.fileExists(atPath: out.path), "a failed coadd writes nothing")
        // The same calexps make the coadd of their own filter.
        #expect(try coadd.run(calexps: [sky.calexps[.r]!]).inputs == 1)
    }

    @Test func aFrameOfAnotherFilterOrFieldFailsProcessCcdWithAnInconsistentHeader() throws {
        let sky = try Pointing()
        let processor = ProcessCcd(options: .init(referenceCatalog: sky.referenceCatalog,
                                                  outputDirectory: sky.directory.url.appendingPathComponent("out")))
        let red = try #require(sky.frames[.r])
        let name = try #require(FrameName(fileName: URL(fileURLWithPath: red).lastPathComponent))
        // The g frame under the r frame's name, with the r frame's mask beside it.
        let replaced = try sky.replace(URL(fileURLWithPath: red).lastPathComponent, with: try #require(sky.frames[.g]))
        _ = try sky.replace(URL(fileURLWithPath: ProcessCcd.maskPath(for: red)).lastPathComponent, with: ProcessCcd.maskPath(for: red))
        let wrongFilter = #expect(throws: ProcessCcdFailure.self) { try processor.run(frame: replaced) }
        #expect(wrongFilter?.kind == .unreadableHeader)
        #expect(wrongFilter?.message == "inconsistent header: \(replaced): FILTER = 'g', expected 'r' (the file name's)")

        // The r frame under the next field's name: FIELD disagrees.
        var next = name
        next.field += 1
        let moved = try sky.replace("fpC-\(next.stem).fit", with: red)
        _ = try sky.replace(URL(fileURLWithPath: ProcessCcd.maskPath(for: moved)).lastPathComponent, with: ProcessCcd.maskPath(for: red))
        let wrongField = #expect(throws: ProcessCcdFailure.self) { try processor.run(frame: moved) }
        #expect(wrongField?.message == "inconsistent header: \(moved): FIELD = \(name.field), expected \(next.field) (the file name's)")
        #expect(!FileManager.default.fileExists(atPath: sky.directory.url.appendingPathComponent("out").path), "nothing written")
    }

    @Test func aCalexpOfAnotherFilterFailsForcedPhot() throws {
        let sky = try Pointing()
        let positions = sky.directory.url.appendingPathComponent("positions.csv")
        try Data("deepSourceId,ra,decl\n1,6.39,-0.105\n".utf8).write(to: positions)
        let out = sky.directory.url.appendingPathComponent("forced")
        let photometry = ForcedPhot(options: .init(positions: positions.path, outputDirectory: out))
        let red = URL(fileURLWithPath: try #require(sky.calexps[.r])).lastPathComponent
        let replaced = try sky.replace(red, with: try #require(sky.calexps[.g]))
        let failure = #expect(throws: ProcessCcdFailure.self) { try photometry.run(calexp: replaced) }
        #expect(failure?.kind == .unreadableHeader)
        #expect(failure?.message == "inconsistent header: \(replaced): FILTER = 'g', expected 'r' (the file name's)")
        #expect(!FileManager.default.fileExists(atPath: out.path), "nothing written")
        #expect(try photometry.run(calexp: sky.calexps[.r]!).positions == 1)
    }
}
