import Foundation
import Testing

/// A FIFO named like a frame under INPUT: opening it would wait for a writer for ever, so inventory
/// must pass it by unopened and record it as a failure the user sees in `status --failures`.
@Suite struct SpecialFilesUnderInput {
    /// Runs `dcprod` and kills it if it is still running after `limit` seconds.
    ///
    /// - Returns: The result, or nil when it had to be killed.
    func run(_ arguments: [String], in work: Workspace, limit: TimeInterval) throws -> DCProd.Result? {
        let process = Process()
        process.executableURL = DCProd.executable
        process.arguments = arguments
        process.currentDirectoryURL = work.url
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "DCPROD_PRODUCTION")
        process.environment = environment
        // Files, not pipes: nothing has to read them while the process runs.
        let out = work.url.appendingPathComponent("\(arguments[0]).out"), err = work.url.appendingPathComponent("\(arguments[0]).err")
        try Data().write(to: out)
        try Data().write(to: err)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        let deadline = Date().addingTimeInterval(limit)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return DCProd.Result(status: process.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
                             stderr: try String(contentsOf: err, encoding: .utf8))
    }

    @Test func aFIFONamedLikeAFrameIsAnInventoryFailureNotAWait() throws {
        let work = try Workspace()
        try work.write(work.seedConfig.replacingOccurrences(of: "DBHOST 127.0.0.1\nDBUSER lsst_prod", with: "") + "\nREGION 6 7 -0.4 0.2\n",
                       to: "fichconfig.txt")
        let input = "\(work.url.path)/lsstprod-data/DC_2013/input"
        for arguments in [["prepare", "fichconfig.txt"],
                          ["pipe", "simulate", "--frames", "5", "--seed", "7", "--defects", "0", "--size", "128x93",
                           "--pixel-scale", "1.6", "--region", "6 7 -0.4 0.2", input]] {
            let result = try DCProd.run(arguments, in: work.url)
            try #require(result.status == 0, "\(arguments): \(result.stderr)")
        }
        let fifo = "\(input)/fpC-009999-r1-0001.fit"
        try #require(mkfifo(fifo, 0o644) == 0, "mkfifo: \(String(cString: strerror(errno)))")

        let inventory = try run(["inventory"], in: work, limit: 60)
        let finished = try #require(inventory, "inventory was still running after 60 s: it opened the FIFO")
        #expect(finished.status == 0, "\(finished.stderr)")
        #expect(finished.stdout.contains("5 new events"), "\(finished.stdout)")
        #expect(finished.stdout.contains("1 failures (not a regular file 1)"), "\(finished.stdout)")

        let failures = try DCProd.run(["status", "--failures"], in: work.url)
        #expect(failures.status == 0, "\(failures.stderr)")
        #expect(failures.stdout.contains("  \(fifo): not a regular file: a FIFO with a frame's name; not opened"), "\(failures.stdout)")
        // Still there, still a FIFO: nothing was written into it or put in its place.
        var info = stat()
        #expect(stat(fifo, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
    }
}
