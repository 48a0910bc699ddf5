import Basics
import Foundation
@testable import Simulation
import Testing
@testable import Pipeline
import Sky

/// Mutated frames never crash inventory's header reading or processCcd: each case either reads or
/// is refused with an error (issue 13). Seeded, so a crash is reproduced by its case number;
/// DCPROD_FUZZ_CASES sets how many (2,000 by default; the README's run used 10,000).
@Suite struct FuzzedFrames {
    /// One header card's value replaced, bytes flipped, or the file cut.
    enum Mutation {
        case card(String, String)
        case flip(offset: Int, byte: UInt8)
        case cut(length: Int)
    }

    static let keys = ["NAXIS", "NAXIS1", "NAXIS2", "BITPIX", "CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2", "CD1_1", "CD2_2",
                       "CTYPE1", "SOFTBIAS", "GAIN", "RUN", "FIELD", "FILTER", "BZERO", "BSCALE"]
    static let values = ["0", "-1", "1", "3", "12", "64", "-64", "1000000000", "4294967296", "9223372036854775807",
                         "-9223372036854775808", "1E308", "-1E308", "1E-320", "NaN", "'NaN'", "'abc'", "''", "T", "'RA---TAN'",
                         "'RA---CEA'", "0.5", "2147483647"]

    /// The value field of `key`'s card (columns 11–30) set to `value`, right-justified.
    static func setCard(_ key: String, _ value: String, in bytes: inout [UInt8]) {
        let name = Array(key.padding(toLength: 8, withPad: " ", startingAt: 0).utf8)
        var offset = 0
        while offset + 80 <= min(bytes.count, 2880 * 4) {
            if Array(bytes[offset..<(offset + 8)]) == name {
                let field = Array(String(repeating: " ", count: max(0, 20 - value.count)).utf8) + Array(value.utf8.prefix(20))
                bytes.replaceSubrange((offset + 10)..<(offset + 30), with: field)
                return
            }
            offset += 80
        }
    }

    @Test func mutatedFramesNeverCrashInventoryOrProcessCcd() throws {
        let directory = Directory()
        let input = directory.url.appendingPathComponent("in")
        let simulation = Simulation(options: .init(directory: input, frames: 1, seed: 5, defects: 0,
                                                   region: Region(raMin: 6.37, raMax: 6.41, decMin: -0.125, decMax: -0.085),
                                                   width: 256, height: 186, pixelScale: 0.8, filters: [.r]))
        _ = try simulation.run()
        let plan = try #require(simulation.plans().first)
        let original = input.appendingPathComponent(plan.relativePath)
        let bytes = Array(try Data(contentsOf: original))
        let fuzzed = original.deletingLastPathComponent().appendingPathComponent("fuzz").appendingPathComponent(original.lastPathComponent)
        try FileManager.default.createDirectory(at: fuzzed.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: ProcessCcd.maskPath(for: original.path), toPath: ProcessCcd.maskPath(for: fuzzed.path))
        let processor = ProcessCcd(options: .init(referenceCatalog: input.appendingPathComponent("refcat.csv").path,
                                                  outputDirectory: directory.url.appendingPathComponent("out")))
        let cases = Int(ProcessInfo.processInfo.environment["DCPROD_FUZZ_CASES"] ?? "") ?? 2000
        var random = SeededRandom(seed: 2013, stream: [13])
        var refused = 0, read = 0
        for number in 0..<cases {
            var mutated = bytes
            // One to three mutations, mostly of header cards.
            for _ in 0...(Int(random.uniform() * 3)) {
                let pick = random.uniform()
                if pick < 0.6 {
                    Self.setCard(Self.keys[Int(random.uniform() * Double(Self.keys.count))],
                            Self.values[Int(random.uniform() * Double(Self.values.count))], in: &mutated)
                } else if pick < 0.85 {
                    let offset = Int(random.uniform() * Double(min(mutated.count, 2880 * 2)))
                    if offset < mutated.count { mutated[offset] = UInt8(truncatingIfNeeded: Int(random.uniform() * 256)) }
                } else {
                    mutated = Array(mutated.prefix(Int(random.uniform() * Double(mutated.count))))
                }
            }
            try Data(mutated).write(to: fuzzed)
            let name = try #require(FrameName(fileName: fuzzed.lastPathComponent))
            do {
                _ = try FrameHeader.read(path: fuzzed.path, name: name)
                read += 1
            } catch {
                refused += 1
            }
            // processCcd on every case: it must throw its failure or finish, never trap.
            _ = try? processor.run(frame: fuzzed.path)
            if number % 500 == 0 { FileHandle.standardError.write(Data("fuzz: case \(number)\n".utf8)) }
        }
        #expect(read + refused == cases)
        #expect(refused > cases / 10, "\(refused) of \(cases) mutated frames refused by inventory")
    }
}

/// A FIFO where a payload expects a file waited for a writer until the job's time limit: the
/// reference catalog, a positions file and a coadd's listed deepsrc files are refused or passed
/// over unopened (issue 23).
@Suite struct SpecialFilesInPayloads {
    @Test func aFIFOForTheReferenceCatalogOrThePositionsIsAMissingFileNotAWait() throws {
        let directory = Directory()
        try FileManager.default.createDirectory(at: directory.url, withIntermediateDirectories: true)
        let fifo = directory.url.appendingPathComponent("refcat.csv").path
        try #require(mkfifo(fifo, 0o600) == 0)
        let refcat = #expect(throws: ProcessCcdFailure.self) {
            _ = try ReferenceCatalog(path: fifo, raMin: 0, raMax: 1, decMin: 0, decMax: 1)
        }
        #expect(refcat?.kind == .missingFiles && refcat?.message == "missing file: reference catalog \(fifo) is a FIFO, not a regular file; not opened")

        let calexp = directory.url.appendingPathComponent("calexp-000094-r1-0011.fits")
        try Data("not read".utf8).write(to: calexp)
        let photometry = ForcedPhot(options: .init(positions: fifo, outputDirectory: directory.url))
        let positions = #expect(throws: ProcessCcdFailure.self) { _ = try photometry.run(calexp: calexp.path) }
        #expect(positions?.kind == .missingFiles && positions?.message == "missing file: positions \(fifo) is a FIFO, not a regular file; not opened")

        // A `.sources` file listing a FIFO among its deepsrc files: the FIFO is passed over.
        let listed = try ForcedPhot.positions(fromSources: "box 0 1 0 1\n\(fifo)\n", file: "bundle.sources")
        #expect(listed.isEmpty)
    }
}
