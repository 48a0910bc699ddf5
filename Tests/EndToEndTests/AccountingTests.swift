import Foundation
import Testing

/// `dcprod accounting`: DC2013's data-volume table, computed from what verify recorded, equal to
/// what is on disk and in the catalog.
@Suite struct AccountingOfAProduction {
    struct Document: Decodable {
        struct Volume: Decodable { var format: String; var files: Int; var bytes: Int64 }
        struct Line: Decodable {
            var step: String, filter: String, jobs: Int, attempts: Int, events: Int, ok: Int, coreHours: Double, rowsLoaded: Int
            var inputs: [Volume], outputs: [Volume]
        }
        var lines: [Line]
        var rows: [String: Int]
    }

    @Test func theVolumesAreThoseOnDiskAndTheRowsThoseOfTheCatalog() throws {
        let work = try Workspace()
        try SeedPatch.prepare(work, filters: "r", frames: 4, seed: 13, defects: 0, extra: "EVENTSPERJOB processCcd 2")
        let run = try DCProd.run(["run"], in: work.url)
        try #require(run.status == 0, "\(run.stdout)\(run.stderr)")
        let result = try DCProd.run(["accounting", "--json"], in: work.url)
        try #require(result.status == 0, "\(result.stderr)")
        let document = try JSONDecoder().decode(Document.self, from: Data(result.stdout.utf8))
        #expect(document.lines.map(\.step) == ["processCcd", "coadd", "forcedPhot"])
        let data = work.url.appendingPathComponent("lsstprod-data/DC_2013")
        for line in document.lines {
            // Every file of the step's data directory is an output of one of its ok events.
            let directory = data.appendingPathComponent("\(line.step)/\(line.filter)")
            var onDisk: [String: (files: Int, bytes: Int64)] = [:]
            for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
                let size = try #require(try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(name).path)[.size] as? Int64)
                let format = String(name.split(separator: ".").last ?? "")
                onDisk[format, default: (0, 0)].files += 1
                onDisk[format, default: (0, 0)].bytes += size
            }
            #expect(line.outputs.map { "\($0.format) \($0.files) \($0.bytes)" } == onDisk.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.files) \($0.value.bytes)" },
                    "\(line.step)")
            #expect(line.ok == line.events && line.attempts == line.jobs && line.coreHours > 0, "\(line.step)")
            #expect(line.inputs.first?.format == "fits" && (line.inputs.first?.files ?? 0) >= line.ok, "\(line.step): \(line.inputs)")
        }
        // The local backend keeps no accounting: each attempt's CPU time is what its runner measured.
        let unaccounted = try output(of: ["sqlite3", work.url.appendingPathComponent("lsstprod/DC_2013/state.sqlite").path,
                                          "SELECT COUNT(*), SUM(cpuTime IS NULL) FROM attempt WHERE verified = 1"])
        let counts = unaccounted.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|")
        #expect(counts.count == 2 && counts[0] != "0" && counts[1] == "0", "\(unaccounted.stdout)")
        // The frames processCcd read, as inventory recorded them.
        let frames = try output(of: ["sqlite3", work.url.appendingPathComponent("lsstprod/DC_2013/state.sqlite").path, "SELECT SUM(size) FROM frame"])
        #expect(document.lines.first?.inputs.first?.bytes == Int64(frames.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        for (table, rows) in document.rows {
            let count = try DCProd.run(["sql", "--csv", "SELECT COUNT(*) FROM \(table)"], in: work.url)
            #expect(count.stdout.split(separator: "\n").last.map(String.init) == String(rows), "\(table)")
        }
        #expect(document.rows["Source"] ?? 0 > 0)
        // Every row of the catalog is counted once, with the step and filter of the event that made it.
        #expect(document.lines.map(\.rowsLoaded).reduce(0, +) == document.rows.values.reduce(0, +))
        // The text form has a line per step.
        let text = try DCProd.run(["accounting"], in: work.url)
        #expect(text.status == 0 && text.stdout.contains("coadd") && text.stdout.contains("Catalog rows per table: "), "\(text.stdout)")
    }
}
