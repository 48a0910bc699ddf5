import Foundation
import Testing

/// A tmpfs mounted for one test (the tests run as root, here and on CI), unmounted when released: a
/// file system that can be filled, and remounted read-only, without touching the machine's.
final class Tmpfs: Sendable {
    let url: URL
    var path: String { url.path }
    private var filler: URL { url.appendingPathComponent("filler") }

    /// Mounts a tmpfs of `size` (e.g. `64m`) on `url`, made if missing.
    init(at url: URL, size: String) throws {
        self.url = url
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try Self.run(["mount", "-t", "tmpfs", "-o", "size=\(size)", "tmpfs", url.path])
    }

    deinit { _ = try? Self.run(["umount", url.path]) }

    /// Whether a tmpfs can be mounted here (root, a kernel that allows it).
    static let canMount: Bool = {
        let probe = FileManager.default.temporaryDirectory.appendingPathComponent("dcprod-tmpfs-probe-\(getpid())")
        defer { try? FileManager.default.removeItem(at: probe) }
        return (try? Tmpfs(at: probe, size: "64k")) != nil
    }()

    static var inCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// `mount -o remount,OPTIONS`: `ro`, `rw`, `size=…`.
    func remount(_ options: String) throws { try Self.run(["mount", "-o", "remount,\(options)", url.path]) }

    /// Writes a filler file until the file system has not one byte left.
    func fill() throws {
        let descriptor = open(filler.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw TestFailure("cannot open \(filler.path)") }
        defer { close(descriptor) }
        let block = [UInt8](repeating: 0, count: 1 << 16)
        for size in [1 << 16, 4096, 1] {
            while Foundation.write(descriptor, block, size) == size {}
        }
        try #require(free == 0, "\(path) still has \(free) bytes free")
    }

    /// Removes the filler file.
    func unfill() throws { try FileManager.default.removeItem(at: filler) }

    /// The bytes free.
    var free: Int64 {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return -1 }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    /// The files under the mount whose names end in `.tmp`.
    func temporaryFiles() -> [String] {
        let walker = FileManager.default.enumerator(atPath: path)
        var found: [String] = []
        while let name = walker?.nextObject() as? String {
            if name.hasSuffix(".tmp") { found.append(name) }
        }
        return found
    }

    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let result = try output(of: arguments)
        guard result.status == 0 else { throw TestFailure("\(arguments.joined(separator: " ")) failed (status \(result.status))") }
        return result.stdout
    }
}

/// Full disks and read-only trees, on file systems of their own: the payload's outputs on a full
/// DATAMAIN, the state store on a full or read-only MAINDIR. Each failure is said as what it is (no space
/// left on which file system, how much was needed and is free; read-only, and whose the file is),
/// leaves nothing half-written, and the production goes on once space is freed.
@Suite(.serialized, .enabled(if: Tmpfs.canMount || Tmpfs.inCI, "cannot mount a tmpfs here (the tests mount as root)"))
struct FullDisk {
    static let region = "6.25 6.53 -0.24 0.03"

    /// A production with MAINDIR, DATAMAIN and INPUT in directories of their own under `work` (`main`,
    /// `data`, `input`), on the tmpfs given for them: prepared, simulated (small frames of 1.2″) and inventoried.
    func prepare(_ work: Workspace, inventory: Bool = true) throws {
        try work.write("""
            MAINDIR \(work.url.path)/main
            DCNAME DC_2013
            DATAMAIN \(work.url.path)/data
            INPUT \(work.url.path)/input
            REGION \(Self.region)
            FILTERS r
            EVENTSPERJOB processCcd 2
            EVENTSPERJOB coadd 1
            EVENTSPERJOB forcedPhot 2
            """, to: "fichconfig.txt")
        for arguments in [["prepare", "fichconfig.txt"],
                          ["pipe", "simulate", "--frames", "4", "--seed", "9", "--size", "256x186", "--pixel-scale", "1.2", "--filters", "r",
                           "--region", Self.region, "\(work.url.path)/input"]] + (inventory ? [["inventory"]] : []) {
            let result = try DCProd.run(arguments, in: work.url)
            try #require(result.status == 0, "\(arguments): \(result.stderr)")
        }
    }

    struct Report: Decodable {
        struct Line: Decodable { var name: String; var count: Int }
        var events: Int
        var classes: [Line]
        func count(_ name: String) -> Int { classes.first { $0.name == name }?.count ?? -1 }
    }

