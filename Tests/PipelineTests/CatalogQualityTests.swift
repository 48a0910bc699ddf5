import Basics
import Foundation
@testable import Simulation
import Testing
@testable import Pipeline
import Sky

/// Completeness, purity and the reference catalog's columns, on made-up catalogs whose answers are
/// known, then on the simulated sky: single frames at least 50 % complete at S/N 5.5 (issue 26).
@Suite struct CatalogQualityAgainstTheTruth {
    /// A square footprint of 0.1° at RA 10, Dec 0.
    static let footprint = CatalogQuality.Footprint(corners: [(10, 0), (10.1, 0), (10.1, 0.1), (10, 0.1)])

    /// 100 stars on a grid of 30″, each of flux 55 at zero point 27 (S/N 5.5 with σ = 10); every
    /// other one detected 0.5″ away, and 10 detections of nothing: completeness 50 % in the bin
    /// 5–6, purity 50 of 60.
    @Test func completenessAndPurityCountWhatTheyShould() {
        let magnitude = 27 - 2.5 * log10(55.0)
        var objects: [CatalogQuality.Object] = [], sources: [CatalogQuality.Source] = []
        for k in 0..<100 {
            let ra = 10.01 + Double(k % 10) * 30 / 3600, dec = 0.01 + Double(k / 10) * 30 / 3600
            objects.append(.init(ra: ra, dec: dec, isStar: true, magnitudes: Array(repeating: magnitude, count: 5)))
            if k % 2 == 0 { sources.append(.init(ra: ra + 0.5 / 3600, dec: dec, flux: 55, fluxSigma: 10)) }
        }
        for k in 0..<10 { sources.append(.init(ra: 10.01 + (Double(k) * 30 + 15) / 3600, dec: 0.095, flux: 60, fluxSigma: 10)) }
        let quality = CatalogQuality(objects: objects)
        let sample = CatalogQuality.Sample(filterId: 2, zeroPoint: 27, footprint: [Self.footprint], sources: sources)
        #expect(abs(sample.noise.sigma(55) - 10) < 1e-9)
        let bins = quality.completeness([sample], filterId: 2)
        let reported = bins.first { $0.range == 5..<6 }
        #expect(reported?.stars == CatalogQuality.Fraction(found: 50, total: 100))
        #expect(reported?.all == CatalogQuality.Fraction(found: 50, total: 100))
        #expect(bins.filter { $0.range != 5..<6 }.allSatisfy { $0.all.total == 0 })
        #expect(quality.purity([sample], filterId: 2) == CatalogQuality.Fraction(found: 50, total: 60))
        #expect(quality.starGalaxy([sample], filterId: 2) == nil)
        // Another filter has no sample.
        #expect(quality.completeness([sample], filterId: 1).allSatisfy { $0.all.total == 0 })
        let lines = quality.lines([sample])[.r] ?? []
        #expect(lines.first?.hasPrefix("completeness at S/N 5–6: stars 50 % of 100, all 50 % of 100;") == true, "\(lines)")
        #expect(lines.dropFirst().first == "purity at S/N > 5: 83 % of 60 within 1″ of a true object")
    }

    /// Objects closer than the margin to the footprint's edge, or outside it, are not counted.
    @Test func theFootprintLeavesOutItsEdges() {
        #expect(Self.footprint.contains(10.05, 0.05, margin: 3 / 3600.0))
        #expect(!Self.footprint.contains(10.0005, 0.05, margin: 3 / 3600.0))
        #expect(!Self.footprint.contains(10.2, 0.05, margin: 0))
        // Across RA 0.
        let across = CatalogQuality.Footprint(corners: [(359.95, 0), (0.05, 0), (0.05, 0.1), (359.95, 0.1)])
        #expect(across.contains(0.01, 0.05, margin: 0) && across.contains(359.99, 0.05, margin: 0))
        #expect(!across.contains(0.1, 0.05, margin: 0))
    }

    /// What a PSF fit sees of a galaxy falls with its size: a point-like one is a star (its PSF flux
    /// its total), one of σ 1″ under 1.4″ seeing gives about half, where Gaussian PSFs would say
    /// 2σₚ²/(2σₚ² + s²) = 0.41.
    @Test func aPSFFitSeesLessOfLargerGalaxies() {
        let fractions = CatalogQuality.psfFractions(fwhm: 1.4)
        #expect(zip(fractions, fractions.dropFirst()).allSatisfy { $0.0 > $0.1 })
        #expect(abs(fractions[0] - 1) < 1e-3, "\(fractions[0])")
        #expect((0.45...0.55).contains(fractions[20]), "\(fractions[20])")
        #expect(fractions.count == 101 && fractions[100] < 0.05)
    }

