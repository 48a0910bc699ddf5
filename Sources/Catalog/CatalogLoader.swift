import Basics
import Foundation
import Production

/// Loads result CSV files into the catalog exactly once: each file together with its ledger row,
/// all or nothing (in a savepoint of a transaction of `rowsPerCommit` rows); a file already in the
/// ledger is skipped; a malformed file is refused with its file and line and loads nothing; a file
/// whose inserted row count differs from its line count is rolled back.
///
/// The ledger (`dcprod_load`) is keyed by a hash of the file's path, and its row is written in the
/// same transaction as the file's rows, in the store that holds them: after a crash a file is
/// either wholly in the catalog and the ledger, or in neither, and the next load takes it again.
/// A file changed after it was loaded is refused, naming both checksums (`changedSinceLoaded`): its
/// rows in the catalog are the old file's. Only a file the caller names as redone (the output of an
/// event run again on inputs that changed, `UnloadedEvent.isRedone`) replaces them: the
/// old file's rows are deleted by the key range its ledger row records, in the savepoint that inserts
/// the new file's rows and replaces its ledger row (see `load(_:redone:progress:)`).
/// A refused file is not an error of the load: it is reported in the summary, and the caller
/// records it (`StateStore.recordLoad(rejections:loaded:)`).
///
/// ```swift
/// let production = try Production.open(root: URL(fileURLWithPath: "/data/dc2013"))
/// let catalog = try CatalogConnection.open(production, readOnly: false)
/// try CatalogSchema.require(catalog)
/// let loader = try CatalogLoader(catalog: catalog, templates: production.tree.templatesDirectory,
///                                splits: CatalogConnection.splits(production))
/// let events = try production.store.unloadedEvents(step: .coadd, everyEvent: true)
/// let summary = try loader.load(events.flatMap(\.files).sorted(),
///                               redone: Set(events.filter(\.isRedone).flatMap(\.files)))
/// print("\(summary.loaded) files loaded, \(summary.skipped) already in the ledger")
/// for rejection in summary.rejected {
///     print("rejected \(rejection.path):\(rejection.line): \(rejection.message)")
/// }
/// ```
public struct CatalogLoader {
    /// A file the loader refused, and why.
    ///
    /// The line is that of the CSV problem, or of the row the engine refused, from 1; 0 when the problem
    /// is not at a line (no table for the file name, a symbolic link, a file with rows of several
    /// filters, a file changed since it was loaded). The message names the column by number and name
    /// and quotes the value, never more of the file; it is the CSV check's (the same on both engines), or
    /// says what the engine refused in a row (`engineRefusal(_:of:table:)`). The state store keeps it as
    /// it is (`StateStore.recordLoad(rejections:loaded:)`).
    public typealias Rejection = LoadRejection

    /// What one load did.
    public struct Summary: Sendable, Equatable {
        /// The number of files loaded, each with its ledger row; the files `replaced` among them.
        public var loaded = 0
        /// The number of redone files loaded in place of their earlier version, whose rows they replaced.
        public var replaced = 0
        /// The number of files skipped because the ledger already has them.
        public var skipped = 0
        /// The files refused, none of whose rows are in the catalog; in an account of several pages or
        /// passes (`add(later:)`), the first `filesNamed` of them (`rejectedCount` counts them all).
        public var rejected: [Rejection] = []
        /// Files refused beyond those `rejected` names: counted, not held.
        public var rejectedUnnamed = 0
        /// Rows inserted, by table.
        public var rows: [String: Int] = [:]
        /// Rows of the earlier versions of the `replaced` files removed, by table.
        public var removed: [String: Int] = [:]
        /// The files loaded by this run; in an account of several pages or passes, the first `filesNamed`
        /// of them (`loaded` counts them all).
        public var loadedPaths: [String] = []

        /// How many loaded and refused files an account of several pages or passes names. Each page's
        /// files go to the state store and the catalog's provenance as that page loads, and every refused
        /// one stays in `load_rejection` (`dcprod load --status`), so the account of a first load at
        /// DC2013's size (1.57M files) need not hold a string a file.
        public static let filesNamed = 1_000

        /// Every file refused, named or not.
        public var rejectedCount: Int { rejected.count + rejectedUnnamed }

        /// Adds a part of the same page (a parallel worker's): every file it names is kept, for the
        /// state store's record of the page.
        mutating func add(_ part: Summary) {
            addCounts(of: part)
            rejected += part.rejected
            rejectedUnnamed += part.rejectedUnnamed
            loadedPaths += part.loadedPaths
        }

        /// Adds a later page or pass, already recorded: its counts add up, its files are named up to `filesNamed`.
        public mutating func add(later part: Summary) {
            addCounts(of: part)
            let rejectedRoom = max(0, Self.filesNamed - rejected.count)
            rejected += part.rejected.prefix(rejectedRoom)
            rejectedUnnamed += part.rejectedCount - min(rejectedRoom, part.rejected.count)
            loadedPaths += part.loadedPaths.prefix(max(0, Self.filesNamed - loadedPaths.count))
        }

