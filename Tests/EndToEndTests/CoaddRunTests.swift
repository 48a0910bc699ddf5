import Foundation
import Testing

/// processCcd, coadd and forcedPhot on the local backend, as a user runs them, around the seed's
/// patch `0-380,5`: the coadd's events are the patches that verified calexps touch, its report
/// counts patches, the seed's three queries answer from the loaded catalog, and forcedPhot's jobs
/// measure every calexp at the DeepSource positions without the catalog.
@Suite(.serialized) struct CoaddRun {
    @Test func theSeedsQueriesAnswerFromCoaddsOfVerifiedCalexps() throws {
        let work = try Workspace()
        try SeedPatch.prepare(work, filters: "g r", frames: 16, seed: 5, defects: 0.15, extra: """
            EVENTSPERJOB processCcd 4
            EVENTSPERJOB coadd 2
            MAXRUNNING 2
            """)
        for arguments in [["plan", "processCcd"], ["submit", "processCcd"]] {
            let result = try DCProd.run(arguments, in: work.url)
            try #require(result.status == 0, "\(arguments): \(result.stderr)")
        }
        let verified = try DCProd.run(["verify", "processCcd"], in: work.url)
        try #require(verified.status <= 1, "\(verified.stderr)")

        let plan = try DCProd.run(["plan", "coadd"], in: work.url)
        try #require(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.hasPrefix("plan coadd: "), "\(plan.stdout)")
        let submit = try DCProd.run(["submit", "coadd"], in: work.url)
        #expect(submit.status == 0, "\(submit.stderr)")
        let verify = try DCProd.run(["verify", "coadd"], in: work.url)
        #expect(verify.status == 0, "every patch coadded: \(verify.stdout)\(verify.stderr)")
        #expect(verify.stdout.contains("Step coadd, filter r\nEvents processed: "))
        #expect(verify.stdout.contains("no input calexp: 0") && !verify.stdout.contains("astrometry problem"), "\(verify.stdout)")

        // The patches are those the ok calexps touch: the seed's among them, in both filters.
        let status = try DCProd.run(["status", "--json"], in: work.url)
        struct Status: Decodable {
            struct Count: Decodable { var step: String; var filter: String; var state: String; var count: Int }
            var events: [Count]
        }
        let counts = try JSONDecoder().decode(Status.self, from: Data(status.stdout.utf8)).events.filter { $0.step == "coadd" }
        #expect(Set(counts.map(\.filter)) == ["g", "r"] && counts.allSatisfy { $0.state == "ok" }, "\(counts)")

        for arguments in [["load", "--init"], ["load", "processCcd"], ["load", "coadd"]] {
            let result = try DCProd.run(arguments, in: work.url)
            #expect(result.status == 0, "\(arguments): \(result.stdout)\(result.stderr)")
        }
        let patches = try DCProd.run(["sql", "--csv", "SELECT tract, patch FROM DeepCoadd WHERE ra > 6.0 and ra < 7.0 and decl > -0.2 and decl < 0.0"], in: work.url)
        #expect(patches.stdout.contains("0,\"380,5\""), "\(patches.stdout)\(patches.stderr)")
        let corners = try DCProd.run(["sql", "--csv", "SELECT corner1Ra, corner1Decl, corner3Ra, corner2Decl FROM DeepCoadd WHERE tract = 0 AND patch = '380,5'"], in: work.url)
        let box = corners.stdout.split(separator: "\n").dropFirst().first?.split(separator: ",").compactMap { Double($0) } ?? []
        try #require(box.count == 4, "\(corners.stdout)\(corners.stderr)")
        #expect(abs(box[0] - 6.27664) < 1e-5 && abs(box[1] + 0.21301) < 1e-5 && abs(box[2] - 6.50324) < 1e-5 && abs(box[3] - 0.00335) < 1e-5)
        let sources = try DCProd.run(["sql", "--csv", "SELECT ra, decl, raVar, declVar, psfFlux, psfFluxSigma, modelFlux, modelFluxSigma, filterId FROM DeepSource WHERE ra > 6.27664 AND ra < 6.50324 AND decl > -0.21301 AND decl < 0.00335 LIMIT 100000"], in: work.url)
        #expect(sources.stdout.split(separator: "\n").count > 20, "\(sources.stdout.prefix(300))\(sources.stderr)")

        // forcedPhot: the positions are read from the catalog when planning; the jobs run with the
        // catalog gone, so none of them can have opened it.
        let planned = try DCProd.run(["plan", "forcedPhot"], in: work.url)
        try #require(planned.status == 0, "\(planned.stderr)")
        let catalog = work.url.appendingPathComponent("lsstprod-data/DC_2013/catalog.sqlite")
        let away = catalog.appendingPathExtension("away")
        try FileManager.default.moveItem(at: catalog, to: away)
        let forced = try DCProd.run(["submit", "forcedPhot"], in: work.url)
        #expect(forced.status == 0, "\(forced.stderr)")
        try FileManager.default.moveItem(at: away, to: catalog)
        let verifyForced = try DCProd.run(["verify", "forcedPhot"], in: work.url)
        #expect(verifyForced.status == 0, "every ok calexp measured without the catalog: \(verifyForced.stdout)")
        #expect(verifyForced.stdout.contains("Step forcedPhot, filter g\nEvents processed: "))
        let loadForced = try DCProd.run(["load", "forcedPhot"], in: work.url)
        #expect(loadForced.status == 0, "\(loadForced.stdout)\(loadForced.stderr)")
        let joined = try DCProd.run(["sql", "--csv", "SELECT COUNT(*), COUNT(DISTINCT f.deepSourceId) FROM DeepForcedSource f JOIN DeepSource s ON s.deepSourceId = f.deepSourceId"], in: work.url)
        let measured = joined.stdout.split(separator: "\n").last?.split(separator: ",").compactMap { Int($0) } ?? []
        #expect(measured.count == 2 && measured[0] > measured[1] && measured[1] > 20, "each DeepSource measured on several epochs: \(joined.stdout)")
    }
}
