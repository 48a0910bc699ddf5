import Basics
import Foundation

/// A reference catalog read from CSV: a header line naming the columns, then one object a line, with
/// its RA and Dec in degrees and a magnitude per filter (the simulator's `refcat.csv`, an export of
/// SDSS's CAS, …). Which columns hold what is said by `Columns`.
public struct ReferenceObjects: Sendable {
    /// The names of the columns to read.
    public struct Columns: Sendable, Equatable {
        /// The RA column.
        public var ra = "ra"
        /// The Dec column; nil: `dec`, else `decl`, whichever the file has.
        public var dec: String?
        /// The magnitude column of a filter, `{filter}` standing for its letter: `{filter}` reads `r`
        /// for r (refcat.csv), `psfMag_{filter}` reads CAS's `psfMag_r`.
        public var magnitude = "{filter}"
        /// The magnitude error column of a filter, `{filter}` standing for its letter; nil: the magnitude
        /// column's name followed by `Err` (`rErr`, `psfMag_rErr`) if the file has it. CAS's is
        /// `psfMagErr_{filter}`.
        public var magnitudeError: String?
        /// A column naming each object (kept in the output files); nil: `id` if the file has one,
        /// else the object's line number.
        public var id: String?
        /// A column that is 1 for a star and 0 for a galaxy; nil: `isStar` if the file has one.
        public var star: String?

        public init(ra: String = "ra", dec: String? = nil, magnitude: String = "{filter}", magnitudeError: String? = nil,
                    id: String? = nil, star: String? = nil) {
            self.ra = ra
            self.dec = dec
            self.magnitude = magnitude
            self.magnitudeError = magnitudeError
            self.id = id
            self.star = star
        }
    }

    /// One object.
    public struct Object: Sendable, Equatable {
        /// Its id, or its line number when the file has no id column.
        public var id: String
        public var position: SkyPosition
        /// Its magnitude in each filter (u g r i z), NaN where the file has none (empty, not a number,
        /// or beyond ±90: SDSS writes an unmeasured magnitude as 99 or -9999).
        public var magnitudes: [Double]
        /// Their errors, NaN where the file gives none.
        public var magnitudeErrors: [Double]
        /// Whether it is a star; nil without a star column.
        public var isStar: Bool?

        /// Its magnitude in `filter`, nil where the file has none.
        public func magnitude(in filter: Filter) -> Double? {
            let m = magnitudes[filter.filterId]
            return m.isNaN ? nil : m
        }

        /// Its magnitude's error in `filter`, nil where the file gives none.
        public func magnitudeError(in filter: Filter) -> Double? {
            let e = magnitudeErrors[filter.filterId]
            return e.isNaN ? nil : e
        }
    }

    public let path: String
    public let objects: [Object]
    /// The filters whose magnitude column the file has.
    public let filters: [Filter]

