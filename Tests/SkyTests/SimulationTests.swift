import Basics
import Foundation
import Simulation
import Sky
import Testing

@Suite("pipe simulate")
struct SimulationTests {
    @Test("the same options give byte-identical files; another seed gives other frames")
    func determinism() throws {
        try withTemporaryDirectory { root in
            let a = root.appendingPathComponent("a"), b = root.appendingPathComponent("b")
            let c = root.appendingPathComponent("c")
            let summaryA = try simulate(smallOptions(a, frames: 20, seed: 7, defects: 0.2))
            let summaryB = try simulate(smallOptions(b, frames: 20, seed: 7, defects: 0.2))
            #expect(summaryA.line == summaryB.line)

            let filesA = relativeFiles(under: a), filesB = relativeFiles(under: b)
            #expect(filesA == filesB)
            #expect(filesA.contains("truth.csv"))
            #expect(filesA.contains("refcat.csv"))
            let frames = filesA.filter(isFrameFile)
            #expect(frames.count == summaryA.framesWritten)
            #expect(frames.count >= 15)
            // No temporary file is left behind by the atomic writes.
            #expect(!filesA.contains { ($0 as NSString).lastPathComponent.hasPrefix(".") })
            for file in filesA {
                let bytesA = try Data(contentsOf: a.appendingPathComponent(file))
                let bytesB = try Data(contentsOf: b.appendingPathComponent(file))
                #expect(bytesA == bytesB, "\(file) differs between two simulations with the same options")
            }

            try simulate(smallOptions(c, frames: 20, seed: 8, defects: 0.2))
            let framesC = Set(relativeFiles(under: c).filter(isFrameFile))
            let common = frames.filter(framesC.contains)
            #expect(!common.isEmpty)
            for file in common {
                let bytesA = try Data(contentsOf: a.appendingPathComponent(file))
                let bytesC = try Data(contentsOf: c.appendingPathComponent(file))
                #expect(bytesA != bytesC, "\(file) is the same with seeds 7 and 8")
            }
            let truthA = try Data(contentsOf: a.appendingPathComponent("truth.csv"))
            let truthC = try Data(contentsOf: c.appendingPathComponent("truth.csv"))
            #expect(truthA != truthC)
        }
    }

