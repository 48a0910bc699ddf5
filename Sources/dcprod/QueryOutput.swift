import Foundation
import Production

/// Prints a query's rows as the engine hands them over, keeping none but the table's first ones:
/// `dcprod sql` answers a result of any size in bounded memory.
///
/// - CSV: a header line, then one line per row (RFC 4180 quoting).
/// - JSON: an array of objects, keys in alphabetical order, a value that is a JSON number written
///   as a number.
/// - Table: columns aligned on the widths of the first `sample` rows; a later, wider value only
///   shifts its own row. A value wider than `maximumWidth` is cut, and ends with `…`.
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

    init(_ format: Format) { self.format = format }

    func begin(columns: [String]) {
        self.columns = columns
        switch format {
        case .csv: write(columns.map(Self.csvField).joined(separator: ",") + "\n")
        case .json:
            sortedColumns = columns.indices.sorted { columns[$0] < columns[$1] }
            keys = sortedColumns.enumerated().map { position, index in
                Array((position == 0 ? "\n    " : ",\n    ").utf8) + Array(JSONText.string(columns[index]).utf8) + Array(" : ".utf8)
            }
            write("[")
        case .table(let maximumWidth): held = [columns.map { Self.cut($0, to: maximumWidth) }]
        }
    }

    func row(_ values: [String?]) {
        rows += 1
        switch format {
        case .csv:
            for (index, value) in values.enumerated() {
                if index > 0 { buffer.append(0x2C) }
                if let value { write(Self.csvField(value)) }
            }
            buffer.append(0x0A)
        case .json:
            write(rows == 1 ? "\n  {" : ",\n  {")
            for (position, index) in sortedColumns.enumerated() {
                buffer.append(contentsOf: keys[position])
                if let value = values[index] {
                    if Self.isJSONNumber(value) { write(value) } else { JSONText.append(value, to: &buffer) }
                } else {
                    write("null")
                }
            }
            write("\n  }")
        case .table(let maximumWidth):
            let cells = values.map { Self.cut($0 ?? "NULL", to: maximumWidth) }
            if let widths {
                write(Self.line(cells, widths))
            } else {
                held.append(cells)
                if held.count > Self.sample { flushHeld() }
            }
        }
        if buffer.count >= 1 << 16 { flush() }
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

    private func flush() {
        FileHandle.standardOutput.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
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

    /// A value no wider than `width` characters: cut, with `…` as its last, when it is wider.
    static func cut(_ value: String, to width: Int) -> String {
        guard width > 0, value.count > width else { return value }
        return String(value.prefix(max(0, width - 1))) + "…"
    }

    static func csvField(_ value: String) -> String {
        // Bytes, not Characters: this runs for every value of every row.
        let special = value.utf8.contains { byte in
            switch byte {
            case 0x2C, 0x22, 0x0A, 0x0D: true  // , " LF CR
            default: false
            }
        }
        return special ? "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : value
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
