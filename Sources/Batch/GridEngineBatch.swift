import Basics
import Foundation
import Production
#if canImport(FoundationXML)
import FoundationXML
#endif

/// The Grid Engine backend: `qsub`, `qstat`, `qacct`, `qdel`, each run as an argument vector, with
/// `qsub -terse` ids, `qstat -xml` states and `qacct` records. One `qstat` per status poll; `qacct`
/// (which reads the accounting file, not the qmaster) once per array with tasks that left the queue
/// and whose accounting dcprod does not have yet.
public struct GridEngineBatch: BatchSystem {
    /// `sge`, as in the BACKEND setting.
    public var name: String { "sge" }
    /// Always true: Grid Engine runs at most `-tc M` tasks of each array at once and holds the rest in its queue.
    public var throttles: Bool { true }

    /// The production's `templates/`, for the array task wrapper `batch/array-task.sh`.
    public let templates: URL
    /// max_aj_tasks, max_jobs and max_u_jobs (0: no limit), from `qconf -sconf`.
    private let limits = ClusterLimits {
        let text = try Command.run("qconf", ["-sconf"])
        func limit(_ key: String) -> Int? { ClusterLimits.value(key, in: text).flatMap { $0 > 0 ? $0 : nil } }
        return ClusterLimits.Values(maxArraySize: ClusterLimits.value("max_aj_tasks", in: text) ?? 75000,
                                    maxJobCount: limit("max_jobs") ?? 1_000_000, maxUserJobs: limit("max_u_jobs"))
    }

    /// Makes the backend; the cluster's limits are read at the first submission or capacity check.
    ///
    /// - Parameter templates: The production's `templates/` directory.
    public init(templates: URL) {
        self.templates = templates
    }

    /// The jobs of one step and filter go out as job arrays (`JobArrays`): one `qsub -t 1-N -tc M
    /// -terse` per max_aj_tasks jobs. The array's options are the jobs' `#$` directives; its context
    /// (`-ac dcprod_list=…`) names the list, where a restarted manager finds the tokens.
    ///
    /// Learnt resources replace the script's `h_vmem` and `h_rt` requests (e.g. `-l h_vmem=600M`,
    /// `-l h_rt=00:20:00`). Tasks run under `/bin/sh` with standard error joined to standard output.
    ///
    /// - Parameters:
    ///   - jobs: The jobs to submit; jobs with the same script directory and learnt resources share an array.
    ///   - throttle: MAXRUNNING, shared among the arrays of this call as each one's `-tc`; with more arrays
    ///     than MAXRUNNING, one task each, and an array waits for an earlier one (`-hold_jid`).
    ///   - hold: True to submit with `-h`, to wait until `release(_:)`.
    /// - Returns: Each job's task id `JOB.TASK` (task from 1, as Grid Engine numbers them), by token.
    /// - Throws: `BatchError` when the array task wrapper `batch/array-task.sh` is missing, `qconf -sconf`
    ///   fails, a script cannot be read, or `qsub` refuses an array or answers something other than an
    ///   id; `accepted` lists the jobs of the arrays submitted before.
    public func submit(_ jobs: [BatchJob], throttle: Int, hold: Bool) throws -> [String: String] {
        let wrapper = try JobArrays.wrapper(in: templates, command: "qsub")
        let arrays = JobArrays(jobs, maxArraySize: try limits.get().maxArraySize)
        return try arrays.submitEach(throttle: throttle, { array, limit, after in
            let count = array.jobs.count
            let arguments = ["-terse"] + (hold ? ["-h"] : []) + (after.map { ["-hold_jid", $0] } ?? [])
                + ["-t", "1-\(count)"] + (limit < count ? ["-tc", "\(limit)"] : [])
                + ["-N", array.name, "-ac", "dcprod_list=\(array.list.path)", "-S", "/bin/sh", "-j", "y",
                   "-o", "\(array.logs)/array-$JOB_ID-$TASK_ID.out"]
                + (try Self.directives(of: array.jobs[0].script, memory: array.jobs[0].memory, walltime: array.jobs[0].walltime))
                + [wrapper, array.list.path]
            let output = try Command.run("qsub", arguments)
            // `-terse` prints "ID.1-N:1" for an array.
            guard let id = output.split(separator: "\n").first?.split(separator: ".").first, Int(id) != nil else {
                throw BatchError(command: "qsub -t", message: "unexpected answer '\(output.prefix(200))'")
            }
            return String(id)
        }, taskId: { "\($0).\($1 + 1)" })
    }

