import Foundation
import GRDB
import Synchronization

/// Values read from the state store and kept until it changes, for a process that asks for the same
/// ones again and again: `dcprod serve` answers the task summary, `/api/summary` and `/metrics` from
/// them. Counting DC2013's 1.57M events by state reads the whole index (about 100 ms of SQLite alone);
/// fifty clients asking for the summary page while nothing changes need it counted once.
///
/// A change is seen from `PRAGMA data_version` on a connection of the cache's own, whose value changes
/// whenever any other connection — this process's writer or another process — commits. The version is
/// read before the value: a commit in between makes the kept value newer than its version, never
/// older, and the next request reads it again. A process that never asks twice (`status`, `report`)
/// pays one `PRAGMA` per value.
public final class StoreReadings: Sendable {
    /// What `Production` opens: the store's path, or its read-only URI (`SQLiteReadOnly`).
    private let path: String
    private let state = Mutex(State())

    private struct State: Sendable {
        /// Opened on first use: most verbs never ask for a kept value.
        var versionConnection: DatabaseQueue?
        var values: [String: (version: Int, value: any Sendable)] = [:]
        /// The keys being read anew by a request.
        var reading: Set<String> = []
        /// The runner's seconds of each verified attempt: its outcomes are recorded in the transaction
        /// that marks it verified and never change after (`StateStore.coreHours()`).
        var runnerSeconds: [Int64: Double] = [:]
    }

    init(path: String) {
        self.path = path
    }

    /// The store's data version now: another value after any commit but this connection's (it never writes).
    public func version() throws -> Int {
        try state.withLock { state in
            if state.versionConnection == nil {
                var configuration = Configuration()
                configuration.readonly = true
                configuration.busyMode = .timeout(30)
                state.versionConnection = try DatabaseQueue(path: path, configuration: configuration)
            }
            return try state.versionConnection!.inDatabase { db in try Int.fetchOne(db, sql: "PRAGMA data_version") ?? 0 }
        }
    }

    /// The value kept under `key` if the store has not changed since it was read, else `read()`'s, kept.
    ///
    /// While one caller reads a changed value anew, the others are given the value kept, read before
    /// the latest commits: fifty clients of a production at work (a commit every few hundred
    /// milliseconds) would otherwise count its events again all at once, each waiting for the others
    /// longer than an HTTP client waits. The first caller after a change, and any caller once that
    /// reading is done, gets the value as of its request.
    ///
    /// - Throws: What `read` throws, or a GRDB `DatabaseError` if the store cannot be opened.
    public func value<T: Sendable>(_ key: String, read: () throws -> T) throws -> T {
        let version = try version()
        let kept: T? = state.withLock { state in
            guard let kept = state.values[key], let value = kept.value as? T else { return nil }
            if kept.version == version { return value }
            if state.reading.contains(key) { return value }
            state.reading.insert(key)
            return nil
        }
        if let kept { return kept }
        defer { state.withLock { _ = $0.reading.remove(key) } }
        let value = try read()
        state.withLock { state in
            if (state.values[key]?.version ?? .min) <= version { state.values[key] = (version, value) }
        }
        return value
    }

    /// The runner's seconds kept of the given verified attempts; those not kept yet are left out.
    func runnerSeconds(of attempts: [Int64]) -> [Int64: Double] {
        state.withLock { state in
            var found: [Int64: Double] = [:]
            for id in attempts { if let seconds = state.runnerSeconds[id] { found[id] = seconds } }
            return found
        }
    }

    /// Keeps the runner's seconds of verified attempts.
    func keep(runnerSeconds: [Int64: Double]) {
        state.withLock { $0.runnerSeconds.merge(runnerSeconds) { _, new in new } }
    }
}
