import Basics
import Catalog
import Sky

/// The rows of one catalog table that a scientist asks for: a region of the sky (an RA/Dec box, or a
/// list of tract-patches) in some filters, primary rows only unless asked. What `dcprod crossmatch`,
/// `dcprod export` and `dcprod compare` read.
///
/// The SQL it makes holds only numbers Swift has typed (bounds, filter ids, tracts) and patch names
/// made of two of them, so no value of the user's reaches it as text; it runs on SQLite and MariaDB alike.
public struct CatalogSelection: Sendable, Equatable {
    /// A table of sources, and what it measured.
    public enum Table: String, Sendable, CaseIterable {
        /// The coadds' sources (the default): one row per source per patch and filter.
        case deepSource = "DeepSource"
        /// Forced photometry on the calexps at the primary DeepSources' positions (`--forced`).
        case deepForcedSource = "DeepForcedSource"
        /// processCcd's single-frame sources (`--single`).
        case source = "Source"

        /// The table's key column.
        public var idColumn: String {
            switch self {
            case .deepSource: "deepSourceId"
            case .deepForcedSource: "deepForcedSourceId"
            case .source: "sourceId"
            }
        }

        /// What a row's measurement belongs to, an integer: its coadd (deepCoaddId) or its exposure
        /// (scienceCcdExposureId, computed so that a catalog older than schema v4 has it too). Two
        /// productions' rows are matched within the same one.
        var groupExpression: String {
            switch self {
            case .deepSource: "t.deepCoaddId"
            case .deepForcedSource, .source: "((t.run * 10 + t.filterId) * 10 + t.camcol) * 10000 + t.field"
            }
        }

        /// The join that gives each row the zero point of the image its fluxes are counts of: its
        /// coadd's (DeepCoadd) or its calexp's (Science_Ccd_Exposure), aliased `z`.
        var zeroPointJoin: String {
            switch self {
            case .deepSource:
                "LEFT JOIN DeepCoadd z ON z.deepCoaddId = t.deepCoaddId"
            case .deepForcedSource, .source:
                "LEFT JOIN Science_Ccd_Exposure z ON z.run = t.run AND z.camcol = t.camcol AND z.field = t.field AND z.filterId = t.filterId"
            }
        }
    }

    /// Where on the sky.
    public enum Area: Sendable, Equatable {
        /// The whole catalog (`dcprod compare`).
        case everywhere
        /// An RA/Dec box (through RA 0 when RAMIN is above RAMAX).
        case region(Region)
        /// The inner boxes of these patches: the rows of DeepSource with these `tract` and `patch`,
        /// of DeepForcedSource measured at them.
        case patches([PatchId])
    }

    public var table: Table
    public var area: Area
    /// The filters asked for; all five when empty.
    public var filters: [Filter]
    /// Non-primary DeepSources too (their copies in a neighbouring patch's border).
    public var includeNonPrimary: Bool

    public init(table: Table = .deepSource, area: Area, filters: [Filter] = [], includeNonPrimary: Bool = false) {
        self.table = table
        self.area = area
        self.filters = filters
        self.includeNonPrimary = includeNonPrimary
    }

    /// Why the selection cannot be made, or nil: single-frame sources belong to no patch.
    public var impossibility: String? {
        if case .patches(let patches) = area {
            if patches.isEmpty { return "no patch given" }
            if table == .source {
                return "single-frame sources (Source) belong to no patch: give a --region instead of --patch"
            }
        }
        if case .region(let region) = area, let why = region.impossibility { return "region \(region): \(why)" }
        return nil
    }

    /// The filters selected, in filter order.
    public var selectedFilters: [Filter] { filters.isEmpty ? Filter.allCases : Array(Set(filters)).sorted() }

    /// The `WHERE` clause's conditions on the table aliased `t` (without `WHERE`).
    public var condition: String {
        var parts = ["t.filterId IN (\(selectedFilters.map { String($0.filterId) }.joined(separator: ", ")))"]
        switch area {
        case .everywhere: break
        case .region(let region):
            parts.append("t.decl > \(region.decMin) AND t.decl < \(region.decMax)")
            parts.append(region.wrapsRA ? "(t.ra > \(region.raMin) OR t.ra < \(region.raMax))"
                                        : "t.ra > \(region.raMin) AND t.ra < \(region.raMax)")
        case .patches(let patches):
            let inPatches = "(" + patches.map { "(d.tract = \($0.tract) AND d.patch = '\($0.name)')" }.joined(separator: " OR ") + ")"
            switch table {
            case .deepSource: parts.append(inPatches.replacingOccurrences(of: "d.", with: "t."))
            case .deepForcedSource:
                parts.append("t.deepSourceId IN (SELECT d.deepSourceId FROM DeepSource d WHERE \(inPatches))")
            case .source: break  // refused by `impossibility`
            }
        }
        if table == .deepSource && !includeNonPrimary { parts.append("t.isPrimary = 1") }
        return parts.joined(separator: " AND ")
    }

    /// A query of the selected rows' columns (`t.*` for all of them), ordered by the table's key.
    ///
    /// - Parameter columns: Column names of the table; empty for all.
    public func rowsQuery(columns: [String] = []) -> String {
        let list = columns.isEmpty ? "t.*" : columns.map { "t.\($0)" }.joined(separator: ", ")
        return "SELECT \(list) FROM \(table.rawValue) t WHERE \(condition) ORDER BY t.\(table.idColumn)"
    }

    /// A query of what a crossmatch needs of each selected row: its id, filter id, position, PSF flux
    /// and its σ, the zero point of the image they are counts of (NULL when that image has no row),
    /// and the coadd or exposure it was measured on, ordered by the table's key.
    public var photometryQuery: String {
        "SELECT t.\(table.idColumn), t.filterId, t.ra, t.decl, t.psfFlux, t.psfFluxSigma, z.zeroPoint, \(table.groupExpression) "
            + "FROM \(table.rawValue) t "
            + "\(table.zeroPointJoin) WHERE \(condition) ORDER BY t.\(table.idColumn)"
    }

    /// A query counting the selected rows.
    public var countQuery: String { "SELECT COUNT(*) FROM \(table.rawValue) t WHERE \(condition)" }
}
