import Basics
import Foundation
@testable import Simulation
import Testing
@testable import Pipeline
import Sky

/// What a scientist checks before trusting a catalog row: its flags say when it is unreliable, its
/// extendedness tells stars from galaxies, and forced photometry measures each object once per frame.
///
/// The sky: four epochs in r and i of a pointing across the border of patches 380,5 and 381,5 (RA grows to the left of a tract), each
/// patch coadded, and forced photometry at both patches' primary DeepSources, as `run --by-patch`
/// gives them (a `.sources` file).
@Suite struct CatalogTrust {
    let directory = Directory()
    let patches = [PatchId(tract: 0, x: 380, y: 5), PatchId(tract: 0, x: 381, y: 5)]
    var input: URL { directory.url.appendingPathComponent("in") }
    var output: URL { directory.url.appendingPathComponent("out") }
    /// The calexps, coadds' deepsrc files and forced files, made once for the suite.
    let made: (calexps: [String], deepsrc: [String], forced: [String])

    init() throws {
        let simulation = Simulation(options: .init(directory: directory.url.appendingPathComponent("in"), frames: 8, seed: 23, defects: 0,
                                                   region: Region(raMin: 6.26, raMax: 6.30, decMin: -0.125, decMax: -0.085),
                                                   width: 1024, height: 744, pixelScale: 0.8, filters: [.r, .i]))
        _ = try simulation.run()
        let input = directory.url.appendingPathComponent("in"), output = directory.url.appendingPathComponent("out")
        let processor = ProcessCcd(options: .init(referenceCatalog: input.appendingPathComponent("refcat.csv").path, outputDirectory: output))
        let calexps = try simulation.plans().map { try processor.run(frame: input.appendingPathComponent($0.relativePath).path).outputs[0] }
        let map = try SkyMap.load(contentsOf: skyMapFile)
        var deepsrc: [String] = []
        for patch in patches {
            for filter in [Filter.r, .i] {
                let frames = calexps.filter { $0.contains("-\(filter.rawValue)") }
                deepsrc.append(try Coadd(options: .init(skyMap: map, patch: patch, filter: filter, outputDirectory: output)).run(calexps: frames).outputs[1])
            }
        }
        var forced: [String] = []
        for filter in [Filter.r, .i] {
            let sources = output.appendingPathComponent("\(filter.rawValue).sources")
            try ("box 0 360 -90 90\n" + deepsrc.filter { $0.hasSuffix("-\(filter.rawValue).csv") }.joined(separator: "\n") + "\n")
                .write(to: sources, atomically: true, encoding: .utf8)
            let photometry = ForcedPhot(options: .init(positions: sources.path, outputDirectory: output))
            for calexp in calexps where calexp.contains("-\(filter.rawValue)") { forced += try photometry.run(calexp: calexp).outputs }
        }
        made = (calexps, deepsrc, forced)
    }

    /// The simulator's objects, exact (`truth-objects.csv`; `refcat.csv` has its own errors).
    func truth() throws -> TruthIndex { try TruthIndex(path: input.appendingPathComponent("truth-objects.csv").path) }

    /// The chain is made once (each test of a suite has its own instance) and checked three ways.
    @Test func aCatalogRowSaysWhenItIsUnreliable() throws {
        try noObjectIsMeasuredTwiceOnOneFrame()
        try extendednessTellsStarsFromGalaxies()
        try sourcesAtAnEdgeAreFlagged()
    }

    /// Forced photometry at primary positions only: no object is measured twice on one frame, though
    /// the two coadds hold border copies of the same objects.
    func noObjectIsMeasuredTwiceOnOneFrame() throws {
        let truth = try truth()
        var borderCopies = 0
        for file in made.deepsrc {
            borderCopies += try CSVRows(path: file).rows.count { $0["isPrimary"] == "0" }
        }
        #expect(borderCopies > 20, "the coadds have border copies: \(borderCopies)")
        var rows = 0
        for file in made.forced {
            var seen: [Int64: Int] = [:]
            for row in try CSVRows(path: file).rows {
                rows += 1
                #expect(row["objectId"] == row["deepSourceId"])
                #expect(row["scienceCcdExposureId"].flatMap { Int64($0) } != nil)
                guard let object = truth.nearest(ra: Double(row["ra"]!)!, dec: Double(row["decl"]!)!, within: 1) else { continue }
                seen[object.id, default: 0] += 1
            }
            let twice = seen.filter { $0.value > 1 }
            #expect(twice.isEmpty, "\(URL(fileURLWithPath: file).lastPathComponent): \(twice.count) objects measured twice")
        }
        #expect(rows > 500)
    }

    /// `extendedness` tells stars from galaxies: at least 95 % right for sources with S/N > 20, on
    /// single frames and on the coadds.
    func extendednessTellsStarsFromGalaxies() throws {
        let truth = try truth()
        for (step, files) in [("processCcd", made.calexps.map { $0.replacingOccurrences(of: "/calexp-", with: "/src-").replacingOccurrences(of: ".fits", with: ".csv") }),
                              ("coadd", made.deepsrc)] {
            var right = 0, total = 0
            for file in files {
                for row in try CSVRows(path: file).rows {
                    guard let flux = Double(row["psfFlux"]!), let sigma = Double(row["psfFluxSigma"]!), flux > 20 * sigma, row["flagBlended"] == "0",
                          let object = truth.nearest(ra: Double(row["ra"]!)!, dec: Double(row["decl"]!)!, within: 1) else { continue }
                    total += 1
                    if (row["extendedness"] == "1") != object.isStar { right += 1 }
                }
            }
            let accuracy = Double(right) / Double(max(total, 1))
            print(String(format: "%@: star/galaxy right for %.1f %% of %d sources with S/N > 20", step, 100 * accuracy, total))
            #expect(total > 100 && accuracy >= 0.95, "\(step): \(right) of \(total)")
        }
    }

