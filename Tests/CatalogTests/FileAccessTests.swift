import Foundation
import Testing
@testable import Catalog

/// `dcprod sql` without --write reads and writes no file but the catalog's: on SQLite the engine
/// refuses to attach one (`ATTACH`, `VACUUM INTO`); on MariaDB a statement that would have the server
/// read or write a file is refused before it is sent, even to a user with the FILE privilege.
@Suite(.serialized) struct FileAccess {
    @Test func sqliteAttachesNoFileOnAReadOnlyConnection() throws {
        let scratch = try ScratchCatalog(.sqlite)
        try CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates)
        let reader = try scratch.connection(readOnly: true)
        let copy = scratch.directory.appendingPathComponent("copy.sqlite").path
        let other = scratch.directory.appendingPathComponent("other.sqlite").path
        try SQLiteCatalog(path: other).execute("CREATE TABLE secret (x)")
        for sql in ["VACUUM INTO '\(copy)'", "ATTACH '\(other)' AS o", "ATTACH DATABASE '\(copy)' AS c", "vacuum main into '\(copy)'"] {
            #expect("\(sql)", performing: { try reader.query(sql) }, throws: { error in
                guard let error = error as? CatalogError else { return false }
                return error.kind == .fileAccess && error.message.contains("refused: ATTACH and VACUUM INTO")
                    && error.message.contains("--write")
            })
        }
        #expect(!FileManager.default.fileExists(atPath: copy), "VACUUM INTO wrote a copy of the catalog")
        // Extensions are SQLite's own refusal (never enabled on a catalog connection).
        #expect(throws: CatalogError.self) { try reader.query("SELECT load_extension('\(other)')") }
        // The catalog itself still reads; a writable connection (--write) may copy it.
        #expect(try reader.query("SELECT COUNT(*) FROM Filter").rows == [["5"]])
        try scratch.catalog.execute("VACUUM INTO '\(copy)'")
        #expect(FileManager.default.fileExists(atPath: copy))
    }

    /// A split catalog's read-only connection attaches its own per-filter files, and no other.
    @Test func aSplitSQLiteCatalogAttachesItsStoresAndNoMore() throws {
        let scratch = try ScratchCatalog(.sqlite)
        try CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates, splits: ["g", "r"])
        let reader = try scratch.connection(readOnly: true)
        try CatalogSchema.join(reader, templates: repositoryTemplates, splits: ["g", "r"])
        #expect(try reader.scalar("SELECT COUNT(*) FROM Source") == "0")
        let copy = scratch.directory.appendingPathComponent("copy.sqlite").path
        #expect(performing: { try reader.query("VACUUM INTO '\(copy)'") }, throws: { ($0 as? CatalogError)?.kind == .fileAccess })
        #expect(!FileManager.default.fileExists(atPath: copy))
    }

    @Test(.enabled(if: Engine.available.contains(.mariadb), "no private MariaDB (Tests/run starts one)"))
    func mariaDBRefusesServerFilesEvenToAUserWithTheFilePrivilege() throws {
        let scratch = try ScratchCatalog(.mariadb)
        try CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates)
        let reader = try scratch.connection(readOnly: true, asFileUser: true)
        let out = scratch.directory.appendingPathComponent("out.txt").path
        let passwd = "/etc/passwd"
        let refused: [(sql: String, words: String)] = [
            ("SELECT 'x' INTO OUTFILE '\(out)'", "INTO OUTFILE writes a file on the server"),
            ("SELECT filterName FROM Filter INTO DUMPFILE '\(out)'", "INTO DUMPFILE writes a file on the server"),
            ("SELECT LOAD_FILE('\(passwd)')", "LOAD_FILE reads a file on the server"),
            ("select load_file ('\(passwd)') as `x`", "LOAD_FILE"),
            ("LOAD DATA INFILE '\(passwd)' INTO TABLE Filter", "LOAD DATA reads a file"),
            ("LOAD DATA LOCAL INFILE '\(passwd)' INTO TABLE Filter", "LOAD DATA reads a file"),
            ("LOAD XML INFILE '\(passwd)' INTO TABLE Filter", "LOAD XML reads a file"),
            // Executable comments are run by the server: they are read as code.
            ("SELECT /*! LOAD_FILE('\(passwd)') */", "LOAD_FILE"),
            ("SELECT 1 /*!50000 INTO OUTFILE '\(out)' */", "INTO OUTFILE"),
            ("SELECT 1 /*M!100000 INTO */ DUMPFILE '\(out)'", "INTO DUMPFILE"),
            ("SELECT 1 INTO/* a comment */OUTFILE '\(out)'", "INTO OUTFILE"),
            // SQL made as it runs cannot be read before.
            ("EXECUTE IMMEDIATE CONCAT('SELECT LOAD', '_FILE(\"\(passwd)\")')", "EXECUTE runs SQL made as it runs"),
            ("PREPARE s FROM 'SELECT 1'", "PREPARE"),
            // A backslash that does not escape under NO_BACKSLASH_ESCAPES: read both ways.
            ("SET STATEMENT sql_mode='NO_BACKSLASH_ESCAPES' FOR SELECT '\\\\', LOAD_FILE('\(passwd)'), '\\\\'", "LOAD_FILE"),
        ]
        for (sql, words) in refused {
            #expect("\(sql)", performing: { try reader.query(sql) }, throws: { error in
                guard let error = error as? CatalogError else { return false }
                return error.kind == .fileAccess && error.message.hasPrefix("refused: ") && error.message.contains(words)
                    && error.message.contains("--write")
            })
        }
        #expect(!FileManager.default.fileExists(atPath: out), "a server file was written")
        // Words in literals, quoted names and comments are not statements: these run.
        for sql in ["SELECT 'LOAD_FILE(\"/etc/passwd\")' AS t", "SELECT 1 AS `load_file`", "SELECT 1 -- INTO OUTFILE 'x'\n",
                    "SELECT 1 /* LOAD DATA INFILE */", "SELECT 1 # LOAD_FILE('x')\n", "SELECT \"INTO OUTFILE\" AS out_file",
                    "SELECT filterName AS `into outfile` FROM Filter"] {
            #expect(throws: Never.self, "\(sql)") { try reader.query(sql) }
        }
        // The user could have: with --write (a connection that may write) the server reads the file.
        let writer = try scratch.connection(readOnly: false, asFileUser: true)
        let content = try writer.scalar("SELECT CONVERT(LOAD_FILE('\(passwd)') USING utf8mb4)")
        #expect(content?.contains("root:") == true, "the FILE privilege did not let the server read \(passwd)")
    }
}

