import Foundation
import Production

/// Opens the catalog a production's config names: the embedded SQLite file when DBHOST is
/// `sqlite`, else the MariaDB/MySQL server DBHOST:DBPORT, database DBNAME, user DBUSER, the
/// password from the client's option files or MYSQL_PWD.
public enum CatalogConnection {
    /// The embedded catalog's file.
    public static func sqlitePath(_ production: Production) -> String {
        production.tree.dataRoot.appendingPathComponent("catalog.sqlite").path
    }

    /// Opens a connection to the production's catalog; on SQLite, the per-filter files of DBSPLIT
    /// filter are attached and joined behind their views.
    ///
    /// - Parameters:
    ///   - production: The production whose config names the catalog.
    ///   - readOnly: A read-only connection (the engine refuses writes).
    ///   - defaultsFile: A MariaDB client option file with the password; nil: the client's own files or MYSQL_PWD.
    ///   - createDatabase: Create the catalog if it is not there: DBNAME on a server, the file of the
    ///     embedded catalog (without it a missing file is an error).
    /// - Returns: The connection.
    /// - Throws: `CatalogError` when the catalog cannot be opened (one line naming user@host:port on a server).
    public static func open(_ production: Production, readOnly: Bool, defaultsFile: String? = nil,
                            createDatabase: Bool = false) throws -> CatalogDatabase {
        let config = production.config
        if config.usesEmbeddedCatalog {
            // Only a command that makes the catalog makes its file: another would make an empty one
            // where a deleted catalog was, and say the schema is missing rather than the file.
            let catalog = try SQLiteCatalog(path: sqlitePath(production), readOnly: readOnly, create: createDatabase)
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
