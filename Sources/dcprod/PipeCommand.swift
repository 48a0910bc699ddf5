import ArgumentParser
import Basics
import Foundation
import Pipeline
import Simulation
import Sky

struct Pipe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipe",
        abstract: "The reference payload: what a production runs on one machine with no external software.",
        subcommands: [Simulate.self, ProcessCcdCommand.self, CoaddCommand.self, ForcedPhotCommand.self, PhotometryCommand.self])
}

extension SkyDensity: ExpressibleByArgument {}

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Write SDSS-like fpC frames, a reference catalog (refcat.csv), the true objects (truth-objects.csv) and the frames' truth (truth.csv).",
        discussion: """
            Frames are laid along a Stripe 82-like region: camcol strips across Dec, fields along RA, new runs once the \
            region is covered; each pointing is imaged in every filter. --frames counts frame files over all filters. A \
            fraction --defects of them carry a defect (missing file, broken WCS, few stars, corrupted header), listed in \
            truth.csv. refcat.csv is an SDSS-like reference catalog with errors of its own (noisy magnitudes with \
            uErr…zErr, r < 22, a few per cent missing, 0.05″ position errors): what processCcd calibrates on. \
            truth-objects.csv holds every simulated object exactly (with galaxies' size): what `pipe photometry --truth` \
            checks against. --density stripe82 makes a sky as dense as Stripe 82 (galaxies to r = 25.5, sizes \
            shrinking with magnitude); the default, sparse, stops at r = 23 and gives a coadd a fifth of its DeepSources. \
            The same options give byte-identical files.
            """)

    @Argument(help: "Directory to write into (INPUT of the production, usually).")
    var directory: String

    @Option(help: "Number of frames, over all filters (at most 2,000,000).")
    var frames: Int = 200

    @Option(help: "Seed of the sky, the pointing errors and the noise.")
    var seed: UInt64 = 7

    @Option(help: "Fraction of frames with a defect, 0 to 1.")
    var defects: Double = 0

    // Unconditional: a region written from −180, "-0.5 0.5 -1 1", is a value, not an option.
    @Option(parsing: .unconditional, help: "RAMIN RAMAX DECMIN DECMAX in degrees, as in the config (RA in [0, 360], or in [-180, 180]; through RA 0 when RAMIN is above RAMAX).")
    var region: String = Region.stripe82.description

    @Option(help: "Image size WIDTHxHEIGHT (SDSS: 2048x1489).")
    var size: String = "2048x1489"

    @Option(help: "Pixel scale in arcsec, from 0.01 to 60 (SDSS: 0.396).")
    var pixelScale: Double = Camera.sdssScale

    @Option(help: "Filters, e.g. ugriz or gri.")
    var filters: String = "ugriz"

    @Option(help: "Seed of the pointing errors alone (default: --seed): the same frames with other header WCSs.")
    var pointingSeed: UInt64?

    @Option(help: "The sky's number counts: sparse (the default, about 3 DeepSources per arcmin² per filter) or stripe82 (Stripe 82's, to r = 25.5).")
    var density: SkyDensity = .sparse

    func parsedRegion() throws -> Region {
        let numbers = region.split(whereSeparator: { $0 == " " || $0 == "," }).compactMap { Double($0) }
        guard numbers.count == 4 else { throw ValidationError("--region needs four numbers RAMIN RAMAX DECMIN DECMAX") }
        do {
            return try Region.written(numbers[0], numbers[1], numbers[2], numbers[3])
        } catch {
            throw ValidationError("impossible --region: \(error)")
        }
    }

    func parsedSize() throws -> (Int, Int) {
        let parts = size.lowercased().split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, parts[0] >= 16, parts[1] >= 16, parts[0] <= 8192, parts[1] <= 8192 else {
            throw ValidationError("--size '\(size)' must be WIDTHxHEIGHT, each from 16 to 8192")
        }
        return (parts[0], parts[1])
    }

    func parsedFilters() throws -> [Filter] {
        let list = filters.filter { $0 != " " && $0 != "," }.map { Filter(rawValue: String($0)) }
        guard !list.isEmpty, list.allSatisfy({ $0 != nil }), Set(list.map { $0! }).count == list.count else {
            throw ValidationError("--filters '\(filters)' must be distinct letters among u g r i z")
        }
        return list.map { $0! }.sorted()
    }

    /// Frames a simulation may plan: DC2013's 1.57 million with room, all planned in memory at once
    /// (a few hundred bytes each).
    static let frames = 1...2_000_000
    /// Arcseconds per pixel: from the sky map's finest (`SkyMap.Limits.pixelScale`) to 60″, where a
    /// frame of 8192 pixels already spans 137°.
    static let pixelScales = SkyMap.Limits.pixelScale.lowerBound...60

    func validate() throws {
        try requireWithin(frames, Self.frames, "--frames")
        guard (0...1).contains(defects) else { throw ValidationError("--defects must be from 0 to 1, got \(defects)") }
        try requireWithin(pixelScale, Self.pixelScales, "--pixel-scale")
        _ = try parsedRegion()
        _ = try parsedSize()
        _ = try parsedFilters()
    }

    func run() throws {
        try reporting {
            let (width, height) = try parsedSize()
            let directoryURL = URL(fileURLWithPath: directory, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
            var options = Simulation.Options(
                directory: directoryURL.standardizedFileURL, frames: frames, seed: seed, defects: defects,
                region: try parsedRegion(), width: width, height: height, pixelScale: pixelScale, filters: try parsedFilters(),
                density: density)
            options.pointingSeed = pointingSeed
            let simulation = Simulation(options: options)
            var bar = ProgressBar(label: "simulate", unit: "frames")
            let start = Date()
            let summary = try simulation.run { done, total in bar.update(done: done, total: total, elapsed: Date().timeIntervalSince(start)) }
            bar.finish()
            print(summary.line)
            print("  frames under \(directoryURL.standardizedFileURL.path), refcat.csv, truth-objects.csv and truth.csv beside them")
        }
    }
}

