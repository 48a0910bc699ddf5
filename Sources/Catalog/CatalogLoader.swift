import Foundation

/// Loads result CSV files into the catalog exactly once: each file in one transaction together
/// with its ledger row; a file already in the ledger is skipped; a malformed file is refused
/// with its file and line and loads nothing; a file whose inserted row count differs from its
/// line count is rolled back.
public struct CatalogLoader {
    public struct Rejection: Sendable, Equatable {
        public var path: String
        public var line: Int
        public var message: String
    }

    public struct Summary: Sendable, Equatable {
        public var loaded = 0
        public var skipped = 0
        public var rejected: [Rejection] = []
        public var rows: [String: Int] = [:]
        /// The files loaded by this run.
        public var loadedPaths: [String] = []

        public var line: String {
            let perTable = rows.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            return "load: \(loaded) files loaded (\(rows.values.reduce(0, +)) rows\(perTable.isEmpty ? "" : ": " + perTable)), "
                + "\(skipped) already in the ledger, \(rejected.count) rejected"
        }
    }

    public let catalog: CatalogDatabase
    public let tables: [(prefix: String, table: String)]
    /// DBSPLIT filter: the per-filter stores, and the tables that live in them.
    public let splits: [String]
    let perFilterTables: Set<String>

    public init(catalog: CatalogDatabase, templates: URL, splits: [String] = []) throws {
        self.catalog = catalog
        self.splits = splits
        tables = try CatalogSchema.tables(templates: templates)
        perFilterTables = splits.isEmpty ? [] : Set(try SchemaScript(templates: templates, dialect: catalog.dialect).perFilterTables)
    }

    /// Where a file's rows go: its table, and with DBSPLIT filter the store of the filter its rows
    /// are in (a file of a per-filter table holds one filter).
    func destination(_ csv: ValidatedCSV, table: String) throws -> String? {
        guard perFilterTables.contains(table) else { return nil }
        guard let column = csv.columns.firstIndex(where: { $0.lowercased() == "filterid" }) else {
            throw CatalogError("no filterId column, which DBSPLIT filter needs")
        }
        let ids = Set(csv.rows.map { $0[column] ?? "" })
        guard ids.count == 1, let id = ids.first, let number = Int(id), (0..<5).contains(number) else {
            throw CatalogError("rows of \(ids.count) filters in one file; DBSPLIT filter needs one")
        }
        let filter = ["u", "g", "r", "i", "z"][number]
        guard splits.contains(filter) else { throw CatalogError("filter \(filter) is not one of this catalog's FILTERS") }
        return filter
    }

    /// The table a file goes into, by its name.
    public func table(for path: String) -> String? {
        let name = URL(fileURLWithPath: path).lastPathComponent
        return tables.first { name.hasPrefix($0.prefix) }?.table
    }

    /// The ledger's key for a file: a hash of its path.
    public static func pathHash(_ path: String) -> String { fnv1a(path) }

    /// Paths (by hash) already in the ledger: the main catalog's and, with DBSPLIT, each store's
    /// (a file's ledger row is written where its rows are, in the same transaction).
    public func ledger() throws -> Set<String> {
        var out: Set<String> = []
        for split in [nil] + splits.map(Optional.some) {
            let rows = try catalog.query("SELECT pathHash FROM \(catalog.qualified("dcprod_load", split: split))").rows
            out.formUnion(rows.compactMap { $0.first ?? nil })
        }
        return out
    }

    public func load(_ paths: [String], progress: (Int, Int) -> Void = { _, _ in }) throws -> Summary {
        var summary = Summary()
        let done = try ledger()
        var columnCache: [String: [CatalogColumn]] = [:]
        for (index, path) in paths.enumerated() {
            defer { progress(index + 1, paths.count) }
            if done.contains(fnv1a(path)) {
                summary.skipped += 1
                continue
            }
            guard let table = table(for: path) else {
                summary.rejected.append(Rejection(path: path, line: 0, message: "no table for this file name (templates/schema/csv-tables)"))
                continue
            }
            if columnCache[table] == nil {
                columnCache[table] = try catalog.columns(of: table, split: perFilterTables.contains(table) ? splits.first : nil)
            }
            let csv: ValidatedCSV
            do {
                csv = try ValidatedCSV.read(path, tableColumns: columnCache[table]!)
            } catch let error as CSVError {
                summary.rejected.append(Rejection(path: path, line: error.line, message: error.message))
                continue
            }
            let split: String?
            do {
                split = try destination(csv, table: table)
            } catch {
                summary.rejected.append(Rejection(path: path, line: 0, message: "\(error)"))
                continue
            }
            try catalog.begin()
            do {
                let inserted = try catalog.bulkInsert(csv, into: catalog.qualified(table, split: split))
                guard inserted == csv.rows.count else {
                    throw CatalogError("\(inserted) rows inserted for \(csv.rows.count) lines")
                }
                try catalog.execute("""
                    INSERT INTO \(catalog.qualified("dcprod_load", split: split)) (pathHash, path, size, checksum, tableName, rowCount, loadedAt) VALUES \
                    ('\(fnv1a(path))', \(Self.literal(path, catalog.dialect)), \(csv.size), '\(csv.checksum)', '\(table)', \(inserted), \
                    '\(ISO8601DateFormatter().string(from: Date()))')
                    """)
                try catalog.commit()
                summary.loaded += 1
                summary.loadedPaths.append(path)
                summary.rows[table, default: 0] += inserted
            } catch {
                try? catalog.rollback()
                summary.rejected.append(Rejection(path: path, line: 0, message: "\(error)"))
            }
        }
        return summary
    }