    /// A job script's `#$` options as qsub arguments, but its own name, output and join (the array
    /// sets them); learnt memory and walltime replace the script's `h_vmem` and `h_rt`.
    static func directives(of script: String, memory: String?, walltime: String?) throws -> [String] {
        var arguments: [String] = []
        for line in try JobArrays.directives(of: script, prefix: "#$ ", command: "qsub") {
            let words = line.split(whereSeparator: \.isWhitespace).map(String.init)
            guard let option = words.first, !["-N", "-o", "-e", "-j"].contains(option) else { continue }
            if option == "-l", words.count == 2 {
                let resources = words[1].split(separator: ",").filter {
                    !(memory != nil && $0.hasPrefix("h_vmem=")) && !(walltime != nil && $0.hasPrefix("h_rt="))
                }
                if !resources.isEmpty { arguments += ["-l", resources.joined(separator: ",")] }
                continue
            }
            arguments += words
        }
        return arguments + (memory.map { ["-l", "h_vmem=\($0)"] } ?? []) + (walltime.map { ["-l", "h_rt=\($0)"] } ?? [])
    }

    /// How many more jobs Grid Engine accepts: max_jobs less every job in the queue, whoever's, and
    /// max_u_jobs less the user's (1,000,000 for a limit of 0, none). One `qstat -u '*' -xml`; an array
    /// is one job, as Grid Engine counts it.
    ///
    /// - Returns: The room left below the cluster's and the user's limits.
    /// - Throws: `BatchError` when `qconf -sconf` or `qstat` fails.
    public func capacity() throws -> Int {
        let limits = try limits.get()
        let owners = Self.jobOwners(try Command.run("qstat", ["-u", "*", "-xml"]))
        return limits.room(all: owners.count, mine: owners.values.filter { $0 == ClusterLimits.userName }.count)
    }

    /// `qstat -xml`: each job's owner, by job number (an array's tasks and ranges are one job).
    static func jobOwners(_ xml: String) -> [String: String] {
        var owners: [String: String] = [:]
        for record in XMLRecords(xml, record: "job_list").records {
            guard let job = record.first(where: { $0.tag == "JB_job_number" })?.text else { continue }
            owners[job] = record.first { $0.tag == "JB_owner" }?.text ?? ""
        }
        return owners
    }

    /// The state of each task: one `qstat -xml` for those in the queue, then one `qacct -j` per array
    /// for those that left it.
    ///
    /// A task in error state (`Eqw`) is deleted (`qdel`) and reported failed, so that an operator
    /// clearing the error cannot run a job that dcprod has submitted again. A task gone from the queue
    /// but not yet in the accounting file (written every accounting_flush_time) is reported
    /// `awaitingAccounting`. `qacct` gives the host, `ru_wallclock` and `cpu` in seconds, and `maxvmem`
    /// (the peak of virtual memory, e.g. `3.434MB`: the accounting's `maxVMem`, not a resident set size).
    ///
    /// - Parameter backendIds: Task ids `JOB.TASK`, as `submit` returned them.
    /// - Returns: A status for every id asked for, by task id.
    /// - Throws: `BatchError` when `qstat`, `qdel` or `qacct` fails (`qacct` not knowing an array yet is
    ///   not a failure).
    public func status(_ backendIds: [String]) throws -> [String: BatchStatus] {
        guard !backendIds.isEmpty else { return [:] }
        let queue = Self.queuedTasks(try Command.run("qstat", ["-xml"]))
        var out: [String: BatchStatus] = [:]
        for id in backendIds { if let status = queue[id] { out[id] = status } }
        // A task in error state (`Eqw`) never runs until an operator clears it: it is deleted and
        // reported failed, so that a cleared error cannot run a job that dcprod has submitted again.
        let errors = out.filter { $0.value.state == .failed }.keys.sorted()
        if !errors.isEmpty { try cancel(errors) }
        // Tasks that left the queue: their accounting, one qacct per array.
        let ended = Set(backendIds.filter { out[$0] == nil })
        for array in JobArrays.arrayIds(of: ended.sorted(), separator: ".") {
            let text = try Command.run("qacct", ["-j", array], acceptingFailure: { $0.contains("not found") })
            for (id, status) in Self.parseAccounting(text) where out[id] == nil && ended.contains(id) {
                out[id] = status
            }
        }
        // Gone from the queue, not yet in the accounting file (written every accounting_flush_time).
        for id in ended where out[id] == nil { out[id] = .awaitingAccounting(after: "ended") }
        return out
    }

    /// One argument per range of tasks of an array (`77.1-500`, `77.502-1000`).
    ///
    /// - Parameter backendIds: Task ids `JOB.TASK`, or whole job ids.
    /// - Throws: `BatchError` when `qdel` fails, other than for jobs that no longer exist.
    public func cancel(_ backendIds: [String]) throws {
        guard !backendIds.isEmpty else { return }
        let arguments = JobArrays.taskRanges(of: backendIds, separator: ".").flatMap { array, ranges in
            ranges.isEmpty ? [array] : ranges.map { "\(array).\($0)" }
        }
        _ = try Command.run("qdel", arguments, acceptingFailure: { $0.contains("does not exist") })
    }

