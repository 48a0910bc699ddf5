import ArgumentParser
import Catalog
import Foundation
import Logging
import Production

struct Sql: ProductionCommand {
    static let configuration = CommandConfiguration(
        commandName: "sql",
        abstract: "Answer an SQL query on the catalog: an aligned table, CSV or JSON.",
        discussion: """
            Rows are printed as the engine gives them, so a result of any size takes little memory; the table's column \
            widths are those of its first 1,000 rows; byte strings are printed as hex. Read-only unless --write: the \
            connection is read-only, a statement that writes is refused by the engine itself, and one that would read \
            or write a file (SQLite ATTACH, VACUUM INTO; MariaDB INTO OUTFILE, INTO DUMPFILE, LOAD_FILE, LOAD DATA) is \
            refused before it runs. The seed's \
            queries run as written, e.g. dcprod sql "SELECT tract, patch FROM DeepCoadd WHERE ra > 6.0 and ra < 7.0 and \
            decl > -0.2 and decl < 0.0".
            """)

    @OptionGroup var options: ProductionOptions
    @OptionGroup var catalogOptions: CatalogOptions

    @Argument(help: "One SQL statement.")
    var statement: String

    @Flag(help: "Print CSV (a header line, then the rows).")
    var csv = false

    @Flag(help: "Print a JSON array of objects.")
    var json = false

    @Flag(help: "Allow a statement that writes.")
    var write = false

    @Option(help: "In the table, cut values wider than this, ending them with … (default: the terminal's width, or 200).")
    var maxWidth: Int?

    /// The width of the terminal on standard output (`TIOCGWINSZ`), or 200 when it is not one.
    static var terminalWidth: Int {
        var size = winsize()
        return ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? Int(size.ws_col) : 200
    }

    func validate() throws {
        if csv && json { throw ValidationError("--csv and --json: choose one") }
    }

    /// Only with --write.
    var changesProduction: Bool { write }

    func run(on production: Production) throws {
        let catalog = try CatalogConnection.open(production, readOnly: !write, defaultsFile: catalogOptions.defaultsFile)
        Logger(label: "dcprod.sql").debug("on \(catalog.location)\(write ? ", writing" : ""): \(statement)")
        let output = QueryOutput(csv ? .csv : json ? .json : .table(maximumWidth: maxWidth ?? Self.terminalWidth))
        var columns: [String] = []
        do {
            try catalog.query(statement, columns: { columns = $0; if !$0.isEmpty { output.begin(columns: $0) } }, row: output.row)
        } catch let error as CatalogError where error.kind == .readOnly {
            // The engine's words for it (`attempt to write a readonly database`) say nothing more.
            throw CatalogError("refused: this statement writes, and `dcprod sql` is read-only without --write; `dcprod sql --write` runs it",
                               kind: .readOnly, code: error.code)
        }
        guard columns.isEmpty else { return output.finish() }
        // A statement without a result set: one that writes, with --write.
        print("ok")
        if write { try production.record(typedCommandLine, "sql --write on \(catalog.location): \(statement.prefix(200))") }
    }
}
