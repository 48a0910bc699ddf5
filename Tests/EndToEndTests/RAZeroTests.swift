import Foundation
import Testing

/// Stripe 82 crosses RA 0 (−60 < RA < 60; DC2013 kept to 5 < RA < 55). A demo-like production of
/// frames straddling RA 0 (a REGION written from −180) runs the whole chain as one of the seed's patch
/// at RA 6 does: every frame solved (11 of 12 once failed astrometry, "no solution", when the
/// reference catalog was cut from 0.1 to 359.9), the same reports, each object primary in one tract
/// only, and photometry within the tolerances of the truth comparisons.
@Suite(.serialized) struct RAZero {
    /// What a production gives: its reports by name (`processCcd-g.txt`), its photometry lines against
    /// the truth by step and filter, and its catalog.
    struct Outcome {
        var work: Workspace
        var reports: [String: String]
        var photometry: [String: (stars: Int, median: Double, scatter: Double)]
    }

    static let skies = [(name: "RA 6", region: SeedPatch.region), (name: "RA 0", region: "-0.14 0.14 -0.24 0.03")]

    func produce(region: String, byPatch: Bool = false) throws -> Outcome {
        let work = try Workspace()
        try SeedPatch.prepare(work, filters: "g r", frames: 12, seed: 3, defects: 0, extra: "EVENTSPERJOB processCcd 6", region: region)
        let run = try DCProd.run(["run"] + (byPatch ? ["--by-patch"] : []), in: work.url)
        try #require(run.status == 0, "\(region): \(run.stdout.suffix(3000))\(run.stderr)")
        var reports: [String: String] = [:]
        for step in ["processCcd", "coadd", "forcedPhot"] {
            for filter in ["g", "r"] {
                let file = work.url.appendingPathComponent("lsstprod/DC_2013/reports/\(step)-\(filter).txt")
                reports["\(step)-\(filter)"] = try String(contentsOf: file, encoding: .utf8)
            }
        }
        let data = work.url.appendingPathComponent("lsstprod-data/DC_2013")
        let photometry = try DCProd.run(["pipe", "photometry", "--truth", "input/truth-objects.csv", "processCcd", "coadd", "forcedPhot"], in: data)
        try #require(photometry.status == 0, "\(photometry.stderr)")
        return Outcome(work: work, reports: reports, photometry: Self.figures(photometry.stdout))
    }

    /// `pipe photometry`'s lines `  g:    66 stars, median -0.49 %, scatter 0.55 % (noise 0.66 %)` under
    /// each `STEP, stars with S/N > 100, …` line, by `STEP g`.
    static func figures(_ text: String) -> [String: (stars: Int, median: Double, scatter: Double)] {
        var step = "", out: [String: (stars: Int, median: Double, scatter: Double)] = [:]
        for line in text.split(separator: "\n").map(String.init) {
            if !line.hasPrefix(" "), let comma = line.firstIndex(of: ",") { step = String(line[..<comma]); continue }
            let words = line.split(whereSeparator: { $0 == " " || $0 == "," || $0 == ":" })
            guard words.count >= 7, words[2] == "stars", words[3] == "median", let stars = Int(words[1]),
                  let median = Double(words[4]), let scatter = Double(words[7]) else { continue }
            out["\(step) \(words[0])"] = (stars, median, scatter)
        }
        return out
    }

