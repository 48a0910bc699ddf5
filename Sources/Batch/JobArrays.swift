import Basics
import Foundation

/// How a batch system with job arrays gets dcprod's jobs: the jobs of one step and filter (one
/// directory of batch scripts) with the same learnt resources form an array, split at the cluster's
/// largest array. Each task runs `templates/batch/array-task.sh` on a list file written beside the
/// jobs, whose line N names task N's script, attempt, token and output — the list is also where a
/// restarted manager reads the tokens of the arrays it finds in the queue.
struct JobArrays {
    /// One array: jobs of one script directory and one set of learnt resources, at most the cluster's largest array.
    struct Array {
        /// Its jobs, in task order: task N (from 0) is line N of the list file.
        var jobs: [BatchJob]
        /// The list file, beside the jobs' scripts.
        var list: URL
        /// The name the array gets in the queue: its first job's name without the job number (`processCcd-r`).
        var name: String { jobs[0].name.split(separator: "-").dropLast().joined(separator: "-") }
        /// Where the batch system writes what the wrapper itself prints (the jobs write to their own outputs).
        var logs: String { URL(fileURLWithPath: jobs[0].output).deletingLastPathComponent().path }
    }

    /// The arrays, ordered by script directory and learnt resources.
    let arrays: [Array]

    /// Groups `jobs` into arrays by script directory, memory and walltime, each cut into pieces of at
    /// most `maxArraySize` tasks; a list is named after its first job's token (`array-TOKEN.list`).
    ///
    /// - Parameters:
    ///   - jobs: The jobs of one submission call.
    ///   - maxArraySize: The cluster's largest array (MaxArraySize, max_aj_tasks); below 1 counts as 1.
    init(_ jobs: [BatchJob], maxArraySize: Int) {
        let groups = Dictionary(grouping: jobs) {
            URL(fileURLWithPath: $0.script).deletingLastPathComponent().path + "|" + ($0.memory ?? "") + "|" + ($0.walltime ?? "")
        }
        var arrays: [Array] = []
        for key in groups.keys.sorted() {
            let group = groups[key]!
            let directory = URL(fileURLWithPath: group[0].script).deletingLastPathComponent().path
            for start in stride(from: 0, to: group.count, by: max(1, maxArraySize)) {
                let chunk = Swift.Array(group[start..<min(start + max(1, maxArraySize), group.count)])
                let list = URL(fileURLWithPath: directory).appendingPathComponent("array-\(chunk[0].token).list")
                arrays.append(Array(jobs: chunk, list: list))
            }
        }
        self.arrays = arrays
    }

    /// Submits each array with `call` (which writes nothing but the batch system's queue and returns
    /// the array's id) after writing its list, with its share of `throttle` (`shares(of:)`): its own
    /// limit, and the id of the array it must wait for, if any. Returns every job's id (`taskId(array
    /// id, index from 0)`) by token. Refused, it throws a `BatchError` that names the jobs of the arrays
    /// accepted before.
    func submitEach(throttle: Int, _ call: (Array, _ limit: Int, _ after: String?) throws -> String,
                    taskId: (String, Int) -> String) throws -> [String: String] {
        var ids: [String: String] = [:]
        var arrayIds: [String] = []
        for (array, share) in zip(arrays, shares(of: throttle)) {
            do {
                try Self.writeList(array)
                let id = try call(array, share.limit, share.after.map { arrayIds[$0] })
                arrayIds.append(id)
                for (index, job) in array.jobs.enumerated() { ids[job.token] = taskId(id, index) }
            } catch {
                var refused = error as? BatchError ?? BatchError(command: "submit", message: "\(error)")
                refused.accepted = ids
                throw refused
            }
        }
        return ids
    }

    /// One array's share of MAXRUNNING: the most of its tasks that run at once (`%M`, `-tc M`), and
    /// the array (its index) that it waits for, when it must (a dependency: `--dependency=afterany`, `-hold_jid`).
    struct Share: Equatable {
        var limit: Int
        var after: Int?
    }

    /// MAXRUNNING shared among the arrays handed over together, so that their tasks running at once
    /// never add up to more than it.
    ///
    /// With at most `throttle` arrays, each gets `throttle / n`, the first `throttle % n` one more. An
    /// array cannot run less than one task at a time, so with more arrays than `throttle` there are
    /// `throttle` lanes of one task each: array `i` waits for array `i - throttle` to end.
    ///
    /// - Parameter throttle: MAXRUNNING (below 1 counts as 1).
    /// - Returns: One share per array, in the arrays' order.
    func shares(of throttle: Int) -> [Share] {
        let lanes = max(1, throttle), count = arrays.count
        guard count > lanes else {
            return (0..<count).map { Share(limit: lanes / count + ($0 < lanes % count ? 1 : 0)) }
        }
        return (0..<count).map { Share(limit: 1, after: $0 >= lanes ? $0 - lanes : nil) }
    }

    /// The separator of a list line's fields: a tab, which no path of a production holds (the config
    /// refuses control characters), where `|` may be in a directory's name.
    static let separator: Character = "\t"