    @Test("truth.csv lists every planned frame; the files on disk follow it")
    func content() throws {
        try withTemporaryDirectory { root in
            let options = smallOptions(root, frames: 20, seed: 7, defects: 0.2)
            let summary = try simulate(options)
            let truth = try readTruth(root)

            // Every planned frame, in order, once.
            let planned = plannedNames(options)
            #expect(truth.count == 20)
            #expect(truth.compactMap(\.name) == planned)
            #expect(Set(truth.map(\.file)).count == truth.count)

            // A fifth of the frames carry a defect, each kind in turn, with inventory's expectation.
            var defects: [String: Int] = [:]
            for row in truth { defects[row.defect, default: 0] += 1 }
            #expect(defects == ["none": 16, "missing-file": 1, "broken-wcs": 1, "few-stars": 1, "corrupted-header": 1])
            for row in truth {
                let expected = Defect(rawValue: row.defect)?.inventoryExpectation ?? "event"
                #expect(row.inventory == expected, "\(row.file): defect \(row.defect), inventory \(row.inventory)")
            }
            // Frames on disk: all but those inventory must find absent.
            #expect(summary.framesWritten == truth.filter { $0.inventory != "absent" }.count)
            #expect(summary.defects == [.missingFile: 1, .brokenWCS: 1, .fewStars: 1, .corruptedHeader: 1])
            #expect(summary.runs == Set(truth.map(\.run)))

            for row in truth {
                let url = root.appendingPathComponent(row.file)
                let fileName = url.lastPathComponent
                // File names are FrameName's, under RUN/CAMCOL/, and agree with the truth columns.
                let name = try #require(FrameName(fileName: fileName), "\(fileName) is not an fpC frame name")
                #expect(name.description == fileName)
                #expect(row.file == "\(name.run)/\(name.camcol)/\(fileName)")
                #expect(name.run == row.run && name.camcol == row.camcol && name.field == row.field)
                #expect(name.filter.rawValue == row.filter)

                if row.inventory == "absent" {
                    #expect(!FileManager.default.fileExists(atPath: url.path), "\(row.file) should be missing")
                    continue
                }
                #expect(FileManager.default.fileExists(atPath: url.path), "\(row.file) is not on disk")
                switch row.defect {
                case "corrupted-header":
                    #expect(throws: FITSError.self, "\(row.file) has a corrupted header but opens") {
                        _ = try FITSFile.open(url.path)
                    }
                default:
                    let file = try FITSFile.open(url.path)
                    defer { try? file.close() }
                    #expect(try file.imageSize() == [128, 93])
                    #expect(try file.integer("RUN") == name.run)
                    #expect(try file.integer("CAMCOL") == name.camcol)
                    #expect(try file.integer("FIELD") == name.field)
                    #expect(try file.string("FILTER") == name.filter.rawValue)
                    #expect(try file.integer("SOFTBIAS") == Camera.softBias)
                    #expect(try file.double("GAIN") == Camera.gain)
                    #expect(try file.string("CTYPE1") == "RA---TAN")
                    let pixels = try file.readImage()
                    #expect(pixels.count == 128 * 93)
                    // Soft bias plus sky: the median pixel is close to their sum.
                    let median = pixels.sorted()[pixels.count / 2]
                    let level = Double(Camera.softBias) + Camera.skyCounts[name.filter.filterId]
                    #expect(abs(Double(median) - level) < 20, "\(row.file): median \(median), expected about \(level)")
                }
            }

            // Inventory's file walk finds exactly the files written.
            let found = FrameFile.all(under: root.path).map(\.name)
            let written = truth.filter { $0.inventory != "absent" }.compactMap(\.name)
            #expect(Set(found) == Set(written))
            #expect(found.count == written.count)

            // The reference catalog: its header and as many objects as the summary says.
            let refcat = try String(contentsOf: root.appendingPathComponent("refcat.csv"), encoding: .utf8)
            let lines = refcat.split(separator: "\n")
            #expect(lines.first == "id,ra,decl,isStar,u,g,r,i,z,uErr,gErr,rErr,iErr,zErr")
            #expect(lines.count - 1 == summary.referenceObjects)
            #expect(summary.referenceObjects > 0)
            // The exact objects beside it: more of them (no limit, none missed), each with a size.
            let objects = try String(contentsOf: root.appendingPathComponent("truth-objects.csv"), encoding: .utf8).split(separator: "\n")
            #expect(objects.first == "id,ra,decl,isStar,u,g,r,i,z,size")
            #expect(objects.count > lines.count)
        }
    }

    @Test("more frames with the same seed and no defects keep the first frames byte for byte")
    func extensionKeepsFrames() throws {
        try withTemporaryDirectory { root in
            let small = root.appendingPathComponent("small"), large = root.appendingPathComponent("large")
            try simulate(smallOptions(small, frames: 20, defects: 0))
            try simulate(smallOptions(large, frames: 30, defects: 0))
            let truthSmall = try readTruth(small), truthLarge = try readTruth(large)
            #expect(Array(truthLarge.prefix(20)) == truthSmall)
            for row in truthSmall {
                let bytesSmall = try Data(contentsOf: small.appendingPathComponent(row.file))
                let bytesLarge = try Data(contentsOf: large.appendingPathComponent(row.file))
                #expect(bytesSmall == bytesLarge, "\(row.file) changed when more frames were simulated")
            }
        }
    }

    /// Each frame draws its defect from a stream keyed by its name, so simulating more frames
    /// with the same seed and --defects leaves the first frames' defects unchanged.
    @Test("more frames with the same seed and defects keep the first frames' defects")
    func extensionKeepsDefects() throws {
        try withTemporaryDirectory { root in
            let small = root.appendingPathComponent("small"), large = root.appendingPathComponent("large")
            try simulate(smallOptions(small, frames: 60, defects: 0.2))
            try simulate(smallOptions(large, frames: 90, defects: 0.2))
            let truthSmall = try readTruth(small), truthLarge = try readTruth(large)
            #expect(truthLarge.prefix(60).map(\.file) == truthSmall.map(\.file))
            let changed = zip(truthSmall, truthLarge).filter { $0.0.defect != $0.1.defect }
            let examples = changed.prefix(5).map { "\($0.0.file) \($0.0.defect) → \($0.1.defect)" }
            #expect(changed.count == 0,
                    "\(changed.count) of the first 60 frames changed defect: \(examples.joined(separator: ", "))")
        }
    }
}

