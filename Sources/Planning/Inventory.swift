import Basics
import Foundation
import Production
import Sky
import Synchronization

/// Finds the frames under INPUT, reads each header and footprint, keeps those inside REGION
/// and FILTERS, and records one processCcd event per frame with the sky map patches it touches.
/// Files already recorded are not read again; rejected files are read again only when their size or
/// mtime changed. Frames recorded before the store kept patches get theirs.
public struct Inventory: Sendable {
    public struct Progress: Sendable {
        public var done: Int
        public var total: Int
        public var elapsed: Double
    }

    public struct Summary: Sendable, Equatable {
        public var candidates = 0
        public var alreadyKnown = 0
        public var newEvents: [Filter: Int] = [:]
        public var failures: [String: Int] = [:]
        public var skips: [String: Int] = [:]

        public var newEventCount: Int { newEvents.values.reduce(0, +) }
        public var failureCount: Int { failures.values.reduce(0, +) }
        public var skipCount: Int { skips.values.reduce(0, +) }

        /// One line for the logbook and the terminal.
        public var line: String {
            let perFilter = Filter.allCases.compactMap { f in newEvents[f].map { "\(f.rawValue) \($0)" } }.joined(separator: ", ")
            var text = "inventory: \(candidates) frame files, \(alreadyKnown) already known, \(newEventCount) new events"
            if !perFilter.isEmpty { text += " (\(perFilter))" }
            text += ", \(failureCount) failures"
            if failureCount > 0 {
                text += " (" + failures.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"
            }
            text += ", \(skipCount) skipped"
            if skipCount > 0 {
                text += " (" + skips.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"
            }
            return text
        }
    }

    public let config: ProductionConfig
    public let store: StateStore
    /// Results are written in transactions of this many files.
    public var batchSize = 256

    public init(config: ProductionConfig, store: StateStore) {
        self.config = config
        self.store = store
    }

    /// Walks INPUT in batches of `batchSize` files (only a batch and one directory's names in memory),
    /// reads the files not seen before and records each batch in one transaction. `progress` counts
    /// the files walked, of all those with a frame's name under INPUT.
    ///
    /// - Parameter skyMap: The production's sky map: each frame is recorded with the patches it touches
    ///   (`FramePatches`). Without one, or where wcslib cannot place a frame, planning finds them.
    public func run(skyMap: SkyMap? = nil, progress: (Progress) -> Void = { _ in }) throws -> Summary {
        let start = Date()
        var summary = Summary()
        let total = FrameFile.count(under: config.input)
        progress(Progress(done: 0, total: total, elapsed: 0))
        try FrameFile.walk(under: config.input, batch: batchSize) { files in
            summary.candidates += files.count
            let memory = try store.inventoryMemory(of: files.map(\.path))
            let todo = files.filter { !memory.isKnown(path: $0.path, size: $0.size, mtime: $0.mtime) }
            summary.alreadyKnown += files.count - todo.count
            var frames: [FrameRecord] = []
            var rejections: [RejectionRecord] = []
            for verdict in examine(todo[...]) {
                switch verdict {
                case .accepted(var frame):
                    // Here, one frame at a time: a wcslib projection is not to be shared between threads.
                    if let patches = try? skyMap?.patches(touching: frame.corners + [frame.center]) {
                        frame.patches = FramePatches.text(patches)
                    }
                    frames.append(frame)
                case .rejected(let rejection): rejections.append(rejection)
                }
            }
            let duplicates = try store.recordInventory(frames: frames, rejections: rejections)
            logger.debug("inventory: \(files.count) files from \(files.first?.path ?? "-"): \(todo.count) read, \(frames.count - duplicates.count) new frames, \(rejections.count + duplicates.count) rejected")
            for frame in frames where !duplicates.contains(where: { $0.path == frame.path }) {
                summary.newEvents[frame.filter, default: 0] += 1
            }
            for rejection in rejections + duplicates {
                switch rejection.kind {
                case .failure: summary.failures[rejection.reason, default: 0] += 1
                case .skip: summary.skips[rejection.reason, default: 0] += 1
                }
            }
            progress(Progress(done: min(summary.candidates, total), total: max(total, summary.candidates),
                              elapsed: Date().timeIntervalSince(start)))
        }
        if let skyMap { _ = try FramePatches.fill(in: store, map: skyMap) }
        return summary
    }

    /// The verdicts on `files`, in their order, read on every core.
    ///
    /// cfitsio's error-message stack is one for the whole process: a frame refused while others
    /// were being read could carry another thread's words. Refused frames are read again, one at
    /// a time once the others are done, so that every message is the file's own.
    func examine(_ files: ArraySlice<FrameFile>) -> [Verdict] {
        let verdicts = Mutex([Verdict?](repeating: nil, count: files.count))
        DispatchQueue.concurrentPerform(iterations: files.count) { index in
            let verdict = examine(files[files.startIndex + index])
            verdicts.withLock { $0[index] = verdict }
        }
        FITSFile.clearMessages()
        return zip(files, verdicts.withLock { $0 }).map { file, verdict in
            if case .rejected(let rejection) = verdict, rejection.kind == .failure { return examine(file) }
            return verdict!
        }
    }

    enum Verdict: Sendable {
        case accepted(FrameRecord)
        case rejected(RejectionRecord)
    }

    func examine(_ file: FrameFile) -> Verdict {
        let (path, name, size, mtime) = (file.path, file.name, file.size, file.mtime)
        func reject(_ kind: RejectionRecord.Kind, _ reason: String, _ message: String) -> Verdict {
            .rejected(RejectionRecord(path: path, kind: kind, reason: reason, message: message, size: size, mtime: mtime))
        }
        guard config.filters.contains(name.filter) else {
            return reject(.skip, "filter not selected", "filter \(name.filter.rawValue) is not in FILTERS")
        }
        let header: FrameHeader
        do {
            header = try FrameHeader.read(path: path, name: name)
        } catch {
            return reject(.failure, error.reason.rawValue, error.message)
        }
        guard config.region.contains(ra: header.center.ra, dec: header.center.dec) else {
            return reject(.skip, "outside region",
                          "centre (\(header.center.ra), \(header.center.dec)) is outside REGION \(config.region)")
        }
        return .accepted(FrameRecord(path: path, run: name.run, camcol: name.camcol, field: name.field, filter: name.filter,
                                     eventKey: name.eventKey, width: header.width, height: header.height,
                                     corners: header.corners, center: header.center, size: size, mtime: mtime))
    }
}