    func report(_ work: Workspace, _ step: String) throws -> Report {
        let url = work.url.appendingPathComponent("main/DC_2013/reports/\(step)-r.json")
        return try JSONDecoder().decode(Report.self, from: Data(contentsOf: url))
    }

    /// The jobs' logs of a step, all attempts.
    func logs(_ work: Workspace, _ step: String) throws -> String {
        let directory = work.url.appendingPathComponent("main/DC_2013/steps/\(step)/r/logs")
        return try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            .map { try String(contentsOfFile: directory.appendingPathComponent($0).path, encoding: .utf8) }.joined()
    }

    /// Each step's jobs on a full DATAMAIN: every event fails as `no-space`, its log saying which file
    /// system, what the file needed and what is free; no temporary file and no output of a failed event
    /// stays. Once the filler is removed, `resubmit` does them again and `run` finds nothing left to do.
    @Test func eachStepOnAFullDataTreeFailsCleanlyAndGoesOnOnceSpaceIsFreed() throws {
        let work = try Workspace()
        let data = try Tmpfs(at: work.url.appendingPathComponent("data"), size: "320m")
        try prepare(work)
        let initialized = try DCProd.run(["load", "--init"], in: work.url)
        try #require(initialized.status == 0, "\(initialized.stderr)")
        for (step, output) in [("processCcd", "calexp-"), ("coadd", "deepCoadd-"), ("forcedPhot", "forced-")] {
            let plan = try DCProd.run(["plan", step], in: work.url)
            try #require(plan.status == 0, "\(step): \(plan.stderr)")
            try data.fill()
            let submit = try DCProd.run(["submit", step], in: work.url)
            #expect(submit.status == 0, "\(step): \(submit.stderr)")
            let verify = try DCProd.run(["verify", step], in: work.url)
            #expect(verify.status == 1, "\(step): \(verify.stdout)")
            let failed = try report(work, step)
            #expect(failed.events > 0 && failed.count("no-space") == failed.events, "\(step): \(verify.stdout)")
            #expect(verify.stdout.contains("no space left on the file system: \(failed.events) - 100.0 %"), "\(verify.stdout)")
            let log = try logs(work, step)
            #expect(log.contains("no space left on \(data.path) (needed "), "\(step): \(log)")
            #expect(!log.contains("cfitsio") && !log.contains("NSCocoaErrorDomain"), "\(step): \(log)")
            #expect(data.temporaryFiles().isEmpty, "\(step): \(data.temporaryFiles())")
            let outputs = try FileManager.default.contentsOfDirectory(atPath: "\(data.path)/DC_2013/\(step)/r")
            #expect(!outputs.contains { $0.hasPrefix(output) }, "\(step): \(outputs)")

            try data.unfill()
            let resubmit = try DCProd.run(["resubmit", step], in: work.url)
            #expect(resubmit.status == 0, "\(step): \(resubmit.stdout)\(resubmit.stderr)")
            let again = try DCProd.run(["verify", step], in: work.url)
            #expect(again.status == 0, "\(step): \(again.stdout)")
            let load = try DCProd.run(["load", step], in: work.url)
            try #require(load.status == 0, "\(step): \(load.stdout)\(load.stderr)")
        }
        let run = try DCProd.run(["run"], in: work.url)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("run forcedPhot: plan 0 jobs for 0 events; submit 0 jobs submitted"), "\(run.stdout)")
    }

    /// `dcprod run` on a full DATAMAIN stops at its first write, the embedded catalog's, naming the
    /// catalog file and its file system, before it hands any job over; once space is freed it runs the
    /// whole chain.
    @Test func aRunOnAFullDataTreeStopsBeforeItsFirstJobAndGoesOnOnceSpaceIsFreed() throws {
        let work = try Workspace()
        let data = try Tmpfs(at: work.url.appendingPathComponent("data"), size: "320m")
        try prepare(work)
        try data.fill()
        let stopped = try DCProd.run(["run"], in: work.url)
        #expect(stopped.status == 1)
        #expect(stopped.stderr.contains("dcprod: error: \(data.path)/DC_2013/catalog.sqlite: no space left on \(data.path) (needed "),
                "\(stopped.stderr)")
        #expect(!stopped.stderr.contains("SQLite error"), "\(stopped.stderr)")
        let status = try DCProd.run(["status", "--json"], in: work.url)
        #expect(status.status == 0 && !status.stdout.contains("\"submitted\""), "\(status.stdout)\(status.stderr)")

        try data.unfill()
        let run = try DCProd.run(["run"], in: work.url)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("Step forcedPhot, filter r\nEvents processed: "), "\(run.stdout)")
    }

    /// DATAMAIN mounted read-only: each job's event fails as `read-only`, naming the file system and
    /// whose the directory is; `run` stops at the embedded catalog before it hands a job over; `sql`
    /// reads the catalog. Once remounted read-write, `resubmit --force` and `run` finish the production.
    @Test func aReadOnlyDataTreeIsReadAndItsWritersSaySo() throws {
        let work = try Workspace()
        let data = try Tmpfs(at: work.url.appendingPathComponent("data"), size: "320m")
        try prepare(work)
        for arguments in [["load", "--init"], ["plan", "processCcd"]] {
            let result = try DCProd.run(arguments, in: work.url)
            try #require(result.status == 0, "\(arguments): \(result.stderr)")
        }
        try data.remount("ro")
        defer { try? data.remount("rw") }
        #expect(try DCProd.run(["submit", "processCcd"], in: work.url).status == 0)
        #expect(try DCProd.run(["verify", "processCcd"], in: work.url).status == 1)
        let failed = try report(work, "processCcd")
        #expect(failed.events == 4 && failed.count("read-only") == 4, "\(failed)")
        let log = try logs(work, "processCcd")
        #expect(log.contains("calexp-000094-r1-0011.fits: read-only: \(data.path) is mounted read-only (\(data.path)/DC_2013/processCcd/r belongs to root)"),
                "\(log)")
        let run = try DCProd.run(["run"], in: work.url)
        #expect(run.status == 1)
        #expect(run.stderr.contains("/DC_2013/catalog.sqlite: read-only: \(data.path) is mounted read-only (the file belongs to root)"), "\(run.stderr)")
        let sql = try DCProd.run(["sql", "--csv", "SELECT COUNT(*) FROM Source"], in: work.url)
        #expect(sql.status == 0 && sql.stdout.hasSuffix("\n0\n"), "\(sql.stdout)\(sql.stderr)")

        try data.remount("rw")
        let resubmit = try DCProd.run(["resubmit", "processCcd", "--force"], in: work.url)
        #expect(resubmit.status == 0, "\(resubmit.stdout)\(resubmit.stderr)")
        let rerun = try DCProd.run(["run"], in: work.url)
        #expect(rerun.status == 0, "\(rerun.stdout)\(rerun.stderr)")
    }

    /// A full MAINDIR: the verb that would change the state store fails naming the store and its file
    /// system; the store is as it was (nothing half-written), readers read it, and the verb goes on
    /// once space is freed.
    @Test func aFullStateStoreSaysSoChangesNothingAndGoesOnOnceSpaceIsFreed() throws {
        let work = try Workspace()
        let main = try Tmpfs(at: work.url.appendingPathComponent("main"), size: "16m")
        try prepare(work, inventory: false)
        let store = "\(main.path)/DC_2013/state.sqlite"
        try main.fill()
        let full = try DCProd.run(["inventory"], in: work.url)
        #expect(full.status == 1)
        #expect(full.stderr.hasPrefix("dcprod: error: \(store): no space left on \(main.path) (needed "), "\(full.stderr)")
        #expect(full.stderr.contains("the state store is as it was before this command\nfree space on \(main.path), then run the command again"),
                "\(full.stderr)")
        #expect(!full.stderr.contains("SQLite error") && !full.stderr.contains("restore it from a backup"), "\(full.stderr)")
        // Readers read it as it is, full disk or not.
        let status = try DCProd.run(["status", "--json"], in: work.url)
        #expect(status.status == 0 && status.stdout.contains("\"frames\" : 0"), "\(status.stdout)\(status.stderr)")

        try main.unfill()
        #expect(try output(of: ["sqlite3", store, "PRAGMA integrity_check; SELECT COUNT(*) FROM event"]).stdout == "ok\n0\n")
        let inventory = try DCProd.run(["inventory"], in: work.url)
        #expect(inventory.status == 0, "\(inventory.stderr)")
        let run = try DCProd.run(["run"], in: work.url)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
    }

    /// A state store on a file system mounted read-only: readers read it; a writer is refused before
    /// it touches anything (not even the lock's file), saying read-only and whose the file is.
    @Test func aReadOnlyStateStoreIsReadAndNeverWritten() throws {
        let work = try Workspace()
        let main = try Tmpfs(at: work.url.appendingPathComponent("main"), size: "16m")
        try prepare(work)
        let tree = "\(main.path)/DC_2013"
        try main.remount("ro")
        defer { try? main.remount("rw") }
        let before = try output(of: ["ls", "-laR", "--time-style=full-iso", tree]).stdout

        let status = try DCProd.run(["status", "--json"], in: work.url)
        #expect(status.status == 0 && status.stdout.contains("\"frames\" : 4"), "\(status.stdout)\(status.stderr)")
        let plan = try DCProd.run(["plan", "processCcd"], in: work.url)
        #expect(plan.status == 1)
        #expect(plan.stderr.hasPrefix("dcprod: error: \(tree)/state.sqlite: read-only: \(main.path) is mounted read-only (the file belongs to root); "),
                "\(plan.stderr)")
        #expect(plan.stderr.contains("`dcprod status`, `logbook` and `sql` read it as it is\nremount \(main.path) read-write"), "\(plan.stderr)")
        #expect(try output(of: ["ls", "-laR", "--time-style=full-iso", tree]).stdout == before)

        try main.remount("rw")
        #expect(try DCProd.run(["plan", "processCcd"], in: work.url).status == 0)
    }

    /// A state store another user owns, read by a user who may not write it (`nobody`): `status`
    /// works, a writer says the store is read-only for that user, with its owner and mode.
    @Test func aStateStoreOfAnotherUserIsReadOnlyForYou() throws {
        let work = try Workspace()
        try prepare(work)
        let tree = "\(work.url.path)/main/DC_2013"
        let before = try output(of: ["ls", "-laR", "--time-style=full-iso", tree]).stdout
        func asNobody(_ arguments: [String]) throws -> DCProd.Result {
            let process = DCProd.process(["-u", "nobody", "--", DCProd.executable.path] + arguments, in: work.url)
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            let out = Pipe(), err = Pipe()
            (process.standardOutput, process.standardError) = (out, err)
            try process.run()
            let (stdout, stderr) = (out.fileHandleForReading.readDataToEndOfFile(), err.fileHandleForReading.readDataToEndOfFile())
            process.waitUntilExit()
            return DCProd.Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                                 stderr: String(decoding: stderr, as: UTF8.self))
        }
        let status = try asNobody(["status", "--json"])
        #expect(status.status == 0 && status.stdout.contains("\"frames\" : 4"), "\(status.stdout)\(status.stderr)")
        let plan = try asNobody(["plan", "processCcd"])
        #expect(plan.status == 1)
        #expect(plan.stderr.hasPrefix("dcprod: error: \(tree)/state.sqlite: read-only for nobody: the file belongs to root (mode 0644); "),
                "\(plan.stderr)")
        #expect(plan.stderr.contains("\nask root to run it, or to give you write permission"), "\(plan.stderr)")
        #expect(try output(of: ["ls", "-laR", "--time-style=full-iso", tree]).stdout == before)
    }

    /// Foundation's errors are said in the user's words, never as Foundation's dump of an `NSError`:
    /// `pipe simulate` into a directory of a file system mounted read-only (whose mount point has a
    /// space, which /proc/self/mountinfo writes `\040`).
    @Test func aFoundationErrorIsSaidInTheUsersWords() throws {
        let work = try Workspace()
        let mount = try Tmpfs(at: work.url.appendingPathComponent("read only"), size: "1m")
        try mount.remount("ro")
        defer { try? mount.remount("rw") }
        let simulated = try DCProd.run(["pipe", "simulate", "--frames", "1", "--size", "256x186", "--region", Self.region, "\(mount.path)/input"], in: work.url)
        #expect(simulated.status == 1)
        #expect(simulated.stderr == "dcprod: error: \(mount.path)/input: read-only: \(mount.path) is mounted read-only "
                + "(\(mount.path) belongs to root)\nremount \(mount.path) read-write (or work on a copy where you can write), then run the command again\n",
                "\(simulated.stderr)")
    }
}