    @Test func aProductionAcrossRAZeroGivesTheReportsAndPhotometryOfOneAtRA6() throws {
        let outcomes = try Self.skies.map { try produce(region: $0.region) }
        let (six, zero) = (outcomes[0], outcomes[1])
        // Every frame processed and measured, as at RA 6: the same reports.
        for name in ["processCcd-g", "processCcd-r", "forcedPhot-g", "forcedPhot-r"] {
            #expect(zero.reports[name] == six.reports[name], "\(name):\n\(zero.reports[name] ?? "")\n---\n\(six.reports[name] ?? "")")
            #expect(zero.reports[name]?.contains("Events processed: 6 out of 6:\nok: 6 - 100.0 %") == true, "\(name): \(zero.reports[name] ?? "")")
        }
        // Across RA 0 each patch of RA 6's three is there twice: tract 0's last column and tract 3's first.
        for filter in ["g", "r"] {
            #expect(six.reports["coadd-\(filter)"]?.contains("Events processed: 3 out of 3:\nok: 3 - 100.0 %") == true)
            #expect(zero.reports["coadd-\(filter)"]?.contains("Events processed: 6 out of 6:\nok: 6 - 100.0 %") == true,
                    "\(zero.reports["coadd-\(filter)"] ?? "")")
        }
        let patches = try DCProd.run(["sql", "--csv", "SELECT tract || '-' || REPLACE(patch, ',', ' ') FROM DeepCoadd WHERE filterId = 2 ORDER BY tract, patch"], in: zero.work.url)
        #expect(patches.stdout.split(separator: "\n").dropFirst() == ["0-409 4", "0-409 5", "0-409 6", "3-0 4", "3-0 5", "3-0 6"], "\(patches.stdout)")
        // An object seen in both tracts' coadds is primary in one: the tract whose RA range holds it.
        let twice = try DCProd.run(["sql", "--csv", """
            SELECT COUNT(*), SUM(a.isPrimary + b.isPrimary = 2), SUM(a.isPrimary + b.isPrimary = 1) FROM DeepSource a JOIN DeepSource b
            ON b.filterId = a.filterId AND b.tract > a.tract AND ABS(b.decl - a.decl) < 0.3 / 3600
            AND (ABS(b.ra - a.ra) < 0.3 / 3600 OR ABS(b.ra - a.ra) > 360 - 0.3 / 3600)
            """], in: zero.work.url)
        let counts = twice.stdout.split(separator: "\n").last?.split(separator: ",").compactMap { Int($0) } ?? []
        #expect(counts.count == 3 && counts[0] > 500 && counts[1] == 0 && counts[2] > counts[0] / 2,
                "pairs, both primary, one primary: \(twice.stdout)\(twice.stderr)")
        // Every RA the catalog holds is in [0, 360), on both sides of 0.
        let ras = try DCProd.run(["sql", "--csv", """
            SELECT SUM(ra < 0 OR ra >= 360), SUM(ra > 359), SUM(ra < 1) FROM (SELECT ra FROM Source UNION ALL SELECT ra FROM DeepSource
            UNION ALL SELECT ra FROM DeepForcedSource UNION ALL SELECT ra FROM DeepCoadd UNION ALL SELECT ra FROM Science_Ccd_Exposure)
            """], in: zero.work.url)
        let sides = ras.stdout.split(separator: "\n").last?.split(separator: ",").compactMap { Int($0) } ?? []
        #expect(sides.count == 3 && sides[0] == 0 && sides[1] > 1000 && sides[2] > 1000, "\(ras.stdout)\(ras.stderr)")
        // Photometry against the truth, as PhotometryAgainstTheTruth checks it, at both RAs.
        for (sky, outcome) in zip(Self.skies, outcomes) {
            for step in ["processCcd", "coadd", "forcedPhot"] {
                for filter in ["g", "r"] {
                    let f = try #require(outcome.photometry["\(step) \(filter)"], "\(sky.name) \(step) \(filter): \(outcome.photometry)")
                    #expect(f.stars >= 5 && abs(f.median) < 1 && f.scatter < 1.5, "\(sky.name) \(step) \(filter): \(f)")
                }
            }
        }
        try crossmatchFindsTheReferenceStars(zero, covered: "-0.07,0.07,-0.2,-0.01")
        try crossmatchFindsTheReferenceStars(six, covered: "6.32,6.46,-0.2,-0.01")

        // By patch, each frame's forced photometry reads its patches' deepsrc files inside its box, which
        // runs through 0 (359.9 to 0.1, not 0.1 to 359.9): the same measurements as step by step.
        let byPatch = try produce(region: Self.skies[1].region, byPatch: true)
        #expect(byPatch.reports == zero.reports)
        let forced = "SELECT COUNT(*), ROUND(SUM(psfFlux), 3) FROM DeepForcedSource"
        let sums = try [zero, byPatch].map { try DCProd.run(["sql", "--csv", forced], in: $0.work.url).stdout }
        #expect(sums[0] == sums[1] && !sums[0].hasSuffix("\n0,\n"), "step by step, by patch: \(sums)")
    }

    /// `crossmatch` of the region the frames' common pointing covers: at least 95 % of the reference
    /// stars surely brighter than the coadd's 5σ limit matched in each filter, as CrossmatchRun asks.
    func crossmatchFindsTheReferenceStars(_ outcome: Outcome, covered: String) throws {
        let reference = outcome.work.url.appendingPathComponent("lsstprod-data/DC_2013/input/refcat.csv").path
        let match = try DCProd.run(["crossmatch", "--region", covered, "--filters", "gr", reference, "--output", "xm"], in: outcome.work.url)
        try #require(match.status == 0, "\(covered): \(match.stdout)\(match.stderr)")
        let lines = match.stdout.split(separator: "\n").map(String.init)
        for filter in ["g", "r"] {
            let block = lines.drop { $0 != "filter \(filter):" }.prefix(9)
            let limit = try #require(block.first { $0.hasPrefix("surely brighter than the catalog's 5σ limit") }, "\(covered) \(filter): \(match.stdout)")
            let stars = try #require(limit.components(separatedBy: "stars ").last?.split(separator: " "))
            let found = try #require(Int(stars[0])), total = try #require(Int(stars[2]))
            #expect(total >= 10 && Double(found) >= 0.95 * Double(total), "\(covered) \(filter): \(limit)")
        }
    }
}
