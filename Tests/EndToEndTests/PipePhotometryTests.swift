import Foundation
import Testing

/// `dcprod pipe photometry` prints the catalog's quality beside its photometry (issue 26's "Done
/// when"): two frames of the seed's patch in r through `pipe processCcd` and `pipe coadd`, and under
/// each step's r the completeness at S/N 5–6 with its 50 % point, the purity and the star/galaxy
/// accuracy, read from what the command prints.
@Suite struct PipePhotometry {
    @Test func completenessPurityAndStarGalaxyArePrintedPerStepAndFilter() throws {
        let work = try Workspace()
        let input = work.url.appendingPathComponent("input").path, out = work.url.appendingPathComponent("out").path
        let simulate = try DCProd.run(["pipe", "simulate", "--frames", "2", "--seed", "11", "--size", "1024x744", "--pixel-scale", "0.8",
                                       "--filters", "r", "--region", "6.37 6.41 -0.125 -0.085", input], in: work.url)
        try #require(simulate.status == 0, "\(simulate.stderr)")
        var frames: [String] = []
        let walk = FileManager.default.enumerator(atPath: input)
        while let path = walk?.nextObject() as? String {
            if path.hasSuffix(".fit"), (path as NSString).lastPathComponent.hasPrefix("fpC-") { frames.append("\(input)/\(path)") }
        }
        try #require(frames.count == 2, "\(frames)")
        let processCcd = try DCProd.run(["pipe", "processCcd", "--refcat", "\(input)/refcat.csv", "--out", "\(out)/processCcd"] + frames, in: work.url)
        try #require(processCcd.status == 0, "\(processCcd.stdout)\(processCcd.stderr)")
        let calexps = try FileManager.default.contentsOfDirectory(atPath: "\(out)/processCcd").filter { $0.hasSuffix(".fits") }.map { "\(out)/processCcd/\($0)" }
        let skymap = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("templates/skymap/dc2013.skymap").path
        let coadd = try DCProd.run(["pipe", "coadd", "--tract", "0", "--patch", "380,5", "--filter", "r", "--skymap", skymap,
                                    "--out", "\(out)/coadd"] + calexps, in: work.url)
        try #require(coadd.status == 0, "\(coadd.stdout)\(coadd.stderr)")
        let photometry = try DCProd.run(["pipe", "photometry", "--truth", "\(input)/truth-objects.csv", "\(out)/processCcd", "\(out)/coadd"], in: work.url)
        try #require(photometry.status == 0, "\(photometry.stderr)")
        // The lines under each step's heading (`processCcd, stars with S/N > 100, …`).
        var blocks: [String: [String]] = [:], step = ""
        for line in photometry.stdout.split(separator: "\n").map(String.init) {
            if !line.hasPrefix(" ") { step = String(line.prefix { $0 != "," }) } else { blocks[step, default: []].append(line) }
        }
        for step in ["processCcd", "coadd"] {
            let lines = try #require(blocks[step], "\(photometry.stdout)")
            #expect(lines.first?.hasPrefix("  r:") == true, "\(step): \(lines)")
            for prefix in ["completeness at S/N 5–6: stars ", "purity at S/N > 5: ", "star/galaxy at S/N > 20: "] {
                #expect(lines.contains { $0.hasPrefix("     " + prefix) }, "\(step): no line \(prefix)…\n\(photometry.stdout)")
            }
        }
    }
}
