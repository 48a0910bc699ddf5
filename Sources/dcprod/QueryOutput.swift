import Basics
import Catalog
import Foundation

/// Prints a query's rows as the engine hands them over, keeping none but the table's first ones:
/// `dcprod sql` answers a result of any size in bounded memory.
///
/// - CSV: a header line, then one line per row (RFC 4180 quoting).
/// - JSON: an array of objects, keys in alphabetical order, a value that is a JSON number written
///   as a number.
/// - Table: columns aligned on the widths of the first `sample` rows; a later, wider value only
///   shifts its own row. A value wider than `maximumWidth` is cut, and ends with `…`.
///
/// Byte strings are printed as lowercase hex. A long value is printed in pieces of `piece` bytes as
/// it is quoted, escaped or turned into hex, each piece written out before the next is made: a value
/// of 16 MiB costs the memory of the value and of one piece, in time proportional to its size.
final class QueryOutput {
    enum Format {
        case table(maximumWidth: Int)
        case csv
        case json
    }

    /// Rows whose widths set the table's columns.
    static let sample = 1000

    private let format: Format
    private var columns: [String] = []
    /// JSON: the column indices in the order of their names, and what precedes each one's value.
    private var sortedColumns: [Int] = []
    private var keys: [[UInt8]] = []
    /// Table: the first rows, until the widths are known.
    private var held: [[String]] = []
    private var widths: [Int]?
    private var rows = 0
    /// Bytes to print: values are appended as UTF-8, never joined as strings first.
    private var buffer: [UInt8] = []
    /// The bytes gathered before they are written out; a value is cut into pieces of this size.
    static let piece = 1 << 16

    init(_ format: Format) { self.format = format }

    func begin(columns: [String]) {
        self.columns = columns
        switch format {
        case .csv:
            for (index, column) in columns.enumerated() {
                if index > 0 { buffer.append(0x2C) }
                appendCSV(column)
            }
            buffer.append(0x0A)
        case .json:
            sortedColumns = columns.indices.sorted { columns[$0] < columns[$1] }
            keys = sortedColumns.enumerated().map { position, index in
                Array((position == 0 ? "\n    " : ",\n    ").utf8) + Array(JSONText.string(columns[index]).utf8) + Array(" : ".utf8)
            }
            write("[")
        case .table(let maximumWidth): held = [columns.map { Self.cut($0, to: maximumWidth) }]
        }
    }

    func row(_ values: [QueryValue]) {
        rows += 1
        switch format {
        case .csv:
            for (index, value) in values.enumerated() {
                if index > 0 { buffer.append(0x2C) }
                switch value {
                case .null: break
                case .text(let text): appendCSV(text)
                case .bytes(let bytes): appendHex(bytes)
                }
            }
            buffer.append(0x0A)
        case .json:
            write(rows == 1 ? "\n  {" : ",\n  {")
            for (position, index) in sortedColumns.enumerated() {
                buffer.append(contentsOf: keys[position])
                switch values[index] {
                case .null: write("null")
                case .text(let text) where Self.isJSONNumber(text): write(text)
                case .text(let text): appendJSON(text)
                case .bytes(let bytes):
                    buffer.append(0x22)
                    appendHex(bytes)
                    buffer.append(0x22)
                }
            }
            write("\n  }")
        case .table(let maximumWidth):
            let cells = values.map { Self.cell($0, width: maximumWidth) }
            if let widths {
                write(Self.line(cells, widths))
            } else {
                held.append(cells)
                if held.count > Self.sample { flushHeld() }
            }
        }
        flushIfFull()
    }

    func finish() {
        switch format {
        case .csv: break
        case .json: write(rows == 0 ? "]\n" : "\n]\n")
        case .table:
            if widths == nil { flushHeld() }
            write("(\(rows) row\(rows == 1 ? "" : "s"))\n")
        }
        flush()
    }

