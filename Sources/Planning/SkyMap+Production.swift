import Production
import Sky

extension SkyMap {
    /// The sky map a production uses: its `templates/skymap/dc2013.skymap`.
    public static func of(_ production: Production) throws -> SkyMap {
        try load(contentsOf: production.tree.templatesDirectory.appendingPathComponent("skymap/dc2013.skymap").path)
    }
}
