import Foundation
import Testing

/// What a person on shift sees when the config or INPUT is wrong: one line naming the file, its
/// line or the path, and what to do; exit status 1, and nothing created (issue 28).
@Suite struct OperatorErrors {
    /// DATAMAIN equal to MAINDIR would put the data tree in the production tree (or be the same
    /// directory): refused at its line by `prepare`, which then creates nothing; a TAB in MAINDIR
    /// (array lists are tab-separated) likewise.
    @Test func treesThatOverlapOrATabInAPathAreRefusedAndNothingIsCreated() throws {
        let work = try Workspace()
        let cases: [(config: String, words: String)] = [
            (work.seedConfig.replacingOccurrences(of: "lsstprod-data", with: "lsstprod"),
             "fichconfig.txt:3: DATAMAIN: the data tree \(work.url.path)/lsstprod/DC_2013 is the production tree"),
            (work.seedConfig.replacingOccurrences(of: "DATAMAIN \(work.url.path)/lsstprod-data", with: "DATAMAIN \(work.url.path)/lsstprod/DC_2013"),
             "is inside the production tree"),
            (work.seedConfig.replacingOccurrences(of: "/lsstprod\n", with: "/lsst\tprod\n"),
             "fichconfig.txt:1: MAINDIR contains a TAB"),
            (work.seedConfig + "\nINPUT \(work.url.path)/lsstprod/DC_2013/frames\n",
             "fichconfig.txt:6: INPUT \(work.url.path)/lsstprod/DC_2013/frames is inside the production tree"),
            (work.seedConfig + "\nINPUT \(work.url.path)\n", "holds the production tree"),
        ]
        for (config, words) in cases {
            try work.write(config, to: "fichconfig.txt")
            let result = try DCProd.run(["prepare", "fichconfig.txt"], in: work.url)
            #expect(result.status == 1 && result.stderr.contains(words), "\(result.stderr)")
            #expect(!result.stderr.contains("NSCocoaErrorDomain"))
            let made = try FileManager.default.contentsOfDirectory(atPath: work.url.path).filter { $0 != "fichconfig.txt" }
            #expect(made.isEmpty, "prepare created \(made)")
        }
    }

    /// An INPUT that is missing (an unmounted file system), empty or without frames is an error for
    /// `inventory` and `run`, naming the path and the frozen config's line; `--allow-empty` goes on.
    @Test func aMissingOrEmptyInputIsAnErrorUnlessAllowed() throws {
        let work = try Workspace()
        try work.write(work.seedConfig + "\nINPUT \(work.url.path)/frames\n", to: "fichconfig.txt")
        try #require(try DCProd.run(["prepare", "fichconfig.txt"], in: work.url).status == 0)
        let conf = "\(work.url.path)/lsstprod/DC_2013/production.conf"
        let input = "\(work.url.path)/frames"
        func expectRefused(_ verb: [String], _ words: String) throws {
            let result = try DCProd.run(verb, in: work.url)
            #expect(result.status == 1 && result.stderr.contains(words) && result.stderr.contains(conf + ":"), "\(verb): \(result.stderr)")
            #expect(result.stderr.contains("--allow-empty"), "\(verb): \(result.stderr)")
        }
        // `prepare` made INPUT: it is gone as a file system's mount point is when nothing is mounted.
        try FileManager.default.removeItem(atPath: input)
        try expectRefused(["inventory"], "INPUT \(input) does not exist (is its file system mounted?)")
        try expectRefused(["run"], "INPUT \(input) does not exist (is its file system mounted?)")
        try FileManager.default.createDirectory(atPath: input, withIntermediateDirectories: true)
        try expectRefused(["inventory"], "INPUT \(input) is empty (is its file system mounted?)")
        try Data("notes".utf8).write(to: URL(fileURLWithPath: input + "/README"))
        try expectRefused(["inventory"], "INPUT \(input) holds no frame files")
        let allowed = try DCProd.run(["inventory", "--allow-empty"], in: work.url)
        #expect(allowed.status == 0 && allowed.stdout.contains("inventory: 0 frame files"), "\(allowed.stderr)")
        let run = try DCProd.run(["run"], in: work.url)
        #expect(run.status == 1 && run.stderr.contains("no frame is inventoried yet: run `dcprod inventory` first"), "\(run.stderr)")
    }
}
