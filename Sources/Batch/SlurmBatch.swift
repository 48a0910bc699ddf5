import Basics
import Foundation
import Production

/// The Slurm backend: `sbatch`, `squeue`, `sacct`, `scancel`, each run as an argument vector with
/// machine-readable output (`--parsable`, `--parsable2`, `--format` with `|`). One `squeue` and one
/// `sacct` per status poll, whatever the number of jobs.
public struct SlurmBatch: BatchSystem {
    /// `slurm`, as in the BACKEND setting.
    public var name: String { "slurm" }
    /// Always true: Slurm runs at most `%M` tasks of each array at once and holds the rest in its queue.
    public var throttles: Bool { true }

    /// The production's `templates/`, for the array task wrapper `batch/array-task.sh`.
    public let templates: URL
    /// MaxArraySize and MaxJobCount, from `scontrol show config`, and the MaxSubmitJobs of the user's
    /// associations where the accounting shows them (`sacctmgr`; a cluster without it has none).
    private let limits = ClusterLimits {
        let text = try Command.run("scontrol", ["show", "config"])
        let associations = try? Command.run("sacctmgr", ["--noheader", "--parsable2", "show", "associations",
                                                          "where", "user=\(ClusterLimits.userName)", "format=MaxSubmit"])
        return ClusterLimits.Values(maxArraySize: ClusterLimits.value("MaxArraySize", in: text) ?? 1001,
                                    maxJobCount: ClusterLimits.value("MaxJobCount", in: text) ?? 10000,
                                    maxUserJobs: associations.flatMap(maxSubmitJobs))
    }

    /// Makes the backend; the cluster's limits are read at the first submission or capacity check.
    ///
    /// - Parameter templates: The production's `templates/` directory.
    public init(templates: URL) {
        self.templates = templates
    }

    /// The jobs of one step and filter go out as job arrays (`JobArrays`) — one `sbatch --array=0-N%M`
    /// per MaxArraySize jobs. The array's directives are those of the jobs' scripts; its comment names
    /// the list, where a restarted manager finds the tokens.
    ///
    /// Learnt resources become `--mem` and `--time` (e.g. `600M`, `00:20:00`) after the script's own
    /// directives, so they win. The script's job name and output are replaced by the array's.
    ///
    /// - Parameters:
    ///   - jobs: The jobs to submit; jobs with the same script directory and learnt resources share an array.
    ///   - throttle: MAXRUNNING, shared among the arrays of this call as each one's `%M`; with more arrays
    ///     than MAXRUNNING, one task each, and an array waits for an earlier one (`--dependency=afterany`).
    ///   - hold: True to submit with `--hold`, to wait until `release(_:)`.
    /// - Returns: Each job's task id `ARRAY_INDEX` (index from 0), by token.
    /// - Throws: `BatchError` when the array task wrapper `batch/array-task.sh` is missing, `scontrol show
    ///   config` fails, a script cannot be read, or `sbatch` refuses an array or answers something other
    ///   than an id; `accepted` lists the jobs of the arrays submitted before.
    public func submit(_ jobs: [BatchJob], throttle: Int, hold: Bool) throws -> [String: String] {
        let wrapper = try JobArrays.wrapper(in: templates, command: "sbatch")
        let arrays = JobArrays(jobs, maxArraySize: try limits.get().maxArraySize)
        return try arrays.submitEach(throttle: throttle, { array, limit, after in
            let count = array.jobs.count
            let arguments = ["--parsable"] + (hold ? ["--hold"] : []) + (after.map { ["--dependency=afterany:\($0)"] } ?? [])
                + ["--array=0-\(count - 1)" + (limit < count ? "%\(limit)" : ""),
                             "--job-name=\(array.name)", "--comment=dcprod-array:\(array.list.path)",
                             "--output=\(array.logs)/array-%A_%a.out"]
                + (try Self.directives(of: array.jobs[0].script))
                + (array.jobs[0].memory.map { ["--mem=\($0)"] } ?? []) + (array.jobs[0].walltime.map { ["--time=\($0)"] } ?? [])
                + [wrapper, array.list.path]
            let output = try Command.run("sbatch", arguments)
            // `--parsable` prints "ID" or "ID;CLUSTER".
            guard let id = output.split(separator: "\n").first?.split(separator: ";").first, Int(id) != nil else {
                throw BatchError(command: "sbatch --array", message: "unexpected answer '\(output.prefix(200))'")
            }
            return String(id)
        }, taskId: { "\($0)_\($1)" })
    }