    /// A galaxy seen through the PSF has unit flux whatever its size, is the PSF itself when it is a
    /// point, and has the PSF's wings: far out it is never below the PSF's share of its flux there.
    @Test func aSeenGalaxyIsThePSFConvolvedWithIt() {
        let psf = MoffatPSF(fwhm: 2, beta: 3)
        for sigma in [0.0, 0.3, 1, 3] {
            let galaxy = SeenGalaxy(psf: psf, sigma: sigma)
            var flux = 0.0
            for y in -60...60 { for x in -60...60 { flux += galaxy.value(Double(x * x + y * y)) } }
            #expect(abs(flux - 1) < 2e-3, "σ \(sigma): flux \(flux)")
        }
        #expect(abs(SeenGalaxy(psf: psf, sigma: 0).value(2.5) - psf.value(2.5)) < 1e-15)
        // Compact: the core lower than the PSF's, the wings as the PSF's (within the mixture's 0.3 % of the peak).
        let compact = SeenGalaxy(psf: psf, sigma: 0.3)
        #expect(compact.value(0) < psf.value(0))
        #expect(abs(compact.value(100) / psf.value(100) - 1) < 0.05, "\(compact.value(100) / psf.value(100))")
    }

    /// The S/N of 50 % completeness is interpolated between the bins around it.
    @Test func halfCompletenessIsInterpolated() {
        var bins = [4.0, 5, 6, 7].map { CatalogQuality.CompletenessBin(range: $0..<($0 + 1)) }
        for (k, found) in [10, 30, 70, 90].enumerated() { bins[k].stars = .init(found: found, total: 100) }
        #expect(abs(CatalogQuality.halfCompleteness(bins, stars: true)! - 6) < 1e-9)
        #expect(CatalogQuality.halfCompleteness(bins, stars: false) == nil)
    }

    /// Star/galaxy accuracy scores `extendedness` against the truth above S/N 20.
    @Test func starGalaxyAccuracyScoresExtendedness() {
        let objects = (0..<4).map { k in
            CatalogQuality.Object(ra: 10.01 + Double(k) * 0.01, dec: 0.05, isStar: k < 2, magnitudes: Array(repeating: 20, count: 5), size: k < 2 ? 0 : 1)
        }
        // Star, star called extended, galaxy, galaxy called a point.
        let sources = zip(objects, [0.0, 1, 1, 0]).map { CatalogQuality.Source(ra: $0.ra, dec: $0.dec, flux: 1000, fluxSigma: 10, extendedness: $1) }
        let sample = CatalogQuality.Sample(filterId: 2, zeroPoint: 27, footprint: [Self.footprint], sources: sources)
        let scored = CatalogQuality(objects: objects).starGalaxy([sample], filterId: 2)
        #expect(scored?.stars == .init(found: 1, total: 2) && scored?.galaxies == .init(found: 1, total: 2))
    }

    /// The reference catalog is read by its header's names: the old nine columns, the new ones with
    /// errors, the truth's with sizes; a line short of its header's fields is named by file and line.
    @Test func catalogsAreReadByColumnName() throws {
        let directory = Directory()
        try FileManager.default.createDirectory(at: directory.url, withIntermediateDirectories: true)
        func read(_ text: String) throws -> [ReferenceCatalog.Entry] {
            let file = directory.url.appendingPathComponent("catalog.csv")
            try text.write(to: file, atomically: true, encoding: .utf8)
            return try ReferenceCatalog(path: file.path, raMin: -.infinity, raMax: .infinity, decMin: -.infinity, decMax: .infinity).entries
        }
        let old = try read("id,ra,decl,isStar,u,g,r,i,z\n7,10.5,0.25,1,21,20,19.5,19.25,19\n")
        #expect(old.count == 1 && old[0].magnitudes == [21, 20, 19.5, 19.25, 19] && old[0].errors == nil && old[0].isStar)
        let withErrors = try read("id,ra,decl,isStar,u,g,r,i,z,uErr,gErr,rErr,iErr,zErr\n7,10.5,0.25,0,21,20,19.5,19.25,99,0.1,0.05,0.02,0.02,99\n")
        #expect(withErrors[0].errors == [0.1, 0.05, 0.02, 0.02, 99] && !withErrors[0].isStar)
        let reordered = try read("decl,ra,size,z,i,r,g,u\n0.25,10.5,1.5,19,19.25,19.5,20,21\n")
        #expect(reordered[0].ra == 10.5 && reordered[0].dec == 0.25 && reordered[0].size == 1.5 && reordered[0].magnitudes == [21, 20, 19.5, 19.25, 19])
        let path = directory.url.appendingPathComponent("catalog.csv").path
        let short = #expect(throws: ProcessCcdFailure.self) { try read("id,ra,decl,isStar,u,g,r,i,z\n7,10.5,0.25,1,21,20,19.5,19.25,19\n8,10.5\n") }
        #expect(short?.message.hasPrefix("reference catalog \(path):3: expected 9 fields") == true, "\(short?.message ?? "")")
        let missing = #expect(throws: ProcessCcdFailure.self) { try read("id,ra,isStar,u,g,r,i,z\n") }
        #expect(missing?.message.hasPrefix("reference catalog \(path):1: no column decl") == true, "\(missing?.message ?? "")")
    }
}

