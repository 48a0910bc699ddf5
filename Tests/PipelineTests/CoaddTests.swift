import Foundation
import Testing
@testable import Pipeline
import Production
import Sky

/// The reference coadd on the simulated sky: the seed's patch `0-380,5` made from repeated epochs.
@Suite struct CoaddOnTheSimulatedSky {
    final class Directory {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dcprod-coadd-\(UUID().uuidString)")
        deinit { try? FileManager.default.removeItem(at: url) }
    }

    static let skyMapFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("templates/skymap/dc2013.skymap").path
    let seedPatch = PatchId(tract: 0, x: 380, y: 5)

    /// Four epochs of one pointing at the seed patch's centre, in r, through processCcd.
    func calexps(in directory: URL) throws -> [String] {
        let input = directory.appendingPathComponent("in"), output = directory.appendingPathComponent("calexp")
        let simulation = Simulation(options: .init(directory: input, frames: 4, seed: 11, defects: 0,
                                                   region: Region(raMin: 6.37, raMax: 6.41, decMin: -0.125, decMax: -0.085),
                                                   width: 1024, height: 744, pixelScale: 0.8, filters: [.r]))
        _ = try simulation.run()
        let processor = ProcessCcd(options: .init(referenceCatalog: input.appendingPathComponent("refcat.csv").path, outputDirectory: output))
        return try simulation.plans().map { plan in try processor.run(frame: input.appendingPathComponent(plan.relativePath).path).outputs[0] }
    }

    /// A robust standard deviation of the coadd's pixels in a box around the patch's centre.
    func centralNoise(_ path: String) throws -> Double {
        let file = try FITSFile.open(path)
        defer { try? file.close() }
        let size = try file.imageSize()
        let pixels = try file.readImage()
        var box: [Float] = []
        for y in (size[1] / 2 - 150)..<(size[1] / 2 + 150) {
            for x in (size[0] / 2 - 150)..<(size[0] / 2 + 150) { box.append(pixels[y * size[0] + x]) }
        }
        let median = Background.median(box)
        return 1.4826 * Background.median(box.map { abs($0 - Float(median)) })
    }

    @Test func theBackgroundNoiseFallsAsOneOverTheSquareRootOfTheNumberOfFrames() throws {
        let directory = Directory()
        let calexps = try calexps(in: directory.url)
        try #require(calexps.count == 4)
        let map = try SkyMap.load(contentsOf: Self.skyMapFile)
        var noise: [Int: Double] = [:]
        for n in [1, 4] {
            let out = directory.url.appendingPathComponent("coadd-\(n)")
            let result = try Coadd(options: .init(skyMap: map, patch: seedPatch, filter: .r, outputDirectory: out))
                .run(calexps: Array(calexps.prefix(n)))
            #expect(result.inputs == n)
            #expect(result.sources > 20, "\(result.line)")
            noise[n] = try centralNoise(result.outputs[0])
        }
        let ratio = noise[4]! / noise[1]!
        #expect(ratio > 0.4 && ratio < 0.62, "noise of 4 frames / 1 frame: \(ratio) (1/√4 = 0.5)")
    }

    @Test func theOutputsAreTheCatalogsRowsAndThePatchsImage() throws {
        let directory = Directory()
        let calexps = try calexps(in: directory.url)
        let map = try SkyMap.load(contentsOf: Self.skyMapFile)
        let out = directory.url.appendingPathComponent("coadd")
        let result = try Coadd(options: .init(skyMap: map, patch: seedPatch, filter: .r, outputDirectory: out)).run(calexps: calexps)
        #expect(result.outputs.map { URL(fileURLWithPath: $0).lastPathComponent }
                == ["deepCoadd-0-380,5-r.fits", "deepsrc-0-380,5-r.csv", "coadd-0-380,5-r.csv"])
        let row = try String(contentsOfFile: result.outputs[2], encoding: .utf8).split(separator: "\n")
        #expect(row.first.map(String.init) == Coadd.rowColumns)
        let fields = row[1].split(separator: ",").map(String.init)
        #expect(fields[0] == String(seedPatch.deepCoaddId(filterId: 2)))
        #expect(fields[2] == "\"380" && fields[3] == "5\"", "the patch is quoted: \(fields)")
        #expect(fields[7] == "6.27664427" || fields[7].hasPrefix("6.27664"), "corner1Ra \(fields[7])")
        let sources = try String(contentsOfFile: result.outputs[1], encoding: .utf8).split(separator: "\n")
        #expect(sources.first.map(String.init) == Coadd.sourceColumns)
        #expect(sources.count == result.sources + 1)
        // Every source lies on the patch, border included.
        let corners = try map.corners(of: seedPatch)
        for line in sources.dropFirst() {
            let values = line.split(separator: ",")
            let (ra, dec) = (Double(values[5])!, Double(values[6])!)
            #expect(ra > corners[0].ra && ra < corners[2].ra && dec > corners[0].dec && dec < corners[1].dec)
        }
        let image = try FITSFile.open(result.outputs[0])
        defer { try? image.close() }
        #expect(try image.imageSize() == [2060, 1967])
        #expect(try image.double("MAGZERO") == 27 && image.integer("NCALEXP") == 4)
        #expect(try image.string("CTYPE1") == "RA---CEA")
    }

    @Test func aPatchNoCalexpOverlapsFailsNamingItsClass() throws {
        let directory = Directory()
        let calexps = try calexps(in: directory.url)
        let map = try SkyMap.load(contentsOf: Self.skyMapFile)
        let far = PatchId(tract: 0, x: 100, y: 5)
        let error = #expect(throws: CoaddFailure.self) {
            try Coadd(options: .init(skyMap: map, patch: far, filter: .r, outputDirectory: directory.url)).run(calexps: calexps)
        }
        #expect(error?.kind == .noInput && error?.message.hasPrefix("no input calexp:") == true)
        var options = Coadd.Options(skyMap: map, patch: seedPatch, filter: .r, outputDirectory: directory.url)
        options.minimumInputs = 5
        let few = #expect(throws: CoaddFailure.self) { try Coadd(options: options).run(calexps: calexps) }
        #expect(few?.kind == .tooFewInputs && few?.message.hasPrefix("too few inputs:") == true)
    }
}
