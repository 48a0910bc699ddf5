import Basics
import Foundation

/// The reference catalog `simulate` writes (`refcat.csv`: id, ra, decl, isStar, u, g, r, i, z).
struct ReferenceCatalog {
    struct Entry {
        var id: Int64
        var ra: Double
        var dec: Double
        var isStar: Bool
        var magnitudes: [Double]
    }

    var entries: [Entry]

    /// Reads the entries inside a box, streaming the file line by line.
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
        defer { free(line) }
        while getline(&line, &capacity, file) > 0 {
            number += 1
            guard number > 1, let line else { continue }
            let fields = String(cString: line).split(separator: ",")
            guard fields.count == 9, let ra = Double(fields[1]), let dec = Double(fields[2].trimmingCharacters(in: .whitespaces)) else {
                throw ProcessCcdFailure(.other, "reference catalog \(path):\(number): expected id,ra,decl,isStar,u,g,r,i,z")
            }
            guard ra >= raMin, ra <= raMax, dec >= decMin, dec <= decMax else { continue }
            let magnitudes = fields[4...8].map { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 99 }
            entries.append(Entry(id: Int64(fields[0]) ?? 0, ra: ra, dec: dec, isStar: fields[3] == "1", magnitudes: magnitudes))
        }
        self.entries = entries
    }
}
