import Basics
import Foundation

/// A malformed CSV line: the file and line, and what is wrong.
public struct CSVError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The path of the file.
    public var file: String
    /// The line, from 1, of the problem or of the record it is in; 0 when the file cannot be read at all.
    public var line: Int
    /// What is wrong, in a few words (`truncated: the last line has no end`); a problem with a field
    /// names its column by number and name and quotes its value (`column 6 (ra): '400' is not …`).
    public var message: String
    /// `FILE:LINE: MESSAGE`, as compilers word it.
    public var description: String { "\(file):\(line): \(message)" }
}

/// A CSV file that has been read whole and checked against its table: a header naming columns of
/// the table, then rows with as many fields, numeric where the column is. Nothing of a file that
/// fails the check is ever loaded.
///
/// The values are kept as the file's own bytes, unquoted in place and one after another, with where
/// each field ends: no `String` is made for a field, since a load is millions of them and the MariaDB
/// catalog never looks at them (the server reads the file again).
public struct ValidatedCSV: Sendable {
    /// The file's path, as given to `read(_:tableColumns:)`.
    public let path: String
    /// The header's column names as the file writes them (matched to the table's without regard to case).
    public let columns: [String]
    /// The file's size in bytes.
    public let size: Int
    /// FNV-1a 64 of the bytes, hex: enough to tell a changed file from the one in the ledger.
    public let checksum: String
    /// True when a row has an empty field, quoted (`""`) or not: a NULL.
    public let hasEmptyField: Bool
    /// The values of the rows' fields, unquoted, one after another from `start`; the bytes after the
    /// last value are not used.
    let text: [UInt8]
    /// Where each field of each row ends in `text`, row after row; `~end` (negative) for an empty
    /// field, quoted or not, which is NULL. A field starts where the one before it ends, the first at `start`.
    private let ends: [Int]
    private let start: Int

    /// The line each row starts on (from 1, the header's), for the engine's errors about a row.
    let rowLines: [Int32]
    /// The file's columns that make the table's primary key, in the key's order (the table's).
    let keyColumns: [Int]

    /// The number of rows: the lines after the header, blank ones not counted.
    public var rowCount: Int { ends.count / columns.count }

    /// The line of a row, as the file numbers its lines.
    ///
    /// - Parameter row: The row, from 0 (the header not counted).
    public func line(ofRow row: Int) -> Int { Int(rowLines[row]) }

    /// The row whose primary key MariaDB writes as `key` in a duplicate key's message (the key's values
    /// joined with `-`): its second row when two rows of the file have it, else its one row.
    ///
    /// - Parameter key: The entry as the server's message quotes it.
    /// - Returns: The row, from 0; nil when no row, or not the whole key, is in the file.
    func row(withKey key: String) -> Int? {
        guard !keyColumns.isEmpty else { return nil }
        let rows = (0..<rowCount).lazy.filter { row in
            keyColumns.map { value(row: row, column: $0) ?? "" }.joined(separator: "-") == key
        }.prefix(2)
        return rows.last
    }

    /// A field's value, as written: nil for an empty field, quoted (`""`) or not, which is NULL in both
    /// engines. No column of the catalog gives the empty string a meaning of its own (an empty patch or
    /// path is no patch or path), and MariaDB's `LOAD DATA` cannot tell `""` from nothing, so neither does
    /// the SQLite catalog: a NOT NULL column refuses both.
    ///
    /// - Parameters:
    ///   - row: The row, from 0 (the header not counted).
    ///   - column: The column, from 0, in the order of `columns`.
    public func value(row: Int, column: Int) -> String? {
        span(row * columns.count + column).map { String(decoding: text[$0], as: UTF8.self) }
    }

    /// Where field `index` (row × columns + column) is in `text`; nil for NULL.
    func span(_ index: Int) -> Range<Int>? { Self.span(index, ends: ends, start: start) }

    private static func span(_ index: Int, ends: [Int], start: Int) -> Range<Int>? {
        let end = ends[index]
        guard end >= 0 else { return nil }
        return (index == 0 ? start : position(ends[index - 1]))..<end
    }

    private static func position(_ end: Int) -> Int { end < 0 ? ~end : end }