/// Detection matched to the PSF (issue 26): its noise known exactly from the kernel, faint stars
/// the 3×3 boxcar misses, and single frames of the simulated sky at least 50 % complete at S/N 5.5.
@Suite struct MatchedDetection {
    /// On pure noise of σ 1 the filtered image's noise is σ·Σk², and nothing is detected at 5σ.
    @Test func theFilteredNoiseIsWhatTheKernelSays() {
        let noise = Stages.noisy(Stages.flat(300, 300), sigma: 1, seed: 4)
        let kernel = SourceDetector.gaussianKernel(sigma: 1.2, radius: 5)
        #expect(abs(kernel.reduce(0, +) - 1) < 1e-12)
        let filtered = SourceDetector.convolved(noise, kernel)
        let inner = (20..<280).flatMap { y in (20..<280).map { filtered.pixels[y * 300 + $0] } }
        let expected = kernel.map { $0 * $0 }.reduce(0, +)
        #expect(abs(RobustStatistics.sigma(inner) / expected - 1) < 0.05, "filtered noise \(RobustStatistics.sigma(inner)), expected \(expected)")
        #expect(SourceDetector.detect(noise, sigma: 1, psfSigma: 1.2).isEmpty)
    }

    /// Twenty stars of PSF S/N 6 on noise of σ 1: the matched filter finds most, the boxcar few;
    /// each matched detection is within a pixel of its star.
    @Test func faintStarsTheBoxcarMissesAreFound() {
        let psf = MoffatPSF(fwhm: 2.8, beta: 3)
        // A PSF fit's S/N on white noise is F √(Σp²) / σ.
        var sumP2 = 0.0
        for y in -15...15 { for x in -15...15 { sumP2 += pow(psf.value(Double(x * x + y * y)), 2) } }
        let flux = 6 / sumP2.squareRoot()
        var image = Stages.flat(400, 100)
        let centres: [(x: Double, y: Double)] = (0..<20).map { (k: Int) -> (x: Double, y: Double) in
            let x: Double = 15.3 + 19 * Double(k), y: Double = 25.6 + 50 * Double(k % 2)
            return (x, y)
        }
        for c in centres { image = Stages.star(image, at: c, flux: flux, psf: psf) }
        image = Stages.noisy(image, sigma: 1, seed: 9)
        let matched = SourceDetector.detect(image, sigma: 1, psfSigma: psf.fwhm / Gaussian.sigmaToFWHM)
        let boxcar = SourceDetector.detect(image, sigma: 1)
        func found(_ detections: [Detection]) -> Int {
            centres.filter { (c: (x: Double, y: Double)) -> Bool in
                detections.contains { (d: Detection) -> Bool in abs(Double(d.peakX) - c.x) <= 1.5 && abs(Double(d.peakY) - c.y) <= 1.5 }
            }.count
        }
        #expect(found(matched) >= 14, "matched filter: \(found(matched)) of 20")
        #expect(found(boxcar) < found(matched), "boxcar \(found(boxcar)), matched \(found(matched))")
        #expect(matched.count <= found(matched) + 1, "\(matched.count) detections, \(found(matched)) stars")
    }