    /// A source whose footprint runs off its frame, or over the coadd's uncovered pixels, is flagged
    /// `flagPixEdge`; one well inside is not.
    func sourcesAtAnEdgeAreFlagged() throws {
        var flagged = 0, inside = 0
        for calexp in made.calexps {
            let file = calexp.replacingOccurrences(of: "/calexp-", with: "/src-").replacingOccurrences(of: ".fits", with: ".csv")
            for row in try CSVRows(path: file).rows {
                let (x, y) = (Double(row["x"]!)!, Double(row["y"]!)!)
                let margin = min(x - 1, y - 1, 1024 - x, 744 - y)
                // The box reaches at least 5 pixels each side of the rounded position: a source within 4.5 pixels of the outermost pixels' centres runs off.
                if margin < 4.5 { #expect(row["flagPixEdge"] == "1", "\(row)"); flagged += 1 }
                if margin > 30 { #expect(row["flagPixEdge"] == "0", "\(row)"); inside += 1 }
            }
        }
        #expect(flagged > 5 && inside > 1000, "\(flagged) at the edge, \(inside) inside")
        // The coadds: the frames cover a strip of each patch; sources beside its end are flagged.
        var coaddFlagged = 0
        for file in made.deepsrc { coaddFlagged += try CSVRows(path: file).rows.count { $0["flagPixEdge"] == "1" } }
        #expect(coaddFlagged > 5)
    }
}

/// A CSV's rows as dictionaries by column name.
struct CSVRows {
    let rows: [[String: String]]

    init(path: String) throws {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        let header: [String] = CSVLine.fields(lines[0]).map { String($0) }
        rows = lines.dropFirst().map { line -> [String: String] in
            let values: [String] = CSVLine.fields(line).map { String($0) }
            return Dictionary(zip(header, values), uniquingKeysWith: { first, _ in first })
        }
    }
}

/// The simulator's objects, for nearest-object lookups (through a `ZoneIndex`, correct across RA 0).
struct TruthIndex {
    struct Object {
        var id: Int64
        var ra: Double
        var dec: Double
        var isStar: Bool
    }

    let objects: [Object]
    let index: ZoneIndex

    init(path: String) throws {
        objects = try CSVRows(path: path).rows.map { row in
            Object(id: Int64(row["id"]!)!, ra: Double(row["ra"]!)!, dec: Double(row["decl"]!)!, isStar: row["isStar"] == "1")
        }
        index = ZoneIndex(objects.map { SkyPosition(ra: $0.ra, dec: $0.dec) }, radius: TruthComparison.searchRadius)
    }

    /// The object nearest (ra, dec) within `arcsec`, if any.
    func nearest(ra: Double, dec: Double, within arcsec: Double) -> Object? {
        index.nearest(SkyPosition(ra: ra, dec: dec), within: arcsec / 3600).map { objects[$0] }
    }
}

/// processCcd's zero point on a reference catalog with its own errors (issue 26): each reference star
/// weighs by its magnitude's σ as well as its flux's, so the zero point's stated σ is what its
/// offsets from the truth are.
@Suite struct CalibrationOnANoisyReference {
    /// 2000 frames of 12 stars, as a u frame has: fluxes of S/N 20–200, reference magnitudes drawn
    /// with σ from 0.02 to 0.3 mag. The offsets over their stated σ have a standard deviation near 1
    /// (0.90: the scatter fitted beyond the stars' σ, on twelve of them, is now and then above zero),
    /// and the zero point is unbiased.
    @Test func theZeroPointsStatedSigmaIsItsScatter() {
        var random = SeededRandom(seed: 5, stream: [26])
        var pulls: [Double] = []
        for _ in 0..<2000 {
            let matches = (0..<12).map { _ -> Match in
                let snr = random.uniform(20, 200), error = random.uniform(0.02, 0.3)
                let flux = pow(10, -0.4 * (20 - 25)) * (1 + random.gaussian() / snr)
                return Match(x: 0, y: 0, ra: 0, dec: 0, referenceMagnitude: 20 + error * random.gaussian(), referenceError: error,
                             isStar: true, instrumentalFlux: flux, signalToNoise: snr)
            }
            guard let fit = PhotometricCalibration().zeroPoint(matches) else { continue }
            pulls.append((fit.value - 25) / fit.sigma)
        }
        let mean = pulls.reduce(0, +) / Double(pulls.count)
        let sd = (pulls.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(pulls.count - 1)).squareRoot()
        print(String(format: "zero point offsets over their stated σ: mean %+.3f, standard deviation %.3f, of %d frames", mean, sd, pulls.count))
        #expect(pulls.count == 2000)
        #expect(abs(mean) < 0.1 && (0.85...1.15).contains(sd), "mean \(mean), standard deviation \(sd)")
    }
}