        private mutating func addCounts(of part: Summary) {
            loaded += part.loaded
            replaced += part.replaced
            skipped += part.skipped
            rows.merge(part.rows, uniquingKeysWith: +)
            removed.merge(part.removed, uniquingKeysWith: +)
        }
    }

    /// The connection rows are loaded through.
    public let catalog: CatalogDatabase
    /// The file-name prefixes and their tables, from `templates/schema/csv-tables`.
    public let tables: [(prefix: String, table: String)]
    /// DBSPLIT filter: the per-filter stores, and the tables that live in them.
    public let splits: [String]
    let perFilterTables: Set<String>
    /// What each column holds, whose UCDs give the values a column takes (`withDomains(_:of:filterIds:)`).
    let descriptions: ColumnDescriptions

    /// Makes a loader for a catalog whose schema is installed.
    ///
    /// - Parameters:
    ///   - catalog: The connection: writable for `load(_:progress:)` and the
    ///     index methods; a read-only one serves `ledger()` and `rowCounts()`.
    ///   - templates: The production's `templates/` directory, for `schema/csv-tables` and, with
    ///     splits, the schema's per-filter tables.
    ///   - splits: The filters with a per-filter store (`CatalogConnection.splits(_:)`); empty without DBSPLIT filter.
    /// - Throws: `TemplateError` when `schema/csv-tables` or `schema/columns` cannot be read or has a
    ///   malformed line; `CatalogError` when, with splits, the schema file cannot be read.
    public init(catalog: CatalogDatabase, templates: URL, splits: [String] = []) throws {
        self.catalog = catalog
        self.splits = splits
        rowsPerCommit = catalog.dialect == .sqlite ? 250_000 : 0
        tables = try CatalogSchema.tables(templates: templates)
        descriptions = try ColumnDescriptions.of(templates: templates)
        perFilterTables = splits.isEmpty ? [] : Set(try SchemaScript(templates: templates, dialect: catalog.dialect).perFilterTables)
    }

    /// Where a file's rows go: its table, and with DBSPLIT filter the store of the filter its rows
    /// are in (a file of a per-filter table holds one filter).
    func destination(_ csv: ValidatedCSV, table: String) throws -> String? {
        guard perFilterTables.contains(table) else { return nil }
        guard let column = csv.columns.firstIndex(where: { $0.lowercased() == "filterid" }) else {
            throw CatalogError("no filterId column, which DBSPLIT filter needs")
        }
        let ids = Set((0..<csv.rowCount).map { csv.value(row: $0, column: column) ?? "" })
        guard ids.count == 1, let id = ids.first, let number = Int(id), (0..<5).contains(number) else {
            throw CatalogError("rows of \(ids.count) filters in one file; DBSPLIT filter needs one")
        }
        let filter = ["u", "g", "r", "i", "z"][number]
        guard splits.contains(filter) else { throw CatalogError("filter \(filter) is not one of this catalog's FILTERS") }
        return filter
    }

    /// The table a file goes into, by its name.
    ///
    /// - Parameter path: The file's path; only its last component counts.
    /// - Returns: The table of the first prefix in `tables` that the file name starts with, or nil when none does.
    public func table(for path: String) -> String? {
        let name = URL(fileURLWithPath: path).lastPathComponent
        return tables.first { name.hasPrefix($0.prefix) }?.table
    }

    /// The ledger's key for a file: a hash of its path.
    ///
    /// - Parameter path: The path as the state store records it (`StateStore.resultFiles(step:)`).
    /// - Returns: FNV-1a 64 of the path's UTF-8 bytes, as 16 lowercase hex digits.
    public static func pathHash(_ path: String) -> String { fnv1a(path) }

    /// Paths (by hash) already in the ledger: the main catalog's and, with DBSPLIT, each store's
    /// (a file's ledger row is written where its rows are, in the same transaction).
    ///
    /// - Returns: The `pathHash` of every file loaded, for comparison with `pathHash(_:)`.
    /// - Throws: `CatalogError` when a ledger table cannot be read (no schema, a store not joined).
    public func ledger() throws -> Set<String> { Set(try ledgerEntries().keys) }

    /// What the ledger says of a file loaded: enough to tell whether it changed since, and which rows
    /// are its.
    struct LedgerEntry {
        var size: Int
        var checksum: String
        var table: String
        /// When it was loaded, as the ledger writes it (`2026-12-06T02:33:58Z`, UTC).
        var loadedAt: String
        var rowCount: Int
        /// The smallest and largest key of its rows (`keyRange(_:columns:)`); nil when not recorded.
        var keys: ClosedRange<Int64>?
        /// The per-filter store its rows and ledger row are in (DBSPLIT filter); nil for the main catalog.
        var split: String?

        /// Whether a new version of the file can take this one's place: its rows are known by their
        /// key range, or it had none.
        var isReplaceable: Bool { keys != nil || rowCount == 0 }
    }

    /// The ledger's rows by path hash, from every store.
    func ledgerEntries() throws -> [String: LedgerEntry] {
        var out: [String: LedgerEntry] = [:]
        try readLedger(into: &out, where: "")
        return out
    }

