import Foundation
import Production

/// A production prepared from a few config lines in a new temporary directory of its own (MAINDIR and
/// DATAMAIN inside it, DCNAME DC_2013), as `dcprod prepare` makes one; the caller removes `directory`.
///
/// - Parameters:
///   - name: The directory's prefix, after `dcprod-`.
///   - lines: The config's other lines (FILTERS, EVENTSPERJOB, …).
func preparedProduction(_ name: String, _ lines: String) throws -> (directory: URL, production: Production) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dcprod-\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let text = """
        MAINDIR \(directory.path)/prod
        DCNAME DC_2013
        DATAMAIN \(directory.path)/data

        """ + lines
    let config = try ConfigParser.parse(text: text, file: "fichconfig.txt")
    return (directory, try Production.prepare(config: config, source: "fichconfig.txt", commandLine: ["dcprod", "prepare"]).0)
}