    /// Two stars 2 FWHM apart are one group of the filtered image but two detections; a bright star
    /// on noise stays one; without deblending the pair is one.
    @Test func aPairOfStarsIsTwoDetections() {
        let psf = MoffatPSF(fwhm: 3, beta: 3), psfSigma = 3 / Gaussian.sigmaToFWHM
        var pair = Stages.star(Stages.flat(80, 60), at: (x: 37.2, y: 30.4), flux: 3000, psf: psf)
        pair = Stages.noisy(Stages.star(pair, at: (x: 43.2, y: 30.4), flux: 2000, psf: psf), sigma: 1, seed: 5)
        let detections = SourceDetector.detect(pair, sigma: 1, psfSigma: psfSigma)
        #expect(Set(detections.map { [$0.peakX, $0.peakY] }) == [[37, 30], [43, 30]], "\(detections)")
        var config = DetectionConfig()
        config.deblend = false
        #expect(SourceDetector.detect(pair, sigma: 1, psfSigma: psfSigma, config: config).count == 1)
        let bright = Stages.noisy(Stages.star(Stages.flat(80, 60), at: (x: 40.3, y: 29.8), flux: 200_000, psf: psf), sigma: 1, seed: 6)
        #expect(SourceDetector.detect(bright, sigma: 1, psfSigma: psfSigma).count == 1)
    }

    /// Eight single frames of the simulated sky in r through processCcd: the stars whose expected
    /// S/N is 5–6 are found at least half the time, the 50 % point is at S/N ≤ 5.5, and nearly every
    /// source above S/N 5 is a true object.
    @Test func singleFramesAreHalfCompleteAtSignalToNoise5_5() throws {
        let directory = Directory()
        let input = directory.url.appendingPathComponent("in"), output = directory.url.appendingPathComponent("out")
        let simulation = Simulation(options: .init(directory: input, frames: 8, seed: 11, defects: 0,
                                                   region: Region(raMin: 6.2, raMax: 6.6, decMin: -0.2, decMax: 0),
                                                   width: 1024, height: 744, pixelScale: 0.8, filters: [.r]))
        _ = try simulation.run()
        let processor = ProcessCcd(options: .init(referenceCatalog: input.appendingPathComponent("refcat.csv").path, outputDirectory: output))
        for plan in simulation.plans() { _ = try processor.run(frame: input.appendingPathComponent(plan.relativePath).path) }
        let quality = try CatalogQuality(truth: input.appendingPathComponent("truth-objects.csv").path)
        let samples = try CatalogQuality.samples(under: [output]).steps[0].samples
        #expect(samples.count == 8)
        let bins = quality.completeness(samples, filterId: 2)
        for bin in bins { print("S/N \(bin.range): stars \(bin.stars.found)/\(bin.stars.total), all \(bin.all.found)/\(bin.all.total)") }
        let reported = try #require(bins.first { $0.range == 5..<6 })
        #expect(reported.stars.total >= 40)
        #expect((reported.stars.value ?? 0) >= 0.5, "stars at S/N 5–6: \(reported.stars.found) of \(reported.stars.total)")
        #expect((CatalogQuality.halfCompleteness(bins, stars: true) ?? 99) <= 5.5)
        // Bright stars are all found.
        #expect(bins.filter { $0.range.lowerBound >= 20 }.allSatisfy { ($0.stars.value ?? 1) >= 0.95 })
        let purity = quality.purity(samples, filterId: 2)
        #expect((purity.value ?? 0) >= 0.97, "purity \(purity.found) of \(purity.total)")
        withExtendedLifetime(directory) {}  // its files are removed when it is released
    }
}

/// Eight epochs of a small region of the seed's patch on the Stripe 82-dense sky in r, through
/// processCcd and the coadd of patch (380, 5), each frame the mean of `exposures` exposures
/// (`Simulation.Options.exposuresPerFrame`), and what `DenseSky` reads of it. Where every calexp lies
/// (10″ inside each, and inside the coadd's patch) it counts the primary DeepSources and predicts them
/// from the sky's own objects there: those whose expected S/N in the coadd, from its instrument's
/// noise (its flux errors without the sky's part, `SKYNOISE`) and what a PSF fit sees of a galaxy of
/// their size (`CatalogQuality.Sample.expectedSignalToNoise`), is at least 5, the detection
/// threshold, and that no brighter one of them is within `blending` FWHMs of (a detection on the
/// PSF-filtered image takes such a neighbour into the brighter's peak). Prediction and count share
/// the area and the objects.
struct DenseEpochs: Sendable {
    static let single = Result { try DenseEpochs(exposures: 1) }
    /// DC2013's coadds had about 80 epochs: eight frames of ten exposures each.
    static let deep = Result { try DenseEpochs(exposures: 10) }
    /// The distance, in FWHMs of the coadd's PSF, within which a brighter object takes a fainter one
    /// into its detection. At one FWHM the deblender can split equal peaks; a faint one beside a
    /// bright one must stand out of its wings, which takes about twice that.
    static let blending = 2.0