    /// The ledger's rows of some files by path hash, from every store: what a load of these files
    /// needs, read by key (`pathHash IN (...)`, `hashesPerQuery` at a time) rather than the whole
    /// ledger, which holds every file of the production.
    ///
    /// - Parameter paths: The files, as the state store records them.
    func ledgerEntries(of paths: [String]) throws -> [String: LedgerEntry] {
        var out: [String: LedgerEntry] = [:]
        for list in Self.hashLists(of: paths) { try readLedger(into: &out, where: "WHERE pathHash IN (\(list))") }
        return out
    }

    /// The path hashes of some files, quoted, in lists of `hashesPerQuery` for `pathHash IN (...)`: the
    /// hashes are hex digits (`pathHash(_:)`), safe to write into a statement.
    static func hashLists(of paths: [String]) -> [String] {
        let hashes = Array(Set(paths.map(fnv1a))).sorted()
        return stride(from: 0, to: hashes.count, by: hashesPerQuery).map { first in
            hashes[first..<min(first + hashesPerQuery, hashes.count)].map { "'\($0)'" }.joined(separator: ", ")
        }
    }

    /// Path hashes a query names at once: a statement of about 20 kB.
    static let hashesPerQuery = 1_000

    /// Adds the ledger's rows that `condition` (a WHERE clause, or empty) selects, from every store.
    private func readLedger(into out: inout [String: LedgerEntry], where condition: String) throws {
        for split in [nil] + splits.map(Optional.some) {
            try catalog.query("""
                SELECT pathHash, size, checksum, tableName, loadedAt, rowCount, firstKey, lastKey \
                FROM \(catalog.qualified("dcprod_load", split: split)) \(condition)
                """, columns: { _ in }, row: { row in
                guard case .text(let hash) = row[0] else { return }
                let first = row[6].text.flatMap { Int64($0) }, last = row[7].text.flatMap { Int64($0) }
                var keys: ClosedRange<Int64>?
                if let first, let last, first <= last { keys = first...last }
                out[hash] = LedgerEntry(size: row[1].text.flatMap { Int($0) } ?? -1, checksum: row[2].text ?? "",
                                        table: row[3].text ?? "", loadedAt: row[4].text ?? "",
                                        rowCount: row[5].text.flatMap { Int($0) } ?? -1, keys: keys, split: split)
            })
        }
    }

    /// Seconds since 1970 of a time as the ledger writes it (`2026-12-06T02:33:58Z`, UTC), or nil
    /// for another form. Read by hand: this runs for every file a load finds in the ledger.
    static func utcSeconds(_ text: String) -> Int? {
        let bytes = Array(text.utf8)
        guard bytes.count == 20, bytes[4] == 0x2D, bytes[7] == 0x2D, bytes[10] == 0x54, bytes[13] == 0x3A,
              bytes[16] == 0x3A, bytes[19] == 0x5A else { return nil }
        func number(_ range: Range<Int>) -> Int32? { Int32(String(decoding: bytes[range], as: UTF8.self)) }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
              let minute = number(14..<16), let second = number(17..<19) else { return nil }
        var time = tm()
        (time.tm_year, time.tm_mon, time.tm_mday) = (year - 1900, month - 1, day)
        (time.tm_hour, time.tm_min, time.tm_sec) = (hour, minute, second)
        return Int(timegm(&time))
    }

    /// A file in the ledger as it is now, when it is not the file that was loaded.
    struct Change {
        var size: Int
        var checksum: String
    }