/// How `MariaDBFileAccess` reads a statement, without a server.
@Suite struct MariaDBStatementWords {
    @Test func wordsAreFoundInCodeAndNowhereElse() {
        let refused = ["SELECT LOAD_FILE('/x')", "select\tload_file\n('/x')", "LOAD/**/DATA INFILE 'x' INTO TABLE t", "load xml infile 'x'",
                       "SELECT 1 INTO\nOUTFILE 'x'", "SELECT 1 INTO -- c\n DUMPFILE 'x'", "SELECT 1 INTO # c\n OUTFILE 'x'",
                       "SELECT /*!LOAD_FILE('x')*/", "SELECT /*M!LOAD_FILE('x')*/", "SELECT /*!99999 LOAD_FILE('x') */",
                       "SELECT LOAD/*!*/ DATA", "BEGIN NOT ATOMIC EXECUTE IMMEDIATE 'SELECT 1'; END", "SELECT 'a\\'', LOAD_FILE('x')",
                       "SELECT '\\', LOAD_FILE('x') -- '"]
        for sql in refused { #expect(MariaDBFileAccess.refusal(of: sql) != nil, "\(sql)") }
        let allowed = ["SELECT 1", "SELECT 'LOAD_FILE(x)'", "SELECT \"INTO OUTFILE\"", "SELECT `load_file` FROM t", "SELECT 1 -- LOAD DATA",
                       "SELECT 1 --\tLOAD_FILE(x)", "SELECT 1 /* INTO OUTFILE */", "SELECT 1 # LOAD_FILE", "SELECT 'it''s' AS outfile",
                       "SELECT load, data FROM t", "SELECT 1 INTO @outfile", "SELECT 'a\\'b'", "SELECT `a``LOAD_FILE`"]
        for sql in allowed { #expect(MariaDBFileAccess.refusal(of: sql) == nil, "\(sql)") }
        // `--1` is arithmetic, not a comment: the word after it is code.
        #expect(MariaDBFileAccess.refusal(of: "SELECT 1--1, LOAD_FILE('x')") != nil)
    }
}
