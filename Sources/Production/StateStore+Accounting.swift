import Basics
import Foundation
import GRDB

/// What a production used and made, per step and filter: DC2013's data-volume table, computed from
/// what the state store recorded when outcomes were read (`outcome.sizes`), never by walking the tree.
public struct ProductionAccounting: Codable, Sendable, Equatable {
    /// The files of one format (the extension of their names: `fits`, `csv`, …), and their bytes.
    public struct Volume: Codable, Sendable, Equatable {
        public var format: String
        public var files: Int
        public var bytes: Int64
    }

    /// One step in one filter.
    public struct Line: Codable, Sendable, Equatable {
        public var step: String
        public var filter: String
        /// Jobs planned, and their submissions.
        public var jobs: Int
        public var attempts: Int
        /// Events, and those ok.
        public var events: Int
        public var ok: Int
        /// CPU hours: the batch system's accounting of each attempt where it has one, else the seconds
        /// the job runner measured for its events.
        public var coreHours: Double
        /// Of the attempts counted in `coreHours`, those with the batch system's own accounting.
        public var accountedAttempts: Int
        /// What the step's ok events read: the raw frames for processCcd, the calexps of their inputs after it.
        public var inputs: [Volume]
        /// What the step's ok events wrote, by format.
        public var outputs: [Volume]
        /// Catalog rows of the step's loaded events (`event.loadedRows`).
        public var rowsLoaded: Int
    }

    public var lines: [Line]

    /// `8 fits 96.1 MB, 16 csv 512.0 kB`, or `-` for none.
    public static func text(_ volumes: [Volume]) -> String {
        volumes.isEmpty ? "-" : volumes.map { "\($0.files) \($0.format) \(bytes($0.bytes))" }.joined(separator: ", ")
    }

    /// A size in decimal units, as data-volume tables give them: `96.1 MB`.
    public static func bytes(_ count: Int64) -> String {
        ByteCountFormatter.string(fromByteCount: count, countStyle: .decimal)
    }
}

