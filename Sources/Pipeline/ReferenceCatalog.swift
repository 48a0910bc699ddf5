import Basics
import Foundation

/// A catalog of objects `simulate` writes, read by its header's column names: the reference
/// catalog (`refcat.csv`: id, ra, decl, isStar, u, g, r, i, z and their errors uErr … zErr) or
/// the exact objects (`truth-objects.csv`: id, ra, decl, isStar, u, g, r, i, z, size). Only
/// `ra`, `decl` and the five magnitudes are required; a file without error columns has no errors,
/// one without `size` has sizes 0.
struct ReferenceCatalog {
    struct Entry {
        var id: Int64
        var ra: Double
        var dec: Double
        var isStar: Bool
        var magnitudes: [Double]
        /// The magnitudes' errors (nil when the file has none).
        var errors: [Double]? = nil
        /// A galaxy's Gaussian σ in arcsec (0 for stars, or when the file has no `size`).
        var size: Double = 0
    }

    /// Where each column is in a line.
    struct Columns {
        static let magnitudeNames = ["u", "g", "r", "i", "z"]
        static let required = ["ra", "decl"] + magnitudeNames
        var count: Int
        var id: Int?
        var ra: Int
        var dec: Int
        var isStar: Int?
        var magnitudes: [Int]
        var errors: [Int]?
        var size: Int?

        /// The columns of a header; throws naming the first required column it lacks.
        init(header: String) throws(MissingColumn) {
            let names = header.split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            func index(_ name: String) -> Int? { names.firstIndex(of: name) }
            if let missing = Self.required.first(where: { index($0) == nil }) { throw MissingColumn(name: missing) }
            count = names.count
            id = index("id")
            ra = index("ra")!
            dec = index("decl")!
            isStar = index("isStar")
            magnitudes = Self.magnitudeNames.map { index($0)! }
            let errorColumns = Self.magnitudeNames.compactMap { index($0 + "Err") }
            errors = errorColumns.count == 5 ? errorColumns : nil
            size = index("size")
        }
    }

    struct MissingColumn: Error { var name: String }

    var entries: [Entry]

    /// Reads the entries inside a box, streaming the file line by line: `raMin` above `raMax` is a
    /// box through RA 0 (as in a REGION), and an entry's RA is taken into [0, 360) to be compared.
    init(path: String, raMin: Double, raMax: Double, decMin: Double, decMax: Double) throws {
        if let kind = specialFileKind(atPath: path) {
            throw ProcessCcdFailure(.missingFiles, "missing file: reference catalog \(path) is a \(kind), not a regular file; not opened")
        }
        guard let file = fopen(path, "r") else {
            throw ProcessCcdFailure(.missingFiles, "missing file: reference catalog \(path) cannot be opened")
        }
        defer { fclose(file) }
        var entries: [Entry] = []
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        var number = 0
        var columns: Columns?
        defer { free(line) }
        while getline(&line, &capacity, file) > 0 {
            number += 1
            guard let line else { continue }
            let text = String(cString: line)
            guard let columns else {
                do {
                    columns = try Columns(header: text)
                } catch {
                    throw ProcessCcdFailure(.other, "reference catalog \(path):\(number): no column \(error.name) in the header (expected id,ra,decl,isStar,u,g,r,i,z)")
                }
                continue
            }
            guard let entry = Self.entry(text, columns) else {
                throw ProcessCcdFailure(.other, "reference catalog \(path):\(number): expected \(columns.count) fields as in its header (id,ra,decl,isStar,u,g,r,i,z…)")
            }
            guard RightAscension.isWithin(entry.ra, raMin, raMax), entry.dec >= decMin, entry.dec <= decMax else { continue }
            entries.append(entry)
        }
        self.entries = entries
    }

    /// The entry of a line, nil when it has not the header's fields or its position is not numbers;
    /// a magnitude or error that is not a number is 99 ("not measured").
    static func entry(_ line: String, _ c: Columns) -> Entry? {
        let fields = line.split(separator: ",", omittingEmptySubsequences: false)
        guard fields.count == c.count else { return nil }
        func number(_ k: Int) -> Double? { Double(fields[k].trimmingCharacters(in: .whitespacesAndNewlines)) }
        guard let ra = number(c.ra), let dec = number(c.dec) else { return nil }
        return Entry(id: c.id.flatMap { Int64(fields[$0]) } ?? 0, ra: ra, dec: dec,
                     isStar: c.isStar.map { fields[$0] == "1" } ?? true,
                     magnitudes: c.magnitudes.map { number($0) ?? 99 },
                     errors: c.errors.map { $0.map { number($0) ?? 99 } },
                     size: c.size.flatMap { number($0) } ?? 0)
    }
}
