import Basics
import Foundation
import Planning

/// What verify needs of an outcome line (`OutcomeLine`); the other fields are skipped.
struct OutcomeRecord: Equatable {
    var type: OutcomeLine.Kind
    var event: String?
    var status: String?
    var `class`: String?
    var message: String?
    var seconds: Double?
    var outputs: [String]?
    // start
    var job: String?
    var attempt: Int?
    // end: the payloads' peak resident set, KiB, and their CPU seconds
    var maxrss: Int?
    var cpu: Double?
    /// The line's number in its file, from 1.
    var line = 0
}

/// Reading an outcome file (one job attempt's) into its records.
///
/// The lines are JSON objects, read here by a small scanner of JSON's grammar rather than
/// `JSONDecoder`, whose generic machinery was three quarters of verify's time: verify reads every
/// outcome record of a production, 1.57 million at DC2013's scale. Values of other keys, nested
/// ones included, are checked and skipped.
enum OutcomeFile {
    /// The records of a file, and the numbers of its damaged lines.
    struct Contents {
        var records: [OutcomeRecord] = []
        /// Complete lines that are not one JSON object with a known `type`, by number.
        var damaged: [Int] = []
    }

    /// The complete lines of the file; a line cut by a crash (no newline) is left out, and a damaged
    /// line is counted rather than failing the file.
    static func read(_ path: String) -> Contents {
        guard let data = FileManager.default.contents(atPath: path), let last = data.lastIndex(of: 0x0A) else { return Contents() }
        return data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            var contents = Contents()
            for (index, line) in bytes[..<(last - data.startIndex)].split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
                var scanner = JSONScanner(bytes: UnsafeBufferPointer(rebasing: line))
                if var record = scanner.record() {
                    record.line = index + 1
                    contents.records.append(record)
                } else if !line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                    contents.damaged.append(index + 1)
                }
            }
            return contents
        }
    }
}

/// What a job's manifest expects of each of its events: the outputs, by event key.
///
/// `JobManifest.jsonData` writes one event an object a line, which the outcome scanner reads in the
/// same way (a manifest holds about 500 bytes an event, as many as verify reads of outcomes).
enum ManifestOutputs {
    /// The outputs of each event of the manifest at `path`; nil when it cannot be read.
    static func read(_ path: String) -> [String: [String]]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        var outputs: [String: [String]] = [:]
        let fast: Bool = data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            for (index, line) in bytes.split(separator: 0x0A).enumerated() where index > 0 {
                // `{"key":…},` or, for the last event, `{"key":…}]}`.
                var end = line.endIndex
                if line.last == 0x2C { end -= 1 } else if line.count >= 2 && line[end - 2] == 0x5D && line[end - 1] == 0x7D { end -= 2 }
                var scanner = JSONScanner(bytes: UnsafeBufferPointer(rebasing: line[line.startIndex..<end]))
                guard let event = scanner.manifestEvent() else { return false }
                outputs[event.key] = event.outputs
            }
            return true
        }
        if fast { return outputs }
        // Written otherwise (by hand, or by another tool): read as JSON.
        guard let manifest = try? JobManifest.read(path) else { return nil }
        return Dictionary(manifest.events.map { ($0.key, $0.outputs) }, uniquingKeysWith: { first, _ in first })
    }
}