extension SimulationTests {
    /// The simulator wrote reference RAs of 360 and more beside RA 360, and of less than 0 beside
    /// RA 0 (issue 23): the sky is the same on both sides of RA 0 and every RA is in [0, 360).
    @Test("reference RAs near RA 0 and 360 lie in [0, 360), the same objects on both sides")
    func referenceRAsWrap() throws {
        try withTemporaryDirectory { root in
            func referenceRAs(_ region: Region, _ name: String) throws -> [String: Double] {
                let directory = root.appendingPathComponent(name)
                try simulate(smallOptions(directory, frames: 4, defects: 0, region: region, filters: [.r]))
                let rows = try String(contentsOf: directory.appendingPathComponent("refcat.csv"), encoding: .utf8)
                    .split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
                return Dictionary(uniqueKeysWithValues: rows.map { (String($0[0]), Double($0[1])!) })
            }
            let high = try referenceRAs(Region(raMin: 359.96, raMax: 360, decMin: -0.05, decMax: 0.05), "high")
            let low = try referenceRAs(Region(raMin: 0, raMax: 0.04, decMin: -0.05, decMax: 0.05), "low")
            #expect(!high.isEmpty && !low.isEmpty)
            for (ra, side) in [(high, "359.96-360"), (low, "0-0.04")] {
                #expect(ra.values.allSatisfy { (0..<360).contains($0) }, "\(side): \(ra.values.filter { !(0..<360).contains($0) }.prefix(3))")
            }
            // Both frames' boxes reach across RA 0: the objects there are one set, with one RA each.
            let shared = Set(high.keys).intersection(low.keys)
            #expect(!shared.isEmpty)
            #expect(shared.allSatisfy { high[$0] == low[$0] })
            #expect(high.values.contains { $0 < 1 } && low.values.contains { $0 > 359 })
        }
    }
}

extension SimulationTests {
    /// Frame names have six digits of run and four of field: a simulation that would need more
    /// wrote names inventory cannot read, or one name twice. It is refused before any file is written.
    @Test("more frames than the region's frame names hold are refused, nothing written")
    func framesBeyondTheNamesAreRefused() throws {
        try withTemporaryDirectory { root in
            // 26 fields × 15 strips (two blocks of runs) × 50 epochs × 5 filters.
            let many = root.appendingPathComponent("many")
            let error = #expect(throws: SurveyLayout.Overflow.self) { try simulate(smallOptions(many, frames: 97_501)) }
            #expect(error?.description == "the region 10 10.5 -0.2 0.2 at this frame size cannot hold 97501 frames: at most 97500 frames fit")
            // Frames of 16 pixels at 0.01″ over the whole equator: millions of fields.
            let wide = root.appendingPathComponent("wide")
            let options = Simulation.Options(directory: wide, frames: 1, region: Region(raMin: 0, raMax: 360, decMin: -1, decMax: 1),
                                             width: 16, height: 16, pixelScale: 0.01, filters: [.r])
            let tooWide = #expect(throws: SurveyLayout.Overflow.self) { try simulate(options) }
            #expect(tooWide?.description.hasSuffix("it has more fields along RA or strips across Dec than frame names number") == true)
            #expect(!FileManager.default.fileExists(atPath: many.path) && !FileManager.default.fileExists(atPath: wide.path))
        }
    }
}

