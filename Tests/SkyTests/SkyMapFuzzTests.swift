import Basics
import Foundation
import Simulation
import Sky
import Testing

/// Mutated sky maps never crash the manager (issue 23): each case is either refused with an error
/// naming the file and a line of it, or read and then used as the planner and the coadd use it
/// (the tract and patch of positions, the patches a footprint touches, a patch's corners, centre
/// and header) without a trap. Seeded, so a crash is reproduced by its case number;
/// DCPROD_FUZZ_CASES sets how many (500 by default, a few seconds in a debug build).
@Suite struct FuzzedSkyMaps {
    /// What a value is replaced with: the numbers an operator's slip or a broken editor gives.
    static let numbers = ["0", "-0", "1", "-1", "0.5", "3", "4", "12", "360", "361", "8192", "8193", "1907", "2000",
                          "410000", "1e300", "-1e300", "1e-300", "nan", "NaN", "inf", "-inf", "9223372036854775807",
                          "9223372036854775808", "-9223372036854775808", "4294967296", "1000000000", "0.396e-6",
                          "0x1p62", "33554432", "2.5", "1e9", "0.01", "100", "100.0001", "abc", "½", "CEA", "TAN", "ZPN"]

    /// A random value: one of `numbers`, or a number drawn over thirty decades, positive or negative.
    static func value(_ random: inout SeededRandom) -> String {
        if random.uniform() < 0.5 { return numbers[Int(random.uniform() * Double(numbers.count))] }
        let magnitude = pow(10, random.uniform(-6, 12))
        let number = random.uniform() < 0.15 ? -magnitude : magnitude
        return random.uniform() < 0.5 ? String(Int(number.rounded())) : String(number)
    }

    /// The lines of DC2013's sky map with one to three mutations: a value replaced, a line cut,
    /// dropped, repeated or replaced by garbage, a word added, or the file cut short.
    static func mutated(_ lines: [String], _ random: inout SeededRandom) -> String {
        var lines = lines
        for _ in 0...Int(random.uniform() * 3) where !lines.isEmpty {
            let index = Int(random.uniform() * Double(lines.count))
            var words = lines[index].split(separator: " ").map(String.init)
            let pick = random.uniform()
            if pick < 0.6, words.count > 1 {
                words[1 + Int(random.uniform() * Double(words.count - 1))] = value(&random)
                lines[index] = words.joined(separator: " ")
            } else if pick < 0.7 {
                lines[index] = String(lines[index].prefix(Int(random.uniform() * Double(lines[index].count + 1))))
            } else if pick < 0.75 {
                lines.remove(at: index)
            } else if pick < 0.8 {
                lines.insert(lines[index], at: index)
            } else if pick < 0.88 {
                lines[index] = String((0..<Int(random.uniform() * 40)).map { _ in
                    Character(UnicodeScalar(UInt8(9 + Int(random.uniform() * 118))))
                })
            } else if pick < 0.95 {
                lines[index] += " " + value(&random)
            } else {
                lines = Array(lines.prefix(index))
            }
        }
        return lines.joined(separator: random.uniform() < 0.1 ? "\r\n" : "\n")
    }

    /// A sky position: mostly on Stripe 82, sometimes anywhere, sometimes not a number.
    static func position(_ random: inout SeededRandom) -> (ra: Double, dec: Double) {
        let pick = random.uniform()
        if pick < 0.6 { return (random.uniform(-60, 60), random.uniform(-1.5, 1.5)) }
        if pick < 0.9 { return (random.uniform(-720, 720), random.uniform(-90, 90)) }
        let odd: [Double] = [.nan, .infinity, -.infinity, 1e300, -1e300, 0, -0.0, 90, -90, 360]
        return (odd[Int(random.uniform() * Double(odd.count))], odd[Int(random.uniform() * Double(odd.count))])
    }

    @Test func mutatedSkyMapsAreRefusedAtALineOrUsedWithoutATrap() throws {
        try withTemporaryDirectory { directory in try run(in: directory) }
    }

    func run(in directory: URL) throws {
        let lines = try String(contentsOfFile: SkyMapGeometry.file, encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let path = directory.appendingPathComponent("fuzzed.skymap").path
        let cases = Int(ProcessInfo.processInfo.environment["DCPROD_FUZZ_CASES"] ?? "") ?? 500
        var random = SeededRandom(seed: 2013, stream: [23])
        var refused = 0, read = 0
        for number in 0..<cases {
            let text = Self.mutated(lines, &random)
            try text.write(toFile: path, atomically: false, encoding: .utf8)
            let map: SkyMap
            do {
                map = try SkyMap.load(contentsOf: path)
                read += 1
            } catch let error as ConfigError {
                refused += 1
                // The file, then a line of it (one past the last for a missing key), then why.
                let lineCount = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).count
                #expect(error.file == path && (1...(lineCount + 1)).contains(error.line) && !error.message.isEmpty,
                        "case \(number): \(error)")
                continue
            }
            // What the planner and the coadd do with a map: each either answers or throws.
            for _ in 0..<4 {
                let at = Self.position(&random)
                _ = map.tract(ofRA: at.ra)
                _ = try? map.patch(containing: at)
                let size = random.uniform(0.001, 0.3)
                _ = try? map.patches(touching: [at, (at.ra + size, at.dec), (at.ra + size, at.dec + size), (at.ra, at.dec + size)])
                let patch = PatchId(tract: Int(random.uniform() * Double(map.geometry.tracts + 1)),
                                    x: Int(random.uniform() * Double(map.geometry.patches.x + 1)),
                                    y: Int(random.uniform() * Double(map.geometry.patches.y + 1)))
                _ = map.outerBox(of: patch)
                _ = try? map.corners(of: patch)
                _ = try? map.center(of: patch)
                _ = try? WCS(header: map.header(of: patch))
                #expect(map.size(of: patch).x * map.size(of: patch).y <= SkyMap.Limits.patchPixels)
            }
            #expect((try? map.corners(of: PatchId(tract: .max, x: .max, y: .min))) == nil)
        }
        #expect(read + refused == cases)
        #expect(read > cases / 10 && refused > cases / 10, "\(read) read, \(refused) refused of \(cases)")
    }
}