struct ProcessCcdCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "processCcd",
        abstract: "Process frames: background, detection, measurement, astrometric and photometric calibration.",
        discussion: """
            Writes calexp-RRRRRR-Fc-FFFF.fits (background-subtracted image, fitted WCS, MAGZERO), src-...csv (sources: ra, \
            decl, their variances, PSF/aperture/model fluxes and errors, filterId) and ccd-...csv (the frame's corners, zero \
            point, seeing) into --out. A frame that fails prints one line naming its class, `missing file:`, `unreadable \
            header:`, `astrometry problem:` or `matches problem:`, and the command exits 1 after the other frames.
            """)

    @Argument(help: "fpC frames to process.")
    var frames: [String]

    @Option(help: "The reference catalog (refcat.csv of simulate).")
    var refcat: String

    @Option(help: "Output directory.")
    var out: String

    @Option(help: "Detection threshold in sigma, from 1 to 1000.")
    var threshold: Double = 5

    @Flag(help: "After each frame's line, the seconds each stage took (read, background, detection, PSF model, measurement, reference catalog, astrometry and zero point, outputs).")
    var timings = false

    /// Detection thresholds: below one sigma every pixel of the background is a source.
    static let thresholds = 1.0...1000

    func validate() throws { try requireWithin(threshold, Self.thresholds, "--threshold") }

    func run() throws {
        var options = ProcessCcd.Options(referenceCatalog: refcat, outputDirectory: URL(fileURLWithPath: out))
        options.threshold = threshold
        let processor = ProcessCcd(options: options)
        try eachFile(frames, payload: "processCcd") { frame in
            let result = try processor.run(frame: frame)
            return ([result.line] + (timings ? result.timings.lines.map { "  " + $0 } : [])).joined(separator: "\n")
        }
    }
}

