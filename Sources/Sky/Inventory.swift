import Foundation
import Production

/// Finds the frames under INPUT, reads each header and footprint, keeps those inside REGION
/// and FILTERS, and records one processCcd event per frame. Files already recorded are not
/// read again; rejected files are read again only when their size or mtime changed.
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

    /// Every `fpC-*.fit` file under `directory`, sorted by path.
    public static func frameFiles(under directory: String) -> [(path: String, name: FrameName)] {
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return [] }
        var out: [(String, FrameName)] = []
        while let relative = walker.nextObject() as? String {
            let fileName = (relative as NSString).lastPathComponent
            guard fileName.hasPrefix("fpC-"), let name = FrameName(fileName: fileName) else { continue }
            out.append(((directory as NSString).appendingPathComponent(relative), name))
        }
        return out.sorted { $0.0 < $1.0 }
    }

    public func run(progress: (Progress) -> Void = { _ in }) throws -> Summary {
        let start = Date()
        var summary = Summary()
        let files = Self.frameFiles(under: config.input)
        summary.candidates = files.count
        let memory = try store.inventoryMemory()

        var todo: [(path: String, name: FrameName, size: Int, mtime: Double)] = []
        for file in files {
            let (size, mtime) = Self.stat(file.path)
            if memory.isKnown(path: file.path, size: size, mtime: mtime) {
                summary.alreadyKnown += 1
            } else {
                todo.append((file.path, file.name, size, mtime))
            }
        }

        var frames: [FrameRecord] = []
        var rejections: [RejectionRecord] = []
        func flush() throws {
            let duplicates = try store.recordInventory(frames: frames, rejections: rejections)
            for frame in frames where !duplicates.contains(where: { $0.path == frame.path }) {
                summary.newEvents[frame.filter, default: 0] += 1
            }
            for rejection in rejections + duplicates {
                switch rejection.kind {
                case .failure: summary.failures[rejection.reason, default: 0] += 1
                case .skip: summary.skips[rejection.reason, default: 0] += 1
                }
            }
            frames.removeAll(keepingCapacity: true)
            rejections.removeAll(keepingCapacity: true)
        }

        progress(Progress(done: 0, total: todo.count, elapsed: 0))
        for (index, file) in todo.enumerated() {
            switch examine(path: file.path, name: file.name, size: file.size, mtime: file.mtime) {
            case .accepted(let frame): frames.append(frame)
            case .rejected(let rejection): rejections.append(rejection)
            }
            if frames.count + rejections.count >= batchSize { try flush() }
            progress(Progress(done: index + 1, total: todo.count, elapsed: Date().timeIntervalSince(start)))
        }
        try flush()
        return summary
    }

    enum Verdict {
        case accepted(FrameRecord)
        case rejected(RejectionRecord)
    }

    func examine(path: String, name: FrameName, size: Int, mtime: Double) -> Verdict {
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

    static func stat(_ path: String) -> (size: Int, mtime: Double) {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return (0, 0) }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        let mtime = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        return (size, mtime)
    }
}