    let exposures: Int
    let quality: CatalogQuality
    /// processCcd's and coadd's samples (`CatalogQuality.samples`).
    let steps: [(step: String, samples: [CatalogQuality.Sample])]
    /// A point source's 5σ limit in r: the calexps' median, the coadd's where every calexp lies, and
    /// the coadd's were it the inverse-variance mean of its calexps' PSF fluxes.
    let frameLimit: Double, coaddLimit: Double, idealLimit: Double
    /// The coadd's 5σ limit of its instrument's noise alone, where it detects.
    let instrumentalLimit: Double
    /// The S/N where the coadd's completeness (of all objects) crosses 50 %.
    let half: Double?
    /// The area where every calexp lies (arcmin²), the primary DeepSources there, and the truth objects
    /// there that the coadd should see.
    let area: Double, primary: Int, predicted: Int
    /// The objects there above S/N 5, isolated or not.
    let above: Int
    /// The coadd's PSF fluxes' sky noise over its instrument's (`SKYNOISE`), and the fraction of its
    /// sources where every calexp lies within 1″ of a true object.
    let skyNoise: Double, purity: Double

    /// Each calexp's FWHM (arcsec), aperture correction and zero point with their σ, as its header says.
    let calibrations: [(fwhm: Double, apertureCorrection: Double, apertureCorrectionSigma: Double, zeroPoint: Double, zeroPointSigma: Double)]

    var density: Double { Double(primary) / area }
    var predictedDensity: Double { Double(predicted) / area }

