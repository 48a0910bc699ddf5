import Basics
import Foundation
import Sky
import Testing

/// A celestial TAN header written by hand, as other software writes them (not by dcprod).
struct HandMadeHeader: Sendable, CustomTestStringConvertible {
    var label: String
    var fileName: String
    var width: Int
    var height: Int
    /// Key and value text, the value exactly as it goes in columns 11–30 (or as a quoted string).
    var cards: [(key: String, value: String)]
    /// The pixel (x, y) of CRPIX and the (RA, Dec) of CRVAL.
    var reference: (pixel: (x: Double, y: Double), sky: SkyPoint)

    var testDescription: String { label }

    /// The primary HDU: header then a zero 8-bit image, each padded to 2880-byte blocks.
    var fileBytes: Data {
        func card(_ key: String, _ value: String) -> String {
            let body = value.hasPrefix("'") ? value : String(repeating: " ", count: max(0, 20 - value.count)) + value
            return (key.padding(toLength: 8, withPad: " ", startingAt: 0) + "= " + body)
                .padding(toLength: 80, withPad: " ", startingAt: 0)
        }
        var text = [card("SIMPLE", "T"), card("BITPIX", "8"), card("NAXIS", "2"),
                    card("NAXIS1", String(width)), card("NAXIS2", String(height))]
        text += cards.map { card($0.key, $0.value) }
        text.append("COMMENT   Hand-made celestial WCS header for the dcprod SkyTests".padding(toLength: 80, withPad: " ", startingAt: 0))
        text.append("END".padding(toLength: 80, withPad: " ", startingAt: 0))
        var header = text.joined()
        header += String(repeating: " ", count: (2880 - header.utf8.count % 2880) % 2880)
        var data = Data(header.utf8)
        let pixels = width * height
        data.append(Data(count: pixels + (2880 - pixels % 2880) % 2880))
        return data
    }
}

/// `PCi_j` of a rotation by `degrees` (Calabretta & Greisen 2002, eq. 189 with equal scales).
private func rotationPC(_ degrees: Double) -> [(key: String, value: String)] {
    let (s, c) = (sin(degrees * .pi / 180), cos(degrees * .pi / 180))
    func text(_ x: Double) -> String { String(format: "%.17G", x) }
    return [("PC1_1", text(c)), ("PC1_2", text(-s)), ("PC2_1", text(s)), ("PC2_2", text(c))]
}

let handMadeHeaders: [HandMadeHeader] = [
    HandMadeHeader(
        label: "CDELT and PC rotated by 30°, Dec 2.2", fileName: "fpC-001234-r3-0042.fit", width: 1000, height: 800,
        cards: [("CTYPE1", "'RA---TAN'"), ("CTYPE2", "'DEC--TAN'"), ("CRPIX1", "512.3"), ("CRPIX2", "401.7"),
                ("CRVAL1", "150.1"), ("CRVAL2", "2.2"), ("CDELT1", "-7.5E-05"), ("CDELT2", "7.5E-05")]
            + rotationPC(30) + [("CUNIT1", "'deg     '"), ("CUNIT2", "'deg     '"), ("RADESYS", "'ICRS    '")],
        reference: ((512.3, 401.7), (150.1, 2.2))),
    HandMadeHeader(
        label: "CDELT and PC rotated by 30°, Dec 60", fileName: "fpC-001234-r3-0043.fit", width: 1000, height: 800,
        cards: [("CTYPE1", "'RA---TAN'"), ("CTYPE2", "'DEC--TAN'"), ("CRPIX1", "512.3"), ("CRPIX2", "401.7"),
                ("CRVAL1", "150.1"), ("CRVAL2", "60.0"), ("CDELT1", "-7.5E-05"), ("CDELT2", "7.5E-05")]
            + rotationPC(30) + [("RADESYS", "'FK5     '"), ("EQUINOX", "2000.0")],
        reference: ((512.3, 401.7), (150.1, 60))),
    HandMadeHeader(
        label: "skewed CD matrix across RA 0, Dec -35", fileName: "fpC-001234-r3-0044.fit", width: 1000, height: 800,
        cards: [("CTYPE1", "'RA---TAN'"), ("CTYPE2", "'DEC--TAN'"), ("CRPIX1", "500.5"), ("CRPIX2", "400.5"),
                ("CRVAL1", "0.01"), ("CRVAL2", "-35.0"),
                ("CD1_1", "-7.4E-05"), ("CD1_2", "1.2E-05"), ("CD2_1", "1.1E-05"), ("CD2_2", "7.6E-05")],
        reference: ((500.5, 400.5), (0.01, -35))),
    HandMadeHeader(
        label: "PC rotated by -20°, 0.1° from the pole", fileName: "fpC-001234-r3-0045.fit", width: 1000, height: 800,
        cards: [("CTYPE1", "'RA---TAN'"), ("CTYPE2", "'DEC--TAN'"), ("CRPIX1", "512.3"), ("CRPIX2", "401.7"),
                ("CRVAL1", "45.0"), ("CRVAL2", "89.9"), ("CDELT1", "-7.5E-05"), ("CDELT2", "7.5E-05")]
            + rotationPC(-20),
        reference: ((512.3, 401.7), (45, 89.9))),
    HandMadeHeader(
        label: "Dec on the first axis, RA on the second", fileName: "fpC-001234-r3-0046.fit", width: 1000, height: 800,
        cards: [("CTYPE1", "'DEC--TAN'"), ("CTYPE2", "'RA---TAN'"), ("CRPIX1", "512.3"), ("CRPIX2", "401.7"),
                ("CRVAL1", "2.2"), ("CRVAL2", "150.1"), ("CDELT1", "7.5E-05"), ("CDELT2", "-7.5E-05")]
            + rotationPC(30),
        reference: ((512.3, 401.7), (150.1, 2.2))),
]

