import Foundation
import Testing

/// The embedded catalog's file, lost: deleted under a running `dcprod run`, it is named, never recreated
/// empty behind the user's back, and made again from the steps' results by the remedy it names; a
/// result file that is a symbolic link is refused unread, and `load --status` shows no line of its target.
@Suite(.serialized) struct CatalogFile {
    @Test func aCatalogDeletedDuringARunIsNamedAndMadeAgainFromTheResults() throws {
        let work = try Workspace()
        try SeedPatch.prepare(work, filters: "r", frames: 6, seed: 9, defects: 0, extra: """
            EVENTSPERJOB processCcd 1
            EVENTSPERJOB coadd 1
            EVENTSPERJOB forcedPhot 1
            MAXRUNNING 1
            """)
        let data = work.url.appendingPathComponent("lsstprod-data/DC_2013")
        let catalog = data.appendingPathComponent("catalog.sqlite").path
        func delete() { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: catalog + suffix) } }
        func sources() -> Int {
            Int((try? output(of: ["sqlite3", catalog, "SELECT COUNT(*) FROM Source"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? "") ?? 0
        }

        // The run's catalog is deleted once it holds the first frames' sources, jobs still to come.
        let errors = work.url.appendingPathComponent("run.err")
        try #require(FileManager.default.createFile(atPath: errors.path, contents: nil))
        let manager = Process()
        manager.executableURL = DCProd.executable
        manager.arguments = ["run"]
        manager.currentDirectoryURL = work.url
        manager.standardOutput = FileHandle.nullDevice
        manager.standardError = try FileHandle(forWritingTo: errors)
        try manager.run()
        let deadline = Date().addingTimeInterval(300)
        while sources() == 0 && manager.isRunning && Date() < deadline { usleep(50_000) }
        #expect(manager.isRunning, "the run ended before its catalog could be deleted")
        delete()
        manager.waitUntilExit()
        let said = try String(contentsOf: errors, encoding: .utf8)
        #expect(manager.terminationStatus == 1 && said.contains("""
            dcprod: error: the catalog file \(catalog) was deleted while dcprod had it open, and what was loaded into it went with it; \
            run `dcprod run` again, which makes it anew and loads every step's results from their files
            """), "\(said)")

        // A load does not make an empty catalog where the file was: it names the file and the remedy.
        let load = try DCProd.run(["load", "processCcd"], in: work.url)
        #expect(load.status == 1 && load.stderr == """
            dcprod: error: the catalog file \(catalog) does not exist; run `dcprod load --init` to make it, then \
            `dcprod load STEP` for each step: the results are loaded from their files

            """, "\(load.stderr)")
        #expect(!FileManager.default.fileExists(atPath: catalog))

        // The remedy: the run goes on, and every step's results are in the new catalog.
        let again = try DCProd.run(["run"], in: work.url)
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        let counts = try DCProd.run(["sql", "--csv", """
            SELECT (SELECT COUNT(*) FROM Source) > 0, (SELECT COUNT(*) FROM DeepCoadd) > 0, (SELECT COUNT(*) FROM DeepForcedSource) > 0
            """], in: work.url)
        #expect(counts.stdout.split(separator: "\n").last == "1,1,1", "\(counts.stdout)\(counts.stderr)")
        let status = try DCProd.run(["load", "--status"], in: work.url)
        #expect(status.stdout.contains("0 pending, 0 rejected"), "\(status.stdout)\(status.stderr)")

        // A result replaced by a symbolic link to /etc/passwd is refused unread.
        let results = FileManager.default.enumerator(at: data.appendingPathComponent("processCcd"), includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { $0.lastPathComponent.hasPrefix("src-") && $0.pathExtension == "csv" } ?? []
        let linked = try #require(results.first).path
        try FileManager.default.removeItem(atPath: linked)
        try FileManager.default.createSymbolicLink(atPath: linked, withDestinationPath: "/etc/passwd")
        delete()
        #expect(try DCProd.run(["load", "--init"], in: work.url).status == 0)
        let refused = try DCProd.run(["load", "processCcd"], in: work.url)
        let line = "  rejected \(linked): a symbolic link to /etc/passwd, not read: a step's result must be the file itself\n"
        #expect(refused.status == 1 && refused.stdout.contains(line), "\(refused.stdout)\(refused.stderr)")
        let shown = try DCProd.run(["load", "--status"], in: work.url)
        #expect(shown.stdout.contains("1 rejected\n" + line), "\(shown.stdout)")
        let passwd = try String(contentsOfFile: "/etc/passwd", encoding: .utf8).split(separator: "\n").first.map(String.init) ?? "root:"
        #expect(!(refused.stdout + shown.stdout).contains(passwd) && !(refused.stdout + shown.stdout).contains("root:"))
    }
}
