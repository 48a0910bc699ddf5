import Basics
import Foundation
import Testing
@testable import Sky

/// DC2013's sky map of Stripe 82 (templates/skymap/dc2013.skymap): the seed's patch `0-380,5` and
/// its corners, which the seed's third query uses as its box.
@Suite struct SkyMapGeometry {
    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("templates/skymap/dc2013.skymap").path
    let map: SkyMap
    let seedPatch = PatchId(tract: 0, x: 380, y: 5)

    init() throws { map = try SkyMap.load(contentsOf: Self.file) }

    /// The seed printed the corners with 5 decimals, cut (6.276645 → 6.27664, -0.213015 → -0.21301).
    func printed(_ value: Double) -> Double { (value * 100_000).rounded(.towardZero) / 100_000 }

    @Test func theSeedPatchHasTheCornersOfTheSeedsThirdQuery() throws {
        // SELECT corner1Ra, corner1Decl, corner3Ra, corner2Decl FROM DeepCoadd WHERE tract = 0 AND patch = '380,5'
        // → ra > 6.27664 AND ra < 6.50324 AND decl > -0.21301 AND decl < 0.00335
        // The outer edges: RA 45 − (759970.5 − 410000)·0.396″ = 6.503245, Dec asin(−1936.5·0.396″) = −0.213015.
        let corners = try map.corners(of: seedPatch)
        #expect(printed(corners[0].ra) == 6.27664)
        #expect(printed(corners[0].dec) == -0.21301)
        #expect(printed(corners[2].ra) == 6.50324)
        #expect(printed(corners[1].dec) == 0.00335)
        // A box: corners 1 and 2 share their RA, 2 and 3 their Dec, and so on.
        #expect(abs(corners[0].ra - corners[1].ra) < 1e-12 && abs(corners[2].ra - corners[3].ra) < 1e-12)
        #expect(abs(corners[1].dec - corners[2].dec) < 1e-12 && abs(corners[3].dec - corners[0].dec) < 1e-12)
        #expect(seedPatch.name == "380,5" && seedPatch.description == "0-380,5")
    }

    @Test func deepCoaddIdIsTheLSSTSchemas() {
        #expect(seedPatch.deepCoaddId(filterId: 2) == ((0 * 8192 + 380) * 8192 + 5) * 8 + 2)
        #expect(PatchId(tract: 3, x: 409, y: 11).deepCoaddId(filterId: 4) == ((3 * 8192 + 409) * 8192 + 11) * 8 + 4)
    }

    @Test func aPointBelongsToThePatchWhoseInnerBoxHoldsIt() throws {
        #expect(try map.patch(containing: map.center(of: seedPatch)) == seedPatch)
        #expect(try map.patch(containing: (ra: 6.39, dec: -0.1)) == seedPatch)
        // Just beyond the inner box's left edge (higher RA: x decreases) is patch 379.
        #expect(try map.patch(containing: (ra: 6.4980, dec: -0.1)) == seedPatch)
        #expect(try map.patch(containing: (ra: 6.5010, dec: -0.1)) == PatchId(tract: 0, x: 379, y: 5))
        #expect(try map.patch(containing: (ra: 100, dec: 0.5))?.tract == 1)
        #expect(try map.patch(containing: (ra: 6.39, dec: 2.0)) == nil, "beyond the 12 patches of Stripe 82's tract")
        #expect(map.tract(ofRA: 359.9) == 3 && map.tract(ofRA: -0.1) == 3 && map.tract(ofRA: 0) == 0 && map.tract(ofRA: .nan) == nil)
    }

    @Test func aFootprintTouchesThePatchesWhoseOuterBoxItOverlaps() throws {
        let center = try map.center(of: seedPatch)
        let small = [(ra: center.ra - 0.01, dec: center.dec - 0.01), (ra: center.ra + 0.01, dec: center.dec + 0.01)]
        #expect(try map.patches(touching: small) == [seedPatch])
        // A frame across the patch's lower edge (SDSS-sized: 0.22° by 0.16°) touches the patch below too.
        let corners = try map.corners(of: seedPatch)
        let low = corners[0].dec + 30 * 0.396 / 3600
        let across = [(ra: 6.35, dec: low - 0.05), (ra: 6.45, dec: low - 0.05), (ra: 6.45, dec: low + 0.1), (ra: 6.35, dec: low + 0.1)]
        #expect(try map.patches(touching: across) == [PatchId(tract: 0, x: 380, y: 4), seedPatch])
        // In patch 379's inner box, within the seed patch's border: both, since a patch covers its border.
        let border = [(ra: corners[2].ra - 0.001, dec: -0.1), (ra: corners[2].ra - 0.002, dec: -0.09)]
        #expect(try map.patches(touching: border) == [PatchId(tract: 0, x: 379, y: 5), seedPatch])
        // Beyond the tract's 12 rows of patches (a REGION wider than the map): no patch. The range of
        // rows was once made before it was found empty, and trapped `dcprod plan coadd`.
        #expect(try map.patches(touching: [(ra: 6.39, dec: 2.0), (ra: 6.41, dec: 2.02)]).isEmpty)
        #expect(try map.patches(touching: [(ra: 6.39, dec: -89.9), (ra: 6.41, dec: -89.8)]).isEmpty)
        // Positions that are not numbers are refused, not turned into an Int.
        #expect(throws: WCSError.self) { try map.patches(touching: [(ra: .nan, dec: 0), (ra: 6.4, dec: 0)]) }
        #expect(throws: WCSError.self) { try map.patch(containing: (ra: .infinity, dec: 0)) }
        #expect(throws: WCSError.self) { try map.corners(of: PatchId(tract: 4, x: 0, y: 0)) }
    }