extension StateStore {
    /// The accounting of every step and filter that has events.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func accounting() throws -> ProductionAccounting {
        try pool.read { db in
            var lines: [String: ProductionAccounting.Line] = [:]
            func line(_ step: String, _ filter: String) -> ProductionAccounting.Line {
                lines["\(step)/\(filter)"] ?? ProductionAccounting.Line(step: step, filter: filter, jobs: 0, attempts: 0, events: 0, ok: 0,
                                                                        coreHours: 0, accountedAttempts: 0, inputs: [], outputs: [], rowsLoaded: 0)
            }
            func update(_ step: String, _ filter: String, _ change: (inout ProductionAccounting.Line) -> Void) {
                var current = line(step, filter)
                change(&current)
                lines["\(step)/\(filter)"] = current
            }
            for tally in try Self.eventTallies(db) {
                update(tally.step, tally.filter) { line in
                    line.events += tally.events
                    if tally.state == EventState.ok.rawValue { line.ok += tally.events }
                    line.rowsLoaded += tally.loadedRows
                }
            }
            for row in try Row.fetchAll(db, sql: "SELECT step, filter, COUNT(*) FROM job GROUP BY step, filter") {
                update(row[0], row[1]) { $0.jobs = row[2] }
            }
            // Each attempt: the batch system's CPU time, or the seconds of its events' outcomes. The
            // outcomes are summed in one pass: the table has no index by attempt, and a sum per attempt
            // read all of it for each (hours for DC2013's 40,000 jobs).
            let attempts = try Row.fetchCursor(db, sql: """
                SELECT j.step, j.filter, a.cpuTime, s.seconds
                FROM attempt a JOIN job j ON j.id = a.jobId
                LEFT JOIN (SELECT attemptId, SUM(seconds) AS seconds FROM outcome GROUP BY attemptId) s ON s.attemptId = a.id
                """)
            while let row = try attempts.next() {
                let accounted = (row[2] as String?).flatMap(BatchResources.duration)
                let seconds = accounted ?? (row[3] as Double?) ?? 0
                update(row[0], row[1]) {
                    $0.attempts += 1
                    $0.coreHours += seconds / 3600
                    if accounted != nil { $0.accountedAttempts += 1 }
                }
            }
            let (inputs, outputs) = try Self.dataVolumes(db)
            func volumes(_ byFormat: [String: (files: Int, bytes: Int64)]?) -> [ProductionAccounting.Volume] {
                (byFormat ?? [:]).sorted { $0.key < $1.key }.map { ProductionAccounting.Volume(format: $0.key, files: $0.value.files, bytes: $0.value.bytes) }
            }
            for key in lines.keys {
                lines[key]!.outputs = volumes(outputs[key])
                lines[key]!.inputs = volumes(inputs[key])
            }
            return ProductionAccounting(lines: lines.values.sorted { tableOrder(step: $0.step, filter: $0.filter) < tableOrder(step: $1.step, filter: $1.filter) })
        }
    }

    /// The files and bytes by format that the ok events of each step and filter (`STEP/FILTER`) read
    /// and wrote, from their latest outcomes: processCcd reads its frames, a later step the FITS
    /// outputs (calexps) of its processCcd inputs.
    static func dataVolumes(_ db: Database) throws -> (inputs: [String: [String: (files: Int, bytes: Int64)]],
                                                       outputs: [String: [String: (files: Int, bytes: Int64)]]) {
        // What they wrote.
        var outputs: [String: [String: (files: Int, bytes: Int64)]] = [:]
        let written = try Row.fetchCursor(db, SQLRequest(literal: """
            SELECT e.step, e.filter, o.outputs, o.sizes FROM event e JOIN outcome o ON o.eventId = e.id AND o.attemptId = e.attemptId
            WHERE e.state = \(EventState.ok) AND o.sizes IS NOT NULL
            """))
        while let row = try written.next() {
            Self.add(paths: row[2], sizes: row[3], to: &outputs["\(row[0] as String)/\(row[1] as String)", default: [:]])
        }
        // What they read.
        var inputs: [String: [String: (files: Int, bytes: Int64)]] = [:]
        for row in try Row.fetchAll(db, SQLRequest(literal: """
            SELECT e.step, e.filter, COUNT(*), SUM(f.size) FROM event e JOIN frame f ON f.id = e.frameId
            WHERE e.step = \(Step.processCcd) AND e.state = \(EventState.ok) GROUP BY e.step, e.filter
            """)) {
            inputs["\(row[0] as String)/\(row[1] as String)", default: [:]]["fits"] = (row[2], row[3])
        }
        let read = try Row.fetchCursor(db, SQLRequest(literal: """
            SELECT e.step, e.filter, o.outputs, o.sizes FROM event e JOIN event_input ei ON ei.eventId = e.id
            JOIN event i ON i.id = ei.inputId AND i.step = \(Step.processCcd) AND i.state = \(EventState.ok)
            JOIN outcome o ON o.eventId = i.id AND o.attemptId = i.attemptId
            WHERE e.state = \(EventState.ok) AND o.sizes IS NOT NULL
            """))
        while let row = try read.next() {
            Self.add(paths: row[2], sizes: row[3], to: &inputs["\(row[0] as String)/\(row[1] as String)", default: [:]], only: "fits")
        }
        return (inputs, outputs)
    }

    /// Adds an outcome's outputs and their sizes (both `\n`-separated, in the same order) to the
    /// files and bytes of their formats; only those of format `only`, when given.
    ///
    /// ASCII text without carriage returns (every path a manifest names, in practice) is cut as bytes,
    /// in place: there a byte is a Character, and the accounting of DC2013's 1.57M outcomes spent most
    /// of its time finding Characters and making substrings. Other text is cut by Characters, as before.
    static func add(paths: String?, sizes: String?, to volumes: inout [String: (files: Int, bytes: Int64)], only: String? = nil) {
        guard var paths, var sizes else { return }
        let done = paths.withUTF8 { paths in
            sizes.withUTF8 { sizes in addBytes(paths: paths, sizes: sizes, to: &volumes, only: only) }
        }
        if !done { addByCharacters(paths: paths, sizes: sizes, to: &volumes, only: only) }
    }

    /// `add(paths:sizes:to:only:)` on the bytes of ASCII text without carriage returns; false, having
    /// added nothing, for other text.
    private static func addBytes(paths: UnsafeBufferPointer<UInt8>, sizes: UnsafeBufferPointer<UInt8>,
                                 to volumes: inout [String: (files: Int, bytes: Int64)], only: String?) -> Bool {
        let newline = UInt8(ascii: "\n"), dot = UInt8(ascii: "."), carriageReturn = UInt8(ascii: "\r")
        guard !paths.contains(where: { $0 >= 0x80 || $0 == carriageReturn }), !sizes.contains(where: { $0 >= 0x80 || $0 == carriageReturn }) else {
            return false
        }
        /// The next line that is not empty from `index` on (`split` omits empty ones), and `index` past it.
        func line(_ text: UnsafeBufferPointer<UInt8>, _ index: inout Int) -> Range<Int>? {
            while index < text.count, text[index] == newline { index += 1 }
            guard index < text.count else { return nil }
            let start = index
            while index < text.count, text[index] != newline { index += 1 }
            return start..<index
        }
        var (pathIndex, sizeIndex) = (0, 0)
        while let path = line(paths, &pathIndex), let size = line(sizes, &sizeIndex) {
            // The last part between dots that is not empty, as `split(separator: ".").last`.
            var end = path.upperBound
            while end > path.lowerBound, paths[end - 1] == dot { end -= 1 }
            var start = end
            while start > path.lowerBound, paths[start - 1] != dot { start -= 1 }
            let part = UnsafeBufferPointer(rebasing: paths[start..<end])
            let name = String(decoding: part, as: UTF8.self)
            let format = part.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") } ? name.lowercased() : name
            guard only == nil || format == only, let bytes = Int64(String(decoding: UnsafeBufferPointer(rebasing: sizes[size]), as: UTF8.self)) else {
                continue
            }
            volumes[format, default: (0, 0)].files += 1
            volumes[format, default: (0, 0)].bytes += bytes
        }
        return true
    }

    /// `add(paths:sizes:to:only:)` for any text, cut by Characters.
    private static func addByCharacters(paths: String, sizes: String, to volumes: inout [String: (files: Int, bytes: Int64)], only: String?) {
        for (path, size) in zip(paths.split(separator: "\n"), sizes.split(separator: "\n")) {
            let format = path.split(separator: ".").last.map { $0.lowercased() } ?? ""
            guard only == nil || format == only, let bytes = Int64(size) else { continue }
            volumes[format, default: (0, 0)].files += 1
            volumes[format, default: (0, 0)].bytes += bytes
        }
    }
}