    /// A job script's `#SBATCH` options, but its own name and output, as sbatch arguments.
    static func directives(of script: String) throws -> [String] {
        try JobArrays.directives(of: script, prefix: "#SBATCH ", command: "sbatch").filter { option in
            !(option.hasPrefix("--job-name") || option.hasPrefix("--output") || option.hasPrefix("-J ") || option.hasPrefix("-o "))
        }
    }

    /// How many more jobs Slurm accepts: MaxJobCount less every job in the queue, whoever's, and the
    /// user's MaxSubmitJobs (the smallest of the user's associations, where `sacctmgr` shows it) less
    /// the user's jobs. One `squeue` of the whole queue, each array task counted as a job.
    ///
    /// - Returns: The room left below the cluster's and the user's limits.
    /// - Throws: `BatchError` when `scontrol show config` or `squeue` fails.
    public func capacity() throws -> Int {
        let limits = try limits.get()
        let owners = try Command.run("squeue", ["--noheader", "--array", "--format=%u"]).split(separator: "\n")
        return limits.room(all: owners.count, mine: owners.filter { $0 == ClusterLimits.userName }.count)
    }

    /// The smallest MaxSubmit of `sacctmgr --parsable2 show associations format=MaxSubmit` lines; nil when
    /// none sets one.
    static func maxSubmitJobs(_ text: String) -> Int? {
        text.split(separator: "\n").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.min()
    }

    /// The state of each task: one `squeue` for the live ones, then one `sacct` for those ended or gone.
    ///
    /// A task ended for `squeue` but not yet in `sacct` is reported `awaitingAccounting`, so that it is
    /// followed until slurmdbd has its accounting. On a cluster without accounting (sacct says it is
    /// disabled) the ended tasks are squeue's alone (`withoutAccounting`), which dcprod says once. `sacct` gives the node, `Elapsed` and `TotalCPU` (as
    /// `00:01:02`), `MaxRSS` (as `51200K`, from the task's steps when its own line has none) and whether
    /// it ran out of memory or time or lost its node (`exhausted`).
    ///
    /// - Parameter backendIds: Task ids `ARRAY_INDEX`, as `submit` returned them.
    /// - Returns: The status of each task Slurm knows, by task id; absent for one neither command knows.
    /// - Throws: `BatchError` when `squeue` fails (other than for unknown job ids, which only leave the
    ///   tasks out) or `sacct` fails.
    public func status(_ backendIds: [String]) throws -> [String: BatchStatus] {
        guard !backendIds.isEmpty else { return [:] }
        var out: [String: BatchStatus] = [:]
        let wanted = Set(backendIds)
        // Asked by array (`1234` lists every task `1234_N`): 40,000 task ids would not fit in one argument.
        let queue = try Command.run("squeue", ["--noheader", "--array", "--states=all", "--format=%i|%T",
                                               "--jobs=\(JobArrays.arrayIds(of: backendIds, separator: "_").joined(separator: ","))"],
                                    acceptingFailure: { $0.contains("Invalid job id") })
        for line in queue.split(separator: "\n") {
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 2, wanted.contains(fields[0]) else { continue }
            out[fields[0]] = Self.status(state: fields[1], exitCode: nil)
        }
        let finished = backendIds.filter { out[$0] == nil || out[$0]!.state.isFinished }
        guard !finished.isEmpty else { return out }
        var disabled = false
        let accounting = try Command.run("sacct", ["--noheader", "--parsable2", "--format=\(Self.accountingFields)",
                                                   "--jobs=\(JobArrays.arrayIds(of: finished, separator: "_").joined(separator: ","))"],
                                         acceptingFailure: { errors in
            disabled = Self.accountingDisabled(errors)
            return disabled
        })
        if disabled {
            _ = Self.saidAccountingIsDisabled
            return Self.withoutAccounting(out, finished: finished)
        }
        let recorded = Self.parseAccounting(accounting)
        for id in finished {
            if let status = recorded[id] {
                out[id] = status
            } else if let queued = out[id] {
                // Ended for squeue, not yet in the accounting: followed until slurmdbd has it (or squeue
                // forgets the job, MinJobAge later), so that its accounting is kept.
                out[id] = .awaitingAccounting(after: queued.rawState)
            }
        }
        return out
    }