    /// Stripe 82 crosses RA 0, where tract 3 ends and tract 0 begins: each tract's patches reach
    /// 0.1° past its RA range, so a frame across RA 0 touches the last patch column of tract 0 (409)
    /// and the first of tract 3 (0), and a position belongs to the tract whose RA range holds it.
    @Test func aFrameAcrossRAZeroTouchesTractsThreeAndZero() throws {
        let frame = [(ra: 359.95, dec: -0.15), (ra: 0.05, dec: -0.15), (ra: 0.05, dec: -0.05), (ra: 359.95, dec: -0.05)]
        #expect(try map.patches(touching: frame) == [PatchId(tract: 0, x: 409, y: 5), PatchId(tract: 3, x: 0, y: 5)])
        #expect(try map.patch(containing: (ra: 359.99, dec: -0.1)) == PatchId(tract: 3, x: 0, y: 5))
        #expect(try map.patch(containing: (ra: 0.01, dec: -0.1)) == PatchId(tract: 0, x: 409, y: 5))
        #expect(try map.patch(containing: (ra: -0.01, dec: -0.1)) == PatchId(tract: 3, x: 0, y: 5))
        // The patches' corners are in [0, 360) and run the short way round RA 0.
        for patch in [PatchId(tract: 0, x: 409, y: 5), PatchId(tract: 3, x: 0, y: 5)] {
            let ras = try map.corners(of: patch).map(\.ra)
            #expect(ras.allSatisfy { (0..<360).contains($0) }, "\(patch): \(ras)")
            let span = RightAscension.span(ras)
            #expect(span.low > span.high && span.low > 359.8 && span.high < 0.2, "\(patch): \(span)")
        }
    }

    /// A set of RAs spans the short way round: across RA 0 from the highest to the lowest, else
    /// their own minimum and maximum, unchanged to the last bit.
    @Test func rightAscensionsSpanTheShortWayRound() {
        #expect(RightAscension.span([6.25, 6.53, 6.4]) == (6.25, 6.53))
        #expect(RightAscension.span([359.9, 0.1, 0.05]) == (359.9, 0.1))
        #expect(RightAscension.span([-0.1, 0.1]) == (359.9, 0.1))
        #expect(RightAscension.span([0.2, 359.95]).low == 359.95)
        #expect(RightAscension.isWithin(359.95, 359.9, 0.1) && RightAscension.isWithin(0.1, 359.9, 0.1) && RightAscension.isWithin(-0.05, 359.9, 0.1))
        #expect(!RightAscension.isWithin(0.2, 359.9, 0.1) && !RightAscension.isWithin(180, 359.9, 0.1))
        #expect(RightAscension.isWithin(6.25, 6.25, 6.53) && !RightAscension.isWithin(6.54, 6.25, 6.53))
    }

    @Test func aPatchHeaderPutsItsFirstPixelAtTheBoxCorner() throws {
        let patchWCS = try WCS(header: map.header(of: seedPatch))
        let first = try patchWCS.sky([(x: 0.5, y: 0.5)])[0]
        let corners = try map.corners(of: seedPatch)
        #expect(abs(first.ra - corners[3].ra) < 1e-10 && abs(first.dec - corners[3].dec) < 1e-10)
        #expect(try patchWCS.sky([]).isEmpty && patchWCS.pixels([]).isEmpty, "no coordinates, no answer, no error")
        let last = try patchWCS.sky([(x: 2060.5, y: 1967.5)])[0]
        #expect(abs(last.ra - corners[1].ra) < 1e-10 && abs(last.dec - corners[1].dec) < 1e-10)
    }