    /// Releases whole arrays (`qrls JOB_ID`): dcprod holds and releases a step's arrays.
    ///
    /// Every held task of an array named here is released, also those not in `backendIds`.
    ///
    /// - Parameter backendIds: Task ids `JOB.TASK`; nothing is run when it is empty.
    /// - Throws: `BatchError` when `qrls` fails.
    public func release(_ backendIds: [String]) throws {
        let arrays = JobArrays.arrayIds(of: backendIds, separator: ".")
        guard !arrays.isEmpty else { return }
        _ = try Command.run("qrls", arrays)
    }

    /// Tasks of live arrays, by the tokens in the list files their contexts name: `qstat -xml -j '*'`
    /// gives each job's context, `qstat -xml` its live tasks.
    ///
    /// A task whose list file is gone is not found.
    ///
    /// - Parameter tokens: The tokens of jobs whose submission was not recorded.
    /// - Returns: The task id `JOB.TASK` of each token found, by token.
    /// - Throws: `BatchError` when `qstat` fails (other than for an empty queue).
    public func find(tokens: [String]) throws -> [String: String] {
        let wanted = Set(tokens)
        let details = XMLRecords(try Command.run("qstat", ["-xml", "-j", "*"],
                                                 acceptingFailure: { $0.contains("do not exist") }), record: "element")
        var lists: [String: String] = [:]
        for record in details.records {
            guard let job = record.first(where: { $0.tag == "JB_job_number" })?.text else { continue }
            for (index, leaf) in record.enumerated() where leaf.tag == "VA_variable" && leaf.text == "dcprod_list" {
                if index + 1 < record.count, record[index + 1].tag == "VA_value" { lists[job] = record[index + 1].text }
            }
        }
        var found: [String: String] = [:]
        for id in Self.queuedTasks(try Command.run("qstat", ["-xml"])).keys {
            let parts = id.split(separator: ".")
            guard parts.count == 2, let list = lists[String(parts[0])], let task = Int(parts[1]),
                  let token = JobArrays.token(inList: list, at: task - 1), wanted.contains(token) else { continue }
            found[token] = id
        }
        return found
    }

    /// `qstat -xml`: one `job_list` per running task and per range of pending tasks ("6-20:1", "3,5").
    static func queuedTasks(_ xml: String) -> [String: BatchStatus] {
        var out: [String: BatchStatus] = [:]
        for record in XMLRecords(xml, record: "job_list").records {
            func value(_ tag: String) -> String? { record.first { $0.tag == tag }?.text }
            guard let job = value("JB_job_number"), let raw = value("state") else { continue }
            let status = BatchStatus(state: state(raw), rawState: raw)
            guard let tasks = value("tasks") else {
                out[job] = status
                continue
            }
            for task in taskNumbers(tasks) { out["\(job).\(task)"] = status }
        }
        return out
    }

    /// "6-20:1", "3", "1-7:2,9" → the task numbers.
    static func taskNumbers(_ text: String) -> [Int] {
        text.split(separator: ",").flatMap { part -> [Int] in
            let rangeAndStep = part.split(separator: ":")
            let bounds = rangeAndStep[0].split(separator: "-").compactMap { Int($0) }
            let step = rangeAndStep.count > 1 ? max(1, Int(rangeAndStep[1]) ?? 1) : 1
            guard let first = bounds.first else { return [] }
            return Swift.Array(stride(from: first, through: bounds.count > 1 ? bounds[1] : first, by: step))
        }
    }

    /// Grid Engine's state letters mapped onto dcprod's: `E` (error, the job cannot start) failed;
    /// `d` (being deleted) and `r`/`t` running; pending, held and suspended queued.
    static func state(_ raw: String) -> BatchState {
        if raw.contains("E") { return .failed }
        if raw.contains("r") || raw.contains("t") || raw.contains("d") { return .running }
        return .queued
    }

