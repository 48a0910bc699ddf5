import Foundation
import Testing

/// Help is the first documentation an operator reads: written as paragraphs in the source, wrapped
/// once by the argument parser at the terminal's width, never cut again in the middle of a sentence.
@Suite struct Help {
    /// `dcprod help VERB…` for every verb and sub-verb that `dcprod --help` lists, found recursively.
    func verbs() throws -> [[String]] {
        var found: [[String]] = [[]]
        var queue: [[String]] = [[]]
        while let verb = queue.popLast() {
            let help = try DCProd.run(["help"] + verb, in: FileManager.default.temporaryDirectory, environment: ["COLUMNS": "100"])
            let lines = help.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            guard let start = lines.firstIndex(of: "SUBCOMMANDS:") else { continue }
            // Entries are indented by two; the section ends at its first blank line.
            for line in lines[(start + 1)...].prefix(while: { !$0.isEmpty }) {
                guard line.hasPrefix("  "), !line.hasPrefix("   "), let name = line.split(separator: " ").first else { continue }
                if name == "help" || verb.count >= 2 { continue }
                found.append(verb + [String(name)])
                queue.append(verb + [String(name)])
            }
        }
        return found
    }

    /// Lines that end although the next line's first word would have fitted: a hard line break in a
    /// paragraph, which the parser's own wrapping then makes ragged. A line continues the one before
    /// when it starts at the column where that line's text starts (its indentation, or the text after
    /// an entry's name), and is not an option or an entry of its own.
    static func raggedLines(_ help: String, columns: Int) -> [String] {
        let lines = help.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func indentation(_ line: String) -> Int { line.prefix { $0 == " " }.count }
        func textColumn(_ line: String) -> Int {
            let indent = indentation(line)
            if let gap = line.dropFirst(indent).range(of: "  +", options: .regularExpression), gap.upperBound < line.endIndex {
                return line.distance(from: line.startIndex, to: gap.upperBound)
            }
            return indent
        }
        var ragged: [String] = []
        for (a, b) in zip(lines, lines.dropFirst()) where !a.isEmpty && !b.isEmpty {
            let next = b.dropFirst(indentation(b))
            guard indentation(b) == textColumn(a), !next.hasPrefix("-"), !next.hasPrefix("<"), !a.hasPrefix("USAGE:") else { continue }
            let word = next.prefix { $0 != " " }
            // The parser breaks at the last space within `columns` characters: the next word would
            // have fitted if it and the space after it did.
            if a.count + 1 + word.count < columns { ragged.append(a + " ⏎ " + b) }
        }
        return ragged
    }

    @Test func noHelpLineIsCutMidSentenceAtAnyWidth() throws {
        let verbs = try verbs()
        #expect(verbs.contains(["submit"]) && verbs.contains(["pipe", "simulate"]) && verbs.contains(["job", "run"]))
        for columns in [72, 100, 150] {
            for verb in verbs {
                let help = try DCProd.run(["help"] + verb, in: FileManager.default.temporaryDirectory, environment: ["COLUMNS": String(columns)])
                #expect(help.status == 0)
                let ragged = Self.raggedLines(help.stdout, columns: columns)
                #expect(ragged.isEmpty, "dcprod help \(verb.joined(separator: " ")) at \(columns) columns:\n\(ragged.joined(separator: "\n"))")
            }
        }
    }

    @Test func theCheckSeesAHardBreakInAParagraph() {
        let wrapped = "OVERVIEW: x\n\nThe local backend runs jobs and\nwaits for them; a batch system gets every job.\n"
        #expect(Self.raggedLines(wrapped, columns: 80).count == 1)
        #expect(Self.raggedLines("one two three\nfour", columns: 19).count == 1)
        #expect(Self.raggedLines("one two three\nfour", columns: 18).isEmpty)
        let entries = "  --csv                   Print CSV (a header line, then the rows).\n  --json                  Print JSON.\n"
        #expect(Self.raggedLines(entries, columns: 80).isEmpty)
    }
}