    @Test func aBadSkyMapFileNamesItsLine() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dcprod-skymap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let text = try String(contentsOfFile: Self.file, encoding: .utf8)
        // The operator's slips of issue 23 first trapped `dcprod run` and `plan coadd` (an Int of 1e300,
        // an overflow) or aborted `pipe coadd` (an image of 10¹⁸ pixels); each is refused at its line, with its range.
        let cases = [("PATCHES 410 12", "PATCHES 410", "PATCHES takes 2"), ("BORDER 30", "BORDERS 30", "unknown sky map key 'BORDERS'"),
                     ("PIXELSCALE 0.396", "PIXELSCALE 0.396e-6", "PIXELSCALE takes one number of arcseconds per pixel from 0.01 to 100.0, got '0.396e-6'"),
                     ("CRPIX 410000 11442", "CRPIX 1e300 11442", "CRPIX must lie on the tract's pixel grid, x from 0.5 to 820000.5"),
                     ("CRPIX 410000 11442", "CRPIX nan 11442", "CRPIX takes 2 numbers, got 'nan 11442'"),
                     ("BORDER 30", "BORDER 1000000000", "BORDER takes one pixel count from 0 to 33554432, got '1000000000'"),
                     ("BORDER 30", "BORDER 4000", "has 99070000 pixels, more than 33554432"),
                     ("TRACTS 4", "TRACTS 1e300", "TRACTS takes one whole number from 1 to 360"),
                     ("TRACTS 4", "TRACTS 2.5", "TRACTS takes one whole number from 1 to 360"),
                     ("PATCHES 410 12", "PATCHES 9223372036854775807 12", "PATCHES takes 2 whole numbers from 1 to 8192"),
                     ("PATCHES 410 12", "PATCHES 8192 8192", "is more than 1048576 patches in a tract"),
                     ("PROJECTION CEA", "PROJECTION XYZ", "wcslib refuses the projection XYZ")]
        let fifo = directory.appendingPathComponent("fifo.skymap").path
        try #require(mkfifo(fifo, 0o600) == 0)
        let unread = #expect(throws: ConfigError.self) { _ = try SkyMap.load(contentsOf: fifo) }
        #expect(unread?.description == "\(fifo):0: the sky map is a FIFO, not a regular file; not read")
        for (change, line, words) in cases {
            let path = directory.appendingPathComponent("bad.skymap").path
            try text.replacingOccurrences(of: change, with: line).write(toFile: path, atomically: true, encoding: .utf8)
            let number = text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0 == change }! + 1
            let error = #expect(throws: ConfigError.self) { _ = try SkyMap.load(contentsOf: path) }
            #expect(error?.description.hasPrefix("\(path):\(number): ") == true && error?.description.contains(words) == true,
                    "\(String(describing: error))")
        }
    }
}

@Suite("sky map against astropy")
struct SkyMapAgainstAstropy {
    @Test("tract 0's CEA header: the seed patch's corners agree with astropy.wcs to 1e-9°", Astropy.usableOrCI)
    func cornersAgreeWithAstropy() throws {
        try Astropy.require()
        let map = try SkyMap.load(contentsOf: SkyMapGeometry.file)
        let patch = PatchId(tract: 0, x: 380, y: 5)
        let header = FileManager.default.temporaryDirectory.appendingPathComponent("dcprod-tract-\(UUID().uuidString).hdr")
        try SkyMap.header(map.geometry, tract: 0).cards.write(to: header, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: header) }
        let box = map.outerBox(of: patch)
        let pixels = [(box.xMax, box.yMin), (box.xMax, box.yMax), (box.xMin, box.yMax), (box.xMin, box.yMin), (1.0, 1.0), (820000.0, 22884.0)]
        let script = URL(fileURLWithPath: Astropy.script()).deletingLastPathComponent().appendingPathComponent("astropy_pix2world.py").path
        let result = try runProcess(Astropy.env, ["python3", script, header.path] + pixels.flatMap { [String($0.0), String($0.1)] })
        try #require(result.status == 0, "astropy_pix2world.py: \(result.stderr)")
        let theirs = result.stdout.split(separator: "\n").map { $0.split(separator: " ").compactMap { Double($0) } }
        let ours = try WCS(header: SkyMap.header(map.geometry, tract: 0)).sky(pixels.map { (x: $0.0, y: $0.1) })
        try #require(theirs.count == ours.count)
        for (a, b) in zip(ours, theirs) {
            #expect(abs(a.ra - b[0]) < 1e-9 && abs(a.dec - b[1]) < 1e-9, "dcprod \(a) astropy \(b)")
        }
        #expect(try map.corners(of: patch).map(\.ra) == Array(ours.prefix(4).map(\.ra)))
    }
}
