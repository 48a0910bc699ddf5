import Foundation
import Testing

/// What careless operators do to a production, and what dcprod makes of it (issue 13).
@Suite struct HostileInput {
    /// A state store deleted, emptied or overwritten is one error naming it, and nothing is written:
    /// recreating it empty would lose the history and reuse the old jobs' names and outcome files.
    @Test func aLostStateStoreIsAnErrorAndIsNeverRecreated() throws {
        let work = try Workspace()
        try work.write(work.seedConfig + "\nREGION 6 7 -0.4 0.2\n", to: "fichconfig.txt")
        try #require(try DCProd.run(["prepare", "fichconfig.txt"], in: work.url).status == 0)
        let store = work.url.appendingPathComponent("lsstprod/DC_2013/state.sqlite")
        let fm = FileManager.default
        for (damage, words) in [("deleted", "the state store is missing"), ("emptied", "the state store is empty"),
                                ("overwritten", "the state store cannot be read")] {
            try? fm.removeItem(at: store)
            for suffix in ["-wal", "-shm"] { try? fm.removeItem(atPath: store.path + suffix) }
            switch damage {
            case "emptied": try Data().write(to: store)
            case "overwritten": try Data(repeating: 0x41, count: 8192).write(to: store)
            default: break
            }
            for verb in [["status"], ["inventory"], ["plan", "processCcd"]] {
                let result = try DCProd.run(verb, in: work.url)
                #expect(result.status == 1, "\(damage), \(verb): \(result.stdout)")
                #expect(result.stderr.contains(store.path) && result.stderr.contains(words) && result.stderr.contains("restore it from a backup"),
                        "\(damage), \(verb): \(result.stderr)")
            }
            let size = (try? fm.attributesOfItem(atPath: store.path)[.size] as? Int) ?? nil
            #expect(size == ["deleted": nil, "emptied": 0, "overwritten": 8192][damage]!, "\(damage): the store was written")
        }
    }

    /// A MAINDIR and a DATAMAIN full of what a shell would interpret — `$(…)`, backticks, quotes of
    /// both kinds, `;`, `*`, non-ASCII (spaces the config refuses) — are paths like any other: the
    /// local backend's jobs run, every event is ok, and nothing the names hold is executed.
    @Test func pathsAShellWouldInterpretAreOnlyPaths() throws {
        try Self.runWithPathsAShellWouldInterpret(backend: "local")
    }

    /// A production under a directory named with `$(…)`, backticks, quotes, `;`, `*` and é, run on a
    /// backend (`extra`: its config lines): every job's script takes the paths as they are, and
    /// nothing named PWNED is made anywhere.
    static func runWithPathsAShellWouldInterpret(backend: String, extra: String = "") throws {
        let work = try Workspace()
        let hostile = work.url.appendingPathComponent("a b$(touch PWNED)`touch PWNED`'q'\"d\";*é|p")
        try FileManager.default.createDirectory(at: hostile, withIntermediateDirectories: true)
        try work.write("""
            MAINDIR \(hostile.path)/lsstprod
            DCNAME DC_2013
            DATAMAIN \(hostile.path)/lsstprod-data
            DBHOST sqlite
            DBUSER lsst_prod
            REGION \(SeedPatch.region)
            FILTERS r
            EVENTSPERJOB processCcd 2
            BACKEND \(backend)
            \(extra)
            """, to: "fichconfig.txt")
        for arguments in [["prepare", "fichconfig.txt"],
                          ["pipe", "simulate", "--frames", "4", "--seed", "5", "--size", "1024x744", "--pixel-scale", "0.8", "--filters", "r",
                           "--region", SeedPatch.region, "\(hostile.path)/lsstprod-data/DC_2013/input"],
                          ["inventory"], ["plan", "processCcd"], ["submit", "processCcd", "--wait"], ["verify", "processCcd"]] {
            let result = try DCProd.run(arguments, in: work.url)
            #expect(result.status == 0, "\(arguments): \(result.stdout)\(result.stderr)")
        }
        let script = try String(contentsOf: hostile.appendingPathComponent("lsstprod/DC_2013/steps/processCcd/r/jobs/processCcd-r-000001.\(backend).sh"),
                                encoding: .utf8)
        #expect(script.contains("job run '\(hostile.path.replacingOccurrences(of: "'", with: "'\\''"))"), "\(script)")
        let report = try String(contentsOf: hostile.appendingPathComponent("lsstprod/DC_2013/reports/processCcd-r.txt"), encoding: .utf8)
        #expect(report.contains("Events processed: 4 out of 4:\nok: 4 - 100.0 %"), "\(report)")
        // Nothing named PWNED was made anywhere the jobs could have run.
        var made: [String] = []
        let walk = FileManager.default.enumerator(at: work.url, includingPropertiesForKeys: nil)
        while let url = walk?.nextObject() as? URL {
            if url.lastPathComponent == "PWNED" { made.append(url.path) }
        }
        #expect(made.isEmpty && !FileManager.default.fileExists(atPath: "PWNED"), "\(made)")
    }

    /// A MAINDIR that is a file, or a symbolic link to nothing, is a config error at its line, and
    /// nothing is created (DATAMAIN included).
    @Test func aMainDirThatIsAFileOrADanglingLinkIsAConfigError() throws {
        let work = try Workspace()
        let file = work.url.appendingPathComponent("afile")
        try Data().write(to: file)
        let link = work.url.appendingPathComponent("dangling")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: work.url.appendingPathComponent("nowhere").path)
        for (maindir, words) in [(file.path, "is a file, not a directory"), (link.path, "which does not exist")] {
            try work.write(work.seedConfig.replacingOccurrences(of: "MAINDIR \(work.url.path)/lsstprod", with: "MAINDIR \(maindir)"),
                           to: "fichconfig.txt")
            let result = try DCProd.run(["prepare", "fichconfig.txt"], in: work.url)
            #expect(result.status == 1)
            #expect(result.stderr.contains("fichconfig.txt:1: MAINDIR: cannot make") && result.stderr.contains(words), "\(result.stderr)")
            #expect(work.entries() == ["afile", "dangling", "fichconfig.txt"], "\(work.entries())")
        }
    }

    /// A planned job whose manifest is gone makes `submit` exit 1 naming the file, and nothing is
    /// handed over; a manifest that cannot be read is named without a line number.
    @Test func aMissingManifestStopsSubmitAndNamesIt() throws {
        let work = try Workspace()
        try SeedPatch.prepare(work, filters: "r", frames: 2, seed: 3, defects: 0, extra: "")
        try #require(try DCProd.run(["plan", "processCcd"], in: work.url).status == 0)
        let manifest = work.url.appendingPathComponent("lsstprod/DC_2013/steps/processCcd/r/jobs/processCcd-r-000001.json")
        try FileManager.default.removeItem(at: manifest)
        let submit = try DCProd.run(["submit", "processCcd"], in: work.url)
        #expect(submit.status == 1 && submit.stderr.contains("\(manifest.path): missing: job processCcd-r-000001"), "\(submit.stderr)")
        let store = work.url.appendingPathComponent("lsstprod/DC_2013/state.sqlite").path
        #expect(try output(of: ["sqlite3", store, "SELECT COUNT(*) FROM attempt"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        let run = try DCProd.run(["job", "run", manifest.path], in: work.url)
        #expect(run.status != 0 && run.stderr.contains("\(manifest.path): job manifest cannot be read"), "\(run.stderr)")
    }
}

