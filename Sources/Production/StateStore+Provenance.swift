import Basics
import Foundation
import GRDB

/// What a job was planned with: the dcprod version and the texts of its step's template, its batch
/// script's template and the production's config, each kept once in `provenance_text` by its hash.
public struct JobSetup: Sendable, Equatable {
    public var dcprodVersion: String
    public var template: String
    public var batch: String
    public var config: String

    public init(dcprodVersion: String = DCProdVersion.current, template: String, batch: String, config: String) {
        self.dcprodVersion = dcprodVersion
        self.template = template
        self.batch = batch
        self.config = config
    }
}

/// Where one result file of the catalog came from: the event whose latest ok outcome lists it, the
/// attempt that wrote it, what the job was planned with, and the files the event read.
public struct FileProvenance: Sendable, Equatable {
    public var path: String
    public var step: String
    public var filter: String
    public var eventKey: String
    public var jobName: String
    public var attempt: Int
    /// The batch system's id of the attempt.
    public var batchId: String?
    public var host: String?
    public var startedAt: String?
    public var endedAt: String?
    public var exitCode: Int?
    /// The job's setup: nil for a job planned before schema v16 recorded it.
    public var dcprodVersion: String?
    public var templateHash: String?
    public var batchHash: String?
    public var configHash: String?
    /// The files the event read: its frame (processCcd), or its input events' outputs (a coadd's
    /// calexps), each with the frame it was made from where there is one.
    public var inputs: [(path: String, madeFrom: String?)]

    public static func == (a: FileProvenance, b: FileProvenance) -> Bool {
        a.path == b.path && a.eventKey == b.eventKey && a.jobName == b.jobName && a.attempt == b.attempt
            && a.inputs.map(\.path) == b.inputs.map(\.path) && a.inputs.map(\.madeFrom) == b.inputs.map(\.madeFrom)
    }
}

extension StateStore {
    /// Records what jobs are planned with, the texts once each; returns the setup's id (the same for
    /// the same version and texts).
    ///
    /// - Throws: A GRDB `DatabaseError`.
    public func recordSetup(_ setup: JobSetup) throws -> Int64 {
        let hashes = [("template", setup.template), ("batch", setup.batch), ("config", setup.config)].map { (kind: $0.0, text: $0.1, hash: fnv1a($0.1)) }
        return try write { db in
            for text in hashes {
                try db.execute(sql: "INSERT OR IGNORE INTO provenance_text (hash, kind, text) VALUES (?, ?, ?)",
                               arguments: [text.hash, text.kind, text.text])
            }
            let arguments: StatementArguments = [setup.dcprodVersion, hashes[0].hash, hashes[1].hash, hashes[2].hash]
            try db.execute(sql: """
                INSERT OR IGNORE INTO job_setup (dcprodVersion, templateHash, batchHash, configHash) VALUES (?, ?, ?, ?)
                """, arguments: arguments)
            return try Int64.fetchOne(db, sql: """
                SELECT id FROM job_setup WHERE dcprodVersion = ? AND templateHash = ? AND batchHash = ? AND configHash = ?
                """, arguments: arguments) ?? 0
        }
    }

    /// A text provenance cites, by its hash; nil when the state store has none.
    public func provenanceText(hash: String) throws -> (kind: String, text: String)? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT kind, text FROM provenance_text WHERE hash = ?", arguments: [hash]).map { ($0["kind"], $0["text"]) }
        }
    }

    /// The provenance of the ok events' CSV outputs of a step that are in `paths` (as
    /// `resultFiles(step:)` gives them): the files a load has just put in the catalog.
    ///
    /// - Parameters:
    ///   - events: Only these events' (`UnloadedEvent.id`), so that an incremental load reads what it
    ///     loaded, not every ok event of the step; nil: every ok event's.
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func fileProvenance(step: Step, paths: Set<String>, events: [Int64]? = nil) throws -> [FileProvenance] {
        guard !paths.isEmpty else { return [] }
        let chunks: [[Int64]?] = events.map { ids in stride(from: 0, to: ids.count, by: 10_000).map { Array(ids[$0..<min($0 + 10_000, ids.count)]) } }
            ?? [nil]
        return try pool.read { db in
            try chunks.flatMap { chunk in
                let among: SQL = chunk.map { ids -> SQL in "AND e.id IN \(ids)" } ?? ""
                return try Row.fetchAll(db, SQLRequest(literal: """
                    SELECT e.id, e.step, e.filter, e.key, f.path AS frame, o.outputs, j.name, a.number, a.backendId, COALESCE(a.node, a.host) AS host,
                           a.startedAt, a.endedAt, a.exitCode, s.dcprodVersion, s.templateHash, s.batchHash, s.configHash
                    FROM event e JOIN outcome o ON o.eventId = e.id AND o.attemptId = e.attemptId
                    JOIN attempt a ON a.id = e.attemptId JOIN job j ON j.id = a.jobId
                    LEFT JOIN job_setup s ON s.id = j.setupId LEFT JOIN frame f ON f.id = e.frameId
                    WHERE e.step = \(step) AND e.state = \(EventState.ok) AND o.outputs IS NOT NULL \(among)
                    """)).flatMap { row in try Self.provenance(of: row, among: paths, db) }
            }
        }
    }

    /// The provenance of those of an event's outputs that are in `paths`, from its row of `fileProvenance`'s query.
    private static func provenance(of row: Row, among paths: Set<String>, _ db: Database) throws -> [FileProvenance] {
        let outputs: String = row["outputs"]
        let files = outputs.split(separator: "\n").map(String.init).filter(paths.contains)
        guard !files.isEmpty else { return [] }
        let inputs = try inputs(ofEvent: row["id"], frame: row["frame"], db)
        return files.map { path in
            FileProvenance(path: path, step: row["step"], filter: row["filter"], eventKey: row["key"], jobName: row["name"],
                           attempt: row["number"], batchId: row["backendId"], host: row["host"], startedAt: row["startedAt"],
                           endedAt: row["endedAt"], exitCode: row["exitCode"], dcprodVersion: row["dcprodVersion"],
                           templateHash: row["templateHash"], batchHash: row["batchHash"], configHash: row["configHash"], inputs: inputs)
        }
    }

    /// An event's frame, or its input events' FITS outputs with their own frames.
    private static func inputs(ofEvent id: Int64, frame: String?, _ db: Database) throws -> [(path: String, madeFrom: String?)] {
        if let frame { return [(frame, nil)] }
        let rows = try Row.fetchAll(db, sql: """
            SELECT o.outputs, f.path AS frame FROM event_input ei JOIN event i ON i.id = ei.inputId
            JOIN outcome o ON o.eventId = i.id AND o.attemptId = i.attemptId LEFT JOIN frame f ON f.id = i.frameId
            WHERE ei.eventId = ? ORDER BY i.key
            """, arguments: [id])
        return rows.flatMap { row -> [(path: String, madeFrom: String?)] in
            let outputs: String = row["outputs"] ?? ""
            return outputs.split(separator: "\n").map(String.init).filter { $0.hasSuffix(".fits") }.map { ($0, row["frame"]) }
        }
    }
}