    init(exposures: Int) throws {
        self.exposures = exposures
        let directory = Directory()
        let input = directory.url.appendingPathComponent("in"), output = directory.url.appendingPathComponent("out")
        var options = Simulation.Options(directory: input, frames: 8, seed: 11, defects: 0,
                                         region: Region(raMin: 6.37, raMax: 6.41, decMin: -0.125, decMax: -0.085),
                                         width: 1024, height: 744, pixelScale: 0.8, filters: [.r], density: .stripe82)
        options.exposuresPerFrame = exposures
        let simulation = Simulation(options: options)
        _ = try simulation.run()
        let processor = ProcessCcd(options: .init(referenceCatalog: input.appendingPathComponent("refcat.csv").path, outputDirectory: output))
        let calexps = try simulation.plans().map { try processor.run(frame: input.appendingPathComponent($0.relativePath).path).outputs[0] }
        calibrations = try calexps.map { path in
            let file = try FITSFile.open(path)
            defer { try? file.close() }
            func value(_ key: String) throws -> Double { try #require(try file.double(key), "\(key) in \(path)") }
            return (try value("FWHM"), try value("APCORR"), try value("APCERR"), try value("MAGZERO"), try value("MAGZERR"))
        }
        let map = try SkyMap.load(contentsOf: skyMapFile)
        let coadded = try Coadd(options: .init(skyMap: map, patch: PatchId(tract: 0, x: 380, y: 5), filter: .r, outputDirectory: output)).run(calexps: calexps)
        quality = try CatalogQuality(truth: input.appendingPathComponent("truth-objects.csv").path)
        let catalogs = try CatalogQuality.samples(under: [output])
        steps = Array(catalogs.steps.prefix(2))
        let frames = catalogs.calexps[2] ?? [], coadd = try #require(catalogs.steps[1].samples.first)
        func inside(_ ra: Double, _ dec: Double) -> Bool {
            (frames + coadd.footprint).allSatisfy { $0.contains(ra, dec, margin: 10 / 3600.0) }
        }
        area = Self.area(frames, inside)
        // The coadd's CSV rows are its sample's sources, in order. Its noise is taken where every
        // calexp lies: the patch reaches beyond some, where it is shallower.
        let table = try CatalogQuality.table(coadded.outputs[1]), isPrimary = try #require(table.header.firstIndex(of: "isPrimary"))
        let there = zip(coadd.sources, table.rows).filter { source, _ in inside(source.ra, source.dec) }
        primary = there.filter { _, row in row[isPrimary] == "1" }.count
        let covered = CatalogQuality.Sample(filterId: coadd.filterId, zeroPoint: coadd.zeroPoint, footprint: coadd.footprint,
                                            sources: there.map { source, _ in source }, fwhm: coadd.fwhm)
        // The coadd detects at S/N 5 of its instrument's noise; its fluxes quote the sky's beside it (`SKYNOISE`).
        let file = try FITSFile.open(coadded.outputs[0])
        let skyNoise = try #require(try file.double("SKYNOISE"), "SKYNOISE in \(coadded.outputs[0])")
        try file.close()
        self.skyNoise = skyNoise
        var instrumental = covered
        instrumental.noise.skyVariance /= skyNoise * skyNoise
        let seen = quality.objects.filter { inside($0.ra, $0.dec) && instrumental.expectedSignalToNoise($0) >= 5 }
        above = seen.count
        predicted = Self.isolated(seen, within: Self.blending * (coadd.fwhm ?? 0) / 3600).count
        purity = quality.purity([covered], filterId: 2).value ?? 0
        let limits = catalogs.steps[0].samples.map(Self.fiveSigmaLimit)
        frameLimit = RobustStatistics.median(limits.map { Float($0) })
        // Inverse-variance: 1/σ² adds, and σ ∝ 10^(−0.4 m).
        idealLimit = 1.25 * log10(limits.map { pow(10, 0.8 * $0) }.reduce(0, +))
        coaddLimit = Self.fiveSigmaLimit(covered)
        instrumentalLimit = Self.fiveSigmaLimit(instrumental)
        half = CatalogQuality.halfCompleteness(quality.completeness([covered], filterId: 2, coverage: frames), stars: false)
        withExtendedLifetime(directory) {}  // its files are removed when it is released
    }

    /// The magnitude of a point source of S/N 5 in a sample: its noise model's flux F with
    /// F² = 25 (a + b F).
    static func fiveSigmaLimit(_ sample: CatalogQuality.Sample) -> Double {
        let a = sample.noise.skyVariance, b = sample.noise.sourceVariancePerFlux
        return sample.zeroPoint - 2.5 * log10((25 * b + (625 * b * b + 100 * a).squareRoot()) / 2)
    }

    /// The objects with no brighter one (in r) within `radius` degrees.
    static func isolated(_ objects: [CatalogQuality.Object], within radius: Double) -> [CatalogQuality.Object] {
        let r = Filter.r.filterId
        let index = ZoneIndex(objects.map { SkyPosition(ra: $0.ra, dec: $0.dec) }, radius: max(radius, 1 / 3600))
        return objects.filter { object in
            !index.near(SkyPosition(ra: object.ra, dec: object.dec), within: radius).contains { objects[$0.index].magnitudes[r] < object.magnitudes[r] }
        }
    }

    /// The area (arcmin²) of the part of the footprints' common box where `inside` holds, on a
    /// grid of 400 × 400 points.
    static func area(_ footprints: [CatalogQuality.Footprint], _ inside: (Double, Double) -> Bool) -> Double {
        let boxes = footprints.map(\.box), n = 400
        let ra = boxes.map(\.ra.lowerBound).max()!...boxes.map(\.ra.upperBound).min()!
        let dec = boxes.map(\.dec.lowerBound).max()!...boxes.map(\.dec.upperBound).min()!
        var count = 0
        for i in 0..<n {
            for j in 0..<n {
                let x = ra.lowerBound + (Double(i) + 0.5) / Double(n) * (ra.upperBound - ra.lowerBound)
                let y = dec.lowerBound + (Double(j) + 0.5) / Double(n) * (dec.upperBound - dec.lowerBound)
                if inside(x, y) { count += 1 }
            }
        }
        let cosDec = cos((dec.lowerBound + dec.upperBound) / 2 * .pi / 180)
        return Double(count) / Double(n * n) * (ra.upperBound - ra.lowerBound) * cosDec * (dec.upperBound - dec.lowerBound) * 3600
    }

    /// The sky's stars and galaxies per arcmin² brighter than `r` (`SkyDensity.stripe82`'s counts),
    /// every galaxy counted as if it were a point.
    static func counts(brighterThan r: Double) -> (stars: Double, galaxies: Double) {
        let c = SkyDensity.stripe82.counts
        func share(_ bright: Double, _ faint: Double, _ slope: Double) -> Double {
            let m = min(max(r, bright), faint)
            return (pow(10, slope * m) - pow(10, slope * bright)) / (pow(10, slope * faint) - pow(10, slope * bright))
        }
        return (c.starDensity * share(c.starBright, c.starFaint, c.starSlope) / 3600,
                c.galaxyDensity * share(c.galaxyBright, c.galaxyFaint, c.galaxySlope) / 3600)
    }

    /// Each calexp's calibration, printed, and checked against the simulator's: an aperture
    /// correction within 1 % of 1 (the simulated PSF is the Moffat processCcd fits, so its model
    /// misses little) with a σ under 0.5 %, and a zero point within 3σ of the camera's, σ being its
    /// own and the correction's (the zero point takes in the correction's error). On the deep frames
    /// of poor seeing, galaxies among the correction's stars had made it 1.088–1.128 ± 3–4 % and the
    /// zero point 0.09–0.13 mag high; the crowded apertures' scatter, taken as a fraction of each
    /// star's ratio, had made its σ 0.2–0.6 % (`ApertureCorrection`).
    func checkCalibrations() {
        let truth = Camera.zeroPoint[Filter.r.filterId]
        for c in calibrations {
            let sigma = (c.zeroPointSigma * c.zeroPointSigma + pow(2.5 / log(10) * c.apertureCorrectionSigma / c.apertureCorrection, 2)).squareRoot()
            let line = String(format: "%d exposures a frame, FWHM %.2f″: APCORR %.4f ± %.4f, MAGZERO %.4f ± %.4f (%+.1fσ from the camera's %.2f)",
                              exposures, c.fwhm, c.apertureCorrection, c.apertureCorrectionSigma, c.zeroPoint, sigma,
                              (c.zeroPoint - truth) / sigma, truth)
            print("dense sky: \(line)")
            #expect(abs(c.apertureCorrection - 1) < 0.01 && c.apertureCorrectionSigma < 0.005, "\(line)")
            #expect(abs(c.zeroPoint - truth) < 3 * sigma, "\(line)")
        }
    }

    /// What the tests print and check of the count.
    var line: String {
        let counts = Self.counts(brighterThan: instrumentalLimit)
        return String(format: "%d exposures a frame: %d primary DeepSources in %.1f arcmin², %.1f per arcmin²; predicted %d of %d above S/N 5, %.1f per arcmin² "
                      + "(ratio %.3f), purity %.3f; 5σ limits r %.2f (calexps' median), %.2f (coadd, its instrument's noise; %.2f as its calexps' "
                      + "inverse-variance mean; %.2f with the sky's, SKYNOISE %.3f); the coadd 50 %% complete at S/N %@ of its quoted σ; "
                      + "the counts to %.2f: %.1f per arcmin² (stars %.1f, galaxies %.1f as points)",
                      exposures, primary, area, density, predicted, above, predictedDensity, Double(primary) / Double(predicted), purity, frameLimit,
                      instrumentalLimit, idealLimit, coaddLimit, skyNoise, half.map { String(format: "%.1f", $0) } ?? "–", instrumentalLimit,
                      counts.stars + counts.galaxies, counts.stars, counts.galaxies)
    }
}

/// The Stripe 82-dense sky through processCcd and coadd (issue 26, item 8): crowded frames still
/// calibrate; eight epochs of the seed's patch give the primary DeepSources that the sky's objects
/// above the coadd's S/N 5 predict (15.3 per arcmin², against the sparse sky's 2.8), and so do eight
/// frames of ten exposures each, the exposure of DC2013's 80-epoch coadds: 35.9 per arcmin², the
/// issue's "about 40" (see `atDC2013sDepth…`); `extendedness` is right for at least 95 % of the
/// sources above S/N 20 on single frames and on the coadd, though most of them are faint galaxies not
/// much wider than the PSF; every calexp's aperture correction is within 1 % of 1 and its zero point
/// within 3σ of the camera's.
@Suite struct DenseSky {
    /// The primary DeepSources over the objects predicted (1.05 for single exposures, 0.87 for ten
    /// when this was written). Fewer on the deep sky, whose galaxies below the limit (`SKYNOISE` 2.0)
    /// scatter the faintest below the threshold and merge into their neighbours' peaks beyond two
    /// FWHMs; a few more on single exposures, where some pairs closer than two FWHMs are split. (Before
    /// blends were left out of the prediction, with the coadd's noise measured on itself: 0.98 and
    /// 0.89, held to 0.8–1.0.)
    static let ratio = 0.8...1.1

