import Foundation
import Testing
@testable import Catalog

/// What the loader says of a file it refuses: its line, the column by number and name, and the value,
/// in dcprod's words and the same words on both engines — never the engine's (`datatype mismatch`,
/// `UNIQUE constraint failed`, `Duplicate entry … for key 'PRIMARY'`), never a line of another file.
@Suite(.serialized) struct LoaderMessages {
    static func row(_ id: String, ra: String = "6.3", decl: String = "-0.1", filterId: String = "2") -> String {
        "\(id),94,1,11,\(filterId),\(ra),\(decl),1e-10,1e-10,10.5,20.5,1000.5,10.1,990.0,11.0,1010.0,12.0\n"
    }

    /// Each hostile file, and the message its refusal must carry word for word.
    static let hostile: [(name: String, text: String, line: Int, message: String)] = {
        let header = sourceHeader + "\n"
        return [
            ("src-20-digits.csv", header + row("100") + row("12345678901234567890"), 3,
             "column 1 (sourceId): '12345678901234567890' is not an integer from -9223372036854775808 to 9223372036854775807"),
            ("src-filter-7.csv", header + row("110", filterId: "7"), 2, "column 5 (filterId): '7' is not one of 0, 1, 2, 3, 4 (the Filter table)"),
            ("src-ra-400.csv", header + row("120") + row("121", ra: "400"), 3, "column 6 (ra): '400' is not from 0 to 360 (360 excluded)"),
            ("src-decl-95.csv", header + row("130", decl: "95"), 2, "column 7 (decl): '95' is not from -90 to 90"),
            ("src-empty-ra.csv", header + row("140", ra: ""), 2, "column 6 (ra): empty, and the column is NOT NULL"),
            ("src-no-decl.csv", "sourceId,run,camcol,field,filterId,ra\n1,94,1,11,2,6.3\n", 1,
             "the header has no column decl, which Source needs in every row (NOT NULL)"),
            ("src-ra-twice.csv", "sourceId,run,camcol,field,filterId,ra,ra\n1,94,1,11,2,6.3,6.3\n", 1,
             "column 7: 'ra' is named twice in the header (column 6 too)"),
            ("src-nul.csv", header + row("150") + row("151").replacingOccurrences(of: "10.5", with: "10\u{0}.5"), 3,
             "column 10 (x): a control character (byte 0) where text is expected"),
            ("src-key-twice.csv", header + row("170") + row("171") + row("170"), 4, "column 1 (sourceId): '170' is the key of line 2 too"),
            ("ccd-000094-r1-0011.csv", "run,camcol,field,filterId,ra,decl\n94,1,11,2,6.3,-0.1\n94,1,11,2,6.4,-0.1\n", 3,
             "columns 1, 2, 3, 4 (run, camcol, field, filterId): '94, 1, 11, 2' is the key of line 2 too"),
            ("src-long-value.csv", header + row(String(repeating: "7", count: 100)), 2,
             "column 1 (sourceId): '" + String(repeating: "7", count: 40) + "…' is not a finite decimal number"),
        ]
    }()

