import Foundation

/// The one-writer lock of a production: an exclusive `flock` on `production.lock` in its tree,
/// held from the moment a verb that changes the production starts until its process ends. The
/// kernel releases it when the process dies, however it dies, so a killed verb never leaves the
/// production locked.
///
/// The file's content says who holds the lock (user, host, pid, verb, since when), for the message
/// of a verb that waits; it is informative only: the flock is the lock. The descriptor is opened
/// close-on-exec, so that the jobs a verb starts (the local backend's) do not inherit the lock.
public final class ProductionLock: @unchecked Sendable {
    /// Who holds a production's lock, as its holder wrote it.
    public struct Holder: Sendable, CustomStringConvertible {
        public var text: String
        public var description: String { text.isEmpty ? "another dcprod" : text }
    }

    /// The lock is held by another process (and the verb would not wait), or cannot be taken.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var message: String
        public var description: String { message }
    }

    private let descriptor: Int32
    public let path: String

    /// Takes the lock of the production whose tree is `root`.
    ///
    /// - Parameters:
    ///   - root: The production tree.
    ///   - verb: The command line of the verb, recorded for whoever waits.
    ///   - wait: Wait for the holder to finish; false: throw `Failure` at once.
    ///   - waiting: Called once, with the holder, when the lock is held and the verb is going to wait.
    /// - Throws: `Failure` when the lock is held and `wait` is false, or the lock file cannot be opened.
    public init(root: URL, verb: String, wait: Bool, waiting: (Holder) -> Void = { _ in }) throws {
        path = root.appendingPathComponent("production.lock").path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw Failure(message: "\(path): cannot open the production lock: \(String(cString: strerror(errno)))")
        }
        descriptor = fd
        if flock(fd, LOCK_EX | LOCK_NB) != 0, let holder = Self.holder(fd) {
            guard wait else {
                close(fd)
                throw Failure(message: "the production is busy: \(path) is held by \(holder); run again when it ends, or without --no-wait to wait for it")
            }
            waiting(holder)
            while flock(fd, LOCK_EX) != 0 {
                guard errno == EINTR else {
                    close(fd)
                    throw Failure(message: "\(path): cannot take the production lock: \(String(cString: strerror(errno)))")
                }
            }
        }
        let since = ISO8601DateFormatter().string(from: Date())
        let line = "\(NSUserName())@\(ProcessInfo.processInfo.hostName) pid \(getpid()) (\(verb)) since \(since)\n"
        _ = ftruncate(fd, 0)
        _ = line.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    deinit {
        _ = ftruncate(descriptor, 0)
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    /// Who holds the lock, or nil when it was released meanwhile and is now taken by this process.
    /// A holder writes its line just after it takes the lock: a verb started in the same instant can
    /// find the file still empty, so it reads again for up to a second while the lock is held, rather
    /// than name no one.
    private static func holder(_ fd: Int32) -> Holder? {
        for _ in 0..<100 {
            let text = read(fd)
            if !text.isEmpty { return Holder(text: text) }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { return nil }
            usleep(10_000)
        }
        return Holder(text: read(fd))
    }

    private static func read(_ fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = pread(fd, &buffer, buffer.count, 0)
        guard count > 0 else { return "" }
        return String(decoding: buffer.prefix(count), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
