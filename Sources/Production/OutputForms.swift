import Foundation
import GRDB

/// The outputs of an outcome as the state store keeps them (schema v19): an event's outputs differ
/// from those of the other events of its step and filter only by a stem (`calexp-000094-u1-0011.fits`,
/// `src-000094-u1-0011.csv`, … in one directory), so their text is kept once per step and filter as a
/// *form* (`output_form.text`, the stem replaced by `placeholder`) and each outcome keeps the form's id
/// and its stem: 20 bytes where the absolute paths took 150.
///
/// Readers never see this: the `outcome` view gives every outcome's outputs as they were written
/// (`replace(form, char(1), stem)`, exact to the byte), so every query and `dcprod sql` reads the
/// absolute paths as before, and the catalog's ledger, keyed on them, is unchanged.
///
/// Since schema v27 the outputs of an event of a frame (processCcd's, forcedPhot's) that hold the frame's
/// own stem (`000094-r1-0011`, `FrameLayout.sdssStem`) keep nothing of it: their form has `framePlaceholder`
/// where the stem was, and the view takes the stem from the event's frame (20 bytes an outcome).
struct OutputForms {
    /// What stands for the stem in a form: U+0001, which no path a manifest names holds. A text that
    /// does hold it is kept as it is.
    static let placeholder = UInt8(1)

    /// What stands in a form for the stem of the event's frame (schema v27): U+0002, which no path holds
    /// either. Its outcome keeps no stem (`outputs` NULL).
    static let framePlaceholder = UInt8(2)

    /// The ids of the forms met so far, by text.
    private var ids: [String: Int64] = [:]

    /// How to keep an outcome's outputs (`\n`-separated): the id of its form and nothing when they hold
    /// `frameStem` (the stem of the event's frame; nil for an event of no frame), else the id of its form
    /// and its stem, or (nil, the text itself) when no stem was found. A form is recorded the first time
    /// it is met.
    mutating func encode(_ text: String?, frameStem: String? = nil, _ db: Database) throws -> (form: Int64?, outputs: String?) {
        guard let text else { return (nil, nil) }
        if let frameStem, let form = Self.framed(text, stem: frameStem), let id = try id(form, db) { return (id, nil) }
        guard let (form, stem) = Self.split(text), let id = try id(form, db) else { return (nil, text) }
        return (id, stem)
    }

    /// The id of the form `form`, recorded if it is new; nil if it cannot be (never: `text` is unique).
    private mutating func id(_ form: String, _ db: Database) throws -> Int64? {
        if let id = ids[form] { return id }
        try db.execute(sql: "INSERT OR IGNORE INTO output_form (text) VALUES (?)", arguments: [form])
        let id = try Int64.fetchOne(db, sql: "SELECT id FROM output_form WHERE text = ?", arguments: [form])
        ids[form] = id
        return id
    }

    /// The form of an outputs text with each run of `stem` replaced by `framePlaceholder`, such that the
    /// replacing back gives the text byte for byte (SQLite's `replace()`); nil when the text holds either
    /// placeholder or not `stem`.
    static func framed(_ text: String, stem: String) -> String? {
        let bytes = Array(text.utf8), stemBytes = Array(stem.utf8), mark = [framePlaceholder]
        guard stemBytes.count >= 4, !bytes.contains(placeholder), !bytes.contains(framePlaceholder) else { return nil }
        let form = replacing(stemBytes, with: mark, in: bytes)
        guard form != bytes, replacing(mark, with: stemBytes, in: form) == bytes else { return nil }
        return String(decoding: form, as: UTF8.self)
    }

    /// The form and stem of an outputs text, such that replacing each `placeholder` of the form by the
    /// stem gives the text back byte for byte; nil when the text holds `placeholder` or no stem of at
    /// least 4 bytes was found.
    ///
    /// The stem is what the file names (after the last `/`) have in common: the longest run of bytes
    /// they all hold; for one file, its name up to the first `.`.
    static func split(_ text: String) -> (form: String, stem: String)? {
        let bytes = Array(text.utf8)
        guard !bytes.contains(placeholder) else { return nil }
        let names = bytes.split(separator: UInt8(ascii: "\n")).map { line in
            Array(line[(line.lastIndex(of: UInt8(ascii: "/")).map { $0 + 1 } ?? line.startIndex)...])
        }
        guard let first = names.first else { return nil }
        let stem = names.count == 1 ? Array(first.prefix { $0 != UInt8(ascii: ".") }) : commonRun(names)
        guard stem.count >= 4, let stemText = String(validating: stem, as: UTF8.self) else { return nil }
        let form = replacing(stem, with: [placeholder], in: bytes)
        guard replacing([placeholder], with: stem, in: form) == bytes else { return nil }
        return (String(decoding: form, as: UTF8.self), stemText)
    }

    /// The longest run of bytes, of at least 4, that every one of `strings` holds (two or more), the
    /// first found among runs of equal length: the runs the shortest shares with the next shortest
    /// (a table of common runs by their ends, as for the longest common substring of two strings),
    /// longest first, until one is in all the others too. A few hundred steps for names of 25 bytes.
    private static func commonRun(_ strings: [[UInt8]]) -> [UInt8] {
        let sorted = strings.sorted { $0.count < $1.count }
        let (a, b) = (sorted[0], sorted[1])
        // longest[i]: the longest run of `a` that ends at i and that `b` holds.
        var longest = [Int](repeating: 0, count: a.count)
        var previous = [Int](repeating: 0, count: b.count + 1), current = previous
        for i in a.indices {
            for j in b.indices {
                current[j + 1] = a[i] == b[j] ? previous[j] + 1 : 0
                longest[i] = max(longest[i], current[j + 1])
            }
            swap(&previous, &current)
        }
        for length in stride(from: longest.max() ?? 0, through: 4, by: -1) {
            for end in a.indices where longest[end] >= length {
                let run = a[(end + 1 - length)...end]
                if sorted.dropFirst(2).allSatisfy({ contains($0, run) }) { return Array(run) }
            }
        }
        return []
    }

    private static func contains(_ bytes: [UInt8], _ run: ArraySlice<UInt8>) -> Bool {
        guard run.count <= bytes.count else { return false }
        return (0...(bytes.count - run.count)).contains { bytes[$0..<$0 + run.count].elementsEqual(run) }
    }

    /// `bytes` with every occurrence of `old`, from the left and not overlapping, replaced by `new`:
    /// what SQLite's `replace()` does.
    static func replacing(_ old: [UInt8], with new: [UInt8], in bytes: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if index + old.count <= bytes.count, bytes[index..<index + old.count].elementsEqual(old) {
                result += new
                index += old.count
            } else {
                result.append(bytes[index])
                index += 1
            }
        }
        return result
    }
}