    /// The table's header, rule and held rows, once the widths are measured on them.
    private func flushHeld() {
        let widths = columns.indices.map { c in held.map { $0[c].count }.max() ?? 0 }
        self.widths = widths
        for (index, cells) in held.enumerated() {
            write(Self.line(cells, widths))
            if index == 0 { write(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n") }
        }
        held = []
    }

    private func write(_ text: String) { buffer.append(contentsOf: text.utf8) }

    private func flushIfFull() { if buffer.count >= Self.piece { flush() } }

    private func flush() {
        FileHandle.standardOutput.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }

    /// A byte string as hex, a piece at a time.
    private func appendHex(_ bytes: [UInt8]) {
        for start in stride(from: 0, to: bytes.count, by: Self.piece / 2) {
            QueryValue.appendHex(bytes[start..<min(bytes.count, start + Self.piece / 2)], to: &buffer)
            flushIfFull()
        }
    }

    /// Text as one CSV field (RFC 4180): quoted, its quotes doubled, when it holds `,`, `"`, LF or CR.
    private func appendCSV(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            // Bytes, not Characters: this runs for every value of every row.
            guard bytes.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) else {
                return append(bytes, escaping: { _ in false }, as: { _, _ in })
            }
            buffer.append(0x22)
            append(bytes, escaping: { $0 == 0x22 }, as: { _, out in out.append(0x22); out.append(0x22) })
            buffer.append(0x22)
        }
    }

    /// Text as a JSON string literal, with RFC 8259's escapes as `JSONText` writes them.
    private func appendJSON(_ text: String) {
        var text = text
        buffer.append(0x22)
        text.withUTF8 { bytes in
            append(bytes, escaping: { $0 == 0x22 || $0 == 0x5C || $0 < 0x20 }) { byte, out in
                out.append(0x5C)
                switch byte {
                case 0x0A: out.append(0x6E)  // \n
                case 0x0D: out.append(0x72)  // \r
                case 0x09: out.append(0x74)  // \t
                case 0x22, 0x5C: out.append(byte)  // \" \\
                default:  // \u00XX
                    out.append(contentsOf: "u00".utf8)
                    QueryValue.appendHex([byte][...], to: &out)
                }
            }
        }
        buffer.append(0x22)
    }

    /// Appends UTF-8 bytes in runs, written out a piece at a time; each byte `escaping` picks is
    /// replaced by what `replacement` appends.
    private func append(_ bytes: UnsafeBufferPointer<UInt8>, escaping: (UInt8) -> Bool,
                        as replacement: (UInt8, inout [UInt8]) -> Void) {
        var run = 0
        for index in bytes.indices {
            let escaped = escaping(bytes[index])
            guard escaped || index - run >= Self.piece else { continue }
            buffer.append(contentsOf: bytes[run..<index])
            run = index
            if escaped {
                replacement(bytes[index], &buffer)
                run = index + 1
            }
            flushIfFull()
        }
        buffer.append(contentsOf: bytes[run...])
        flushIfFull()
    }

    /// Cells padded to their column's width, two spaces apart, without trailing blanks.
    static func line(_ cells: [String], _ widths: [Int]) -> String {
        var out = ""
        for (c, cell) in cells.enumerated() {
            if c > 0 { out += "  " }
            out += cell
            if c < cells.count - 1 { out += String(repeating: " ", count: max(0, widths[c] - cell.count)) }
        }
        while out.last == " " { out.removeLast() }
        return out + "\n"
    }

    /// A value as the table shows it, no wider than `width` characters: NULL as `NULL`, a byte string
    /// as hex, of which only what can be shown is made.
    static func cell(_ value: QueryValue, width: Int) -> String {
        switch value {
        case .null: cut("NULL", to: width)
        case .text(let text): cut(text, to: width)
        case .bytes(let bytes): cut(QueryValue.bytes(Array(bytes.prefix(width > 0 ? width / 2 + 1 : bytes.count))).text!, to: width)
        }
    }

    /// A value no wider than `width` characters (0: any width): cut, with `…` as its last, when it
    /// is wider. Only the first `width` characters are looked at: a value of millions is cut at once.
    static func cut(_ value: String, to width: Int) -> String {
        // No more characters than UTF-8 bytes: most values need not be counted at all.
        guard width > 0, value.utf8.count > width else { return value }
        let head = value.prefix(width)
        guard head.endIndex < value.endIndex else { return value }
        return String(head.dropLast()) + "…"
    }

    /// True for RFC 8259's number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    static func isJSONNumber(_ text: String) -> Bool {
        var bytes = Substring(text).utf8[...]
        func digits() -> Int {
            let count = bytes.prefix { $0 >= 0x30 && $0 <= 0x39 }.count
            bytes = bytes.dropFirst(count)
            return count
        }
        if bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        if bytes.first == UInt8(ascii: "0") { bytes = bytes.dropFirst() } else if digits() == 0 { return false }
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            if digits() == 0 { return false }
        }
        if bytes.first == UInt8(ascii: "e") || bytes.first == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            if bytes.first == UInt8(ascii: "+") || bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
            if digits() == 0 { return false }
        }
        return bytes.isEmpty
    }
}
