import Foundation
import Testing
@testable import Batch
import Planning

/// The local backend with real processes: a cancelled job leaves nothing running, and a restarted
/// manager adopts a job's runner, never a payload that inherited its token.
@Suite(.serialized) struct LocalJobs {
    /// The `dcprod` beside this test bundle in the build products directory (`swift build --build-tests`
    /// builds it with the tests).
    static let dcprod: String? = {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("dcprod").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        return nil
    }()

    /// The repository's templates/ directory (rules and classes the runner reads).
    static let templates = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("templates")

    /// The live processes of a session: a local job and everything it started.
    static func processes(inSession session: pid_t) -> [pid_t] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { pid_t($0) }
            .filter { LocalBatch.session(of: $0) == session && LocalBatch.isAlive($0) }
    }

    /// The command name of a process (`/proc/PID/comm`).
    static func command(of pid: pid_t) -> String {
        ((try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .newlines)
    }

    /// Polls `condition` every 50 ms for up to a minute (a loaded machine is slow, nothing is timed).
    static func eventually(_ condition: () -> Bool) -> Bool {
        for _ in 0..<1200 {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }

    func withDirectory(_ body: (URL) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dcprod-localjobs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try body(directory)
    }

    /// `dcprod cancel` on the local backend: SIGTERM to the job's group reaches the runner, which
    /// forwards it to its payload (a group of its own), waits for it and ends without an `end` line.
    @Test func aCancelledJobLeavesNoProcessBehind() throws {
        let dcprod = try #require(Self.dcprod, "no dcprod beside the tests: build with `swift build --build-tests`")
        try withDirectory { directory in
            let manifest = JobManifest(
                job: "processCcd-r-000001", step: "processCcd", filter: "r",
                rules: Self.templates.appendingPathComponent("rules/reference.rules").path,
                classes: Self.templates.appendingPathComponent("rules/classes").path,
                timeLimit: 3600, outcomes: directory.appendingPathComponent("outcomes").path,
                logs: directory.appendingPathComponent("logs").path,
                events: [JobManifest.Event(key: "e-sleep", command: ["/bin/sleep", "300"], outputs: []),
                         JobManifest.Event(key: "e-never", command: ["/bin/true"], outputs: [])])
            let manifestPath = directory.appendingPathComponent("processCcd-r-000001.json").path
            try JSONEncoder().encode(manifest).write(to: URL(fileURLWithPath: manifestPath))
            // As templates/batch/local.sh.mustache renders it.
            let script = directory.appendingPathComponent("processCcd-r-000001.local.sh")
            try Data("exec '\(dcprod)' job run '\(manifestPath)' --attempt \"${DCPROD_ATTEMPT:-1}\"\n".utf8).write(to: script)

            let batch = LocalBatch()
            let token = "token-\(UUID().uuidString)"
            let ids = try batch.submit([BatchJob(name: "processCcd-r-000001", script: script.path, attempt: 1, token: token,
                                                 output: directory.appendingPathComponent("job.out").path)],
                                       throttle: 1, hold: false)
            let id = try #require(ids[token])
            let pid = try #require(pid_t(id))
            defer { for process in Self.processes(inSession: pid) { kill(process, SIGKILL) } }
            let payload = Self.eventually { Self.processes(inSession: pid).contains { Self.command(of: $0) == "sleep" } }
            try #require(payload, "the payload never started")

            // The payload does not carry the job's token: adoption finds the runner alone.
            let sleeper = try #require(Self.processes(inSession: pid).first { Self.command(of: $0) == "sleep" })
            let environ = FileManager.default.contents(atPath: "/proc/\(sleeper)/environ") ?? Data()
            #expect(!environ.split(separator: 0).contains { $0.starts(with: Array("DCPROD_TOKEN=".utf8)) })
            #expect(try batch.find(tokens: [token]) == [token: id])

            try batch.cancel([id])
            var ended: BatchStatus?
            #expect(Self.eventually {
                ended = try? batch.status([id])[id]
                return ended?.state.isFinished == true
            }, "the runner never ended")
            #expect(ended?.state == .failed && ended?.exitCode == 143, "\(String(describing: ended))")
            #expect(Self.processes(inSession: pid).isEmpty, "left running: \(Self.processes(inSession: pid).map(Self.command(of:)))")

            // The cancelled event is not recorded as a failure of its own, the next never ran, and
            // the missing `end` line says the job did not end by itself.
            let outcomes = try String(contentsOfFile: manifest.outcomeFile(attempt: 1), encoding: .utf8)
            #expect(outcomes.split(separator: "\n").count == 1 && outcomes.contains("\"type\":\"start\""))
        }
    }

    /// A job's script that does not `exec` its runner leaves the shell as the job and the token in
    /// the environment of what it starts: only the session leader, the process `submit` started, is the job.
    @Test func adoptionFindsTheJobNotWhatItStarted() throws {
        try withDirectory { directory in
            let script = directory.appendingPathComponent("job.local.sh")
            try Data("/bin/sleep 300\nexit 0\n".utf8).write(to: script)
            let batch = LocalBatch()
            let token = "token-\(UUID().uuidString)"
            let ids = try batch.submit([BatchJob(name: "processCcd-r-000002", script: script.path, attempt: 1, token: token,
                                                 output: directory.appendingPathComponent("job.out").path)],
                                       throttle: 1, hold: false)
            let id = try #require(ids[token])
            let pid = try #require(pid_t(id))
            defer {
                for process in Self.processes(inSession: pid) { kill(process, SIGKILL) }
                _ = Self.eventually { (try? batch.status([id])[id])?.state.isFinished == true }
            }
            let child = Self.eventually { Self.processes(inSession: pid).contains { Self.command(of: $0) == "sleep" } }
            try #require(child, "the script's command never started")
            let sleeper = try #require(Self.processes(inSession: pid).first { Self.command(of: $0) == "sleep" })
            let environ = FileManager.default.contents(atPath: "/proc/\(sleeper)/environ") ?? Data()
            #expect(environ.split(separator: 0).contains { Array($0) == Array("DCPROD_TOKEN=\(token)".utf8) },
                    "the script's command inherits the token")
            #expect(try batch.find(tokens: [token]) == [token: id])

            try batch.cancel([id])
            #expect(Self.eventually { Self.processes(inSession: pid).isEmpty })
        }
    }
}
