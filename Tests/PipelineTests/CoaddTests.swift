import Basics
import Foundation
@testable import Simulation
import Testing
@testable import Pipeline
import Sky

/// The reference coadd on the simulated sky: the seed's patch `0-380,5` made from repeated epochs.
@Suite struct CoaddOnTheSimulatedSky {
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
        return Background.robustSigma(box)
    }

    @Test func theBackgroundNoiseFallsAsOneOverTheSquareRootOfTheNumberOfFrames() throws {
        let directory = Directory()
        let calexps = try calexps(in: directory.url)
        try #require(calexps.count == 4)
        let map = try SkyMap.load(contentsOf: skyMapFile)
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
        let map = try SkyMap.load(contentsOf: skyMapFile)
        let out = directory.url.appendingPathComponent("coadd")
        let result = try Coadd(options: .init(skyMap: map, patch: seedPatch, filter: .r, outputDirectory: out)).run(calexps: calexps)
        #expect(result.outputs.map { URL(fileURLWithPath: $0).lastPathComponent }
                == ["deepCoadd-0-380,5-r.fits", "deepsrc-0-380,5-r.csv", "coadd-0-380,5-r.csv"])
        let row = try String(contentsOfFile: result.outputs[2], encoding: .utf8).split(separator: "\n")
        #expect(row.first.map(String.init) == Coadd.rowColumns)
        let fields = row[1].split(separator: ",").map(String.init)
        #expect(fields[0] == String(seedPatch.deepCoaddId(filterId: 2)))
        #expect(fields[2] == "\"380" && fields[3] == "5\"", "the patch is quoted: \(fields)")
        // DC2013's filterName and corners, fluxMag0 for zero point 27, the calexps stacked, and the
        // deepCoadd's path (quoted: it has a comma).
        let names = Coadd.rowColumns.split(separator: ",").map(String.init)
        let columns = CSVLine.fields(row[1])
        #expect(columns.count == names.count)
        let value = { (name: String) in columns[names.firstIndex(of: name)!] }
        #expect(value("filterName") == "r")
        #expect(value("corner1Ra").hasPrefix("6.27664"), "corner1Ra \(value("corner1Ra"))")
        #expect(abs(Double(value("fluxMag0"))! / pow(10, 0.4 * 27) - 1) < 1e-6, "fluxMag0 \(value("fluxMag0"))")
        #expect(value("nCalexps") == "4" && value("path") == "\"\(result.outputs[0])\"", "\(columns)")
        let sources = try String(contentsOfFile: result.outputs[1], encoding: .utf8).split(separator: "\n")
        #expect(sources.first.map(String.init) == Coadd.sourceColumns)
        #expect(sources.count == result.sources + 1)
        // Every source lies on the patch, border included.
        let corners = try map.corners(of: seedPatch)
        let header = Coadd.sourceColumns.split(separator: ",").map(String.init)
        let column = { (name: String) in header.firstIndex(of: name)! }
        for line in sources.dropFirst() {
            let values = line.split(separator: ",")
            #expect(values[column("deepCoaddId")] == "\(seedPatch.deepCoaddId(filterId: 2))")
            // (The patch's quoted "x,y" is two fields when split on commas.)
            let (ra, dec) = (Double(values[column("ra") + 1])!, Double(values[column("decl") + 1])!)
            // isPrimary: the centroid (1-based x, y) inside the inner box of 2000 × 1907 pixels.
            let (x, y) = (Double(values[column("x") + 1])!, Double(values[column("y") + 1])!)
            let inner = x > 30.5 && x <= 2030.5 && y > 30.5 && y <= 1937.5
            #expect(values[column("isPrimary") + 1] == (inner ? "1" : "0"), "\(line)")
            #expect(ra > corners[0].ra && ra < corners[2].ra && dec > corners[0].dec && dec < corners[1].dec)
        }
        let image = try FITSFile.open(result.outputs[0])
        defer { try? image.close() }
        #expect(try image.imageSize() == [2060, 1967])
        #expect(try image.double("MAGZERO") == 27 && image.integer("NCALEXP") == 4)
        #expect(try image.string("CTYPE1") == "RA---CEA")
    }

    /// Warping keeps fluxes, not counts per pixel: the coadd's magnitudes at zero point 27 are the
    /// truth's (within what an aperture misses of a star's wings), though its pixels are 4 times
    /// smaller than the calexps'.
    @Test func theStacksFluxesAreOnTheCommonZeroPoint() throws {
        let directory = Directory()
        let calexps = try calexps(in: directory.url)
        let map = try SkyMap.load(contentsOf: skyMapFile)
        let result = try Coadd(options: .init(skyMap: map, patch: seedPatch, filter: .r, outputDirectory: directory.url.appendingPathComponent("coadd")))
            .run(calexps: calexps)
        struct Star { var ra: Double; var dec: Double; var r: Double }
        var stars: [Star] = []
        for line in try String(contentsOf: directory.url.appendingPathComponent("in/truth-objects.csv"), encoding: .utf8).split(separator: "\n").dropFirst() {
            let v = line.split(separator: ",")
            if v[3] == "1", let ra = Double(v[1]), let dec = Double(v[2]), let r = Double(v[6]) { stars.append(Star(ra: ra, dec: dec, r: r)) }
        }
        var offsets: [Double] = []
        for line in try String(contentsOfFile: result.outputs[1], encoding: .utf8).split(separator: "\n").dropFirst() {
            let v = line.split(separator: ",")
            // deepSourceId,deepCoaddId,tract,"x,y" (two fields here),filterId,ra,decl,raVar,declVar,x,y,psfFlux,psfFluxSigma,apFlux,apFluxSigma,modelFlux,…
            guard let ra = Double(v[6]), let dec = Double(v[7]), let flux = Double(v[12]), let sigma = Double(v[13]),
                  let model = Double(v[16]), flux / sigma > 100, model > 0 else { continue }
            let tolerance: Double = 1.0 / 3600
            let scale: Double = cos(dec * Double.pi / 180)
            guard let star = stars.first(where: { abs($0.ra - ra) * scale < tolerance && abs($0.dec - dec) < tolerance }) else { continue }
            let magnitude: Double = 27 - 2.5 * log10(model)
            offsets.append(magnitude - star.r)
        }
        try #require(offsets.count >= 10, "\(offsets.count) bright stars matched")
        let median = offsets.sorted()[offsets.count / 2]
        #expect(abs(median) < 0.15, "coadd model magnitudes − truth, median \(median) over \(offsets.count) stars")
    }

    /// A satellite trail across one of four frames (100σ, 3 rows) is clipped from the stack: what
    /// it adds to the coadd's flux is under a tenth of what it would add unclipped.
    @Test func aTrailOnOneFrameIsClippedFromTheStack() throws {
        let directory = Directory()
        let calexps = try calexps(in: directory.url)
        let original = try FITSFile.open(calexps[0])
        let size = try original.imageSize()
        var pixels = try original.readImage()
        let sigma = Background.robustSigma(pixels)
        let magzero = try #require(try original.double("MAGZERO"))
        let cards = try original.header().cards
        try original.close()
        for dy in -1...1 { for x in 0..<size[0] { pixels[(size[1] / 2 + dy) * size[0] + x] += Float(100 * sigma) } }
        let trailed = directory.url.appendingPathComponent("calexp-trailed.fits")
        let file = try FITSFile.create(trailed.path)
        try file.createImage(width: size[0], height: size[1])
        let structural = ["SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND", "END", "COMMENT"]
        for start in stride(from: 0, to: cards.utf8.count, by: 80) {
            let card = String(cards.dropFirst(start).prefix(80))
            if !structural.contains(card.prefix(8).trimmingCharacters(in: .whitespaces)) { try file.write(FITSCard(text: card)) }
        }
        try file.writePixels(pixels)
        try file.close()

        let map = try SkyMap.load(contentsOf: skyMapFile)
        func total(_ inputs: [String], _ name: String) throws -> Double {
            let result = try Coadd(options: .init(skyMap: map, patch: seedPatch, filter: .r, outputDirectory: directory.url.appendingPathComponent(name)))
                .run(calexps: inputs)
            let image = try FITSFile.open(result.outputs[0])
            defer { try? image.close() }
            return try image.readImage().reduce(0) { $0 + Double($1) }
        }
        let excess = try total([trailed.path] + calexps.dropFirst(), "trailed") - total(calexps, "clean")
        // The trail's flux at the common zero point, a quarter of it in a mean of four frames.
        let unclipped = 100 * sigma * 3 * Double(size[0]) * pow(10, 0.4 * (27 - magzero)) / 4
        #expect(abs(excess) < 0.1 * unclipped, "the trail added \(excess) to the coadd, \(unclipped) unclipped")
    }

    @Test func aPatchNoCalexpOverlapsFailsNamingItsClass() throws {
        let directory = Directory()
        let calexps = try calexps(in: directory.url)
        let map = try SkyMap.load(contentsOf: skyMapFile)
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

/// The warp's noise correlation is measured where no source's light reaches (`Coadd.noiseCorrelation`):
/// on the test sky the sources' wings had widened it by 1–8 %.
@Suite struct CoaddNoiseCorrelationPositions {
    /// A grid of positions every 10 pixels: a faint detection (16 pixels) takes out those within
    /// the clearance plus 4 pixels of its peak on each axis, a bright one (400 pixels) those within
    /// the clearance plus 20; the rest are kept, in their order.
    @Test func positionsNearADetectionAreLeftOut() {
        let positions = stride(from: 0, through: 100, by: 10).flatMap { y in stride(from: 0, through: 100, by: 10).map { x in (x: x, y: y) } }
        let faint = Detection(peakX: 50, peakY: 50, peak: 10, pixels: 16)
        let bright = Detection(peakX: 0, peakY: 100, peak: 1000, pixels: 400)
        let clear = Coadd.clearOfDetections(positions, [faint, bright], clearance: 10)
        func isNear(_ p: (x: Int, y: Int), _ d: Detection, _ reach: Int) -> Bool { abs(p.x - d.peakX) <= reach && abs(p.y - d.peakY) <= reach }
        // 3 × 3 about the faint one (40–60), 4 × 4 in the bright one's corner (0–30, 70–100).
        #expect(clear.count == positions.count - 9 - 16, "\(clear.count) of \(positions.count) clear")
        #expect(clear.allSatisfy { !isNear($0, faint, 14) && !isNear($0, bright, 30) })
        #expect(clear.map { $0.y * 1000 + $0.x } == clear.map { $0.y * 1000 + $0.x }.sorted())
        #expect(Coadd.clearOfDetections(positions, [], clearance: 10).count == positions.count)
    }
}

/// The coadd's detection on correlated noise (`CoaddDetection.matched`): thresholded on the noise of
/// a draw of the coadd's noise alone filtered alike, as the PSF fluxes' correlation is measured, its 5σ
/// is 5σ of what the pixels do; from independent pixels of their measured σ it would be far lower
/// (neighbours smoothed together, as a warp does, have a smaller σ each than their sums show), and
/// noise would be detected.
@Suite struct CoaddMatchedDetection {
    /// Ten stars at 8σ of the filtered noise on white noise smoothed by a [¼ ½ ¼] kernel on each axis:
    /// all found, with nothing else; the threshold predicted from independent pixels finds the noise.
    @Test func theThresholdIsTheFilteredNoiseOfADraw() throws {
        let (width, height) = (300, 200)
        let psf = MoffatPSF(fwhm: 3.5, beta: 3), psfSigma = 3.5 / Gaussian.sigmaToFWHM
        func smoothedNoise(seed: UInt64) -> Image {
            SourceDetector.convolved(Stages.noisy(Stages.flat(width, height), sigma: 1, seed: seed), [0.25, 0.5, 0.25])
        }
        let noise = smoothedNoise(seed: 12), draw = smoothedNoise(seed: 13)
        let kernel = SourceDetector.matchedKernel(psfSigma: psfSigma, config: .init())
        let filteredNoise = RobustStatistics.sigma(SourceDetector.convolved(draw, kernel).pixels)
        let unit = try #require(SourceDetector.convolved(Stages.star(Stages.flat(41, 41), at: (x: 20, y: 20), flux: 1, psf: psf), kernel).pixels.max())
        let centres = (0..<10).map { (k: Int) -> (x: Double, y: Double) in
            let x: Double = 25 + 27 * Double(k), y: Double = 30 + 40 * Double(k % 2)
            return (x, y)
        }
        var significance = noise
        for c in centres { significance = Stages.star(significance, at: c, flux: 8 * filteredNoise / Double(unit), psf: psf) }
        let first = CoaddDetection.Result(detections: [], noiseScale: RobustStatistics.sigma(draw.pixels), noise: 1,
                                          significance: significance, noiseSignificance: draw)
        let measured = CoaddDetection().matched(first, image: significance, psfSigma: psfSigma, valid: { _ in true })
        let found = centres.filter { (c: (x: Double, y: Double)) -> Bool in
            measured.contains { (d: Detection) -> Bool in abs(Double(d.peakX) - c.x) <= 1.5 && abs(Double(d.peakY) - c.y) <= 1.5 }
        }
        #expect(found.count == 10 && measured.count == 10, "\(found.count) of 10 stars in \(measured.count) detections")
        let independent = SourceDetector.filteredNoise(first.noiseScale, kernel: kernel)
        let predicted = SourceDetector.detect(significance, filtered: SourceDetector.convolved(significance, kernel), noise: independent,
                                              psfSigma: psfSigma, config: .init())
        #expect(filteredNoise > 2 * independent, "filtered noise \(filteredNoise), as from independent pixels \(independent)")
        #expect(predicted.count > 50, "\(predicted.count) detections at the threshold predicted from independent pixels")
    }
}
