import Basics
@testable import Catalog
import CatalogAnalysis
import Foundation
import Sky
import Testing

/// `CatalogSelection` and the crossmatch on both engines, on a catalog written row by row: a coadd of
/// two patches whose sources straddle RA 0, their non-primary copies, forced photometry of them, and
/// single-frame sources.
@Suite(.serialized) struct CatalogSelectionTests {
    /// Zero points: the coadd's 27, the calexp's 25.
    static func fill(_ catalog: CatalogDatabase) throws {
        _ = try CatalogSchema.initialize(catalog, templates: repositoryTemplates)
        for sql in [
            "INSERT INTO DeepCoadd (deepCoaddId, tract, patch, filterId, zeroPoint) VALUES (10, 0, '0,5', 2, 27), (11, 0, '1,5', 2, 27), (12, 0, '0,5', 1, 27)",
            "INSERT INTO Science_Ccd_Exposure (run, camcol, field, filterId, zeroPoint) VALUES (94, 1, 11, 2, 25)",
            // Primary sources on both sides of RA 0, a border copy of the first, one in g, one far away.
            "INSERT INTO RunDeepSource (deepSourceId, deepCoaddId, tract, patch, filterId, ra, decl, psfFlux, psfFluxSigma, isPrimary) VALUES "
                + "(1, 10, 0, '0,5', 2, 359.9998, 0.1, 1000, 10, 1), (2, 11, 0, '1,5', 2, 0.0002, 0.1, 100, 5, 1), "
                + "(3, 11, 0, '1,5', 2, 359.9998, 0.1, 1000, 10, 0), (4, 12, 0, '0,5', 1, 359.9990, 0.1, 1000, 10, 1), "
                + "(5, 10, 0, '0,5', 2, 180.0, 0.1, 1000, 10, 1)",
            "INSERT INTO RunDeepForcedSource (deepForcedSourceId, deepSourceId, run, camcol, field, filterId, ra, decl, psfFlux, psfFluxSigma) VALUES "
                + "(100, 1, 94, 1, 11, 2, 359.9998, 0.1, 100, 3), (101, 2, 94, 1, 11, 2, 0.0002, 0.1, 10, 2)",
            "INSERT INTO Source (sourceId, run, camcol, field, filterId, ra, decl, psfFlux, psfFluxSigma) VALUES "
                + "(1000, 94, 1, 11, 2, 0.0001, 0.1, 100, 3), (1001, 94, 1, 11, 2, 10.0, 0.1, 100, 3)",
        ] { try catalog.execute(sql) }
    }

    static let acrossZero = Region(raMin: 359.99, raMax: 0.01, decMin: 0, decMax: 0.2)

    static func ids(_ selection: CatalogSelection, _ catalog: CatalogDatabase) throws -> [String] {
        try Crossmatch.sources(of: selection, in: catalog).map(\.id)
    }

    @Test(arguments: Engine.available)
    func aRegionThroughRAZeroSelectsBothSidesPrimaryOnly(_ engine: Engine) throws {
        let scratch = try ScratchCatalog(engine)
        try Self.fill(scratch.catalog)
        let reader = try scratch.connection(readOnly: true)
        #expect(try Self.ids(CatalogSelection(area: .region(Self.acrossZero), filters: [.r]), reader) == ["1", "2"])
        #expect(try Self.ids(CatalogSelection(area: .region(Self.acrossZero), filters: [.r], includeNonPrimary: true), reader) == ["1", "2", "3"])
        #expect(try Self.ids(CatalogSelection(area: .region(Self.acrossZero)), reader) == ["1", "2", "4"])
        #expect(try Self.ids(CatalogSelection(table: .source, area: .region(Self.acrossZero)), reader) == ["1000"])
        #expect(try Self.ids(CatalogSelection(table: .deepForcedSource, area: .region(Self.acrossZero)), reader) == ["100", "101"])
        // The patches: DeepSource by tract and patch, DeepForcedSource by the DeepSource it was measured at.
        let patch = [PatchId(tract: 0, x: 1, y: 5)]
        #expect(try Self.ids(CatalogSelection(area: .patches(patch), includeNonPrimary: true), reader) == ["2", "3"])
        #expect(try Self.ids(CatalogSelection(table: .deepForcedSource, area: .patches(patch)), reader) == ["101"])
        #expect(CatalogSelection(table: .source, area: .patches(patch)).impossibility?.contains("--region") == true)
        // Magnitudes from the zero point of each row's image: the coadd's 27, the calexp's 25.
        let sources = try Crossmatch.sources(of: CatalogSelection(table: .deepForcedSource, area: .region(Self.acrossZero)), in: reader)
        #expect(sources.map { $0.magnitude.map { ($0 * 1000).rounded() / 1000 } } == [20, 22.5])
    }

