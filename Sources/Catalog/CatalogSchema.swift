import Foundation
import Planning

/// The catalog's schema: `templates/schema/DIALECT.sql`, versioned in `dcprod_schema`.
public enum CatalogSchema {
    public static let version = 1

    /// The installed version, or nil when the catalog has no dcprod schema yet.
    public static func installedVersion(_ catalog: CatalogDatabase) throws -> Int? {
        guard !(try catalog.columns(of: "dcprod_schema")).isEmpty else { return nil }
        return try catalog.scalar("SELECT MAX(version) FROM dcprod_schema").flatMap { Int($0) }
    }

    /// Creates the schema if absent; true if it did. A catalog of another version is refused.
    @discardableResult
    public static func initialize(_ catalog: CatalogDatabase, templates: URL) throws -> Bool {
        if let installed = try installedVersion(catalog) {
            guard installed == version else {
                throw CatalogError("\(catalog.location): catalog schema version \(installed), this dcprod knows \(version)")
            }
            return false
        }
        let file = templates.appendingPathComponent("schema/\(catalog.dialect.rawValue).sql")
        guard let script = try? String(contentsOf: file, encoding: .utf8) else {
            throw CatalogError("\(file.path): the catalog schema cannot be read")
        }
        try catalog.run(script: script)
        return true
    }

    /// Checks that the schema is there, with a clear word if not.
    public static func require(_ catalog: CatalogDatabase) throws {
        guard let installed = try installedVersion(catalog) else {
            throw CatalogError("\(catalog.location): no catalog schema; run `dcprod load --init`")
        }
        guard installed == version else {
            throw CatalogError("\(catalog.location): catalog schema version \(installed), this dcprod knows \(version)")
        }
    }

    /// Which table a CSV goes into, from `templates/schema/csv-tables` (file-name prefix → table).
    public static func tables(templates: URL) throws -> [(prefix: String, table: String)] {
        let lines = try TemplateLines(path: templates.appendingPathComponent("schema/csv-tables").path, what: "the CSV table map")
        return try lines.map { line in
            let words = line.text.split(whereSeparator: \.isWhitespace)
            guard words.count == 2 else { throw lines.error(line.number, "expected `PREFIX TABLE`") }
            return (String(words[0]), String(words[1]))
        }
    }
}

/// Whether a statement only reads, for `dcprod sql` without `--write`.
public enum SQLGuard {
    static let reading: Set<String> = ["SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "VALUES"]

    /// One statement whose first word reads. The connection is read-only as well; this only gives
    /// the clear refusal before the engine would give its own.
    public static func isReadOnly(_ sql: String) -> Bool {
        var text = sql.trimmingCharacters(in: .whitespacesAndNewlines)
        while text.hasSuffix(";") { text = String(text.dropLast()).trimmingCharacters(in: .whitespacesAndNewlines) }
        guard !text.contains(";") else { return false }
        while text.hasPrefix("--") || text.hasPrefix("/*") || text.hasPrefix("(") {
            if text.hasPrefix("(") {
                text = String(text.dropFirst())
            } else if text.hasPrefix("--") {
                text = String(text.drop { $0 != "\n" })
            } else if let end = text.range(of: "*/") {
                text = String(text[end.upperBound...])
            } else {
                return false
            }
            text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let first = text.prefix { $0.isLetter }.uppercased()
        return reading.contains(first)
    }
}