/// A cursor over one line's bytes, reading one JSON object into an `OutcomeRecord`.
struct JSONScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// The line's record, or nil when the line is not one JSON object with a known `type`.
    mutating func record() -> OutcomeRecord? {
        var type: OutcomeLine.Kind?
        var record = OutcomeRecord(type: .event)
        guard take(0x7B) else { return nil }  // {
        if !take(0x7D) {
            repeat {
                guard let key = key(), take(0x3A) else { return nil }  // :
                switch key {
                case .type: guard let text = string(), let kind = OutcomeLine.Kind(rawValue: text) else { return nil }; type = kind
                case .job: guard let value = optionalString() else { return nil }; record.job = value
                case .attempt:
                    if takeWord("null") { continue }
                    guard let value = number(), let whole = Int(exactly: value) else { return nil }
                    record.attempt = whole
                case .maxrss:
                    if takeWord("null") { continue }
                    guard let value = number(), let whole = Int(exactly: value), whole >= 0 else { return nil }
                    record.maxrss = whole
                case .cpu:
                    if takeWord("null") { continue }
                    guard let value = number(), value.isFinite, value >= 0 else { return nil }
                    record.cpu = value
                case .event: guard let value = optionalString() else { return nil }; record.event = value
                case .status: guard let value = optionalString() else { return nil }; record.status = value
                case .class: guard let value = optionalString() else { return nil }; record.class = value
                case .message: guard let value = optionalString() else { return nil }; record.message = value
                case .seconds:
                    if takeWord("null") { continue }
                    guard let value = number() else { return nil }
                    record.seconds = value
                case .outputs:
                    if takeWord("null") { continue }
                    guard let value = strings() else { return nil }
                    record.outputs = value
                case .key, .other: guard skipValue() else { return nil }
                }
            } while take(0x2C)  // ,
            guard take(0x7D) else { return nil }
        }
        skipBlanks()
        guard position == bytes.count, let type else { return nil }
        record.type = type
        return record
    }

    /// A manifest's event object: its key and outputs (its command is checked and skipped).
    mutating func manifestEvent() -> (key: String, outputs: [String])? {
        var key: String?, outputs: [String] = []
        guard take(0x7B) else { return nil }  // {
        repeat {
            guard let name = self.key(), take(0x3A) else { return nil }  // :
            switch name {
            case .key: guard let value = string() else { return nil }; key = value
            case .outputs: guard let value = strings() else { return nil }; outputs = value
            default: guard skipValue() else { return nil }
            }
        } while take(0x2C)  // ,
        guard take(0x7D) else { return nil }
        skipBlanks()
        guard position == bytes.count, let key else { return nil }
        return (key, outputs)
    }

    /// The keys whose values verify reads.
    enum Key: String {
        case type, event, status, `class`, message, seconds, outputs, job, attempt, maxrss, cpu, key, other

        static let names: [(name: StaticString, key: Key)] = [
            ("type", .type), ("event", .event), ("status", .status), ("class", .class),
            ("message", .message), ("seconds", .seconds), ("outputs", .outputs), ("job", .job), ("attempt", .attempt),
            ("maxrss", .maxrss), ("cpu", .cpu), ("key", .key),
        ]
    }

    /// An object's key: compared as bytes, without making a string of it, unless it has escapes.
    mutating func key() -> Key? {
        skipBlanks()
        let start = position + 1
        guard start < bytes.count, bytes[position] == 0x22 else { return nil }
        var end = start
        while end < bytes.count, bytes[end] != 0x22, bytes[end] != 0x5C, bytes[end] >= 0x20 { end += 1 }
        guard end < bytes.count, bytes[end] == 0x22 else { return string().map { Key(rawValue: $0) ?? .other } }
        position = end + 1
        let name = UnsafeBufferPointer(rebasing: bytes[start..<end])
        let known = Key.names.first { $0.name.utf8CodeUnitCount == name.count && memcmp($0.name.utf8Start, name.baseAddress!, name.count) == 0 }
        return known?.key ?? .other
    }

    // MARK: - Tokens

    mutating func skipBlanks() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0D, 0x0A: position += 1
            default: return
            }
        }
    }

    /// Takes `byte` (after blanks) if it is next.
    mutating func take(_ byte: UInt8) -> Bool {
        skipBlanks()
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    /// Takes `word` (after blanks) if it is next.
    mutating func takeWord(_ word: StaticString) -> Bool {
        skipBlanks()
        return takeLiteral(word)
    }

    /// Takes `word` if it is next, blanks included (inside a string).
    mutating func takeLiteral(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count else { return false }
        for k in 0..<count where bytes[position + k] != word.utf8Start[k] { return false }
        position += count
        return true
    }

    /// A string, or nil for `null` — wrapped: nil when the value is neither.
    mutating func optionalString() -> String?? {
        if takeWord("null") { return .some(nil) }
        return string().map { .some($0) }
    }

    /// A JSON string literal, its escapes decoded.
    mutating func string() -> String? {
        guard take(0x22) else { return nil }
        let start = position
        // The common case, without escapes: one copy of the bytes.
        while position < bytes.count, bytes[position] != 0x22, bytes[position] != 0x5C, bytes[position] >= 0x20 { position += 1 }
        guard position < bytes.count else { return nil }
        if bytes[position] == 0x22 {
            defer { position += 1 }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        }
        var out = Array(bytes[start..<position])
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            switch byte {
            case 0x22: return String(decoding: out, as: UTF8.self)
            case 0x5C:
                guard position < bytes.count else { return nil }
                let escape = bytes[position]
                position += 1
                switch escape {
                case 0x22, 0x5C, 0x2F: out.append(escape)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    guard var scalar = hex4() else { return nil }
                    // A surrogate pair: \uD83D\uDE00.
                    if (0xD800..<0xDC00).contains(scalar), takeLiteral("\\u"), let low = hex4(), (0xDC00..<0xE000).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { return nil }
                    out.append(contentsOf: Array(String(Character(unicode)).utf8))
                default: return nil
                }
            case 0..<0x20: return nil
            default: out.append(byte)
            }
        }
        return nil
    }

    mutating func hex4() -> UInt32? {
        guard position + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            position += 1
            guard let digit = Character(Unicode.Scalar(byte)).hexDigitValue else { return nil }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// A JSON number (RFC 8259's grammar).
    mutating func number() -> Double? {
        skipBlanks()
        let start = position
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
        while position < bytes.count, (0x30...0x39).contains(bytes[position]) || [0x2E, 0x65, 0x45, 0x2B, 0x2D].contains(bytes[position]) {
            position += 1
        }
        guard position > start else { return nil }
        return Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self))
    }

    /// An array of strings.
    mutating func strings() -> [String]? {
        guard take(0x5B) else { return nil }
        var out: [String] = []
        if take(0x5D) { return out }
        repeat {
            guard let text = string() else { return nil }
            out.append(text)
        } while take(0x2C)
        return take(0x5D) ? out : nil
    }

    /// Any JSON value, checked and passed over.
    mutating func skipValue() -> Bool {
        skipBlanks()
        guard position < bytes.count else { return false }
        switch bytes[position] {
        case 0x22: return string() != nil
        case 0x7B, 0x5B:
            let close: UInt8 = bytes[position] == 0x7B ? 0x7D : 0x5D
            let isObject = close == 0x7D
            position += 1
            if take(close) { return true }
            repeat {
                if isObject { guard string() != nil, take(0x3A) else { return false } }
                guard skipValue() else { return false }
            } while take(0x2C)
            return take(close)
        case UInt8(ascii: "t"): return takeWord("true")
        case UInt8(ascii: "f"): return takeWord("false")
        case UInt8(ascii: "n"): return takeWord("null")
        default: return number() != nil
        }
    }
}