struct CoaddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coadd",
        abstract: "Coadd the calexps that overlap one (tract, patch) of the sky map in one filter.",
        discussion: """
            Warps each calexp onto the patch's pixel grid (wcslib mapping, bilinear kernel), scales it to the common zero \
            point 27, stacks them as a weighted mean with clipping, detects and measures on the stack. Writes \
            deepCoadd-T-X,Y-F.fits (image, variance, the patch's WCS), deepsrc-T-X,Y-F.csv (DeepSource rows) and \
            coadd-T-X,Y-F.csv (the DeepCoadd row) into --out. A patch that fails prints one line naming its class, `no input \
            calexp:`, `too few inputs:` or `unreadable input:`, and the command exits 1.
            """)

    @Argument(help: "Calexps of processCcd (those that miss the patch are left out).")
    var calexps: [String] = []

    @Option(help: "A file listing more calexps, one path per line (what a job's manager writes); a line `?PATH` names a calexp made earlier in the same batch job, used if it exists.")
    var inputs: String?

    @Option(help: "The tract.")
    var tract: Int

    @Option(help: "The patch, x,y (e.g. 380,5).")
    var patch: String

    @Option(help: "The filter of the calexps.")
    var filter: Filter

    @Option(help: "The sky map file (templates/skymap/dc2013.skymap of the production).")
    var skymap: String

    @Option(help: "Output directory.")
    var out: String

    @Option(help: "The fewest overlapping calexps a coadd is made of (1 to 100,000).")
    var minimumInputs: Int = 1

    /// Inputs a coadd may require: more than any patch's epochs (Stripe 82's are about 80 a filter).
    static let minimumInputCounts = 1...100_000

    /// The patch: tract and x, y within what any sky map allows (`SkyMap.Limits`); `run` then
    /// checks them against the map's own counts.
    func patchId() throws -> PatchId {
        let parts = patch.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
        let axis = 0..<SkyMap.Limits.patchesPerAxis.upperBound
        guard parts.count == 2, let x = parts[0], let y = parts[1], axis.contains(x), axis.contains(y) else {
            throw ValidationError("--patch '\(patch)' must be X,Y, two whole numbers from 0 to \(axis.upperBound - 1)")
        }
        try requireWithin(tract, 0...(SkyMap.Limits.tracts.upperBound - 1), "--tract")
        return PatchId(tract: tract, x: x, y: y)
    }

    func validate() throws {
        _ = try patchId()
        try requireWithin(minimumInputs, Self.minimumInputCounts, "--minimum-inputs")
    }

    func run() throws {
        do {
            let map = try SkyMap.load(contentsOf: skymap)
            var listed = calexps
            if let inputs {
                if let kind = specialFileKind(atPath: inputs) { throw ValidationError("--inputs \(inputs) is a \(kind), not a regular file") }
                listed += Coadd.inputList(try String(contentsOfFile: inputs, encoding: .utf8))
            }
            var options = Coadd.Options(skyMap: map, patch: try patchId(), filter: filter, outputDirectory: URL(fileURLWithPath: out))
            options.minimumInputs = minimumInputs
            print("\(try patchId()): \(try Coadd(options: options).run(calexps: listed).line)")
        } catch {
            FileHandle.standardError.write(Data("coadd: \(patch): \(FileSystemProblem.text(of: error))\n".utf8))
            throw ExitCode.failure
        }
    }
}

struct ForcedPhotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forcedPhot",
        abstract: "Measure calexps at the DeepSource positions of a file: PSF and aperture fluxes at fixed positions.",
        discussion: """
            Writes forced-RRRRRR-Fc-FFFF.csv (DeepForcedSource rows) into --out for each calexp. The positions file \
            (deepSourceId,ra,decl lines after a header) is what `dcprod plan forcedPhot` wrote from the catalog: the \
            command opens no database. A calexp that fails prints one line naming its class, `missing file:` or \
            `unreadable header:`, and the command exits 1 after the others.
            """)

    @Argument(help: "Calexps of processCcd.")
    var calexps: [String]

    @Option(help: "The positions file.")
    var positions: String

    @Option(help: "Output directory.")
    var out: String

    func run() throws {
        let photometry = ForcedPhot(options: .init(positions: positions, outputDirectory: URL(fileURLWithPath: out)))
        try eachFile(calexps, payload: "forcedPhot") { try photometry.run(calexp: $0).line }
    }
}

/// Refuses a numeric option outside `range` (NaN included), naming the option and the range.
private func requireWithin<Value: Comparable>(_ value: Value, _ range: ClosedRange<Value>, _ option: String) throws {
    guard range.contains(value) else {
        throw ValidationError("\(option) must be from \(range.lowerBound) to \(range.upperBound), got \(value)")
    }
}

/// Runs a payload on each file: its line on standard output, or its failure as one line on standard
/// error (the words the class's rule recognises); exit status 1 after the others when any failed.
private func eachFile(_ files: [String], payload: String, _ body: (String) throws -> String) throws {
    var failed = false
    for file in files {
        do {
            print("\(file): \(try body(file))")
        } catch {
            failed = true
            FileHandle.standardError.write(Data("\(payload): \(file): \(FileSystemProblem.text(of: error))\n".utf8))
        }
    }
    if failed { throw ExitCode.failure }
}

