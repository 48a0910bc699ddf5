import Basics
import Catalog
import Foundation
import Production

/// Where a catalog row or file came from, as the catalog's `dcprod_provenance` records it: the file
/// it was loaded from, the event and attempt that wrote that file, what the job was planned with, and
/// the files the event read. In SQL, a row of TABLE with key K is traced by
/// `SELECT * FROM dcprod_provenance WHERE tableName = 'TABLE' AND firstKey <= K AND lastKey >= K`.
public struct Provenance: Sendable {
    /// What is traced.
    public enum Subject: Sendable, Equatable {
        /// A row of a table, by its key: `Source`, `RunDeepSource` (DeepSource), `RunDeepForcedSource`
        /// (DeepForcedSource) or `DeepCoadd`.
        case row(table: String, key: Int64)
        /// A loaded file, by its path.
        case file(String)
    }

    /// The table the loader fills for each table a user names (DeepSource is a view of RunDeepSource).
    public static let tables = ["Source": "Source", "DeepSource": "RunDeepSource", "DeepForcedSource": "RunDeepForcedSource",
                                "DeepCoadd": "DeepCoadd"]

    /// The columns of `dcprod_provenance`, in order, as the query below gives them.
    public var fields: [(name: String, value: String?)]
    public var inputs: [(path: String, madeFrom: String?)]

    /// Looks the subject up in the catalog.
    ///
    /// - Throws: `ReferenceError` naming the subject when the catalog has no such row or no
    ///   provenance for its file; `CatalogError` from the engine.
    public init(of subject: Subject, in catalog: CatalogDatabase) throws {
        let condition: String
        switch subject {
        case .row(let table, let key):
            let keyColumn = try Self.keyColumn(table, catalog)
            guard try catalog.scalar("SELECT COUNT(*) FROM \(table) WHERE \(keyColumn) = \(key)") != "0" else {
                throw ReferenceError("the catalog has no \(table) row with \(keyColumn) \(key)")
            }
            condition = "tableName = '\(table)' AND firstKey <= \(key) AND lastKey >= \(key)"
        case .file(let path):
            condition = "pathHash = '\(CatalogLoader.pathHash(path))'"
        }
        var fields: [(String, String?)] = []
        try catalog.query("SELECT \(Self.columnNames.joined(separator: ", ")) FROM dcprod_provenance WHERE \(condition)",
                          columns: { _ in }, row: { row in fields = zip(Self.columnNames, row.map(\.text)).map { ($0, $1) } })
        guard !fields.isEmpty else {
            throw ReferenceError("no provenance in the catalog for \(Self.describe(subject)): its file was loaded before dcprod recorded it; `dcprod load` records it")
        }
        self.fields = fields
        var inputs: [(String, String?)] = []
        let hash = fields.first { $0.0 == "pathHash" }?.1 ?? ""
        try catalog.query("SELECT input, madeFrom FROM dcprod_provenance_input WHERE pathHash = '\(hash)' ORDER BY position",
                          columns: { _ in }, row: { inputs.append(($0[0].text ?? "", $0[1].text)) })
        self.inputs = inputs
    }

    /// `dcprod_provenance`'s columns.
    static let columnNames = ["pathHash", "path", "tableName", "firstKey", "lastKey", "step", "filterName", "eventKey", "jobName", "attempt",
                              "batchId", "host", "startedAt", "endedAt", "exitCode", "dcprodVersion", "templateHash", "batchHash", "configHash"]

    static func keyColumn(_ table: String, _ catalog: CatalogDatabase) throws -> String {
        switch table {
        case "Source": "sourceId"
        case "RunDeepSource": "deepSourceId"
        case "RunDeepForcedSource": "deepForcedSourceId"
        case "DeepCoadd": "deepCoaddId"
        default: throw ReferenceError("provenance is kept for Source, DeepSource, DeepForcedSource and DeepCoadd rows, not \(table)")
        }
    }

    static func describe(_ subject: Subject) -> String {
        switch subject {
        case .row(let table, let key): "\(table) \(key)"
        case .file(let path): path
        }
    }

    /// A field's value.
    public subscript(_ name: String) -> String? { fields.first { $0.name == name }?.value ?? nil }

    /// What `dcprod provenance` prints; `texts` looks up a hash's text in the state store.
    public func lines(texts: (String) -> (kind: String, text: String)?) -> [String] {
        func value(_ name: String) -> String { self[name] ?? "-" }
        var out = ["file: \(value("path"))",
                   "  table \(value("tableName")), keys \(value("firstKey"))–\(value("lastKey"))",
                   "event: \(value("step")) \(value("filterName")) \(value("eventKey"))",
                   "job: \(value("jobName")) attempt \(value("attempt")), batch id \(value("batchId")) on \(value("host")), "
                       + "\(value("startedAt")) → \(value("endedAt")), exit \(value("exitCode"))"]
        guard let version = self["dcprodVersion"] else {
            out.append("planned with: not recorded (the job was planned before dcprod kept its setup)")
            return out + inputLines
        }
        out.append("planned with: dcprod \(version)")
        for (name, label) in [("templateHash", "step template"), ("batchHash", "batch script template"), ("configHash", "config")] {
            guard let hash = self[name] else { continue }
            let size = texts(hash).map { "\($0.text.utf8.count) bytes, kept in the state store" } ?? "not in this production's state store"
            out.append("  \(label) \(hash) (\(size))")
        }
        return out + inputLines
    }

    /// The files the event read, one a line, each calexp with the frame it came from.
    var inputLines: [String] {
        ["inputs: \(inputs.count)"] + inputs.map { "  \($0.path)" + ($0.madeFrom.map { " (from \($0))" } ?? "") }
    }
}
