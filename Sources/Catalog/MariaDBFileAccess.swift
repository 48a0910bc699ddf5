/// What in a MariaDB statement would read or write a file, found by reading the statement as the
/// server's lexer does: `dcprod sql` without --write refuses such a statement before it is sent.
///
/// A read-only session (`SET SESSION TRANSACTION READ ONLY`) refuses writes to tables, but a user
/// with the FILE privilege can still write a server file with `SELECT … INTO OUTFILE` or `INTO
/// DUMPFILE`, read one with `LOAD_FILE(…)` or `LOAD DATA INFILE`/`LOAD XML`. MariaDB has no
/// authorizer hook as SQLite has, and the privilege belongs to the account, not the session; so the
/// statement's words are read here. Only words count: string literals, quoted identifiers and
/// comments are skipped as the server skips them, except executable comments (`/*! … */`,
/// `/*!50100 … */`, `/*M! … */`), which the server runs and which are therefore read as code. A
/// backslash escapes inside a literal unless the sql_mode has NO_BACKSLASH_ESCAPES, which a
/// statement can change for itself (`SET STATEMENT sql_mode=… FOR …`): the statement is read both
/// ways, and refused if either reading finds something.
///
/// `PREPARE` and `EXECUTE` are refused too: SQL made at run time (`EXECUTE IMMEDIATE CONCAT(…)`)
/// cannot be read before it runs. `LOAD DATA LOCAL` is also stopped by the connection itself, which
/// a read-only catalog opens with LOCAL INFILE off.
enum MariaDBFileAccess {
    /// What the statement would do with a file, in a few words (`INTO OUTFILE writes a file on the
    /// server`), or nil when it does nothing of the kind.
    ///
    /// - Parameter sql: One statement, as it would be sent.
    /// - Returns: The first construct found, with what it does; nil when none is there.
    static func refusal(of sql: String) -> String? {
        let bytes = Array(sql.utf8)
        return refusal(in: words(bytes, backslashEscapes: true)) ?? refusal(in: words(bytes, backslashEscapes: false))
    }

    /// Whether the text holds a statement after a `;` (outside literals and comments): the server
    /// refuses it as a syntax error near the second, which `MariaDBCatalog` says as what it is.
    static func holdsSeveralStatements(_ sql: String) -> Bool {
        let words = words(Array(sql.utf8), backslashEscapes: true)
        guard let end = words.firstIndex(of: ";") else { return false }
        return words[(end + 1)...].contains { $0 != nil && $0 != ";" }
    }

    /// The first construct of `words` that touches a file.
    private static func refusal(in words: [String?]) -> String? {
        for (index, word) in words.enumerated() {
            guard let word else { continue }
            let next = index + 1 < words.count ? words[index + 1] : nil
            switch (word, next) {
            case ("LOAD_FILE", _): return "LOAD_FILE reads a file on the server"
            case ("INTO", "OUTFILE"), ("INTO", "DUMPFILE"): return "INTO \(next!) writes a file on the server"
            case ("LOAD", "DATA"), ("LOAD", "XML"): return "LOAD \(next!) reads a file"
            case ("PREPARE", _), ("EXECUTE", _): return "\(word) runs SQL made as it runs, which cannot be checked before"
            default: continue
            }
        }
        return nil
    }

    /// The statement's unquoted words, upper-cased, in order, and each `;`; nil between two words that
    /// something else than blanks and comments separates (a sign, a literal), so that only adjacent words pair up.
    /// The marks of an executable comment separate nothing: the server reads `LOAD/*!*/ DATA` as `LOAD DATA`.
    private static func words(_ sql: [UInt8], backslashEscapes: Bool) -> [String?] {
        var words: [String?] = []
        var index = 0
        var executableComments = 0
        func separate() { if words.last != nil { words.append(nil) } }
        func skip(past terminator: [UInt8]) {
            while index < sql.count, !sql[index...].starts(with: terminator) { index += 1 }
            index = min(sql.count, index + terminator.count)
        }
        while index < sql.count {
            let byte = sql[index]
            let rest = sql[index...]
            switch byte {
            case 0x27, 0x22, 0x60:  // ' " `: a literal or a quoted name, a doubled quote inside it
                index += 1
                while index < sql.count {
                    if sql[index] == 0x5C, backslashEscapes, byte != 0x60 {
                        index += 2
                    } else if sql[index] == byte {
                        index += 1
                        guard index < sql.count, sql[index] == byte else { break }
                        index += 1
                    } else {
                        index += 1
                    }
                }
                separate()
            case 0x23:  // # to the end of the line
                skip(past: [0x0A])
            case 0x2D where rest.starts(with: [0x2D, 0x2D]) && (rest.count == 2 || rest.dropFirst(2).first! <= 0x20):
                skip(past: [0x0A])  // "-- " (a blank or control character after it) to the end of the line
            case 0x2F where rest.starts(with: [0x2F, 0x2A, 0x21]) || rest.starts(with: [0x2F, 0x2A, 0x4D, 0x21]):
                // /*! or /*M!, with an optional version number: what follows is code, up to */.
                index += rest.starts(with: [0x2F, 0x2A, 0x21]) ? 3 : 4
                while index < sql.count, sql[index] >= 0x30, sql[index] <= 0x39 { index += 1 }
                executableComments += 1
            case 0x2F where rest.starts(with: [0x2F, 0x2A]):
                index += 2
                skip(past: [0x2A, 0x2F])
            case 0x2A where executableComments > 0 && rest.starts(with: [0x2A, 0x2F]):
                index += 2
                executableComments -= 1
            case _ where isWordByte(byte):
                let start = index
                while index < sql.count, isWordByte(sql[index]) { index += 1 }
                words.append(String(decoding: sql[start..<index], as: UTF8.self).uppercased())
            case 0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C:
                index += 1
            case 0x3B:  // ;
                index += 1
                words.append(";")
            default:
                index += 1
                separate()
            }
        }
        return words
    }

    /// Letters, digits, `_`, `$` and any byte of a multi-byte UTF-8 character, as in an unquoted name.
    private static func isWordByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x5F, 0x24, 0x80...: true
        default: false
        }
    }
}