extension SimulationTests {
    /// Stripe 82 runs from RA −60 to 60: a region through RA 0 is laid from RAMIN on through 0, and
    /// every RA written, in the frames' headers, the truth and the reference catalog, is in [0, 360).
    @Test("a region through RA 0 has frames on both sides, every RA in [0, 360)")
    func regionThroughRAZero() throws {
        try withTemporaryDirectory { root in
            // Written as a config may write it, RA from −180: the range 359.95 to 0.05.
            let region = try Region.written(-0.05, 0.05, -0.02, 0.02)
            #expect(region == Region(raMin: 359.95, raMax: 0.05, decMin: -0.02, decMax: 0.02))
            try simulate(smallOptions(root, frames: 8, defects: 0, region: region, filters: [.r]))
            let truth = try readTruth(root)
            #expect(truth.count == 8)
            var centers: [Double] = []
            for row in truth {
                let header = try FrameHeader.read(path: root.appendingPathComponent(row.file).path, name: try #require(row.name))
                centers.append(header.center.ra)
                let trueRA = try #require(Double(row.fields["crval1"] ?? ""))
                #expect((0..<360).contains(trueRA), "\(row.file): crval1 \(trueRA)")
            }
            #expect(centers.allSatisfy { (0..<360).contains($0) }, "\(centers)")
            #expect(centers.contains { $0 > 359.95 } && centers.contains { $0 < 0.05 }, "\(centers)")
            let refcat = try String(contentsOf: root.appendingPathComponent("refcat.csv"), encoding: .utf8)
                .split(separator: "\n").dropFirst().map { Double($0.split(separator: ",")[1])! }
            #expect(!refcat.isEmpty && refcat.allSatisfy { (0..<360).contains($0) })
            #expect(refcat.contains { $0 > 359.9 } && refcat.contains { $0 < 0.1 })
            let truthObjects = try String(contentsOf: root.appendingPathComponent("truth-objects.csv"), encoding: .utf8)
                .split(separator: "\n").dropFirst().map { Double($0.split(separator: ",")[1])! }
            #expect(!truthObjects.isEmpty && truthObjects.allSatisfy { (0..<360).contains($0) })
        }
    }
}

extension SimulationTests {
    /// The reference catalog is the truth seen through an SDSS-like survey: its magnitudes scatter
    /// about the truth as their quoted errors say, a few per cent of the objects are missing, the
    /// positions are off by about 0.05″, and nothing fainter than its limit is in it.
    @Test("refcat.csv has errors of its own, as its error columns say; truth-objects.csv is exact")
    func referenceCatalogErrors() throws {
        try withTemporaryDirectory { root in
            let options = smallOptions(root, frames: 12, defects: 0, filters: [.r])
            try simulate(options)
            func rows(_ file: String) throws -> [String: [Substring]] {
                let lines = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8).split(separator: "\n").dropFirst()
                return Dictionary(uniqueKeysWithValues: lines.map { line in
                    let fields = line.split(separator: ",")
                    return (String(fields[0]), fields)
                })
            }
            let truth = try rows("truth-objects.csv"), reference = try rows("refcat.csv")
            var pulls: [Double] = [], offsets: [Double] = []
            var bright = 0, brightMissing = 0
            for (id, t) in truth {
                let r = Double(t[6])!
                guard let ref = reference[id] else {
                    if r < 21 { bright += 1; brightMissing += 1 }
                    continue
                }
                if r < 21 { bright += 1 }
                #expect(Double(ref[6])! < options.reference.limit)
                pulls.append((Double(ref[6])! - r) / Double(ref[11])!)
                let dec = Double(t[2])!
                offsets.append((Double(ref[1])! - Double(t[1])!) * cos(dec * .pi / 180) * 3600)
                offsets.append((Double(ref[2])! - dec) * 3600)
            }
            #expect(reference.keys.allSatisfy { truth[$0] != nil })
            try #require(pulls.count > 200, "\(pulls.count) reference objects")
            let pullSigma = robustSigma(pulls), positionSigma = robustSigma(offsets)
            #expect((0.85...1.15).contains(pullSigma), "r pull robust σ \(pullSigma) over \(pulls.count) objects")
            #expect((0.04...0.06).contains(positionSigma), "position error robust σ \(positionSigma)″")
            let missing = Double(brightMissing) / Double(bright)
            #expect((0.01...0.06).contains(missing), "\(brightMissing) of \(bright) objects brighter than r = 21 missing")
        }
    }