@Suite("footprints against astropy")
struct FootprintTests {
    @Test("simulated frames: FrameHeader footprints agree with astropy to 1e-6°", Astropy.usableOrCI,
          arguments: [smallRegion, Region(raMin: 200, raMax: 201, decMin: 59.5, decMax: 60.5)])
    func simulatedFrames(region: Region) throws {
        try Astropy.require()
        try withTemporaryDirectory { root in
            try simulate(smallOptions(root, frames: 10, defects: 0, region: region))
            let frames = FrameFile.all(under: root.path)
            #expect(frames.count == 10)
            var ours: [String: FrameHeader] = [:]
            for frame in frames {
                ours[frame.path] = try FrameHeader.read(path: frame.path, name: frame.name)
            }
            let theirs = try Astropy.footprints(frames.map(\.path))
            #expect(Set(theirs.keys) == Set(ours.keys))
            for (path, header) in ours.sorted(by: { $0.key < $1.key }) {
                #expect(header.width == 128 && header.height == 93)
                let reference = try #require(theirs[path], "astropy printed nothing for \(path)")
                expectAgreement(footprint(header), reference, (path as NSString).lastPathComponent)
                // The centre pixel is CRPIX, so the centre is CRVAL, inside the region.
                #expect(region.contains(ra: header.center.ra, dec: header.center.dec))
            }
        }
    }

    @Test("hand-made TAN headers: footprints agree with astropy to 1e-6°", Astropy.usableOrCI, arguments: handMadeHeaders)
    func handMade(header: HandMadeHeader) throws {
        try Astropy.require()
        try withTemporaryDirectory { root in
            let url = root.appendingPathComponent(header.fileName)
            try header.fileBytes.write(to: url)
            let name = try #require(FrameName(fileName: header.fileName))
            let frame = try FrameHeader.read(path: url.path, name: name)
            #expect(frame.width == header.width && frame.height == header.height)

            // CRPIX maps to CRVAL, whatever the axis order and matrix form.
            let file = try FITSFile.open(url.path)
            defer { try? file.close() }
            let wcs = try WCS(header: file.header())
            let atReference = try wcs.sky([header.reference.pixel])
            let d = offsets(atReference[0], header.reference.sky)
            #expect(d.ra < 1e-10 && d.dec < 1e-10, "CRPIX goes to \(atReference[0]), not CRVAL \(header.reference.sky)")
            // And back: the footprint's sky positions return to their pixels.
            let back = try wcs.pixels(footprint(frame))
            let pixels: [(x: Double, y: Double)] = [(1, 1), (1000, 1), (1000, 800), (1, 800), (500.5, 400.5)]
            for (p, q) in zip(back, pixels) {
                #expect(abs(p.x - q.x) < 1e-6 && abs(p.y - q.y) < 1e-6, "round trip gives \(p), not \(q)")
            }

            let theirs = try Astropy.footprints([url.path])
            let reference = try #require(theirs[url.path], "astropy printed nothing for \(url.path)")
            expectAgreement(footprint(frame), reference, header.label)
        }
    }
}
