import Basics
import CatalogAnalysis
import Foundation
import Testing

/// The zone index finds every neighbour a loop over all positions finds, at any declination and across
/// RA 0/360, and the match is one-to-one, nearest first.
@Suite struct SkyMatchTests {
    /// A seeded generator, so that a failure is the same on the next run.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state
        }
    }

    /// Pairs within `tolerance` on each axis, by a loop over every pair.
    static func bruteForce(_ a: [SkyPosition], _ b: [SkyPosition], tolerance: Double) -> Set<[Int]> {
        var out = Set<[Int]>()
        for (i, p) in a.enumerated() {
            for (j, q) in b.enumerated() {
                let (east, north) = p.offset(to: q)
                if abs(east) <= tolerance && abs(north) <= tolerance { out.insert([i, j]) }
            }
        }
        return out
    }

    @Test(arguments: [(0.0, 0.02), (-45.0, 0.02), (89.5, 0.4), (-89.98, 0.02)])
    func theIndexFindsWhatALoopFinds(dec: Double, height: Double) {
        var random = Generator(state: UInt64(bitPattern: Int64(dec * 1000)) &+ 7)
        // A strip around RA 0 (and all RAs near a pole), with pairs close enough to match.
        func position() -> SkyPosition {
            let ra = Double.random(in: -0.05...0.05, using: &random)
            return SkyPosition(ra: abs(dec) > 89 ? Double.random(in: 0..<360, using: &random) : (ra < 0 ? ra + 360 : ra),
                               dec: max(-90, min(90, dec + Double.random(in: -height...height, using: &random))))
        }
        let a = (0..<600).map { _ in position() }, b = (0..<600).map { _ in position() }
        let tolerance = 0.003
        let index = ZoneIndex(b, radius: tolerance * 2.0.squareRoot())
        var found = Set<[Int]>()
        for (i, p) in a.enumerated() {
            index.candidates(near: p) { j in
                let (east, north) = p.offset(to: b[j])
                if abs(east) <= tolerance && abs(north) <= tolerance { found.insert([i, j]) }
            }
        }
        let expected = Self.bruteForce(a, b, tolerance: tolerance)
        #expect(!expected.isEmpty)
        #expect(found == expected, "dec \(dec): \(expected.subtracting(found).count) missed, \(found.subtracting(expected).count) extra")
    }

    @Test func aPairAcrossRAZeroMatches() {
        let reference = [SkyPosition(ra: 359.99990, dec: 0.5)]
        let catalog = [SkyPosition(ra: 0.00020, dec: 0.5001)]
        let pairs = SkyMatch.oneToOne(reference: reference, catalog: catalog, tolerance: 0.0005)
        #expect(pairs.count == 1)
        #expect(abs(pairs[0].east - 0.0003 * cos(0.50005 * .pi / 180)) < 1e-9 && abs(pairs[0].north - 0.0001) < 1e-9)
    }

    @Test func eachSideIsTakenOnceNearestFirst() {
        // Two reference objects 1″ apart, and two sources: the nearer pair is made first, and the
        // other reference object takes the remaining source although it is nearer to the first.
        let reference = [SkyPosition(ra: 10, dec: 0), SkyPosition(ra: 10 + 1 / 3600.0, dec: 0)]
        let catalog = [SkyPosition(ra: 10 + 0.9 / 3600.0, dec: 0), SkyPosition(ra: 10 - 0.3 / 3600.0, dec: 0)]
        let pairs = SkyMatch.oneToOne(reference: reference, catalog: catalog, tolerance: 0.0005)
        #expect(pairs.map { [$0.reference, $0.catalog] } == [[0, 1], [1, 0]])
        // With a third source at the same place as the first, it stays unmatched.
        let crowded = SkyMatch.oneToOne(reference: [reference[0]], catalog: catalog + [catalog[1]], tolerance: 0.0005)
        #expect(crowded.count == 1)
    }

    @Test func aPairOutsideTheBoxOnOneAxisDoesNotMatch() {
        let reference = [SkyPosition(ra: 30, dec: 60)]
        // 0.0006° in Dec: outside; 0.0009° of RA at Dec 60 is 0.00045° on the sky: inside.
        #expect(SkyMatch.oneToOne(reference: reference, catalog: [SkyPosition(ra: 30, dec: 60.0006)], tolerance: 0.0005).isEmpty)
        #expect(SkyMatch.oneToOne(reference: reference, catalog: [SkyPosition(ra: 30.0009, dec: 60)], tolerance: 0.0005).count == 1)
    }
}