    @Test(arguments: Engine.available)
    func eachRefusalNamesTheLineTheColumnAndTheValue(_ engine: Engine) throws {
        let scratch = try ScratchCatalog(engine)
        try CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates)
        let loader = try CatalogLoader(catalog: scratch.catalog, templates: repositoryTemplates)
        let summary = try loader.load(try Self.hostile.map { try scratch.write($0.name, $0.text) })
        #expect(summary.loaded == 0 && summary.rejected.count == Self.hostile.count)
        for expected in Self.hostile {
            let rejection = summary.rejected.first { $0.path.hasSuffix("/" + expected.name) }
            #expect(rejection?.line == expected.line && rejection?.message == expected.message,
                    "\(expected.name): \(String(describing: rejection))")
        }
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM Source") == "0")
    }

    /// A key the table holds already is the engine's to see: the message is dcprod's all the same,
    /// with the file that brought the key.
    @Test(arguments: Engine.available)
    func aKeyAlreadyInTheTableNamesTheFileThatHoldsIt(_ engine: Engine) throws {
        let scratch = try ScratchCatalog(engine)
        try CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates)
        let loader = try CatalogLoader(catalog: scratch.catalog, templates: repositoryTemplates)
        let first = try scratch.write("src-000094-r1-0010.csv", sourceHeader + "\n" + sourceRows(1, 5))
        let clash = try scratch.write("src-000094-r1-0012.csv", sourceHeader + "\n" + Self.row("160") + Self.row("161") + Self.row("3"))
        let summary = try loader.load([first, clash])
        #expect(summary.loaded == 1 && summary.rejected.count == 1)
        let rejection = try #require(summary.rejected.first)
        #expect(rejection.path == clash && rejection.line == 4)
        #expect(rejection.message == "column 1 (sourceId): '3' is already in Source, loaded from \(first)", "\(rejection.message)")
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM Source") == "5")
    }

    /// A value only the server refuses (MariaDB's VARCHAR(16) patch; SQLite's TEXT takes it) is named by
    /// its line, column and value, with the server's reason and without its own count of rows.
    @Test(.enabled(if: Engine.available.contains(.mariadb), "no private MariaDB (Tests/run starts one)"))
    func aValueTheServerCannotHoldIsNamedWithItsColumn() throws {
        let scratch = try ScratchCatalog(.mariadb)
        try CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates)
        let loader = try CatalogLoader(catalog: scratch.catalog, templates: repositoryTemplates)
        let file = try scratch.write("coadd-0-1,1-r.csv", "deepCoaddId,tract,patch,filterId\n1,0,\"1,1\",2\n2,0,1234567890123456789012,2\n")
        let summary = try loader.load([file])
        #expect(summary.rejected == [CatalogLoader.Rejection(path: file, line: 3, message:
            "column 3 (patch): '1234567890123456789012' refused by DeepCoadd: Data truncated for column 'patch'")], "\(summary.rejected)")
    }

    /// A symbolic link is refused unread wherever it points: no line of /etc/passwd is ever shown,
    /// and a link to a good file of the data tree is not loaded either.
    @Test(arguments: Engine.available)
    func aSymbolicLinkIsRefusedUnread(_ engine: Engine) throws {
        let scratch = try ScratchCatalog(engine)
        try CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates)
        let loader = try CatalogLoader(catalog: scratch.catalog, templates: repositoryTemplates)
        let good = try scratch.write("good.csv", sourceHeader + "\n" + sourceRows(1, 5))
        let passwd = scratch.directory.appendingPathComponent("src-000094-r1-0099.csv").path
        let inside = scratch.directory.appendingPathComponent("src-000094-r1-0098.csv").path
        try FileManager.default.createSymbolicLink(atPath: passwd, withDestinationPath: "/etc/passwd")
        try FileManager.default.createSymbolicLink(atPath: inside, withDestinationPath: good)
        let summary = try loader.load([passwd, inside])
        #expect(summary.loaded == 0)
        #expect(summary.rejected.map(\.line) == [0, 0])
        #expect(summary.rejected.map(\.message) == [
            "a symbolic link to /etc/passwd, not read: a step's result must be the file itself",
            "a symbolic link to \(good), not read: a step's result must be the file itself",
        ])
        let passwdLine = try String(contentsOfFile: "/etc/passwd", encoding: .utf8).split(separator: "\n").first.map(String.init) ?? "root:"
        #expect(!summary.rejected.contains { $0.message.contains(passwdLine) || $0.message.contains("root:") })
    }

    /// `dcprod sql`'s engines answer a text of two statements alike, and run neither.
    @Test(arguments: Engine.available)
    func twoStatementsAreRefusedAlikeAndNeitherRuns(_ engine: Engine) throws {
        let scratch = try ScratchCatalog(engine)
        try CatalogSchema.initialize(scratch.catalog, templates: repositoryTemplates)
        let reader = try scratch.connection(readOnly: false)
        for text in ["SELECT 1; DELETE FROM Filter", "SELECT 'a;b'; DELETE FROM Filter -- ;"] {
            #expect(throws: CatalogError.self, "\(text)") { try reader.query(text) }
            do {
                _ = try reader.query(text)
            } catch {
                #expect("\(error)" == "one statement at a time: the text holds more than one, and none was run", "\(error)")
            }
        }
        #expect(try reader.query("SELECT 'a;b';").rows == [["a;b"]])
        #expect(try scratch.catalog.scalar("SELECT COUNT(*) FROM Filter") == "5")
    }
}
