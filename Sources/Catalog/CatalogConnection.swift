import Foundation
import GRDB
import Production

/// Opens the catalog a production's config names: the embedded SQLite file when DBHOST is
/// `sqlite`, else the MariaDB/MySQL server DBHOST:DBPORT, database DBNAME, user DBUSER, the
/// password from the client's option files or MYSQL_PWD.
public enum CatalogConnection {
    /// The embedded catalog's file.
    public static func sqlitePath(_ production: Production) -> String {
        production.tree.dataRoot.appendingPathComponent("catalog.sqlite").path
    }

    public static func open(_ production: Production, readOnly: Bool, defaultsFile: String? = nil,
                            createDatabase: Bool = false) throws -> CatalogDatabase {
        let config = production.config
        if config.usesEmbeddedCatalog {
            let catalog = try SQLiteCatalog(path: sqlitePath(production), readOnly: readOnly)
            // Attached per-filter files and TEMP views live as long as the connection.
            try CatalogSchema.join(catalog, templates: production.tree.templatesDirectory, splits: splits(production))
            return catalog
        }
        return try MariaDBCatalog(host: config.dbHost, port: config.dbPort, user: config.dbUser, database: config.dbName,
                                  defaultsFile: defaultsFile, readOnly: readOnly, createDatabase: createDatabase)
    }

    /// The per-filter stores of DBSPLIT filter, or none.
    public static func splits(_ production: Production) -> [String] {
        production.config.dbSplit == .filter ? production.config.filters.map(\.rawValue) : []
    }
}

/// What the state store knows of the files to load.
extension StateStore {
    /// The CSV outputs of the ok events of a step, from their latest outcome, sorted.
    public func resultFiles(step: Step) throws -> [String] {
        try pool.read { db in
            try String.fetchAll(db, sql: """
                SELECT o.outputs FROM event e JOIN outcome o ON o.eventId = e.id AND o.attemptId = e.attemptId
                WHERE e.step = ? AND e.state = 'ok' AND o.outputs IS NOT NULL
                """, arguments: [step.rawValue])
        }.flatMap { $0.split(separator: "\n").map(String.init) }.filter { $0.hasSuffix(".csv") }.sorted()
    }

    /// Records the loader's refusals, and forgets those of files that have since loaded.
    public func recordLoad(rejections: [(path: String, line: Int, message: String)], loaded: [String]) throws {
        let now = ISO8601DateFormatter().string(from: Date())
        try pool.write { db in
            for path in loaded { try db.execute(sql: "DELETE FROM load_rejection WHERE path = ?", arguments: [path]) }
            for r in rejections {
                try db.execute(sql: "INSERT OR REPLACE INTO load_rejection (path, line, message, recordedAt) VALUES (?, ?, ?, ?)",
                               arguments: [r.path, r.line, r.message, now])
            }
        }
    }

    public func loadRejections() throws -> [(path: String, line: Int, message: String)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT path, line, message FROM load_rejection ORDER BY path").map { ($0["path"], $0["line"], $0["message"]) }
        }
    }
}
