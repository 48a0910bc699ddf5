import Basics
import Foundation
@testable import Simulation
import Testing
@testable import Pipeline
import Sky

/// Refactoring the reference payload must not change its numbers. A small seeded simulation goes
/// through processCcd, coadd and forcedPhot, and the SHA-256 of every file they write (and of the
/// simulated inputs, so that a difference there is told apart) is compared with
/// `OutputIdentityFixture.swift`, recorded by the code before the payload was split into stages.
///
/// The files are compared whole: neither cfitsio nor the payload writes a date or a checksum card,
/// and the one absolute path (the DeepCoadd row's deepCoadd path) is replaced by `$OUT` first.
/// `DCPROD_WRITE_FIXTURE=1` rewrites the fixture instead of comparing (only to record a deliberate
/// change of the payload's numbers, then rebuild).
@Suite struct OutputIdentity {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("OutputIdentityFixture.swift")

    /// Three epochs of one r pointing at the seed patch, through the three payloads; each file's
    /// name (relative to the run's directory) and digest, and each payload's result line.
    static func run(in directory: URL) throws -> [String: String] {
        let input = directory.appendingPathComponent("in")
        let simulation = Simulation(options: .init(directory: input, frames: 3, seed: 11, defects: 0,
                                                   region: Region(raMin: 6.37, raMax: 6.41, decMin: -0.125, decMax: -0.085),
                                                   width: 1024, height: 744, pixelScale: 0.8, filters: [.r]))
        _ = try simulation.run()
        let out = directory.appendingPathComponent("out")
        let processor = ProcessCcd(options: .init(referenceCatalog: input.appendingPathComponent("refcat.csv").path, outputDirectory: out))
        var lines: [String: String] = [:]
        var calexps: [String] = []
        for plan in simulation.plans() {
            let result = try processor.run(frame: input.appendingPathComponent(plan.relativePath).path)
            lines["line processCcd \(plan.name.stem)"] = result.line
            calexps.append(result.outputs[0])
        }
        let map = try SkyMap.load(contentsOf: skyMapFile)
        let coadd = try Coadd(options: .init(skyMap: map, patch: PatchId(tract: 0, x: 380, y: 5), filter: .r, outputDirectory: out))
            .run(calexps: calexps)
        lines["line coadd"] = coadd.line
        var positions = "deepSourceId,ra,decl\n"
        for line in try String(contentsOfFile: coadd.outputs[1], encoding: .utf8).split(separator: "\n").dropFirst() {
            let fields = CSVLine.fields(line)
            positions += "\(fields[0]),\(fields[5]),\(fields[6])\n"
        }
        let positionsFile = directory.appendingPathComponent("positions.csv")
        try Data(positions.utf8).write(to: positionsFile)
        let forced = ForcedPhot(options: .init(positions: positionsFile.path, outputDirectory: out))
        for calexp in calexps {
            lines["line forcedPhot \(URL(fileURLWithPath: calexp).lastPathComponent)"] = try forced.run(calexp: calexp).line
        }

        var digests = lines
        for base in [input, out] {
            let names = try FileManager.default.subpathsOfDirectory(atPath: base.path).filter { name in
                var isDirectory: ObjCBool = false
                return FileManager.default.fileExists(atPath: base.appendingPathComponent(name).path, isDirectory: &isDirectory)
                    && !isDirectory.boolValue
            }
            for name in names {
                let bytes = try Data(contentsOf: base.appendingPathComponent(name))
                let content = name.hasSuffix(".csv")
                    ? Data(String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: out.path, with: "$OUT").utf8) : bytes
                digests["\(base.lastPathComponent)/\(name)"] = SHA256.hex(content)
            }
        }
        return digests
    }

    @Test func processCcdCoaddAndForcedPhotWriteTheSameBytesAsBefore() throws {
        let directory = Directory()
        let digests = try Self.run(in: directory.url)
        if ProcessInfo.processInfo.environment["DCPROD_WRITE_FIXTURE"] == "1" {
            var text = "// Written by OutputIdentityTests.swift with DCPROD_WRITE_FIXTURE=1; do not edit by hand.\n\n"
            text += "/// What `OutputIdentity` expects: each output's SHA-256, each payload's result line.\n"
            text += "let outputIdentityFixture: [String: String] = [\n"
            for key in digests.keys.sorted() {
                text += "    \(Self.literal(key)): \(Self.literal(digests[key]!)),\n"
            }
            text += "]\n"
            try Data(text.utf8).write(to: Self.fixture)
            return
        }
        #expect(Set(digests.keys) == Set(outputIdentityFixture.keys))
        for key in digests.keys.sorted() where outputIdentityFixture[key] != nil {
            #expect(digests[key] == outputIdentityFixture[key], "\(key) changed")
        }
    }

    /// FIPS 180-4's examples: the digests the fixture holds are SHA-256's.
    @Test func theDigestIsSHA256() {
        #expect(SHA256.hex(Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(Data()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // Lengths about the block boundaries (Python's hashlib).
        let expected = [55: "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318",
                        56: "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a",
                        64: "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb",
                        119: "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb",
                        1000: "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"]
        for (count, digest) in expected { #expect(SHA256.hex(Data(repeating: 0x61, count: count)) == digest, "\(count) bytes") }
    }

    /// A Swift string literal of `text` (no character here needs more than `\"` and `\\`).
    static func literal(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

/// SHA-256 (FIPS 180-4), for the fixture's digests: Foundation on Linux has no CryptoKit, and the
/// tests take no new dependency for one function.
enum SHA256 {
    static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    /// The digest of `data` as 64 lowercase hexadecimal digits.
    static func hex(_ data: Data) -> String {
        var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
        let whole = data.count / 64 * 64
        data.withUnsafeBytes { bytes in
            for chunk in stride(from: 0, to: whole, by: 64) { compress(UnsafeRawBufferPointer(rebasing: bytes[chunk..<(chunk + 64)]), &h) }
        }
        // The last bytes, a 1 bit, zeros and the length in bits fill one or two more blocks.
        var tail = [UInt8](data[(data.startIndex + whole)...]) + [0x80]
        while tail.count % 64 != 56 { tail.append(0) }
        let bits = UInt64(data.count) * 8
        for shift in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        tail.withUnsafeBytes { bytes in
            for chunk in stride(from: 0, to: bytes.count, by: 64) { compress(UnsafeRawBufferPointer(rebasing: bytes[chunk..<(chunk + 64)]), &h) }
        }
        return h.map { String(format: "%08x", $0) }.joined()
    }

    /// One 64-byte block into the state `h`.
    static func compress(_ block: UnsafeRawBufferPointer, _ h: inout [UInt32]) {
        var w = [UInt32](repeating: 0, count: 64)
        for t in 0..<16 {
            w[t] = UInt32(block[4 * t]) << 24 | UInt32(block[4 * t + 1]) << 16 | UInt32(block[4 * t + 2]) << 8 | UInt32(block[4 * t + 3])
        }
        for t in 16..<64 {
            let s0 = rotate(w[t - 15], 7) ^ rotate(w[t - 15], 18) ^ (w[t - 15] >> 3)
            let s1 = rotate(w[t - 2], 17) ^ rotate(w[t - 2], 19) ^ (w[t - 2] >> 10)
            w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
        }
        var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
        for t in 0..<64 {
            let t1 = hh &+ (rotate(e, 6) ^ rotate(e, 11) ^ rotate(e, 25)) &+ ((e & f) ^ (~e & g)) &+ k[t] &+ w[t]
            let t2 = (rotate(a, 2) ^ rotate(a, 13) ^ rotate(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
            (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
        }
        for (i, v) in [a, b, c, d, e, f, g, hh].enumerated() { h[i] = h[i] &+ v }
    }

    static func rotate(_ x: UInt32, _ n: UInt32) -> UInt32 { x >> n | x << (32 - n) }
}