    /// Reads and checks `path` against `tableColumns`.
    ///
    /// The file is read whole into memory and parsed as RFC 4180. It is refused unless it is UTF-8
    /// text without control characters (but tab and line ends), ends with a newline (a file cut by a
    /// crash or a full disk does not), has a header line naming only columns of the table, each
    /// once, and every column that refuses NULL, and has rows with exactly as many fields as the
    /// header, each as its column takes it: a finite decimal number (`isDecimal(_:)`) in a numeric
    /// column, an integer of the type's range in an integer one, a value of the column's `domain` where
    /// it has one, and not empty where the column refuses NULL; no two rows may have the same primary
    /// key. Blank lines are skipped and a `\r` outside quotes is ignored, so CRLF files pass; so is a
    /// UTF-8 byte-order mark. These checks are the same whatever the engine, and so are their messages.
    ///
    /// - Parameters:
    ///   - path: The CSV file.
    ///   - tableColumns: The destination table's columns, from `CatalogDatabase.columns(of:split:)`.
    ///   - table: The table's name, for the messages.
    /// - Returns: The file's columns, values, size and checksum.
    /// - Throws: `CSVError` naming the file, the line and the first problem found (a misplaced or
    ///   unclosed quote anywhere first, then the header, then the rows in order); nothing of the file
    ///   is returned then.
    public static func read(_ path: String, tableColumns: [CatalogColumn], table: String = "the table") throws -> ValidatedCSV {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CSVError(file: path, line: 0, message: "cannot be read")
        }
        var text = [UInt8](data)
        guard (try? UTF8Span(validating: text.span)) != nil else {
            throw CSVError(file: path, line: 1, message: "not UTF-8 text")
        }
        guard text.last == 0x0A else {
            throw CSVError(file: path, line: text.count { $0 == 0x0A } + 1, message: "truncated: the last line has no end")
        }
        let checksum = text.withUnsafeBytes { fnv1a($0) }
        let byteOrderMark = text.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var parser = Parser(file: path, tableColumns: tableColumns, table: table)
        try text.withUnsafeMutableBufferPointer { try parser.parse($0, from: byteOrderMark) }
        guard let header = parser.header else { throw CSVError(file: path, line: 1, message: "empty: no header line") }
        if let problem = parser.problem { throw problem }
        let csv = ValidatedCSV(path: path, columns: header, size: text.count, checksum: checksum,
                               hasEmptyField: parser.hasEmptyField, text: text, ends: parser.ends, start: parser.start,
                               rowLines: parser.rowLines,
                               keyColumns: keyColumns(of: tableColumns, in: header))
        if let (row, earlier) = csv.repeatedKey(integer: csv.keyColumns.count == 1 && tableColumns.contains { $0.isPrimaryKey && $0.integers != nil }) {
            throw CSVError(file: path, line: csv.line(ofRow: row), message: "\(csv.key(ofRow: row)) is the key of line \(csv.line(ofRow: earlier)) too")
        }
        return csv
    }

    /// `column 1 (sourceId): '170'`, or for a key of several columns `columns 1, 2, 3, 4 (run, camcol,
    /// field, filterId): '94, 1, 11, 2'`: the key of a row, as a message names it.
    func key(ofRow row: Int) -> String {
        let numbers = keyColumns.map { String($0 + 1) }.joined(separator: ", ")
        let names = keyColumns.map { columns[$0] }.joined(separator: ", ")
        let values = keyColumns.map { Self.quotable(value(row: row, column: $0) ?? "") }.joined(separator: ", ")
        return "column\(keyColumns.count == 1 ? "" : "s") \(numbers) (\(names)): '\(values)'"
    }

    /// A value as a message quotes it: its first 40 characters, then `…`.
    static func quotable(_ value: String) -> String { value.count > 40 ? value.prefix(40) + "…" : value }

    /// The first row whose primary key an earlier row has, and that earlier row; nil when every key
    /// is once in the file. An integer key is compared as a number (the payload writes them in order,
    /// which costs one pass), any other as its text.
    private func repeatedKey(integer: Bool) -> (row: Int, earlier: Int)? {
        guard !keyColumns.isEmpty, rowCount > 1 else { return nil }
        if integer {
            let keys = (0..<rowCount).map { Int64(value(row: $0, column: keyColumns[0]).map { $0.hasPrefix("+") ? String($0.dropFirst()) : $0 } ?? "") ?? 0 }
            if zip(keys, keys.dropFirst()).allSatisfy({ $0 < $1 }) { return nil }
            var first: [Int64: Int] = [:]
            for (row, key) in keys.enumerated() {
                if let earlier = first.updateValue(row, forKey: key) { return (row, earlier) }
            }
            return nil
        }
        var first: [[String?]: Int] = [:]
        for row in 0..<rowCount {
            if let earlier = first.updateValue(row, forKey: keyColumns.map { value(row: row, column: $0) }) { return (row, earlier) }
        }
        return nil
    }

    /// The header's columns of the table's primary key, in the table's order; none unless all are there.
    private static func keyColumns(of tableColumns: [CatalogColumn], in header: [String]) -> [Int] {
        let keys = tableColumns.filter(\.isPrimaryKey)
        let found = keys.compactMap { key in header.firstIndex { $0.lowercased() == key.name.lowercased() } }
        return found.count == keys.count ? found : []
    }

    /// A number as a numeric column holds it: `[+-]digits[.digits][(e|E)[+-]digits]` (or starting at
    /// the point), at most 40 characters, and finite as a Double. `nan`, `inf`, hexadecimal floats and
    /// numbers too long for any column are refused: the engines would store them as text, infinity or
    /// an error far from the file.
    static func isDecimal(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
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

    /// RFC 4180: fields separated by commas, optionally enclosed in double quotes, `""` inside quotes;
    /// with the checks of `read(_:tableColumns:)` made on each record as it ends.
    ///
    /// Read byte by byte: every character it looks for is ASCII, and no byte of a multi-byte UTF-8
    /// character is, so the fields are those a reading by characters finds. A misplaced quote is thrown
    /// at once; any other problem is kept (the first) and the parse goes on, so that a quote wrong
    /// further down is what is reported.
    private struct Parser {
        let file: String
        let tableColumns: [CatalogColumn]
        /// The table's name, for the messages.
        let table: String
        /// The header's names, once its line has ended.
        var header: [String]?
        /// The table's column of each header name.
        var columns: [CatalogColumn] = []
        /// The first problem that is not a quote's.
        var problem: CSVError?
        var hasEmptyField = false
        var ends: [Int] = []
        /// The line each row starts on, for the engine's errors about a row.
        var rowLines: [Int32] = []
        /// Where the first field starts: after a byte-order mark until the header has ended, then after the header.
        var start = 0

        init(file: String, tableColumns: [CatalogColumn], table: String) {
            self.file = file
            self.tableColumns = tableColumns
            self.table = table
        }

        /// `column 6 (ra)`: a field's column by number, from 1, and by its header's name once the header is read.
        func column(_ index: Int) -> String {
            guard let header, index < header.count else { return "column \(index + 1)" }
            return "column \(index + 1) (\(ValidatedCSV.quotable(header[index])))"
        }

        /// Unquotes the values in place (each is moved to where the one before it ends) and records their ends.
        mutating func parse(_ bytes: UnsafeMutableBufferPointer<UInt8>, from first: Int) throws {
            start = first
            var written = first, fieldStart = first, recordFirst = 0, index = first
            var quoted = false, wasQuoted = false
            var line = 1, recordLine = 1
            while index < bytes.count {
                let c = bytes[index]
                index += 1
                // Text has no control characters but tab and line ends; a NUL would cut every message after it.
                if c < 0x20, c != 0x09, c != 0x0A, c != 0x0D {
                    throw CSVError(file: file, line: line,
                                   message: "\(column(ends.count - recordFirst)): a control character (byte \(c)) where text is expected")
                }
                if quoted {
                    if c == 0x22 {  // "
                        if index < bytes.count, bytes[index] == 0x22 {
                            bytes[written] = 0x22
                            written += 1
                            index += 1
                        } else {
                            quoted = false
                        }
                    } else {
                        if c == 0x0A { line += 1 }
                        bytes[written] = c
                        written += 1
                    }
                    continue
                }
                switch c {
                case 0x22:
                    guard written == fieldStart && !wasQuoted else {
                        throw CSVError(file: file, line: line, message: "a quote inside an unquoted field")
                    }
                    quoted = true
                    wasQuoted = true
                case 0x2C, 0x0A:  // , and the end of a line
                    // A line with nothing on it, not even `""`, is blank.
                    let blank = c == 0x0A && ends.count == recordFirst && written == fieldStart && !wasQuoted
                    ends.append(written == fieldStart ? ~written : written)
                    fieldStart = written
                    wasQuoted = false
                    if c == 0x0A {
                        endRecord(from: recordFirst, line: recordLine, blank: blank, in: UnsafeBufferPointer(bytes))
                        recordFirst = ends.count
                        line += 1
                        recordLine = line
                    }
                case 0x0D:
                    continue
                default:
                    guard !wasQuoted else {
                        throw CSVError(file: file, line: line, message: "characters after a closing quote")
                    }
                    bytes[written] = c
                    written += 1
                }
            }
            if quoted { throw CSVError(file: file, line: recordLine, message: "a quoted field is never closed") }
        }

        /// A record's fields are `ends[first...]`: drops a blank line, takes the header, checks a row.
        private mutating func endRecord(from first: Int, line: Int, blank: Bool, in bytes: UnsafeBufferPointer<UInt8>) {
            let count = ends.count - first
            if blank {
                ends.removeLast()
                return
            }
            guard let header else {
                let names = (first..<ends.count).map { span($0).map { String(decoding: bytes[$0], as: UTF8.self) } ?? "" }
                readHeader(names)
                start = ValidatedCSV.position(ends[ends.count - 1])
                ends.removeAll(keepingCapacity: true)
                return
            }
            guard problem == nil else { return }
            guard count == header.count else {
                problem = CSVError(file: file, line: line, message: "\(count) fields where the header has \(header.count)")
                return
            }
            rowLines.append(Int32(clamping: line))
            for (index, column) in columns.enumerated() {
                guard let span = span(first + index) else {
                    hasEmptyField = true
                    guard column.isNullable else {
                        problem = CSVError(file: file, line: line, message: "\(self.column(index)): empty, and the column is NOT NULL")
                        return
                    }
                    continue
                }
                if let complaint = Self.check(UnsafeBufferPointer(rebasing: bytes[span]), against: column) {
                    let value = ValidatedCSV.quotable(String(decoding: bytes[span], as: UTF8.self))
                    problem = CSVError(file: file, line: line, message: "\(self.column(index)): '\(value)' \(complaint)")
                    return
                }
            }
        }

        private func span(_ index: Int) -> Range<Int>? { ValidatedCSV.span(index, ends: ends, start: start) }

        /// Takes the header's names: each a column of the table, once, and every column that refuses NULL among them.
        private mutating func readHeader(_ names: [String]) {
            header = names
            let byName = Dictionary(tableColumns.map { ($0.name.lowercased(), $0) }, uniquingKeysWith: { a, _ in a })
            var seen: [String: Int] = [:]
            for (index, name) in names.enumerated() {
                guard let column = byName[name.lowercased()] else {
                    problem = CSVError(file: file, line: 1, message: "column \(index + 1): '\(ValidatedCSV.quotable(name))' is not a column of \(table)")
                    return
                }
                if let earlier = seen.updateValue(index, forKey: name.lowercased()) {
                    problem = CSVError(file: file, line: 1, message: "column \(index + 1): '\(name)' is named twice in the header (column \(earlier + 1) too)")
                    return
                }
                columns.append(column)
            }
            // A column left out would be NULL in every row: the engines would refuse it far from the file.
            if let missing = tableColumns.first(where: { !$0.isNullable && seen[$0.name.lowercased()] == nil }) {
                problem = CSVError(file: file, line: 1, message: "the header has no column \(missing.name), which \(table) needs in every row (NOT NULL)")
            }
        }

        /// What is wrong with a value for its column, or nil: a number where the column is numeric, an
        /// integer its type holds where it is an integer column, and in the column's domain.
        private static func check(_ value: UnsafeBufferPointer<UInt8>, against column: CatalogColumn) -> String? {
            guard column.isNumeric else { return nil }
            guard ValidatedCSV.isDecimal(value) else { return "is not a finite decimal number" }
            let text = String(decoding: value, as: UTF8.self)
            if let integers = column.integers {
                guard let number = Int64(text.hasPrefix("+") ? String(text.dropFirst()) : text), integers.contains(number) else {
                    return "is not an integer from \(integers.lowerBound) to \(integers.upperBound)"
                }
            }
            if let domain = column.domain, !domain.contains(text) { return "is not \(domain)" }
            return nil
        }
    }
}
