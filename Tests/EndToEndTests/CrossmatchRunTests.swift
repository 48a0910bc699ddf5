import Foundation
import Testing

/// `dcprod crossmatch` as DC2013's analysts used it, on a five-filter production of the seed's patch
/// run through the whole chain: against the simulator's reference catalog (its own errors, cut at
/// r < 22), every reference star surely brighter than the coadd's 5σ limit inside the region the
/// frames cover is matched (at least 95 % in each filter); the patch and the forced and single-frame
/// tables answer too.
@Suite(.serialized) struct CrossmatchRun {
    @Test func theSeedsPatchMatchesItsReferenceStarsInEveryFilter() throws {
        let work = try Workspace()
        try SeedPatch.prepare(work, filters: "u g r i z", frames: 20, seed: 3, defects: 0, extra: "EVENTSPERJOB processCcd 5")
        let run = try DCProd.run(["run"], in: work.url)
        try #require(run.status == 0, "\(run.stdout.suffix(2000))\(run.stderr)")
        let reference = work.url.appendingPathComponent("lsstprod-data/DC_2013/input/refcat.csv").path
        // The frames' common pointing covers 6.308 < RA < 6.472, -0.218 < Dec < 0.008 (744 × 1024 pixels).
        let covered = "6.32,6.46,-0.2,-0.01"
        let match = try DCProd.run(["crossmatch", "--region", covered, "--filters", "ugriz", reference, "--output", "xm"], in: work.url)
        try #require(match.status == 0, "\(match.stdout)\(match.stderr)")
        let lines = match.stdout.split(separator: "\n").map(String.init)
        for filter in ["u", "g", "r", "i", "z"] {
            let block = lines.drop { $0 != "filter \(filter):" }.prefix(9)
            #expect(block.contains { $0.hasPrefix("reference objects in the region: ") }, "\(filter): \(match.stdout)")
            #expect(block.contains { $0.hasPrefix("catalog sources matched (unique): ") })
            let limit = try #require(block.first { $0.hasPrefix("surely brighter than the catalog's 5σ limit") }, "\(filter): \(match.stdout)")
            // "…: 266 of 284 (93.7 %) matched, stars 134 of 134 (100.0 %)"
            let stars = try #require(limit.components(separatedBy: "stars ").last?.split(separator: " "))
            let found = try #require(Int(stars[0])), total = try #require(Int(stars[2]))
            #expect(total >= 20, "\(filter): \(limit)")
            #expect(Double(found) >= 0.95 * Double(total), "\(filter): \(limit)")
            for file in ["matched-\(filter).csv", "unmatched-reference-\(filter).csv", "unmatched-catalog-\(filter).csv", "crossmatch-\(filter).svg"] {
                #expect(FileManager.default.fileExists(atPath: work.url.appendingPathComponent("xm/\(file)").path), "\(file)")
            }
        }
        // The seed's patch; forced photometry and single frames (the same stars, measured on each calexp).
        for selection in [["--patch", "0-380,5"], ["--region", covered, "--forced"], ["--region", covered, "--single"]] {
            let other = try DCProd.run(["crossmatch", "--filter", "r"] + selection + [reference, "--output", "xm-other"], in: work.url)
            #expect(other.status == 0, "\(selection): \(other.stderr)")
            #expect(other.stdout.contains("catalog sources matched (unique): "), "\(selection): \(other.stdout)")
        }
        let refused = try DCProd.run(["crossmatch", "--patch", "0-380,5", "--single", reference], in: work.url)
        #expect(refused.status != 0 && refused.stderr.contains("give a --region instead of --patch"), "\(refused.stderr)")
    }
}