    /// `qacct -j ID`: one record per task, separated by `====` lines; each line a key and a value.
    static func parseAccounting(_ text: String) -> [String: BatchStatus] {
        var out: [String: BatchStatus] = [:]
        for block in text.components(separatedBy: "==============================================================") {
            var fields: [String: String] = [:]
            for line in block.split(separator: "\n") {
                let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
                guard parts.count == 2 else { continue }
                fields[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces)
            }
            guard let job = fields["jobnumber"], let exitText = fields["exit_status"] else { continue }
            let id = fields["taskid"].flatMap(Int.init).map { "\(job).\($0)" } ?? job
            let failedCode = fields["failed"].flatMap { Int($0.split(separator: " ").first ?? "") } ?? 0
            let exit = Int32(exitText.split(separator: " ").first ?? "") ?? 0
            let signal: Int32? = exit > 128 ? exit - 128 : nil
            let state: BatchState = failedCode == 0 && exit == 0 ? .done : .failed
            let raw = failedCode == 0 ? "exit \(exit)" : "failed \(fields["failed"]!)"
            var status = BatchStatus(state: state, rawState: raw, exitCode: signal == nil ? exit : nil, signal: signal,
                                     accounting: Accounting(node: fields["hostname"], elapsed: fields["ru_wallclock"],
                                                            cpuTime: fields["cpu"], maxVMem: fields["maxvmem"]))
            status.exhausted = exhaustion(failedCode: failedCode, exit: exit, fields: fields)
            out[id] = status
        }
        return out
    }

    /// Failure code 37 (qmaster enforced h_rt, h_cpu or h_vmem): time when the task ran its h_rt,
    /// memory otherwise. A payload that failed with its maxvmem at 90 % of h_vmem: memory (h_vmem is
    /// also the tasks' address-space limit, so an allocation past it fails in the payload). Failure
    /// codes of the execution host failing to set the job up or losing it (`nodeFailures`): node. Codes
    /// 26–28 (output file, shell, working directory) are the job's own: a failure like any other.
    static func exhaustion(failedCode: Int, exit: Int32, fields: [String: String]) -> Exhaustion? {
        let requests = requests(fields["category"] ?? "")
        if failedCode == 37 {
            if let limit = requests["h_rt"].flatMap(BatchResources.duration), let ran = fields["ru_wallclock"].flatMap(BatchResources.duration), ran >= limit - 1 {
                return .time
            }
            return requests["h_vmem"] != nil ? .memory : nil
        }
        if nodeFailures.contains(failedCode) { return .node }
        if failedCode == 0, exit != 0, let limit = requests["h_vmem"].map(bytes),
           let used = fields["maxvmem"].map(bytes), limit > 0, used >= 0.9 * limit {
            return .memory
        }
        return nil
    }

    /// The hard resource requests in a qacct `category` (`-l h_rt=4,h_vmem=300M -q test.q`).
    static func requests(_ category: String) -> [String: String] {
        let words = category.split(separator: " ")
        var out: [String: String] = [:]
        for (index, word) in words.enumerated() where word == "-l" && index + 1 < words.count {
            for request in words[index + 1].split(separator: ",") {
                let pair = request.split(separator: "=", maxSplits: 1)
                if pair.count == 2 { out[String(pair[0])] = String(pair[1]) }
            }
        }
        return out
    }

    /// Grid Engine's failure codes (sge_status, qacct `failed`) that say the host, not the job, failed:
    /// 1–12 (shepherd, configuration, prolog, parallel environment start), 19 (before writing the exit
    /// status), 21 (job not recognised), 24 (migrating), 25 (rescheduled).
    static let nodeFailures: Set<Int> = Set(1...12).union([19, 21, 24, 25])

    /// `300M`, `4G`, `3.434MB`, `812.000K`, `0.000B` in bytes (Grid Engine's K/M/G are powers of 1024).
    static func bytes(_ text: String) -> Double {
        var number = text
        if number.hasSuffix("B") { number.removeLast() }
        let units: [Character: Double] = ["K": 1024, "k": 1000, "M": 1024 * 1024, "m": 1_000_000,
                                          "G": 1024 * 1024 * 1024, "g": 1_000_000_000]
        if let last = number.last, let unit = units[last] { return (Double(number.dropLast()) ?? 0) * unit }
        return Double(number) ?? 0
    }
}

/// The leaves of each `record` element of an XML document, in document order: what dcprod reads of
/// `qstat -xml` (`job_list`) and `qstat -xml -j` (`element`).
struct XMLRecords {
    struct Leaf { var tag: String; var text: String }
    private(set) var records: [[Leaf]] = []

    init(_ xml: String, record: String) {
        let delegate = Collector(record: record)
        let parser = XMLParser(data: Data(xml.utf8))
        parser.delegate = delegate
        _ = parser.parse()
        records = delegate.records
    }

    private final class Collector: NSObject, XMLParserDelegate {
        let record: String
        var records: [[Leaf]] = []
        var current: [Leaf]?
        var depth = 0
        var text = ""

        init(record: String) { self.record = record }

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            if name == record && current == nil { current = []; depth = 0 }
            if current != nil { depth += 1 }
            text = ""
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            guard current != nil else { return }
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !value.isEmpty { current!.append(Leaf(tag: name, text: value)) }
            text = ""
            depth -= 1
            if depth == 0 {
                records.append(current!)
                current = nil
            }
        }
    }
}