    /// True when sacct's error output says the cluster keeps no accounting (no slurmdbd, no
    /// AccountingStorageType: common on small clusters).
    static func accountingDisabled(_ errors: String) -> Bool {
        errors.range(of: "accounting storage is disabled", options: .caseInsensitive) != nil
    }

    /// Said once per process, as a warning, when sacct first says the cluster keeps no accounting.
    static let saidAccountingIsDisabled: Void = logger.warning("""
        slurm: accounting storage is disabled (sacct): jobs are followed with squeue and their outcome \
        records; node, elapsed and CPU time, MaxRSS and the memory and time a job ran out of are not known \
        (a job squeue shows ended OUT_OF_MEMORY or TIMEOUT is still submitted again with more)
        """)

    /// What squeue said of the ended tasks is all there is without accounting: their state, marked
    /// `(no accounting)`. A task squeue no longer lists is left out, and the submitter goes by its
    /// outcome record (the runner's `end` line and exit status), as for any job gone from the queue.
    static func withoutAccounting(_ queued: [String: BatchStatus], finished: [String]) -> [String: BatchStatus] {
        var out = queued
        for id in finished {
            guard var status = out[id] else { continue }
            status.exhausted = exhaustion(status, memoryPerNode: nil)
            status.rawState += " (no accounting)"
            out[id] = status
        }
        return out
    }

    /// One argument per array, its tasks as ranges (`1234_[0-499,501-999]`).
    ///
    /// - Parameter backendIds: Task ids `ARRAY_INDEX`, or whole array ids.
    /// - Throws: `BatchError` when `scancel` fails.
    public func cancel(_ backendIds: [String]) throws {
        guard !backendIds.isEmpty else { return }
        let arguments = JobArrays.taskRanges(of: backendIds, separator: "_").map { array, ranges in
            ranges.isEmpty ? array : "\(array)_[\(ranges.joined(separator: ","))]"
        }
        _ = try Command.run("scancel", arguments)
    }

    /// Releases whole arrays (`scontrol release ARRAY_ID`): dcprod holds and releases a step's arrays.
    ///
    /// Every held task of an array named here is released, also those not in `backendIds`.
    ///
    /// - Parameter backendIds: Task ids `ARRAY_INDEX`; nothing is run when it is empty.
    /// - Throws: `BatchError` when `scontrol release` fails.
    public func release(_ backendIds: [String]) throws {
        let arrays = JobArrays.arrayIds(of: backendIds, separator: "_")
        guard !arrays.isEmpty else { return }
        _ = try Command.run("scontrol", ["release", arrays.joined(separator: ",")])
    }

    /// Tasks of live arrays, by the tokens in the list files their comments name.
    ///
    /// Reads every job in the queue (`squeue --array` with its comment) and the list files of dcprod's
    /// arrays; a task whose list file is gone is not found.
    ///
    /// - Parameter tokens: The tokens of jobs whose submission was not recorded.
    /// - Returns: The task id `ARRAY_INDEX` of each token found, by token.
    /// - Throws: `BatchError` when `squeue` fails.
    public func find(tokens: [String]) throws -> [String: String] {
        let wanted = Set(tokens)
        var found: [String: String] = [:]
        let queue = try Command.run("squeue", ["--noheader", "--array", "--format=%i|%k"])
        for line in queue.split(separator: "\n") {
            let fields = line.split(separator: "|", maxSplits: 1).map(String.init)
            guard fields.count == 2, fields[1].hasPrefix("dcprod-array:"),
                  let underscore = fields[0].firstIndex(of: "_"), let index = Int(fields[0][fields[0].index(after: underscore)...]),
                  let token = JobArrays.token(inList: String(fields[1].dropFirst("dcprod-array:".count)), at: index) else { continue }
            if wanted.contains(token) { found[token] = fields[0] }
        }
        return found
    }

