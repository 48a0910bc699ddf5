import Foundation

/// The Slurm backend: `sbatch`, `squeue`, `sacct`, `scancel`, each run as an argument vector with
/// machine-readable output (`--parsable`, `--parsable2`, `--format` with `|`). One `squeue` and one
/// `sacct` per status poll, whatever the number of jobs.
public struct SlurmBatch: BatchSystem {
    public var name: String { "slurm" }

    public init() {}

    public func submit(_ jobs: [BatchJob]) throws -> [String: String] {
        var ids: [String: String] = [:]
        for job in jobs {
            let output = try Command.run("sbatch", [
                "--parsable", "--job-name=\(job.name)", "--comment=\(job.token)", "--output=\(job.output)",
                "--export=ALL,DCPROD_ATTEMPT=\(job.attempt),DCPROD_TOKEN=\(job.token)", job.script,
            ])
            // `--parsable` prints "ID" or "ID;CLUSTER".
            guard let id = output.split(separator: "\n").first?.split(separator: ";").first, Int(id) != nil else {
                throw BatchError(command: "sbatch \(job.script)", message: "unexpected answer '\(output.prefix(200))'")
            }
            ids[job.token] = String(id)
        }
        return ids
    }

    public func status(_ backendIds: [String]) throws -> [String: BatchStatus] {
        guard !backendIds.isEmpty else { return [:] }
        var out: [String: BatchStatus] = [:]
        let queue = try Command.run("squeue", ["--noheader", "--states=all", "--format=%i|%T", "--jobs=\(backendIds.joined(separator: ","))"],
                                    acceptingFailure: { $0.contains("Invalid job id") })
        for line in queue.split(separator: "\n") {
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 2 else { continue }
            out[fields[0]] = Self.status(state: fields[1], exitCode: nil)
        }
        let finished = backendIds.filter { out[$0] == nil || out[$0]!.state.isFinished }
        guard !finished.isEmpty else { return out }
        let accounting = try Command.run("sacct", ["--noheader", "--parsable2", "--format=\(Self.accountingFields)",
                                                   "--jobs=\(finished.joined(separator: ","))"])
        for (id, status) in Self.parseAccounting(accounting) { out[id] = status }
        return out
    }

    public func cancel(_ backendIds: [String]) throws {
        guard !backendIds.isEmpty else { return }
        _ = try Command.run("scancel", backendIds)
    }

    public func find(tokens: [String]) throws -> [String: String] {
        let wanted = Set(tokens)
        var found: [String: String] = [:]
        let queue = try Command.run("squeue", ["--noheader", "--format=%i|%k"])
        for line in queue.split(separator: "\n") {
            let fields = line.split(separator: "|", maxSplits: 1).map(String.init)
            if fields.count == 2, wanted.contains(fields[1]) { found[fields[1]] = fields[0] }
        }
        return found
    }

    static let accountingFields = "JobID,State,ExitCode,NodeList,Elapsed,TotalCPU,MaxRSS"

    /// `sacct --parsable2 --format=JobID,State,ExitCode,NodeList,Elapsed,TotalCPU,MaxRSS`: the state
    /// from each job's line, its MaxRSS from its steps' lines (`123.batch`); pending array lines skipped.
    static func parseAccounting(_ text: String) -> [String: BatchStatus] {
        var out: [String: BatchStatus] = [:]
        var stepRSS: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 3, !fields[0].contains("[") else { continue }
            func field(_ k: Int) -> String? { fields.count > k && !fields[k].isEmpty ? fields[k] : nil }
            if let dot = fields[0].firstIndex(of: ".") {
                let job = String(fields[0][..<dot])
                if let rss = field(6), kibibytes(rss) > kibibytes(stepRSS[job] ?? "0") { stepRSS[job] = rss }
                continue
            }
            var status = status(state: fields[1], exitCode: fields[2])
            status.accounting = Accounting(node: field(3), elapsed: field(4), cpuTime: field(5), maxRSS: field(6))
            out[fields[0]] = status
        }
        for (id, rss) in stepRSS where out[id] != nil && out[id]!.accounting?.maxRSS == nil {
            out[id]!.accounting?.maxRSS = rss
        }
        return out
    }

    /// A sacct size such as `812K`, `51M`, `2G` in KiB, for comparing.
    static func kibibytes(_ text: String) -> Double {
        let units: [Character: Double] = ["K": 1, "M": 1024, "G": 1024 * 1024, "T": 1024 * 1024 * 1024]
        guard let last = text.last else { return 0 }
        if let unit = units[last] { return (Double(text.dropLast()) ?? 0) * unit }
        return (Double(text) ?? 0) / 1024
    }

    /// Slurm's states mapped onto dcprod's; the raw state is kept. `ExitCode` is `status:signal`.
    static func status(state raw: String, exitCode: String?) -> BatchStatus {
        let word = raw.split(separator: " ").first.map(String.init) ?? raw
        let codes = exitCode?.split(separator: ":").compactMap { Int32($0) } ?? []
        let exit = codes.first, signal = codes.count > 1 && codes[1] != 0 ? codes[1] : nil
        let state: BatchState = switch word {
        case "PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "SUSPENDED": .queued
        case "RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING", "RESIZING": .running
        case "COMPLETED": .done
        case "CANCELLED": .cancelled
        default: .failed // FAILED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, BOOT_FAIL, PREEMPTED, DEADLINE
        }
        return BatchStatus(state: state, rawState: raw, exitCode: exit, signal: signal)
    }
}

/// Running a batch system's command as an argument vector and reading its answer.
enum Command {
    /// Standard output of `program arguments`; a non-zero exit is a `BatchError` with the command and
    /// the first line of its error output, unless `acceptingFailure` accepts that error output.
    static func run(_ program: String, _ arguments: [String], acceptingFailure: (String) -> Bool = { _ in false }) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw BatchError(command: program, message: "cannot start: \(error)")
        }
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 || acceptingFailure(errors) else {
            let first = errors.split(separator: "\n").first.map(String.init) ?? "exit status \(process.terminationStatus)"
            throw BatchError(command: ([program] + arguments.prefix(3)).joined(separator: " "), message: first)
        }
        return String(decoding: output, as: UTF8.self)
    }
}