    /// Loads `paths` over `connections` connections at once, each its own loader and share of the
    /// files (every file still in its own transaction with its ledger row). SQLite has one writer at a
    /// time, so it always gets one.
    public static func loadInParallel(_ paths: [String], connections: Int, dialect: SQLDialect, templates: URL,
                                      splits: [String] = [],
                                      open: @escaping @Sendable () throws -> CatalogDatabase) throws -> Summary {
        let workers = dialect == .sqlite ? 1 : max(1, min(connections, paths.count))
        let shares = (0..<workers).map { w in stride(from: w, to: paths.count, by: workers).map { paths[$0] } }
        let results = Results(count: workers)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            do {
                let loader = try CatalogLoader(catalog: try open(), templates: templates, splits: splits)
                results.set(w, .success(try loader.load(shares[w])))
            } catch {
                results.set(w, .failure(error))
            }
        }
        var total = Summary()
        for result in results.all {
            let part = try result.get()
            total.loaded += part.loaded
            total.skipped += part.skipped
            total.rejected += part.rejected
            total.loadedPaths += part.loadedPaths
            total.rows.merge(part.rows, uniquingKeysWith: +)
        }
        total.rejected.sort { $0.path < $1.path }
        return total
    }

    /// What the parallel workers hand back, one slot each.
    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var slots: [Result<Summary, Error>]

        init(count: Int) { slots = Array(repeating: .success(Summary()), count: count) }

        func set(_ index: Int, _ value: Result<Summary, Error>) { lock.withLock { slots[index] = value } }
        var all: [Result<Summary, Error>] { lock.withLock { slots } }
    }

    /// A SQL string literal: quotes doubled; backslashes doubled too for MariaDB, where they escape.
    static func literal(_ text: String, _ dialect: SQLDialect) -> String {
        let escaped = dialect == .mysql ? text.replacingOccurrences(of: "\\", with: "\\\\") : text
        return "'" + escaped.replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// The base tables results load into.
    public var baseTables: [String] { Array(Set(tables.map(\.table))).sorted() }

    /// Drops the secondary indexes of the tables results load into, recording each one first
    /// (its own statement, committed) so that an interrupted load leaves them to be rebuilt.
    @discardableResult
    public func deferIndexes() throws -> Int {
        var dropped = 0
        for table in baseTables {
            let places: [String?] = perFilterTables.contains(table) ? splits.map(Optional.some) : [nil]
            for index in try places.flatMap({ try catalog.secondaryIndexes(of: table, split: $0) }) {
                try catalog.execute("""
                    INSERT INTO dcprod_deferred_index (indexName, tableName, definition) VALUES \
                    (\(Self.literal(Self.key(index), catalog.dialect)), \(Self.literal(table, catalog.dialect)), \(Self.literal(index.create, catalog.dialect)))
                    """)
                try catalog.execute(catalog.dropIndexStatement(index))
                dropped += 1
            }
        }
        return dropped
    }

    /// Builds every index recorded as deferred, by this load or an interrupted earlier one.
    @discardableResult
    public func rebuildDeferredIndexes() throws -> Int {
        let deferred = try catalog.query("SELECT indexName, tableName, definition FROM dcprod_deferred_index ORDER BY indexName").rows
        for row in deferred {
            guard let key = row[0], let table = row[1], let create = row[2] else { continue }
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            let (split, name) = parts.count == 2 ? (Optional(parts[0]), parts[1]) : (nil, key)
            let present = try catalog.secondaryIndexes(of: table, split: split).contains { $0.name == name }
            if !present { try catalog.execute(create) }
            try catalog.execute("DELETE FROM dcprod_deferred_index WHERE indexName = \(Self.literal(key, catalog.dialect))")
        }
        return deferred.count
    }

    /// An index's key in `dcprod_deferred_index`: its name, after its store's for DBSPLIT.
    static func key(_ index: IndexDefinition) -> String { (index.split.map { $0 + "/" } ?? "") + index.name }

    /// Rows per table of the catalog's tables named in the CSV map.
    public func rowCounts() throws -> [String: Int] {
        var out: [String: Int] = [:]
        for table in Set(tables.map(\.table)) {
            out[table] = Int(try catalog.scalar("SELECT COUNT(*) FROM \(table)") ?? "0") ?? 0
        }
        return out
    }
}