    static let accountingFields = "JobID,State,ExitCode,NodeList,Elapsed,TotalCPU,MaxRSS,ReqMem,AllocCPUS,NNodes"

    /// `sacct --parsable2 --format=JobID,State,ExitCode,NodeList,Elapsed,TotalCPU,MaxRSS,ReqMem,AllocCPUS,NNodes`:
    /// the state from each job's line, its MaxRSS from its steps' lines (`123.batch`); pending array lines
    /// skipped. ReqMem, with the job's CPUs and nodes, serves to tell a kill over the memory limit (`exhaustion`).
    static func parseAccounting(_ text: String) -> [String: BatchStatus] {
        var out: [String: BatchStatus] = [:]
        var stepRSS: [String: String] = [:]
        var memoryPerNode: [String: Double] = [:]
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
            let nodes = field(9).flatMap { Int($0) }
            memoryPerNode[fields[0]] = field(7).flatMap { memoryPerJob($0, cpus: field(8).flatMap { Int($0) }, nodes: nodes) }
                .map { $0 / Double(max(1, nodes ?? 1)) }
        }
        for (id, rss) in stepRSS where out[id] != nil && out[id]!.accounting?.maxRSS == nil {
            out[id]!.accounting?.maxRSS = rss
        }
        for id in out.keys { out[id]!.exhausted = exhaustion(out[id]!, memoryPerNode: memoryPerNode[id]) }
        return out
    }

    /// The bytes of memory a job asked for, from sacct's ReqMem: `4000Mc` is per CPU (times the job's
    /// CPUs), `4Gn` per node (times its nodes), both as sacct printed them before Slurm 21.08; a size
    /// without either (`4000M`, since 21.08) is the job's whole request. Nil for `0` (no request) or
    /// what is not a size, or a per-CPU or per-node size without the count it multiplies.
    static func memoryPerJob(_ reqMem: String, cpus: Int?, nodes: Int?) -> Double? {
        var size = reqMem, multiplier: Int? = 1
        switch reqMem.last {
        case "c": size.removeLast(); multiplier = cpus
        case "n": size.removeLast(); multiplier = nodes
        default: break
        }
        guard let multiplier, multiplier > 0, let bytes = BatchResources.bytes(size), bytes > 0 else { return nil }
        return bytes * Double(multiplier)
    }

    /// OUT_OF_MEMORY (cgroups), or FAILED by SIGKILL with MaxRSS (the largest of one node's) at 90 % of
    /// the memory per node (OverMemoryKill, where sacct says FAILED 0:9): memory. TIMEOUT: time.
    /// NODE_FAIL, BOOT_FAIL, PREEMPTED: node.
    static func exhaustion(_ status: BatchStatus, memoryPerNode: Double?) -> Exhaustion? {
        let word = status.rawState.split(separator: " ").first.map(String.init) ?? status.rawState
        switch word {
        case "OUT_OF_MEMORY": return .memory
        case "TIMEOUT": return .time
        case "NODE_FAIL", "BOOT_FAIL", "PREEMPTED": return .node
        case "FAILED":
            guard status.signal == 9, let rss = status.accounting?.maxRSS.flatMap(BatchResources.bytes), let memoryPerNode,
                  rss >= 0.9 * memoryPerNode else { return nil }
            return .memory
        default: return nil
        }
    }

    /// A sacct size such as `812K`, `51M`, `2G` in KiB, for comparing.
    static func kibibytes(_ text: String) -> Double { (BatchResources.bytes(text) ?? 0) / 1024 }

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