    /// Writes an array's list file (before the submission call that names it).
    private static func writeList(_ array: Array) throws {
        let lines = array.jobs.map { [$0.script, String($0.attempt), $0.token, $0.output].joined(separator: String(separator)) }
            .joined(separator: "\n") + "\n"
        try AtomicFile.write(Data(lines.utf8), to: array.list)
    }

    /// The token of the job on line `index` (from 0) of a list file, if the list is readable.
    static func token(inList path: String, at index: Int) -> String? {
        guard let list = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let entries = list.split(separator: "\n")
        guard index >= 0, index < entries.count else { return nil }
        return entries[index].split(separator: separator, omittingEmptySubsequences: false).dropFirst(2).first.map(String.init)
    }

    /// The arrays of these tasks' backend ids (`1234_5` → `1234` for Slurm, `77.3` → `77` for Grid
    /// Engine), each once, in order: one argument per array where one per task would not fit a command line.
    static func arrayIds(of backendIds: [String], separator: Character) -> [String] {
        var seen = Set<String>()
        return backendIds.compactMap { $0.split(separator: separator).first.map(String.init) }.filter { seen.insert($0).inserted }
    }

    /// Task ids grouped by array, each array's task numbers as ranges (`"0-999"`, `"1001"`), in the order
    /// of the arrays' first appearance: what lets `scancel 1234_[0-999]` or `qdel 77.1-1000` name a
    /// thousand tasks in one argument. Ids without a task number are returned as `(id, [])`.
    static func taskRanges(of backendIds: [String], separator: Character) -> [(array: String, ranges: [String])] {
        var order: [String] = []
        var tasks: [String: [Int]] = [:]
        for id in backendIds {
            let parts = id.split(separator: separator, maxSplits: 1)
            let array = String(parts[0])
            if tasks[array] == nil { order.append(array); tasks[array] = [] }
            if parts.count == 2, let task = Int(parts[1]) { tasks[array]!.append(task) }
        }
        return order.map { array in
            var ranges: [(Int, Int)] = []
            for task in Set(tasks[array]!).sorted() {
                if let last = ranges.last, last.1 + 1 == task { ranges[ranges.count - 1].1 = task } else { ranges.append((task, task)) }
            }
            return (array, ranges.map { $0.0 == $0.1 ? "\($0.0)" : "\($0.0)-\($0.1)" })
        }
    }

    /// The task wrapper of the production's templates, checked before anything is submitted.
    static func wrapper(in templates: URL, command: String) throws -> String {
        let wrapper = templates.appendingPathComponent("batch/array-task.sh").path
        guard FileManager.default.fileExists(atPath: wrapper) else {
            throw BatchError(command: command, message: "no array task wrapper \(wrapper)")
        }
        return wrapper
    }

    /// The directive lines of a job script that start with `prefix` (`#SBATCH `, `#$ `), without the prefix.
    static func directives(of script: String, prefix: String, command: String) throws -> [String] {
        guard let text = try? String(contentsOfFile: script, encoding: .utf8) else {
            throw BatchError(command: command, message: "cannot read \(script)")
        }
        return text.split(separator: "\n").compactMap { line in
            line.hasPrefix(prefix) ? line.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces) : nil
        }
    }
}

/// The largest array and the most jobs a cluster accepts, read once from its configuration, not
/// assumed (`scontrol show config`, `qconf -sconf`).
final class ClusterLimits: @unchecked Sendable {
    /// The largest array, the most jobs in the system at once, and the most jobs of this user, where
    /// the cluster says (nil: no limit of its own).
    struct Values {
        var maxArraySize: Int
        var maxJobCount: Int
        var maxUserJobs: Int? = nil

        /// How many more jobs the cluster accepts, with `all` jobs in it of which `mine` are this user's.
        ///
        /// - Returns: The smaller of what is left below the cluster's limit and below the user's; never negative.
        func room(all: Int, mine: Int) -> Int {
            max(0, min(maxJobCount - all, (maxUserJobs ?? Int.max) - mine))
        }
    }
    private let lock = NSLock()
    private var values: Values?
    private let read: () throws -> Values

    /// Makes the limits of a cluster, not read yet.
    ///
    /// - Parameter read: Runs the cluster's configuration command and picks the two values out of it.
    init(read: @escaping () throws -> Values) {
        self.read = read
    }

    /// The limits, read at the first call and kept; a failed read is tried again at the next call.
    ///
    /// - Returns: The cluster's limits.
    /// - Throws: What `read` threw, a `BatchError` from the configuration command.
    func get() throws -> Values {
        try lock.withLock {
            if let values { return values }
            let read = try self.read()
            values = read
            return read
        }
    }

    /// The name of the user dcprod runs as, whose jobs count against a per-user limit.
    static let userName: String = getpwuid(getuid()).flatMap { $0.pointee.pw_name.map { String(cString: $0) } }
        ?? ProcessInfo.processInfo.environment["USER"] ?? ""

    /// The number that ends the line of `key` in a configuration listing (`MaxArraySize = 1001`,
    /// `max_aj_tasks 75000`).
    static func value(_ key: String, in text: String) -> Int? {
        text.split(separator: "\n").first { $0.hasPrefix(key + " ") }
            .flatMap { $0.split(whereSeparator: \.isWhitespace).last }.flatMap { Int($0) }
    }
}