    /// The Stripe 82-dense sky: galaxy counts of about 38 per arcmin² brighter than r = 24.5
    /// (what a deep coadd detects as about 40 DeepSources per arcmin²), stars of a few thousand per
    /// deg², galaxies shrinking with magnitude and none below the surface-brightness limit.
    @Test("--density stripe82 has Stripe 82's counts, galaxy sizes shrinking with magnitude")
    func stripe82Density() throws {
        let sky = SkyModel(seed: 7, density: .stripe82)
        let objects = (0..<4).flatMap { i in sky.cell(i: 100 + i, j: 899) }
        let area = 4 * 0.1 * 0.1 * cos(0.05 * .pi / 180) * 3600
        let galaxies = objects.filter { !$0.isStar }, stars = objects.filter(\.isStar)
        let deep = Double(galaxies.filter { $0.magnitudes[2] < 24.5 }.count) / area
        #expect((33...43).contains(deep), "\(deep) galaxies per arcmin² brighter than r = 24.5")
        let starsPerDegree = Double(stars.count) / area * 3600
        #expect((4000...6000).contains(starsPerDegree), "\(starsPerDegree) stars per deg²")
        func medianSize(_ range: ClosedRange<Double>) -> Double {
            let sizes = galaxies.filter { range.contains($0.magnitudes[2]) }.map(\.size).sorted()
            return sizes[sizes.count / 2]
        }
        #expect(medianSize(19...20) > 1.5 * medianSize(23...24), "\(medianSize(19...20))″ at r 19–20, \(medianSize(23...24))″ at r 23–24")
        let limit = GalaxySizes().surfaceBrightnessLimit
        let halfLight = (2 * log(2.0)).squareRoot()
        #expect(galaxies.allSatisfy { $0.magnitudes[2] + 2.5 * log10(2 * .pi * pow($0.size * halfLight, 2)) <= limit + 1e-9 })
        // The same seed gives the same dense sky, byte for byte.
        try withTemporaryDirectory { root in
            func files(_ name: String) throws -> [Data] {
                var options = smallOptions(root.appendingPathComponent(name), frames: 2, defects: 0, filters: [.r])
                options.density = .stripe82
                try simulate(options)
                return try relativeFiles(under: options.directory).map { try Data(contentsOf: options.directory.appendingPathComponent($0)) }
            }
            let a = try files("a"), b = try files("b")
            #expect(!a.isEmpty && a == b)
        }
        // The sparse sky is what it was: the same objects as before densities existed.
        let sparse = SkyModel(seed: 7).cell(i: 100, j: 899)
        #expect(sparse.count == SkyModel(seed: 7, density: .sparse).cell(i: 100, j: 899).count)
        #expect(sparse.allSatisfy { $0.isStar ? $0.size == 0 : (0.4..<1.6).contains($0.size) })
    }
}

/// A test sky's added bright stars (`Simulation.Options.brightStars`): the cell's own objects stay
/// what they were, each cell gets its area's share of them, and each is isolated.
@Suite struct BrightStarsOfATestSky {
    @Test func brightStarsAreAddedApartFromEveryOtherObject() {
        let bright = BrightStars(density: 800, r: 15.5...16.5, isolation: 15)
        for (i, j) in [(63, 898), (64, 899), (3599, 900)] {
            let plain = SkyModel(seed: 11).cell(i: i, j: j), rich = SkyModel(seed: 11, brightStars: bright).cell(i: i, j: j)
            let kept = zip(plain, rich).allSatisfy { $0.id == $1.id && $0.ra == $1.ra && $0.magnitudes == $1.magnitudes && $0.size == $1.size }
            #expect(kept && rich.count == plain.count + 8, "cell \(i), \(j): \(plain.count) → \(rich.count) objects")
            #expect(Set(rich.map(\.id)).count == rich.count, "cell \(i), \(j): ids unique")
            for star in rich.dropFirst(plain.count) {
                #expect(star.isStar && bright.r.contains(star.magnitudes[2]) && star.size == 0)
                let cosDec = cos(star.dec * .pi / 180)
                func distance(_ o: SkyObject) -> Double {
                    let dRA: Double = (o.ra - star.ra) * cosDec, dDec: Double = o.dec - star.dec
                    return 3600 * (dRA * dRA + dDec * dDec).squareRoot()
                }
                let nearest = rich.filter { $0.id != star.id }.map(distance).min() ?? .infinity
                #expect(nearest >= 15, "cell \(i), \(j): a bright star \(nearest)″ from another object")
                let low: Double = Double(i) * 0.1 + 15.0 / 3600, high: Double = Double(i + 1) * 0.1 - 15.0 / 3600
                #expect(star.ra >= low && star.ra < high, "RA \(star.ra) in cell \(i)")
            }
        }
    }
}

/// 1.4826 × the median absolute deviation from the median.
private func robustSigma(_ values: [Double]) -> Double {
    let sorted = values.sorted(), median = sorted[sorted.count / 2]
    let deviations = values.map { abs($0 - median) }.sorted()
    return 1.4826 * deviations[deviations.count / 2]
}
