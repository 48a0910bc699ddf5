import Foundation

/// A malformed CSV line: the file and line, and what is wrong.
public struct CSVError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The path of the file.
    public var file: String
    /// The line, from 1, of the problem or of the record it is in; 0 when the file cannot be read at all.
    public var line: Int
    /// What is wrong, in a few words (`truncated: the last line has no end`).
    public var message: String
    /// `FILE:LINE: MESSAGE`, as compilers word it.
    public var description: String { "\(file):\(line): \(message)" }
}

/// A CSV file that has been read whole and checked against its table: a header naming columns of
/// the table, then rows with as many fields, numeric where the column is. Nothing of a file that
/// fails the check is ever loaded.
public struct ValidatedCSV: Sendable {
    /// The file's path, as given to `read(_:tableColumns:)`.
    public var path: String
    /// The header's column names as the file writes them (matched to the table's without regard to case).
    public var columns: [String]
    /// Values as written; nil for an empty field (NULL). A quoted empty field (`""`) is an empty string
    /// here, which the SQLite catalog stores as '' and the MariaDB one as NULL.
    public var rows: [[String?]]
    /// The file's size in bytes.
    public var size: Int
    /// FNV-1a 64 of the bytes, hex: enough to tell a changed file from the one in the ledger.
    public var checksum: String

    /// Reads and checks `path` against `tableColumns`.
    ///
    /// The file is read whole into memory and parsed as RFC 4180. It is refused unless it is UTF-8,
    /// ends with a newline (a file cut by a crash or a full disk does not), has a header line naming
    /// only columns of the table, and has rows with exactly as many fields as the header and a finite
    /// decimal number (`isDecimal(_:)`) or nothing in each numeric column. Blank lines are skipped and a
    /// `\r` outside quotes is ignored, so CRLF files pass.
    ///
    /// - Parameters:
    ///   - path: The CSV file.
    ///   - tableColumns: The destination table's columns, from `CatalogDatabase.columns(of:split:)`.
    /// - Returns: The file's columns, rows, size and checksum.
    /// - Throws: `CSVError` naming the file, the line and the first problem found; nothing of the file
    ///   is returned then.
    public static func read(_ path: String, tableColumns: [CatalogColumn]) throws -> ValidatedCSV {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CSVError(file: path, line: 0, message: "cannot be read")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CSVError(file: path, line: 1, message: "not UTF-8 text")
        }
        guard data.last == 0x0A else {
            throw CSVError(file: path, line: text.split(separator: "\n", omittingEmptySubsequences: false).count,
                           message: "truncated: the last line has no end")
        }
        var records = try parse(text, file: path)
        guard !records.isEmpty else { throw CSVError(file: path, line: 1, message: "empty: no header line") }
        let header = records.removeFirst()
        let byName = Dictionary(tableColumns.map { ($0.name.lowercased(), $0) }, uniquingKeysWith: { a, _ in a })
        var numeric: [Bool] = []
        for name in header.fields {
            guard let column = byName[(name ?? "").lowercased()] else {
                throw CSVError(file: path, line: 1, message: "column '\(name ?? "")' is not in the table")
            }
            numeric.append(column.isNumeric)
        }
        for record in records {
            guard record.fields.count == header.fields.count else {
                throw CSVError(file: path, line: record.line,
                               message: "\(record.fields.count) fields where the header has \(header.fields.count)")
            }
            for (index, value) in record.fields.enumerated() where numeric[index] {
                if let value, !isDecimal(value) {
                    throw CSVError(file: path, line: record.line,
                                   message: "column \(header.fields[index] ?? "?"): '\(value.prefix(40))' is not a finite decimal number")
                }
            }
        }
        return ValidatedCSV(path: path, columns: header.fields.map { $0 ?? "" }, rows: records.map(\.fields),
                            size: data.count, checksum: fnv1a(data))
    }

    /// A number as a numeric column holds it: `[+-]digits[.digits][(e|E)[+-]digits]` (or starting at
    /// the point), at most 40 characters, and finite as a Double. `nan`, `inf`, hexadecimal floats and
    /// numbers too long for any column are refused: the engines would store them as text, infinity or
    /// an error far from the file.
    static func isDecimal(_ value: String) -> Bool {
        let bytes = value.utf8
        guard !bytes.isEmpty, bytes.count <= 40 else { return false }
        var index = bytes.startIndex
        func digits() -> Int {
            var count = 0
            while index != bytes.endIndex, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                count += 1
                index = bytes.index(after: index)
            }
            return count
        }
        func skip(_ characters: String) -> Bool {
            guard index != bytes.endIndex, characters.utf8.contains(bytes[index]) else { return false }
            index = bytes.index(after: index)
            return true
        }
        _ = skip("+-")
        var mantissa = digits()
        if skip(".") { mantissa += digits() }
        guard mantissa > 0 else { return false }
        if skip("eE") {
            _ = skip("+-")
            guard digits() > 0 else { return false }
        }
        return index == bytes.endIndex && (Double(value)?.isFinite ?? false)
    }

    struct Record {
        var line: Int
        var fields: [String?]
    }

    /// RFC 4180: fields separated by commas, optionally enclosed in double quotes, `""` inside quotes.
    static func parse(_ text: String, file: String) throws -> [Record] {
        var records: [Record] = []
        var fields: [String?] = []
        var field = ""
        var quoted = false, wasQuoted = false
        var line = 1, recordLine = 1
        var iterator = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        func next() -> Unicode.Scalar? {
            if let p = pending { pending = nil; return p }
            return iterator.next()
        }
        while let c = next() {
            if quoted {
                if c == "\"" {
                    if let after = iterator.next() {
                        if after == "\"" { field.unicodeScalars.append("\"") } else { quoted = false; pending = after }
                    } else { quoted = false }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"":
                guard field.isEmpty && !wasQuoted else {
                    throw CSVError(file: file, line: line, message: "a quote inside an unquoted field")
                }
                quoted = true
                wasQuoted = true
            case ",":
                fields.append(field.isEmpty && !wasQuoted ? nil : field)
                field = ""
                wasQuoted = false
            case "\n":
                fields.append(field.isEmpty && !wasQuoted ? nil : field)
                if !(fields.count == 1 && fields[0] == nil) { records.append(Record(line: recordLine, fields: fields)) }
                fields = []
                field = ""
                wasQuoted = false
                line += 1
                recordLine = line
            case "\r":
                continue
            default:
                guard !wasQuoted else {
                    throw CSVError(file: file, line: line, message: "characters after a closing quote")
                }
                field.unicodeScalars.append(c)
            }
        }
        if quoted { throw CSVError(file: file, line: recordLine, message: "a quoted field is never closed") }
        return records
    }
}

func fnv1a(_ data: Data) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in data {
        hash ^= UInt64(byte)
        hash = hash &* 0x100_0000_01b3
    }
    let hex = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}

func fnv1a(_ text: String) -> String { fnv1a(Data(text.utf8)) }