    @Test(arguments: Engine.available)
    func theCrossmatchCountsAsTheSeedDid(_ engine: Engine) throws {
        let scratch = try ScratchCatalog(engine)
        try Self.fill(scratch.catalog)
        // Reference: the two r sources (magnitudes 19.5 and 22.0 against the catalog's 19.5 and 22.0),
        // one 2 mag off (no match), one with no r magnitude, and one outside the region.
        let file = try scratch.write("ref.csv", """
            id,ra,dec,isStar,r,rErr
            a,359.99985,0.10005,1,19.6,0.02
            b,0.00025,0.1,1,22.0,0.1
            c,359.995,0.15,1,17.0,0.02
            d,0.005,0.05,0,99,99
            e,20.0,0.1,1,18.0,0.02

            """)
        let reference = try ReferenceObjects(path: file)
        let selection = CatalogSelection(area: .region(Self.acrossZero), filters: [.r])
        let sources = try Crossmatch.sources(of: selection, in: scratch.connection(readOnly: true))
        let result = try #require(try Crossmatch().run(sources: sources, reference: reference, filters: [.r]) {
            try selection.contains($0, skyMap: nil)
        }.first)
        #expect(result.lines[1] == "reference objects in the region: 3")
        #expect(result.lines[2] == "catalog sources matched (unique): 2 (66.7 %)")
        #expect(result.lines[3] == "reference objects unmatched: 1 (first: ra 359.995000 dec 0.150000 mag 17.00, …)")
        #expect(result.referenceWithoutMagnitude == 1)
        let files = try CrossmatchFiles.write(result, to: scratch.directory.appendingPathComponent("out"), idColumn: "deepSourceId")
        let matched = try String(contentsOf: files.matched, encoding: .utf8).split(separator: "\n")
        #expect(matched.count == 3 && matched[1].hasPrefix("a,359.99985,0.10005,19.6,1,359.9998,0.1,19.5"), "\(matched)")
        #expect(try String(contentsOf: files.figure, encoding: .utf8).hasPrefix("<svg"))
        // Position only, the seed's second look: the bright star 2 mag off is still not within 0.0005°.
        let loose = try Crossmatch(tolerances: .init(magnitude: nil)).run(sources: sources, reference: reference, filters: [.r]) {
            try selection.contains($0, skyMap: nil)
        }
        #expect(loose.first?.pairs.count == 2)
    }

    @Test func aBadReferenceLineIsNamed() throws {
        let scratch = try ScratchCatalog(.sqlite)
        let file = try scratch.write("bad.csv", "id,ra,decl,r\n1,10.0,0.1,20\n2,ten,0.1,20\n")
        #expect(throws: ReferenceError.self) { try ReferenceObjects(path: file) }
        do { _ = try ReferenceObjects(path: file) } catch { #expect("\(error)" == "\(file):3: RA \"ten\" is not a number of degrees") }
        let noMagnitude = try scratch.write("nomag.csv", "id,ra,decl,psfMag_r\n1,10.0,0.1,20\n")
        do { _ = try ReferenceObjects(path: noMagnitude) } catch {
            #expect("\(error)".hasPrefix("\(noMagnitude):1: no magnitude column {filter} for any of u g r i z"))
        }
        #expect(try ReferenceObjects(path: noMagnitude, columns: .init(magnitude: "psfMag_{filter}")).objects.count == 1)
    }
}
