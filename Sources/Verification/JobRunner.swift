import Basics
import Foundation
import Planning

/// `dcprod job run MANIFEST`: what every batch script calls. Runs each event's command as an
/// argument vector with a time limit, its output appended to the attempt's log, and appends one
/// outcome record per event to the attempt's outcome file, between a `start` and an `end` line.
/// It never touches a database.
public struct JobRunner {
    /// The job: its events, time limit, rule set and where outcomes and logs go.
    public let manifest: JobManifest
    /// Which submission of the job this is, naming its outcome and log files: `dcprod job run --attempt`,
    /// which the batch script gives `$DCPROD_ATTEMPT`.
    public let attempt: Int

    /// Makes a runner for one attempt of a job.
    ///
    /// - Parameters:
    ///   - manifest: The job's manifest, as `JobManifest.read(_:)` gives it.
    ///   - attempt: The attempt number, which names `outcomes/JOB.aN.jsonl` and `logs/JOB.aN.log`.
    public init(manifest: JobManifest, attempt: Int) {
        self.manifest = manifest
        self.attempt = attempt
    }

    /// Runs every event; returns the exit status: 0 when every event is ok, 1 otherwise.
    ///
    /// The events run one after another, whatever became of the one before. An event is ok when its
    /// command exits 0 and every output it names exists; otherwise it is classified: `timeout` when it is
    /// killed (SIGKILL) at the manifest's time limit (seconds), `crash` when a signal ends it, `other` when it cannot
    /// start or exits 0 without its outputs, and by the rule set's first matching line of its log
    /// otherwise. Each record is appended as soon as its event ends, so a runner killed part-way leaves
    /// the events before it recorded and no `end` line; verify counts the others as not run.
    ///
    /// SIGTERM (a cancel: the local backend signals the runner's group, Slurm every process of the job)
    /// is forwarded to the running event's command, which runs in a group of its own, and waited for; the
    /// runner then stops without recording that event or an `end` line (the job did not end by itself)
    /// and returns 143 (128 + SIGTERM), at once if it was asked before it started.
    ///
    /// The commands run without `DCPROD_TOKEN`, which is the batch job's alone: a restarted manager
    /// looks for its jobs by it and must not take a payload for its runner.
    ///
    /// - Returns: The job's exit status, also written in the `end` line; 143 when it was terminated.
    /// - Throws: `TemplateError` when the class list or the rule set cannot be read or is malformed
    ///   (before anything runs); a `CocoaError` when the outcome or log directory or file cannot be made,
    ///   opened or written.
    public func run() throws -> Int32 {
        ChildProcess.forwardTermination()
        guard !ChildProcess.isTerminating else { return Self.terminated }
        let classes = try FailureClasses(contentsOf: manifest.classes)
        let rules = try LogRules(contentsOf: manifest.rules, classes: classes)
        for directory in [manifest.outcomes, manifest.logs] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let outcomes = try AppendFile(path: manifest.outcomeFile(attempt: attempt))
        let log = try AppendFile(path: manifest.logFile(attempt: attempt))

        var start = OutcomeLine(type: .start)
        start.version = OutcomeLine.currentVersion
        start.job = manifest.job
        start.attempt = attempt
        start.host = ProcessInfo.processInfo.hostName
        start.pid = getpid()
        start.time = Self.now()
        try outcomes.append(start)

        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "DCPROD_TOKEN")
        var failures = 0
        for event in manifest.events {
            let record = try runEvent(event, log: log, rules: rules, environment: environment)
            guard !ChildProcess.isTerminating else {
                outcomes.sync()
                return Self.terminated
            }
            if record.status != "ok" { failures += 1 }
            try outcomes.append(record)
        }
        var end = OutcomeLine(type: .end)
        end.exit = failures == 0 ? 0 : 1
        end.events = manifest.events.count
        end.time = Self.now()
        var usage = rusage()
        if getrusage(RUSAGE_CHILDREN.rawValue, &usage) == 0 {
            if usage.ru_maxrss > 0 { end.maxrss = Int(usage.ru_maxrss) }
            end.cpu = ((Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6) * 1000).rounded() / 1000
        }
        try outcomes.append(end)
        outcomes.sync()
        return end.exit!
    }

    /// The exit status of a runner that was terminated (SIGTERM), as a shell reports it.
    static let terminated: Int32 = 128 + SIGTERM

    func runEvent(_ event: JobManifest.Event, log: AppendFile, rules: LogRules, environment: [String: String]) throws -> OutcomeLine {
        try log.write("==== dcprod job run \(manifest.job) attempt \(attempt): event \(event.key): \(event.command.joined(separator: " "))\n")
        let offset = log.size()
        let began = Date()
        var record = OutcomeLine(type: .event)
        record.event = event.key
        let result = ChildProcess.run(event.command, output: log.descriptor, timeLimit: manifest.timeLimit, environment: environment)
        record.seconds = (Date().timeIntervalSince(began) * 1000).rounded() / 1000
        switch result {
        case .couldNotStart(let reason):
            record.status = "failed"
            record.class = FailureClasses.other
            record.message = "cannot start \(event.command.first ?? "?"): \(reason)"
        case .timedOut:
            record.status = "failed"
            record.class = FailureClasses.timeout
            record.message = "killed after the time limit of \(Int(manifest.timeLimit)) s"
            record.signal = SIGKILL
        case .signaled(let signal):
            record.status = "failed"
            record.class = FailureClasses.crash
            record.message = "killed by signal \(signal) (\(String(cString: strsignal(signal))))"
            record.signal = signal
        case .exited(let code):
            record.exit = code
            let missing = event.outputs.filter { !FileManager.default.fileExists(atPath: $0) }
            if code == 0 && missing.isEmpty {
                record.status = "ok"
                record.class = FailureClasses.ok
                record.message = ""
                record.outputs = event.outputs
            } else if code == 0 {
                record.status = "failed"
                record.class = FailureClasses.other
                record.message = "exit status 0 but outputs missing: \(missing.joined(separator: ", "))"
            } else {
                let classified = rules.classify(log.read(from: offset))
                record.status = "failed"
                record.class = classified.className
                record.message = classified.message
            }
        }
        return record
    }

    static func now() -> String { ISO8601DateFormatter().string(from: Date()) }
}

/// A file opened for appending, written with one `write(2)` per record so lines never interleave.
final class AppendFile {
    let descriptor: Int32
    let path: String

    init(path: String) throws {
        self.path = path
        descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
    }

    deinit { close(descriptor) }

    func write(_ text: String) throws {
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
    }

    func append(_ line: OutcomeLine) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try write(String(decoding: try encoder.encode(line), as: UTF8.self) + "\n")
    }

    func size() -> off_t { lseek(descriptor, 0, SEEK_END) }

    /// What was written from `offset` on (at most the last 1 MiB), read through a new descriptor.
    func read(from offset: off_t) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "" }
        defer { try? handle.close() }
        let end = (try? handle.seekToEnd()) ?? 0
        let start = max(UInt64(offset), end > 1 << 20 ? end - (1 << 20) : 0)
        try? handle.seek(toOffset: start)
        return String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
    }

    func sync() { fsync(descriptor) }
}
