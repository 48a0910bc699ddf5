import Basics
import Foundation

/// The local backend: each job is `/bin/sh SCRIPT` in a session of its own on this machine, so
/// that it outlives a manager that is killed. Its backend id is its pid; its token is in its
/// environment (`DCPROD_TOKEN`), where a restarted manager finds it in /proc.
///
/// Only the manager that started a job can learn how it ended (by reaping it): after a restart its
/// jobs are followed while they run and are `lost` once they end. Needs Linux's /proc.
public struct LocalBatch: BatchSystem {
    /// `local`, as in the BACKEND setting.
    public var name: String { "local" }

    /// Makes the backend; it has no configuration.
    public init() {}

    /// This machine is the scheduler: the submitter starts jobs as slots free up.
    ///
    /// Always false: the submitter itself keeps at most MAXRUNNING jobs running.
    public var throttles: Bool { false }
    /// No limit of its own: MAXRUNNING is the only one.
    ///
    /// - Returns: `Int.max`.
    /// - Throws: Never.
    public func capacity() throws -> Int { Int.max }

    /// Starts every job now, each `/bin/sh SCRIPT` in a new session, its standard output and error
    /// appended to `job.output`, with `DCPROD_ATTEMPT` and `DCPROD_TOKEN` added to the manager's environment.
    ///
    /// The job's learnt `memory` and `walltime` are not enforced here.
    ///
    /// - Parameters:
    ///   - jobs: The jobs to start.
    ///   - throttle: Ignored: the submitter hands over only as many jobs as may run.
    ///   - hold: Must be false: there is no queue to hold jobs in.
    /// - Returns: Each job's pid, as text, by token.
    /// - Throws: `BatchError` when `hold` is true (nothing started), or when a job's output file cannot be
    ///   opened or its shell cannot be started; `accepted` then lists the jobs started before it.
    public func submit(_ jobs: [BatchJob], throttle: Int, hold: Bool) throws -> [String: String] {
        guard !hold else { throw BatchError(command: "submit --hold", message: Self.noQueue) }
        var ids: [String: String] = [:]
        for job in jobs {
            let output = open(job.output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard output >= 0 else {
                throw BatchError(command: "local submit", message: "cannot open \(job.output)", accepted: ids)
            }
            defer { close(output) }
            var environment = ProcessInfo.processInfo.environment
            environment["DCPROD_ATTEMPT"] = String(job.attempt)
            environment["DCPROD_TOKEN"] = job.token
            switch ChildProcess.spawn(["/bin/sh", job.script], output: output, environment: environment, newSession: true) {
            case .success(let pid): ids[job.token] = String(pid)
            case .failure(let error): throw BatchError(command: "/bin/sh \(job.script)", message: error.reason, accepted: ids)
            }
        }
        return ids
    }

    /// Accepts only an empty list: local jobs are never held.
    ///
    /// - Parameter backendIds: The jobs to release.
    /// - Throws: `BatchError` when the list is not empty.
    public func release(_ backendIds: [String]) throws {
        guard backendIds.isEmpty else { throw BatchError(command: "release", message: Self.noQueue) }
    }

    static let noQueue = "the local backend has no queue: it starts jobs at once and cannot hold them"

    /// The state of each job, from the process table.
    ///
    /// A job this manager started is reaped when it has ended: `done` for exit status 0, else `failed`
    /// with its exit status or signal. Reaping is once only: the ended job is absent from later calls,
    /// so the caller records the first answer. A job started by an earlier manager is `running` while
    /// its process lives and absent afterwards. No accounting is given.
    ///
    /// - Parameter backendIds: Pids, as `submit` returned them; ids that are not numbers are left out.
    /// - Returns: The status of each job found, by pid; absent for one that has ended and cannot be reaped.
    /// - Throws: Never.
    public func status(_ backendIds: [String]) throws -> [String: BatchStatus] {
        var out: [String: BatchStatus] = [:]
        for id in backendIds {
            guard let pid = pid_t(id) else { continue }
            // Our own child: reaping it gives its exit status.
            if let result = ChildProcess.reap(pid) {
                switch result {
                case .exited(let code): out[id] = BatchStatus(state: code == 0 ? .done : .failed, rawState: "exited \(code)", exitCode: code)
                case .signaled(let signal): out[id] = BatchStatus(state: .failed, rawState: "signal \(signal)", signal: signal)
                default: break
                }
            } else if Self.isAlive(pid) {
                out[id] = BatchStatus(state: .running, rawState: "running")
            }
        }
        return out
    }

    /// Sends SIGTERM to each live job's process group, the one its session started with (the shell, then
    /// `dcprod job run`). The runner forwards it to the event's command it is running, which is in a group
    /// of its own, and ends once that command has ended (`JobRunner`), so nothing of the job is left.
    ///
    /// - Parameter backendIds: Pids, as `submit` returned them; ended jobs are skipped.
    /// - Throws: Never: a job that cannot be signalled is left as it is.
    public func cancel(_ backendIds: [String]) throws {
        for id in backendIds {
            if let pid = pid_t(id), Self.isAlive(pid) { kill(-pid, SIGTERM) }
        }
    }

    /// The pids of live jobs whose environment carries one of these tokens, read from
    /// `/proc/PID/environ` (only this user's processes are readable).
    ///
    /// Only a session leader is a job: `submit` starts each job in a session of its own, and its pid is
    /// the job's id. Whatever the job started inherits its environment (a payload of an older runner,
    /// which did not remove the token, or a command of a site's own script) but not its session.
    ///
    /// - Parameter tokens: The tokens of jobs whose submission was not recorded.
    /// - Returns: The pid of the live job with each token found, by token.
    /// - Throws: Never.
    public func find(tokens: [String]) throws -> [String: String] {
        let wanted = Set(tokens)
        var found: [String: String] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry), let environ = FileManager.default.contents(atPath: "/proc/\(entry)/environ") else { continue }
            for variable in environ.split(separator: 0) where variable.starts(with: Array("DCPROD_TOKEN=".utf8)) {
                let token = String(decoding: variable.dropFirst(13), as: UTF8.self)
                if wanted.contains(token), Self.session(of: pid) == pid, Self.isAlive(pid) { found[token] = entry }
            }
        }
        return found
    }

    /// The session a process belongs to (the sixth field of `/proc/PID/stat`), nil if it is gone.
    static func session(of pid: pid_t) -> pid_t? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 3 ? pid_t(fields[3]) : nil
    }

    /// Alive and not a zombie.
    static func isAlive(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        let state = stat[stat.index(after: close)...].split(separator: " ").first
        return state != "Z"
    }
}