    /// Reads a reference catalog.
    ///
    /// - Throws: `ReferenceError` naming the file, and the line of a bad value: a missing column, an
    ///   RA or Dec that is not a number in range.
    public init(path: String, columns: Columns = Columns()) throws {
        self.path = path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ReferenceError("\(path): cannot read the reference catalog (no such file, or not readable)")
        }
        let text = String(decoding: data, as: UTF8.self)
        // Lines and fields are cut on the UTF-8 bytes: a million lines in a second, where cutting on
        // Characters (grapheme clusters) takes eight.
        var lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).makeIterator()
        guard let header = lines.next() else { throw ReferenceError("\(path): empty, no header line") }
        let layout = try Layout(header: Self.fields(Substring(header)), columns: columns, path: path)
        var objects: [Object] = []
        var lineNumber = 1
        while let line = lines.next() {
            lineNumber += 1
            let fields = Self.fields(Substring(line))
            if fields.count == 1 && fields[0].isEmpty { continue }
            objects.append(try layout.object(fields, line: lineNumber))
        }
        self.objects = objects
        filters = layout.magnitudeColumns.map(\.filter)
    }

    /// A line's fields, without the spaces around them, a line end's `\r` or the quotes of a quoted field.
    static func fields(_ line: Substring) -> [Substring] {
        let comma = UInt8(ascii: ","), quote = UInt8(ascii: "\""), space = UInt8(ascii: " "), cr = UInt8(ascii: "\r")
        let pieces = line.utf8.contains(quote) ? CSVLine.fields(line).map(\.utf8)
                                                : line.utf8.split(separator: comma, omittingEmptySubsequences: false)
        return pieces.map { piece in
            var bytes = piece[...]
            while let first = bytes.first, first == space || first == quote { bytes = bytes.dropFirst() }
            while let last = bytes.last, last == space || last == quote || last == cr { bytes = bytes.dropLast() }
            return Substring(bytes)
        }
    }

    /// Where each column is in a line.
    private struct Layout {
        let path: String
        let count: Int
        let ra: Int, dec: Int
        let id: Int?, star: Int?
        let magnitudeColumns: [(filter: Filter, index: Int)]
        let errorColumns: [(filter: Filter, index: Int)]

        init(header: [Substring], columns: Columns, path: String) throws {
            let header = header.map(String.init)
            self.path = path
            count = header.count
            func index(_ name: String) throws -> Int {
                guard let i = header.firstIndex(of: name) else {
                    throw ReferenceError("\(path):1: no column \(name) (the header has \(header.joined(separator: ", ")))")
                }
                return i
            }
            ra = try index(columns.ra)
            dec = try index(columns.dec ?? (header.contains("dec") ? "dec" : "decl"))
            id = try columns.id.map(index) ?? header.firstIndex(of: "id")
            star = try columns.star.map(index) ?? header.firstIndex(of: "isStar")
            magnitudeColumns = Filter.allCases.compactMap { filter in
                header.firstIndex(of: columns.magnitude.replacingOccurrences(of: "{filter}", with: filter.rawValue)).map { (filter, $0) }
            }
            let errorPattern = columns.magnitudeError ?? columns.magnitude + "Err"
            errorColumns = Filter.allCases.compactMap { filter in
                header.firstIndex(of: errorPattern.replacingOccurrences(of: "{filter}", with: filter.rawValue)).map { (filter, $0) }
            }
            if columns.magnitudeError != nil && errorColumns.isEmpty {
                throw ReferenceError("\(path):1: no magnitude error column \(errorPattern) for any of u g r i z (the header has \(header.joined(separator: ", ")))")
            }
            guard !magnitudeColumns.isEmpty else {
                throw ReferenceError("\(path):1: no magnitude column \(columns.magnitude) for any of u g r i z (the header has \(header.joined(separator: ", ")))")
            }
        }

        func object(_ fields: [Substring], line: Int) throws -> Object {
            guard fields.count == count else {
                throw ReferenceError("\(path):\(line): \(fields.count) fields where the header has \(count)")
            }
            guard let ra = Double(fields[ra]), (-360...720).contains(ra) else {
                throw ReferenceError("\(path):\(line): RA \(fields[ra].debugDescription) is not a number of degrees")
            }
            guard let dec = Double(fields[dec]), (-90...90).contains(dec) else {
                throw ReferenceError("\(path):\(line): Dec \(fields[dec].debugDescription) is not a number from -90 to 90")
            }
            var magnitudes = [Double](repeating: .nan, count: Filter.allCases.count)
            for (filter, index) in magnitudeColumns {
                if let m = Double(fields[index]), m.isFinite, m > -90, m < 90 { magnitudes[filter.filterId] = m }
            }
            var errors = [Double](repeating: .nan, count: Filter.allCases.count)
            for (filter, index) in errorColumns {
                if let e = Double(fields[index]), e.isFinite, e >= 0, e < 90 { errors[filter.filterId] = e }
            }
            return Object(id: id.map { String(fields[$0]) } ?? String(line), position: SkyPosition(ra: ra, dec: dec),
                          magnitudes: magnitudes, magnitudeErrors: errors, isStar: star.map { fields[$0] == "1" || fields[$0].lowercased() == "true" })
        }
    }
}

/// A reference catalog that cannot be read, in one line naming its file and line.
public struct ReferenceError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