struct PhotometryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "photometry",
        abstract: "Compare the three steps' PSF fluxes of bright stars with the simulator's truth.",
        discussion: """
            Reads processCcd's src-*.csv, coadd's deepsrc-*.csv and forcedPhot's forced-*.csv under the directories \
            (with the zero points of ccd-*.csv and coadd-*.csv beside them), matches each source with S/N above \
            --min-snr to the nearest star of the simulator's exact objects (--truth) within 1 arcsec, and prints per step and filter \
            the median of measured/true flux − 1 and its robust scatter, with the median flux error of the same \
            stars (what noise alone would scatter). Under each filter: the pulls (measured − true)/σ of every star's \
            flux, ra and decl (with raVar, declVar), their robust σ in the S/N bins 5–20, 20–100, 100–300 and above \
            (1 when the quoted errors are what the scatter is), and again for the source's own noise alone, about             its image's common offset (the zero point's and WCS's errors taken out; docs/algorithms.md); completeness at S/N 5–6 (of the true stars, and \
            of all objects, whose S/N expected from the file's own flux errors is there, the fraction with a source within \
            1″) and the S/N where it crosses 50 %, purity (of the sources above S/N 5, the fraction within 1″ of a true \
            object), and the star/galaxy accuracy above S/N 20 when the files have an extendedness column.
            """)

    @Option(help: "The simulator's exact objects (truth-objects.csv of simulate).")
    var truth: String

    @Option(help: "The smallest PSF signal-to-noise of a star compared, from 0 to 1,000,000.")
    var minSnr = 100.0

    /// Signal-to-noise cuts: no star of a frame is beyond a million.
    static let minimumSignalToNoise = 0.0...1_000_000

    func validate() throws { try requireWithin(minSnr, Self.minimumSignalToNoise, "--min-snr") }

    @Argument(help: "Directories of the steps' outputs.")
    var directories: [String]

    /// One line per quantity: the pulls' robust σ in each S/N bin with their count, e.g.
    /// `pull σ flux: S/N 5–20 1.02 (310), 20–100 0.97 (402), 100–300 0.95 (61)`.
    static func pullLines(_ pulls: [TruthComparison.Pulls]) -> [String] {
        TruthComparison.PullQuantity.allCases.compactMap { quantity in
            let bins = pulls.filter { $0.quantity == quantity && $0.values.count >= 2 }.sorted { $0.bin.lowerBound < $1.bin.lowerBound }
            guard !bins.isEmpty else { return nil }
            return "pull σ \(quantity.rawValue): " + bins.map { p in
                let top = p.bin.upperBound.isFinite ? String(format: "–%.0f", p.bin.upperBound) : "+"
                return String(format: "S/N %.0f%@ %.2f (%d)", p.bin.lowerBound, top, p.sigma, p.values.count)
            }.joined(separator: ", ")
        }
    }

    func run() throws {
        let urls = directories.map { URL(fileURLWithPath: $0) }
        let comparison = try TruthComparison(truth: truth), quality = try CatalogQuality(truth: truth)
        let catalogs = try CatalogQuality.samples(under: urls)
        for ((step, measurements), (_, samples)) in zip(try TruthComparison.measurements(under: urls), catalogs.steps) {
            print("\(step), stars with S/N > \(minSnr.formatted()), measured/true − 1:")
            let photometry = comparison.figures(measurements, minimumSignalToNoise: minSnr)
            // Completeness within the calexps' footprints: a coadd's patch reaches beyond its inputs.
            let lines = quality.lines(samples, coverage: step == Step.coadd.rawValue ? catalogs.calexps : nil)
            let pulls = comparison.pulls(measurements), own = comparison.ownNoise(measurements).pulls
            for filter in Filter.allCases {
                if let figures = photometry.first(where: { $0.filter == filter }) {
                    print("  " + figures.line)
                } else if lines[filter] != nil {
                    print("  \(filter.rawValue): no star with S/N > \(minSnr.formatted())")
                }
                let ownLines = Self.pullLines(own.filter { $0.filter == filter }).map { "own noise, " + $0 }
                for line in Self.pullLines(pulls.filter { $0.filter == filter }) + ownLines + (lines[filter] ?? []) { print("     " + line) }
            }
        }
    }
}
