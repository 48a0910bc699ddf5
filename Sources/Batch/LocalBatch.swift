import Foundation
import Production

/// The local backend: each job is `/bin/sh SCRIPT` in a session of its own on this machine, so
/// that it outlives a manager that is killed. Its backend id is its pid; its token is in its
/// environment (`DCPROD_TOKEN`), where a restarted manager finds it in /proc.
public struct LocalBatch: BatchSystem {
    public var name: String { "local" }

    public init() {}

    /// This machine is the scheduler: the submitter starts jobs as slots free up.
    public var throttles: Bool { false }
    public func capacity() throws -> Int { Int.max }

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

    public func release(_ backendIds: [String]) throws {
        guard backendIds.isEmpty else { throw BatchError(command: "release", message: Self.noQueue) }
    }

    static let noQueue = "the local backend has no queue: it starts jobs at once and cannot hold them"

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

    public func cancel(_ backendIds: [String]) throws {
        for id in backendIds {
            if let pid = pid_t(id), Self.isAlive(pid) { kill(-pid, SIGTERM) }
        }
    }

    public func find(tokens: [String]) throws -> [String: String] {
        let wanted = Set(tokens)
        var found: [String: String] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry), let environ = FileManager.default.contents(atPath: "/proc/\(entry)/environ") else { continue }
            for variable in environ.split(separator: 0) where variable.starts(with: Array("DCPROD_TOKEN=".utf8)) {
                let token = String(decoding: variable.dropFirst(13), as: UTF8.self)
                if wanted.contains(token), Self.isAlive(pid) { found[token] = entry }
            }
        }
        return found
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
