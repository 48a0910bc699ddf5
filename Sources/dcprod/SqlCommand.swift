import ArgumentParser
import Catalog
import Foundation
import Production

struct Sql: ProductionCommand {
    static let configuration = CommandConfiguration(
        abstract: "Answer an SQL query on the catalog: an aligned table, CSV or JSON.",
        discussion: """
            Read-only unless --write: a statement that writes is refused, and the connection itself is read-only. The seed's \
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

    func validate() throws {
        if csv && json { throw ValidationError("--csv and --json: choose one") }
    }

    /// Only with --write.
    var changesProduction: Bool { write }

    func run(on production: Production) throws {
        if !write && !SQLGuard.isReadOnly(statement) {
            throw CatalogError("refused: this statement may write, and `dcprod sql` is read-only without --write")
        }
        let catalog = try CatalogConnection.open(production, readOnly: !write, defaultsFile: catalogOptions.defaultsFile)
        if write && !SQLGuard.isReadOnly(statement) {
            try catalog.execute(statement)
            print("ok")
            try production.record(typedCommandLine, "sql --write on \(catalog.location): \(statement.prefix(200))")
            return
        }
        let result = try catalog.query(statement)
        print(csv ? QueryText.csv(result) : json ? QueryText.json(result) + "\n" : QueryText.table(result), terminator: "")
    }
}

/// The three forms of a query result.
enum QueryText {
    static func table(_ result: QueryResult) -> String {
        let cells = [result.columns] + result.rows.map { $0.map { $0 ?? "NULL" } }
        let widths = result.columns.indices.map { c in cells.map { $0[c].count }.max() ?? 0 }
        var out = ""
        for (index, row) in cells.enumerated() {
            out += row.enumerated().map { c, cell in cell.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) + "\n"
            if index == 0 {
                out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
            }
        }
        return out + "(\(result.rows.count) row\(result.rows.count == 1 ? "" : "s"))\n"
    }

    static func csv(_ result: QueryResult) -> String {
        func field(_ value: String?) -> String {
            guard let value else { return "" }
            return value.contains(where: { ",\"\n\r".contains($0) }) ? "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : value
        }
        return ([result.columns.map(field).joined(separator: ",")] + result.rows.map { $0.map(field).joined(separator: ",") })
            .joined(separator: "\n") + "\n"
    }

    static func json(_ result: QueryResult) -> String {
        let objects: [[String: Any]] = result.rows.map { row in
            var object: [String: Any] = [:]
            for (name, value) in zip(result.columns, row) {
                object[name] = value.map { text -> Any in Double(text).map { NSNumber(value: $0) } ?? text } ?? NSNull()
            }
            return object
        }
        let data = (try? JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys])) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