    /// What a file in the ledger is now, if it changed since it was loaded; nil when it did not (or is
    /// gone: what was loaded stays).
    ///
    /// Only a file whose size differs from the ledger's, or that was modified at or after the second
    /// it was loaded, is read again to compare checksums: an unchanged file costs one `stat`.
    func changedSinceLoaded(_ path: String, _ entry: LedgerEntry) -> Change? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        let size = Int(status.st_size)
        let loadedAt = Self.utcSeconds(entry.loadedAt) ?? Int.min
        guard size != entry.size || Int(status.st_mtim.tv_sec) >= loadedAt,
              let data = FileManager.default.contents(atPath: path) else { return nil }
        let checksum = data.withUnsafeBytes { fnv1a($0) }
        return checksum == entry.checksum ? nil : Change(size: size, checksum: checksum)
    }

    /// The refusal of a changed file, naming both checksums; `why` (from ", ") adds why it cannot take
    /// the old file's place when it was to.
    func refusal(_ path: String, _ entry: LedgerEntry, _ change: Change, why: String = "") -> Rejection {
        Rejection(path: path, line: 0, message: """
            changed since it was loaded at \(entry.loadedAt) (checksum \(entry.checksum), \(entry.size) bytes then; \
            \(change.checksum), \(change.size) bytes now): \(entry.table) holds the rows of the file as it was\(why). \
            Put that file back, or delete its rows and its dcprod_load row (`dcprod sql --write`) and load again
            """)
    }

    /// The single integer column of a table's primary key, or nil for a composite key or another type.
    static func integerKey(_ columns: [CatalogColumn]) -> CatalogColumn? {
        let keys = columns.filter(\.isPrimaryKey)
        guard keys.count == 1, keys[0].integers != nil else { return nil }
        return keys[0]
    }

    /// The smallest and largest key of a file's rows, for its ledger row; nil when its table's key is not
    /// one integer column (Science_Ccd_Exposure's is run, camcol, field, filterId) or it has no rows.
    ///
    /// This range is what a redone file's new version deletes before its rows go in, which is right only
    /// while no other file has a key inside it: the reference payload gives each file ids of its own
    /// frame's or patch's in one contiguous block (`ProcessCcd.sourceId`, which forcedPhot uses too: the
    /// frame's bits above a 16-bit running number; `Coadd.sourceId`: the patch's deepCoaddId above a
    /// 20-bit one). `load(_:redone:progress:)` checks that the range holds exactly as many rows as the
    /// file had, which catches a payload whose files' ids interleave.
    ///
    /// - Parameters:
    ///   - csv: The file, validated against `columns` (its key values are integers of the column's type).
    ///   - columns: Its table's columns.
    static func keyRange(_ csv: ValidatedCSV, columns: [CatalogColumn]) -> ClosedRange<Int64>? {
        guard integerKey(columns) != nil, csv.keyColumns.count == 1, csv.rowCount > 0 else { return nil }
        var low = Int64.max, high = Int64.min
        for row in 0..<csv.rowCount {
            guard let text = csv.value(row: row, column: csv.keyColumns[0]), let key = Int64(text) else { return nil }
            low = min(low, key)
            high = max(high, key)
        }
        return low...high
    }

    /// Loads the files not yet in the ledger, and the redone files that changed since they were loaded,
    /// in the order given: each in a savepoint with its ledger row, inside transactions of about
    /// `rowsPerCommit` rows.
    ///
    /// Each file is checked (`ValidatedCSV`) before anything is written: a file with no table for its
    /// name, a malformed file, or (DBSPLIT filter) a file of a per-filter table whose rows are not all
    /// of one filter of the catalog is refused and writes nothing. A file whose insert fails or inserts
    /// another number of rows than it has lines is rolled back to its savepoint and refused; the other
    /// files of the transaction stay. A path given twice is loaded once, then skipped.
    ///
    /// A file in the ledger that changed since it was loaded is refused (naming both checksums), unless
    /// it is in `redone`: then, in its savepoint, the rows of its earlier version are deleted from its
    /// table (the base table: `RunDeepSource` under the view `DeepSource`) by the key range of its
    /// ledger row, which must hold exactly the number of rows the ledger counts for it; its rows are
    /// inserted and its ledger row replaced. Any failure rolls all of that back: the old rows and ledger
    /// row stay, and the file is refused. A redone file whose ledger row has no key range (loaded before
    /// catalog schema 3, or a table without a single integer key) is refused as any changed file is.
    ///
    /// - Parameters:
    ///   - paths: The CSV files, usually those of `StateStore.unloadedEvents(step:everyEvent:ids:)`.
    ///   - redone: The paths whose new version may replace the one loaded, usually those of the events
    ///     among them that are `isRedone`: outputs rewritten by a rerun, not files changed by hand.
    ///   - progress: Called after each file with the number of files done and the total.
    /// - Returns: The files loaded (replaced among them), skipped and refused, and the rows per table
    ///   inserted and removed.
    /// - Throws: `PartialLoad` only when the catalog itself fails: the ledger or a table's columns
    ///   cannot be read, a savepoint cannot be rolled back to, or a lock, deadlock or lost connection
    ///   persists after `retryDelays` (the transaction is rolled back and its files stay pending, never
    ///   recorded as rejected). Transactions committed before that stay loaded, and the error carries
    ///   their summary.
    public func load(_ paths: [String], redone: Set<String> = [], progress: (Int, Int) -> Void = { _, _ in }) throws -> Summary {
        var summary = Summary()
        do {
            try load(paths, redone: redone, into: &summary, progress: progress)
        } catch {
            throw PartialLoad(summary: summary, error: error)
        }
        return summary
    }

    /// What a load that stopped on a failure of the catalog had done before: its files stay loaded,
    /// and the caller reports them with the error.
    public struct PartialLoad: Error, CustomStringConvertible {
        /// The files loaded, skipped and refused before the failure (by every worker, for a parallel load).
        public var summary: Summary
        /// The failure: a `CatalogError`, or what opening a connection threw.
        public var error: Error

        /// The failure's message, and how many files stay loaded.
        public var description: String {
            "\(error)" + (summary.loaded > 0 ? " (\(summary.loaded) files were loaded before it, and stay loaded)" : "")
        }
    }

    private func load(_ paths: [String], redone: Set<String>, into summary: inout Summary, progress: (Int, Int) -> Void) throws {
        var state = LoadState(done: try ledgerEntries(of: paths), redone: redone, filterIds: try filterIds())
        var next = 0
        var reported = 0
        while next < paths.count {
            for retry in 0... {
                do {
                    let (part, end) = try loadTransaction(paths, from: next, state: &state) { done in
                        if done > reported { reported = done; progress(done, paths.count) }
                    }
                    summary.add(part)
                    next = end
                } catch let error as CatalogError where error.isTransient {
                    // The server's fault, not the files': rolled back, tried again (on a new
                    // connection after a lost one), then left pending.
                    try? catalog.rollback()
                    guard retry < Self.retryDelays.count else {
                        throw CatalogError("\(catalog.location): \(error.message); \(paths[next]) is left pending, "
                                           + "with the files after it: run `dcprod load` again", kind: error.kind, code: error.code)
                    }
                    Thread.sleep(forTimeInterval: Self.retryDelays[retry])
                    continue
                }
                break
            }
        }
    }

    /// Rows a transaction gathers before it commits: SQLite's commit writes every index page the
    /// transaction touched, and with one file a transaction a million rows' random-keyed indexes were
    /// written again at every file (a load grew with the square of the table). MariaDB commits each
    /// file: its loads run over several connections at once, and a long transaction holds its locks.
    public var rowsPerCommit: Int

    /// Seconds waited before each new try of a transaction that met a lock, a deadlock (after the
    /// engine's own lock timeout) or a lost connection: then the load stops, its files left pending.
    static let retryDelays: [Double] = [1, 2, 4]

    /// What a load keeps from one transaction to the next: the ledger's rows of its files (read at its
    /// start, with the files of each transaction committed) and the columns of each table.
    struct LoadState {
        var done: [String: LedgerEntry]
        /// The paths that may replace their earlier version.
        var redone: Set<String>
        /// The ids of the Filter table, which every `filterId` must be one of.
        var filterIds: [Int64]
        var columns: [String: [CatalogColumn]] = [:]
    }

    /// The ids of the catalog's Filter table.
    private func filterIds() throws -> [Int64] {
        try catalog.query("SELECT filterId FROM Filter ORDER BY filterId").rows.compactMap { $0.first.flatMap { $0.flatMap { Int64($0) } } }
    }

    /// A table's columns with the values they take beyond their types, from what each holds: its UCD
    /// in `templates/schema/columns`. A declination (`pos.eq.dec`) is from -90 to 90; a right
    /// ascension that is a position's own (`pos.eq.ra;meta.main`) from 0 to 360 (excluded); a filter's
    /// number (`meta.id;instr.filter`, an integer column) one of the Filter table's ids. (A corner's
    /// right ascension, `pos.eq.ra` alone, is left free: a patch's corner may be written past 360 where
    /// a tract crosses RA 0.)
    static func withDomains(_ columns: [CatalogColumn], of table: String, descriptions: ColumnDescriptions,
                            filterIds: [Int64]) -> [CatalogColumn] {
        columns.map { column in
            var column = column
            let words = (descriptions.column(column.name, of: table)?.ucd ?? "").split(separator: ";")
            switch words.first {
            case "pos.eq.dec": column.domain = .interval(lower: -90, upper: 90, upperIncluded: true)
            case "pos.eq.ra" where words.contains("meta.main"): column.domain = .interval(lower: 0, upper: 360, upperIncluded: false)
            case "meta.id" where words.contains("instr.filter") && column.integers != nil: column.domain = .oneOf(filterIds, table: "Filter")
            default: break
            }
            return column
        }
    }

    /// One transaction: the files from `first` on, each in a savepoint with its ledger row, until
    /// `rowsPerCommit` rows are in or the files end; returns what it did and the index after its last
    /// file. The ledger rows it wrote join `state.done` once it has committed.
    private func loadTransaction(_ paths: [String], from first: Int, state: inout LoadState,
                                 progress: (Int) -> Void) throws -> (Summary, Int) {
        var part = Summary()
        var rows = 0
        var index = first
        var began = false
        var written: [String: LedgerEntry] = [:]
        while index < paths.count, began == false || rows < rowsPerCommit {
            let path = paths[index]
            index += 1
            defer { progress(index) }
            let hash = fnv1a(path)
            var replacing: LedgerEntry?
            if let entry = written[hash] ?? state.done[hash] {
                guard let change = changedSinceLoaded(path, entry) else {
                    part.skipped += 1
                    continue
                }
                guard state.redone.contains(path), entry.isReplaceable else {
                    let why = state.redone.contains(path) ? try unreplaceable(entry, state: &state) : ""
                    part.rejected.append(refusal(path, entry, change, why: why))
                    continue
                }
                replacing = entry
            }
            let csv: ValidatedCSV, table: String, split: String?
            switch try prepare(path, state: &state) {
            case .refused(let rejection):
                logger.debug("refused \(path):\(rejection.line): \(rejection.message)")
                part.rejected.append(rejection)
                continue
            case .ready(let file, let fileTable, let fileSplit):
                (csv, table, split) = (file, fileTable, fileSplit)
            }
            if !began {
                try catalog.begin()
                began = true
            }
            switch try loadFile(path, csv, table: table, split: split, replacing: replacing, state: &state) {
            case .rejected(let rejection):
                logger.debug("refused \(path):\(rejection.line): \(rejection.message)")
                part.rejected.append(rejection)
            case .loaded(let entry, let removed):
                logger.debug("loaded \(path) into \(table): \(entry.rowCount) rows\(removed.map { ", \($0) rows of its earlier version removed" } ?? "")")
                written[hash] = entry
                part.loaded += 1
                part.loadedPaths.append(path)
                part.rows[table, default: 0] += entry.rowCount
                rows += entry.rowCount
                if let removed, let replacing {
                    part.replaced += 1
                    part.removed[replacing.table, default: 0] += removed
                }
            }
        }
        if began { try catalog.commit() }
        state.done.merge(written) { _, new in new }
        return (part, index)
    }

    /// What became of one file in its savepoint.
    private enum FileLoad {
        /// In, with its ledger row; `removed`: the rows of its earlier version taken out.
        case loaded(LedgerEntry, removed: Int?)
        case rejected(Rejection)
    }

    /// Loads one validated file in a savepoint with its ledger row, after taking out the rows of the
    /// earlier version it replaces. An error of the engine rolls the savepoint back and is the file's
    /// rejection, with the line of the row it names; a transient one (a lost connection) is thrown.
    private func loadFile(_ path: String, _ csv: ValidatedCSV, table: String, split: String?, replacing: LedgerEntry?,
                          state: inout LoadState) throws -> FileLoad {
        try catalog.execute("SAVEPOINT dcprod_file")
        do {
            let removed = try replacing.map { try remove($0, of: path, state: &state) }
            let entry = try insert(csv, table: table, split: split, columns: try columns(of: table, state: &state))
            try catalog.execute("RELEASE SAVEPOINT dcprod_file")
            return .loaded(entry, removed: removed)
        } catch let error as CatalogError where error.isTransient || error.kind == .fileSystem {
            throw error
        } catch {
            do {
                try catalog.execute("ROLLBACK TO SAVEPOINT dcprod_file")
                try catalog.execute("RELEASE SAVEPOINT dcprod_file")
            } catch let rollback {
                throw CatalogError("\(catalog.location): \(path) failed (\(error)) and could not be rolled back: \(rollback)")
            }
            return .rejected(engineRefusal(error, of: csv, table: table, split: split))
        }
    }

    /// What the engine refused of a file, said as the CSV check says it: a key the table holds already
    /// names the file it came from (the ledger's key ranges); another refusal of a row names its line,
    /// and its column where the engine names one, with the engine's reason (`Data too long for column
    /// 'patch'`); anything else (the row count, a redone file's old rows) is dcprod's own message.
    private func engineRefusal(_ error: Error, of csv: ValidatedCSV, table: String, split: String?) -> Rejection {
        guard let error = error as? CatalogError, let row = error.row else { return Rejection(path: csv.path, line: 0, message: "\(error)") }
        let line = csv.line(ofRow: row)
        if error.kind == .duplicateKey, !csv.keyColumns.isEmpty {
            let holder = (try? fileHolding(csv, row: row, table: table, split: split)) ?? nil
            return Rejection(path: csv.path, line: line, message: "\(csv.key(ofRow: row)) is already in \(table)"
                             + (holder.map { ", loaded from \($0)" } ?? ""))
        }
        // The engine counts rows its own way (MariaDB from the first after the header): the line says where.
        let reason = error.message.replacingOccurrences(of: #" at row \d+$"#, with: "", options: .regularExpression)
        guard let column = csv.columns.firstIndex(where: { reason.contains("'\($0)'") }) else {
            return Rejection(path: csv.path, line: line, message: "\(table) refused the row: \(reason)")
        }
        let value = ValidatedCSV.quotable(csv.value(row: row, column: column) ?? "")
        return Rejection(path: csv.path, line: line, message: "column \(column + 1) (\(csv.columns[column])): '\(value)' refused by \(table): \(reason)")
    }

    /// The file of the ledger whose key range holds a row's key (a single integer key), or nil.
    private func fileHolding(_ csv: ValidatedCSV, row: Int, table: String, split: String?) throws -> String? {
        guard csv.keyColumns.count == 1, let key = csv.value(row: row, column: csv.keyColumns[0]).flatMap({ Int64($0) }) else { return nil }
        return try catalog.scalar("""
            SELECT path FROM \(catalog.qualified("dcprod_load", split: split)) \
            WHERE tableName = '\(table)' AND firstKey <= \(key) AND lastKey >= \(key) ORDER BY loadedAt LIMIT 1
            """)
    }

    /// Why a redone file's earlier version cannot be replaced (from ", ", for `refusal`): its rows
    /// cannot be told from other files'.
    private func unreplaceable(_ entry: LedgerEntry, state: inout LoadState) throws -> String {
        let reason = Self.integerKey(try columns(of: entry.table, state: &state)) == nil
            ? "\(entry.table) has no single integer key"
            : "the ledger has no key range for it (it was loaded before catalog schema 3)"
        return ", and its rerun cannot replace them: they cannot be told from other files' rows, " + reason
    }

    /// Deletes the rows and the ledger row of a redone file's earlier version, in the open savepoint:
    /// the rows of its table whose key is in its ledger row's range (`keyRange(_:columns:)`), which
    /// must be as many as the ledger counts for it; returns how many.
    private func remove(_ entry: LedgerEntry, of path: String, state: inout LoadState) throws -> Int {
        var removed = 0
        if let keys = entry.keys {
            guard let key = Self.integerKey(try columns(of: entry.table, state: &state)) else {
                throw CatalogError("\(entry.table) has no single integer key: the rows of the file as it was cannot be found")
            }
            removed = try catalog.execute("""
                DELETE FROM \(catalog.qualified(entry.table, split: entry.split)) WHERE \(key.name) BETWEEN ? AND ?
                """, arguments: [String(keys.lowerBound), String(keys.upperBound)])
            guard removed == entry.rowCount else {
                throw CatalogError("""
                    \(entry.table) holds \(removed) rows with \(key.name) from \(keys.lowerBound) to \(keys.upperBound), the \
                    keys of the file as it was, which had \(entry.rowCount): rows of other files are among them, or some \
                    of its rows were deleted since, so they are not replaced
                    """)
            }
        }
        try catalog.execute("DELETE FROM \(catalog.qualified("dcprod_load", split: entry.split)) WHERE pathHash = ?",
                            arguments: [fnv1a(path)])
        return removed
    }

    private enum Prepared {
        case ready(ValidatedCSV, table: String, split: String?)
        case refused(Rejection)
    }

    /// A file read and checked, with its table and store, or the reason it is refused.
    private func prepare(_ path: String, state: inout LoadState) throws -> Prepared {
        guard let table = table(for: path) else {
            return .refused(Rejection(path: path, line: 0, message: "no table for this file name (templates/schema/csv-tables)"))
        }
        if let refusal = Self.notARegularFile(path) {
            return .refused(Rejection(path: path, line: 0, message: refusal))
        }
        let columns = try columns(of: table, state: &state)
        let csv: ValidatedCSV
        do {
            csv = try ValidatedCSV.read(path, tableColumns: columns, table: table)
        } catch let error as CSVError {
            return .refused(Rejection(path: path, line: error.line, message: error.message))
        }
        do {
            return .ready(csv, table: table, split: try destination(csv, table: table))
        } catch {
            return .refused(Rejection(path: path, line: 0, message: "\(error)"))
        }
    }

    /// Why a result file is not read, or nil: a symbolic link, wherever it points (a `src-*.csv` link to
    /// /etc/passwd must not have its first line shown as a bad header, and MariaDB's `LOAD DATA` would
    /// read the file again through it), or not a regular file (a FIFO would block the load forever).
    static func notARegularFile(_ path: String) -> String? {
        var status = stat()
        guard lstat(path, &status) == 0 else { return nil }  // missing: ValidatedCSV says it cannot be read
        if status.st_mode & S_IFMT == S_IFLNK {
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)).map { " to \($0)" } ?? ""
            return "a symbolic link\(target), not read: a step's result must be the file itself"
        }
        return status.st_mode & S_IFMT == S_IFREG ? nil : "not a regular file: not read"
    }

    /// One file's rows and its ledger row, in the open transaction; returns the ledger row.
    private func insert(_ csv: ValidatedCSV, table: String, split: String?, columns: [CatalogColumn]) throws -> LedgerEntry {
        let inserted = try catalog.bulkInsert(csv, into: catalog.qualified(table, split: split))
        guard inserted == csv.rowCount else {
            throw CatalogError("\(inserted) rows inserted for \(csv.rowCount) lines")
        }
        let entry = LedgerEntry(size: csv.size, checksum: csv.checksum, table: table,
                                loadedAt: ISO8601DateFormatter().string(from: Date()), rowCount: inserted,
                                keys: Self.keyRange(csv, columns: columns), split: split)
        try catalog.execute("""
            INSERT INTO \(catalog.qualified("dcprod_load", split: split)) \
            (pathHash, path, size, checksum, tableName, rowCount, loadedAt, firstKey, lastKey) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [fnv1a(csv.path), csv.path, String(csv.size), csv.checksum, table, String(inserted), entry.loadedAt,
                             entry.keys.map { String($0.lowerBound) }, entry.keys.map { String($0.upperBound) }])
        return entry
    }

    /// Loads `paths` over `connections` connections at once, each its own loader and share of the
    /// files (every file still with its ledger row, all or nothing). SQLite has one writer at a
    /// time, so it always gets one.
    ///
    /// Files are dealt out in turn (worker `w` takes files `w`, `w + n`, ...), so that each worker gets
    /// files of every table. The parts are added up; the rejections are sorted by path.
    ///
    /// - Parameters:
    ///   - paths: The CSV files.
    ///   - redone: The paths whose new version may replace the one loaded (`load(_:redone:progress:)`).
    ///   - connections: How many connections to load over; no more than there are files.
    ///   - dialect: The catalog's dialect: `.sqlite` loads over one connection whatever `connections` says.
    ///   - templates: The production's `templates/` directory, for each worker's loader.
    ///   - splits: The filters with a per-filter store.
    ///   - open: Opens one writable connection; called once per worker, from that worker's thread.
    /// - Returns: The sum of the workers' summaries.
    /// - Throws: `PartialLoad` when a worker could not open its connection or its load stopped: the
    ///   first such error (in worker order), with the sum of what every worker loaded before it stopped
    ///   or to its end; those files stay loaded.
    public static func loadInParallel(_ paths: [String], redone: Set<String> = [], connections: Int, dialect: SQLDialect, templates: URL,
                                      splits: [String] = [],
                                      open: @escaping @Sendable () throws -> CatalogDatabase) throws -> Summary {
        let workers = dialect == .sqlite ? 1 : max(1, min(connections, paths.count))
        let shares = (0..<workers).map { w in stride(from: w, to: paths.count, by: workers).map { paths[$0] } }
        let results = Results(count: workers)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            do {
                let loader = try CatalogLoader(catalog: try open(), templates: templates, splits: splits)
                results.set(w, .success(try loader.load(shares[w], redone: redone)))
            } catch {
                results.set(w, .failure(error))
            }
        }
        var total = Summary()
        var failure: Error?
        for result in results.all {
            switch result {
            case .success(let part): total.add(part)
            case .failure(let partial as PartialLoad):
                total.add(partial.summary)
                failure = failure ?? partial.error
            case .failure(let error): failure = failure ?? error
            }
        }
        total.rejected.sort { $0.path < $1.path }
        if let failure { throw PartialLoad(summary: total, error: failure) }
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

    /// The base tables results load into.
    public var baseTables: [String] { Array(Set(tables.map(\.table))).sorted() }

    /// Drops the secondary indexes of the tables results load into, recording each one first
    /// (its own statement, committed) so that an interrupted load leaves them to be rebuilt.
    ///
    /// Inserts into a table without its secondary indexes are much faster; `rebuildDeferredIndexes()`
    /// builds them again after the load. With DBSPLIT filter the indexes of every per-filter store are dropped.
    ///
    /// - Returns: The number of indexes dropped.
    /// - Throws: `CatalogError` when the indexes cannot be listed, recorded (one already recorded by an
    ///   interrupted run that did not drop it is a duplicate key) or dropped.
    @discardableResult
    public func deferIndexes() throws -> Int {
        var dropped = 0
        for table in baseTables {
            let places: [String?] = perFilterTables.contains(table) ? splits.map(Optional.some) : [nil]
            for index in try places.flatMap({ try catalog.secondaryIndexes(of: table, split: $0) }) {
                try catalog.execute("INSERT INTO dcprod_deferred_index (indexName, tableName, definition) VALUES (?, ?, ?)",
                                    arguments: [Self.key(index), table, index.create])
                try catalog.execute(catalog.dropIndexStatement(index))
                dropped += 1
            }
        }
        return dropped
    }

    /// Builds every index recorded as deferred, by this load or an interrupted earlier one.
    ///
    /// An index that exists already is not built again; each record is deleted once its index is there.
    ///
    /// - Returns: The number of indexes that were recorded as deferred.
    /// - Throws: `CatalogError` when the records cannot be read or an index cannot be built (for example
    ///   a unique index over rows loaded with duplicates); the records not yet handled stay for the next time.
    @discardableResult
    public func rebuildDeferredIndexes() throws -> Int {
        try Self.rebuildDeferredIndexes(in: catalog)
    }

    /// `rebuildDeferredIndexes()` on a catalog, without a loader (whose templates a load with nothing new need not read).
    @discardableResult
    public static func rebuildDeferredIndexes(in catalog: CatalogDatabase) throws -> Int {
        let deferred = try catalog.query("SELECT indexName, tableName, definition FROM dcprod_deferred_index ORDER BY indexName").rows
        for row in deferred {
            guard let key = row[0], let table = row[1], let create = row[2] else { continue }
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            let (split, name) = parts.count == 2 ? (Optional(parts[0]), parts[1]) : (nil, key)
            let present = try catalog.secondaryIndexes(of: table, split: split).contains { $0.name == name }
            if !present { try catalog.execute(create) }
            try catalog.execute("DELETE FROM dcprod_deferred_index WHERE indexName = ?", arguments: [key])
        }
        return deferred.count
    }

    /// An index's key in `dcprod_deferred_index`: its name, after its store's for DBSPLIT.
    static func key(_ index: IndexDefinition) -> String { (index.split.map { $0 + "/" } ?? "") + index.name }

    /// A table's columns, from the catalog once per load, with their domains (`withDomains(_:filterIds:)`).
    private func columns(of table: String, state: inout LoadState) throws -> [CatalogColumn] {
        if let known = state.columns[table] { return known }
        let columns = try catalog.columns(of: table, split: perFilterTables.contains(table) ? splits.first : nil)
        state.columns[table] = Self.withDomains(columns, of: table, descriptions: descriptions, filterIds: state.filterIds)
        return state.columns[table]!
    }

    /// Rows per table of the catalog's tables named in the CSV map.
    ///
    /// With DBSPLIT filter a per-filter table is counted through its union view, so over every store.
    ///
    /// - Returns: `COUNT(*)` of each table, by table name.
    /// - Throws: `CatalogError` when a table cannot be counted.
    public func rowCounts() throws -> [String: Int] {
        var out: [String: Int] = [:]
        for table in Set(tables.map(\.table)) {
            out[table] = Int(try catalog.scalar("SELECT COUNT(*) FROM \(table)") ?? "0") ?? 0
        }
        return out
    }
}
