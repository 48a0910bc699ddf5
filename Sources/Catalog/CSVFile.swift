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
        var value = value
        return value.withUTF8 { bytes in
            guard !bytes.isEmpty, bytes.count <= 40 else { return false }
            var index = 0
            func digits() -> Int {
                let start = index
                while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
                return index - start
            }
            func skip(_ a: UInt8, _ b: UInt8) -> Bool {
                guard index < bytes.count, bytes[index] == a || bytes[index] == b else { return false }
                index += 1
                return true
            }
            _ = skip(0x2B, 0x2D)  // + -
            var mantissa = digits()
            if skip(0x2E, 0x2E) { mantissa += digits() }  // .
            guard mantissa > 0 else { return false }
            guard skip(0x65, 0x45) else {  // e E
                // At most 40 characters and no exponent: below 1e40, finite without parsing it.
                return index == bytes.count
            }
            _ = skip(0x2B, 0x2D)
            guard digits() > 0, index == bytes.count else { return false }
            return Double(String(decoding: bytes, as: UTF8.self))?.isFinite ?? false
        }
    }

    struct Record {
        var line: Int
        var fields: [String?]
    }

    /// RFC 4180: fields separated by commas, optionally enclosed in double quotes, `""` inside quotes.
    ///
    /// Read byte by byte: every character it looks for is ASCII, and no byte of a multi-byte UTF-8
    /// character is, so the fields are those a reading by characters finds (a load is millions of them).
    static func parse(_ text: String, file: String) throws -> [Record] {
        var text = text
        return try text.withUTF8 { try parse($0, file: file) }
    }

    /// `parse(_:file:)` on the bytes; its state is local to this function, so no access to it is
    /// checked at run time for exclusivity.
    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>, file: String) throws -> [Record] {
        var records: [Record] = []
        var fields: [String?] = []
        var field: [UInt8] = []
        var quoted = false, wasQuoted = false
        var line = 1, recordLine = 1
        var index = 0
        while index < bytes.count {
            let c = bytes[index]
            index += 1
            if quoted {
                if c == 0x22 {  // "
                    if index < bytes.count, bytes[index] == 0x22 { field.append(0x22); index += 1 } else { quoted = false }
                } else {
                    if c == 0x0A { line += 1 }
                    field.append(c)
                }
                continue
            }
            switch c {
            case 0x22:
                guard field.isEmpty && !wasQuoted else {
                    throw CSVError(file: file, line: line, message: "a quote inside an unquoted field")
                }
                quoted = true
                wasQuoted = true
            case 0x2C, 0x0A:  // , and the end of a line
                fields.append(field.isEmpty && !wasQuoted ? nil : String(decoding: field, as: UTF8.self))
                field.removeAll(keepingCapacity: true)
                wasQuoted = false
                if c == 0x0A {
                    if !(fields.count == 1 && fields[0] == nil) { records.append(Record(line: recordLine, fields: fields)) }
                    fields.removeAll(keepingCapacity: true)
                    line += 1
                    recordLine = line
                }
            case 0x0D:
                continue
            default:
                guard !wasQuoted else {
                    throw CSVError(file: file, line: line, message: "characters after a closing quote")
                }
                field.append(c)
            }
        }
        if quoted { throw CSVError(file: file, line: recordLine, message: "a quoted field is never closed") }
        return records
    }
}

func fnv1a(_ data: Data) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    data.withUnsafeBytes { bytes in
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
    }
    let hex = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}

func fnv1a(_ text: String) -> String { fnv1a(Data(text.utf8)) }
