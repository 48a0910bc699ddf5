import Foundation
import Testing

/// `dcprod compare` as a release gate: three productions of the same frames of the seed's patch in r —
/// A, B whose headers start from other pointing errors (the same pixels: no change beyond noise), and
/// C whose reference catalog is 0.02 mag too faint in r (its zero points 1.8 % too bright) — B passes
/// against A, C fails, naming each table.
@Suite(.serialized) struct CompareRun {
    static func production(_ simulate: [String] = [], biasReference: Bool = false) throws -> Workspace {
        let work = try Workspace()
        try SeedPatch.prepare(work, filters: "r", frames: 6, seed: 3, defects: 0, extra: "EVENTSPERJOB processCcd 3", simulate: simulate)
        if biasReference {
            let file = work.url.appendingPathComponent("lsstprod-data/DC_2013/input/refcat.csv")
            let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n")
            let header = lines[0].split(separator: ",").map(String.init)
            let r = try #require(header.firstIndex(of: "r"))
            let biased = lines.dropFirst().map { line -> String in
                var fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                if let m = Double(fields[r]), m < 90 { fields[r] = String(format: "%.4f", m + 0.02) }
                return fields.joined(separator: ",")
            }
            try ([String(lines[0])] + biased).joined(separator: "\n").appending("\n").write(to: file, atomically: true, encoding: .utf8)
        }
        let run = try DCProd.run(["run"], in: work.url)
        try #require(run.status == 0, "\(run.stdout.suffix(2000))\(run.stderr)")
        return work
    }

    @Test func aReleaseThatChangesOnlyTheNoisePassesAndABiasedZeroPointFails() throws {
        let a = try Self.production(), b = try Self.production(["--pointing-seed", "4"]), c = try Self.production(biasReference: true)
        let config = { (w: Workspace) in w.url.appendingPathComponent("fichconfig.txt").path }

        let same = try DCProd.run(["compare", config(a), config(b), "--output", "ab"], in: a.url)
        #expect(same.status == 0, "\(same.stdout)\(same.stderr)")
        #expect(same.stdout.contains("  processCcd r: events 6 / 6, ok 6 / 6"), "\(same.stdout)")
        #expect(same.stdout.contains("events whose outcome changed: 0"))
        for table in ["DeepSource", "DeepForcedSource", "Source"] {
            #expect(same.stdout.contains("  \(table) r: "), "\(table): \(same.stdout)")
            #expect(FileManager.default.fileExists(atPath: a.url.appendingPathComponent("ab/compare-\(table).svg").path))
        }
        #expect(same.stdout.hasSuffix("compare: B agrees with A within the thresholds\n"), "\(same.stdout)")

        let biased = try DCProd.run(["compare", config(a), config(c), "--output", "ac"], in: a.url)
        #expect(biased.status == 1, "\(biased.stdout)\(biased.stderr)")
        for table in ["DeepSource", "DeepForcedSource", "Source"] {
            // 10^(-0.4·0.02) − 1 = −1.83 %.
            #expect(biased.stdout.contains("FAIL: \(table) r: the bright sources' flux B/A − 1 is -1.8"), "\(table): \(biased.stdout)")
        }
        // A looser gate lets it through; a bad threshold is refused.
        let loose = try DCProd.run(["compare", config(a), config(c), "--max-flux-offset", "2%", "--output", "ac"], in: a.url)
        #expect(loose.status == 0, "\(loose.stdout)")
        let refused = try DCProd.run(["compare", config(a), config(c), "--max-flux-offset", "half"], in: a.url)
        #expect(refused.status != 0 && refused.stderr.contains("--max-flux-offset half"), "\(refused.stderr)")
    }
}