    @Test func eightEpochsOfTheSeedsPatchAreCrowded() throws {
        let epochs = try DenseEpochs.single.get()
        print("dense sky: \(epochs.line)")
        #expect(Self.ratio.contains(Double(epochs.primary) / Double(epochs.predicted)), "\(epochs.line)")
        epochs.checkCalibrations()
        let (quality, steps) = (epochs.quality, epochs.steps)
        let bins = quality.completeness(steps[0].samples, filterId: 2)
        #expect(bins.filter { $0.range.lowerBound >= 20 }.allSatisfy { ($0.stars.value ?? 1) >= 0.95 })
        #expect((quality.purity(steps[0].samples, filterId: 2).value ?? 0) >= 0.9)
        // The coadd's matched detection finds fainter sources, not noise (100 % of 1809 when this was written).
        #expect((quality.purity(steps[1].samples, filterId: 2).value ?? 0) >= 0.97)
        // Star/galaxy separation above S/N 20 on the crowded frames and their coadd, blends included.
        for (step, samples) in steps {
            for line in (quality.lines(samples)[.r] ?? []).prefix(2) { print("dense sky: \(step) \(line)") }
            let scored = try #require(quality.starGalaxy(samples, filterId: 2))
            let right = CatalogQuality.Fraction(found: scored.stars.found + scored.galaxies.found, total: scored.stars.total + scored.galaxies.total)
            let line = "\(step) star/galaxy at S/N > 20: \(right.text) right (stars \(scored.stars.text), galaxies \(scored.galaxies.text))"
            print("dense sky: \(line)")
            #expect(right.total > 100 && (right.value ?? 0) >= 0.95, "\(line)")
        }
    }

