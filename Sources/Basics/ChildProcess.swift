import Foundation
import Synchronization

/// Set by the SIGTERM handler that `ChildProcess.forwardTermination()` installs.
private let terminationRequested = Atomic<Bool>(false)

/// Starting programs as argument vectors — never through a shell — with `posix_spawnp`.
public enum ChildProcess {
    public enum Result: Equatable, Sendable {
        case exited(Int32)
        case signaled(Int32)
        case timedOut
        case couldNotStart(String)
    }

    /// Starts `arguments` with standard output and error on `output`, standard input from /dev/null,
    /// and returns its pid, or why it could not start.
    /// `newSession` puts it in a session of its own (a batch job that outlives its manager).
    public static func spawn(_ arguments: [String], output: Int32, environment: [String: String]? = nil,
                             newSession: Bool = false) -> Swift.Result<pid_t, SpawnError> {
        guard !arguments.isEmpty else { return .failure(SpawnError(reason: "empty command")) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, output, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        // No signal blocked: a child inherits the mask of the thread that starts it, and a Dispatch
        // thread blocks them all; a job started with SIGTERM blocked could not be cancelled.
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        // A group of its own, so that a time limit kills the payload and whatever it started.
        var flags = Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)
        if newSession {
            flags |= Int16(0x80) // POSIX_SPAWN_SETSID (glibc ≥ 2.26): a new session is a new group too
        } else {
            flags |= Int16(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, flags)

        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var argv = arguments.map { strdup($0) } + [nil]
        var envp = env.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let status = posix_spawnp(&pid, arguments[0], &actions, &attributes, &argv, &envp)
        guard status == 0 else { return .failure(SpawnError(reason: String(cString: strerror(status)))) }
        return .success(pid)
    }

    /// Runs `arguments` to the end, killing it (SIGKILL) after `timeLimit` seconds.
    ///
    /// Once this process has been asked to terminate (see `forwardTermination()`), the child's group
    /// is sent SIGTERM and given `terminationGrace` seconds to end before it is killed (SIGKILL); the
    /// result is then what the child did, or `timedOut` if it had to be killed.
    public static func run(_ arguments: [String], output: Int32, timeLimit: Double,
                           environment: [String: String]? = nil) -> Result {
        let pid: pid_t
        switch spawn(arguments, output: output, environment: environment) {
        case .success(let started): pid = started
        case .failure(let error): return .couldNotStart(error.reason)
        }
        var deadline = Date().addingTimeInterval(timeLimit)
        var forwarded = false
        var pause: useconds_t = 1000
        var status: Int32 = 0
        while true {
            let done = waitpid(pid, &status, WNOHANG)
            if done == pid { return decode(status) }
            if done < 0 && errno != EINTR { return .couldNotStart("waitpid: \(String(cString: strerror(errno)))") }
            if !forwarded && isTerminating {
                // The payload and whatever it started are in a group of their own, which the
                // batch system's signal to this process's group does not reach.
                kill(-pid, SIGTERM)
                forwarded = true
                deadline = min(deadline, Date().addingTimeInterval(terminationGrace))
            }
            if Date() >= deadline {
                kill(-pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                return .timedOut
            }
            usleep(pause)
            pause = min(pause * 2, 50_000)
        }
    }

    /// Seconds a child is given to end after SIGTERM is forwarded to it, before SIGKILL (Slurm's
    /// default KillWait is 30 s; a local cancel should not wait that long).
    public static let terminationGrace: Double = 10

    /// Makes SIGTERM a request rather than the end of this process: `run` then forwards it to the
    /// group of the child it is running, waits for that child, and `isTerminating` becomes true so the
    /// caller can stop. What `dcprod job run` does, so that cancelling a job (SIGTERM to the runner's
    /// group) also ends its payload, which runs in a group of its own.
    public static func forwardTermination() {
        _ = isTerminating // the flag is initialised before the handler can run
        signal(SIGTERM) { _ in terminationRequested.store(true, ordering: .relaxed) }
    }

    /// True once SIGTERM has arrived after `forwardTermination()`.
    public static var isTerminating: Bool { terminationRequested.load(ordering: .relaxed) }

    /// Reaps `pid` if it has ended (it must be our child); nil while it runs.
    public static func reap(_ pid: pid_t) -> Result? {
        var status: Int32 = 0
        let done = waitpid(pid, &status, WNOHANG)
        return done == pid ? decode(status) : nil
    }

    static func decode(_ status: Int32) -> Result {
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }
}

public struct SpawnError: Error, CustomStringConvertible, Sendable {
    public var reason: String
    public var description: String { reason }
}
