import Basics
import Catalog
import Foundation
import Testing

/// The repository, from this file.
let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

struct ExportTestError: Error, CustomStringConvertible {
    var description: String
}

/// A catalog engine to run the export on.
enum Engine: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case mariadb

    var testDescription: String { rawValue }

    static var environment: [String: String] { ProcessInfo.processInfo.environment }
    static var inCI: Bool { environment["CI"] == "true" }
    /// SQLite always; MariaDB when Tests/run started its private server, and always under CI, where
    /// a server that did not start makes the MariaDB cases fail rather than vanish.
    static var available: [Engine] { environment["DCPROD_TEST_MARIADB_DEFAULTS"] != nil || inCI ? [.sqlite, .mariadb] : [.sqlite] }
}

/// A fresh catalog of one engine with the schema (and its `dcprod_column`) and a few hundred
/// DeepSource and DeepForcedSource rows in two patches and three filters, some of their values NULL;
/// removed when released.
final class ExportScratch {
    let catalog: CatalogDatabase
    let directory: URL
    private let database: String?

    /// The filters with a store of their own (DBSPLIT filter), or none.
    let splits: [String]

    init(_ engine: Engine, splits: [String] = []) throws {
        self.splits = splits
        let defaults = Engine.environment["DCPROD_TEST_MARIADB_DEFAULTS"]
        if engine == .mariadb && defaults == nil {
            throw ExportTestError(description: "the private MariaDB of Tests/run did not start (DCPROD_TEST_MARIADB_DEFAULTS is not set)")
        }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dcprod-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let database = engine == .mariadb ? "dcprod_test_\(UUID().uuidString.prefix(8).lowercased())" : nil
        self.database = database
        do {
            catalog = try Self.open(engine, directory: directory, database: database, defaults: defaults)
        } catch {
            // Not fully initialized, so no deinit: the directory goes here.
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        try CatalogSchema.initialize(catalog, templates: repository.appendingPathComponent("templates"), splits: splits)
        try insertRows()
    }

    private static func open(_ engine: Engine, directory: URL, database: String?, defaults: String?) throws -> CatalogDatabase {
        switch engine {
        case .sqlite:
            return try SQLiteCatalog(path: directory.appendingPathComponent("catalog.sqlite").path, readOnly: false)
        case .mariadb:
            let env = Engine.environment
            return try MariaDBCatalog(host: env["DCPROD_TEST_MARIADB_HOST"] ?? "127.0.0.1",
                                      port: Int(env["DCPROD_TEST_MARIADB_PORT"] ?? "") ?? 3306,
                                      user: env["DCPROD_TEST_MARIADB_USER"] ?? "", database: database ?? "",
                                      defaultsFile: defaults, readOnly: false, createDatabase: true)
        }
    }

    deinit {
        if let database {
            for suffix in [""] + splits.map({ "_\($0)" }) { try? catalog.execute("DROP DATABASE IF EXISTS `\(database)\(suffix)`") }
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// 300 DeepSources: patches 380,5 and 381,5 of tract 0, filters g r i, every fifth non-primary,
    /// every seventh with NULL flags and extendedness; one DeepForcedSource per primary DeepSource,
    /// every third with a NULL objectId and model flux. Into each filter's store when split.
    private func insertRows() throws {
        try catalog.begin()
        for id in 1...300 {
            let patch = id % 2 == 0 ? "380,5" : "381,5", filterId = 1 + id % 3
            let ra = 6.30 + Double(id) * 0.0005, decl = -0.15 + Double(id % 40) * 0.003
            let nulls = id % 7 == 0
            let split = splits.isEmpty ? nil : ["u", "g", "r", "i", "z"][filterId]
            try catalog.execute("""
                INSERT INTO \(catalog.qualified("RunDeepSource", split: split)) (deepSourceId, deepCoaddId, tract, patch, filterId, ra, decl, raVar, declVar, x, y, \
                psfFlux, psfFluxSigma, apFlux, apFluxSigma, modelFlux, modelFluxSigma, isPrimary, extendedness, flagPixEdge, \
                flagPixSaturCen, flagBlended, flagBadCentroid, flagBadPsfFlux) VALUES (?, ?, 0, ?, ?, ?, ?, 1e-10, 2e-10, ?, ?, \
                ?, 10.5, ?, 11.5, 1010.25, 12.0, ?, ?, ?, 0, 0, 0, 0)
                """, arguments: [String(id), String(1000 + filterId), patch, String(filterId), String(ra), String(decl),
                                 String(Double(id) * 1.5), String(Double(id) * 2.5), String(100.0 + Double(id) * 3.25), String(99.5 + Double(id)),
                                 id % 5 == 0 ? "0" : "1", nulls ? nil : String(Double(id % 3) * 0.5), nulls ? nil : String(id % 2)])
            guard id % 5 != 0 else { continue }
            try catalog.execute("""
                INSERT INTO \(catalog.qualified("RunDeepForcedSource", split: split)) (deepForcedSourceId, deepSourceId, run, camcol, field, filterId, ra, decl, \
                psfFlux, psfFluxSigma, modelFlux, modelFluxSigma, objectId, scienceCcdExposureId, flagPixEdge, flagPixSaturCen, \
                flagBadPsfFlux) VALUES (?, ?, 94, 1, 11, ?, ?, ?, ?, 9.5, ?, 10.0, ?, 942011, 0, 0, 0)
                """, arguments: [String(10_000 + id), String(id), String(filterId), String(ra), String(decl), String(50.0 + Double(id)),
                                 id % 3 == 0 ? nil : String(60.0 + Double(id)), id % 3 == 0 ? nil : String(id)])
        }
        try catalog.commit()
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
}

/// What `Tests/support/astropy_read_table.py` says of a file astropy read.
struct AstropyTable: Decodable {
    struct Column: Decodable {
        var name: String
        var dtype: String
        var unit: String?
        var description: String?
        var ucd: String?
        var masked: Int
        var maskedColumn: Bool
        var nan: Int
        var sum: Double?
        var first: String?
    }

    var rows: Int
    var columns: [Column]
    var meta: [String: String]

    func column(_ name: String) throws -> Column {
        guard let column = columns.first(where: { $0.name == name }) else { throw ExportTestError(description: "astropy found no column \(name)") }
        return column
    }
}

/// python3 with astropy and h5py: the python of Tests/run (DCPROD_TEST_PYTHON), else python3 on PATH.
enum Astropy {
    static var python: String { Engine.environment["DCPROD_TEST_PYTHON"].flatMap { $0.isEmpty ? nil : $0 } ?? "python3" }

    /// Runs python with these arguments; its status, standard output and error.
    static func run(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        let run = try ProgramRun.run([python] + arguments)
        return (run.status, run.stdout, run.stderr)
    }

    /// Why python with astropy and h5py cannot be used, or nil; asked once per run.
    static let unavailable: String? = {
        do {
            let result = try run(["-c", "import astropy.table, h5py"])
            return result.status == 0 ? nil : "`\(python) -c 'import astropy.table, h5py'` failed: \(result.err.split(separator: "\n").last ?? "")"
        } catch {
            return "cannot run \(python): \(error)"
        }
    }()

    /// Runs when astropy is usable, and always under CI, where its absence fails the test.
    static var usableOrCI: ConditionTrait {
        .enabled(if: unavailable == nil || Engine.inCI, "needs python3 with astropy and h5py (Tests/run installs them); under CI=true their absence is a failure")
    }

    /// What astropy reads of a file.
    ///
    /// - Throws: when astropy is not usable (under CI) or cannot read the file.
    static func read(_ path: String) throws -> AstropyTable {
        if let why = unavailable { throw ExportTestError(description: "python with astropy and h5py is required (CI=true): \(why)") }
        let script = repository.appendingPathComponent("Tests/support/astropy_read_table.py").path
        let result = try run([script, path])
        guard result.status == 0 else { throw ExportTestError(description: "astropy cannot read \(path): \(result.err)") }
        return try JSONDecoder().decode(AstropyTable.self, from: Data(result.out.utf8))
    }
}