    /// Frames of ten exposures are 1.25 magnitudes deeper than single ones (1.27 measured), and their
    /// coadd gives the DeepSources the sky's objects predict at its depth: about 40 per arcmin² in
    /// the seed's box, as DC2013's 80-epoch coadds did (35.9 when this was written), nearly all of
    /// them within 1″ of a true object.
    ///
    /// The coadd detects at S/N 5 of its instrument's noise, as DC2013's did from its variance planes:
    /// that noise, measured on a draw of its inputs' noise warped and stacked as they are
    /// (`Coadd.noiseDraw`), puts its 5σ limit at r = 24.84, where its calexps' inverse-variance mean
    /// would be (24.87). Its fluxes quote the sky's part too: the spread of PSF fluxes where no source
    /// was detected, twice the instrument's here (`SKYNOISE`; 1.0–1.1 on single exposures), from the
    /// sky's galaxies below the limit (69 per arcmin² from r = 24.8 to 25.5) and its sources' wings,
    /// which makes the limit r = 24.10 of the σ quoted. When the coadd's noise was measured on its own
    /// pixels, where no position of this crowded coadd is clear, the sky's part was in its threshold:
    /// 21.4 per arcmin², the coadd at r = 24.09.
    @Test func atDC2013sDepthTheCountsPredictTheDeepSources() throws {
        let deep = try DenseEpochs.deep.get()
        print("dense sky: \(deep.line)")
        let single = try DenseEpochs.single.get()
        let deeper = (frames: deep.frameLimit - single.frameLimit, coadd: deep.instrumentalLimit - single.instrumentalLimit)
        print(String(format: "dense sky: ten exposures a frame against one: calexps %.3f mag deeper, coadd %.3f (1.25 log₁₀ 10 = 1.25)", deeper.frames, deeper.coadd))
        #expect(abs(deeper.frames - 1.25) < 0.1)
        #expect(Self.ratio.contains(Double(deep.primary) / Double(deep.predicted)), "\(deep.line)")
        // DC2013's 80-epoch coadds: about 40 per arcmin² in the seed's box.
        #expect((32...48).contains(deep.density) && deep.purity >= 0.97, "\(deep.line)")
        deep.checkCalibrations()
        for (step, samples) in deep.steps {
            if let scored = deep.quality.starGalaxy(samples, filterId: 2) {
                print("dense sky, ten exposures a frame: \(step) star/galaxy at S/N > 20: stars \(scored.stars.text), galaxies \(scored.galaxies.text)")
            }
        }
    }
}

/// The one spatial index of the truth comparisons and the crossmatch finds its neighbours, and the
/// positions in a box, across RA 0.
@Suite struct ZoneIndexAcrossRAZero {
    @Test func aPositionJustBelowRA360FindsOneJustAboveRA0() {
        let index = ZoneIndex([SkyPosition(ra: 0.00001, dec: 1.0), SkyPosition(ra: 180, dec: 1.0), SkyPosition(ra: 359.99995, dec: 1.0001)],
                              radius: TruthComparison.searchRadius)
        let found = index.near(SkyPosition(ra: 359.99999, dec: 1.0), within: 1.0 / 3600)
        #expect(found.map(\.index) == [0, 2])
        #expect(index.nearest(SkyPosition(ra: 0.000001, dec: 1.0), within: 1.0 / 3600) == 0)
        #expect(index.nearest(SkyPosition(ra: 359.9999, dec: 1.0001), within: 0.5 / 3600) == 2)
        #expect(index.nearest(SkyPosition(ra: 90, dec: 1.0), within: 1.0 / 3600) == nil)
        #expect(index.indices(inRA: 359.9...360.1, dec: 0.9...1.1) == [0, 2])
        #expect(index.indices(inRA: -0.1...0.1, dec: 0.9...1.1) == [0, 2])
        #expect(index.indices(inRA: 0...359.99, dec: 0...2) == [0, 1])
        #expect(index.indices(inRA: 0...360, dec: 1.00005...2) == [2])
    }
}
