import Foundation
import Production
import Testing
import Verification

/// `dcprod run` keeps each step's verifier from pass to pass, made again only when what its failure
/// classes were read from changed on disk (`Verifier.isCurrent`): a class list edited during a run
/// classifies the next outcomes read.
@Suite struct VerifierKept {
    @Test func aVerifierIsCurrentUntilItsDefinitionOrClassListOrRulesDirectoryChanges() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dcprod-verifier-kept-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = try ConfigParser.parse(text: "MAINDIR \(directory.path)/prod\nDCNAME DC_2013\nDATAMAIN \(directory.path)/data\n",
                                            file: "fichconfig.txt")
        let production = try Production.prepare(config: config, source: "fichconfig.txt", commandLine: ["dcprod", "prepare"]).0
        let templates = production.tree.templatesDirectory

        let coadd = try Verifier(production: production, step: .coadd)
        #expect(coadd.isCurrent)
        #expect(try Verifier(production: production, step: .coadd).isCurrent)

        // The coadd's own class list edited (the same text written again: a new modification time).
        let classes = templates.appendingPathComponent("rules/coadd.classes")
        try Data(contentsOf: classes).write(to: classes)
        #expect(!coadd.isCurrent)
        let again = try Verifier(production: production, step: .coadd)
        #expect(again.isCurrent)

        // The step's definition edited.
        let definition = templates.appendingPathComponent("steps/coadd.step")
        try Data(contentsOf: definition).write(to: definition)
        #expect(!again.isCurrent)

        // processCcd's rule set has no class list of its own: one added to the rules directory is seen.
        let processCcd = try Verifier(production: production, step: .processCcd)
        #expect(processCcd.isCurrent)
        try "# a list of its own\n".write(to: templates.appendingPathComponent("rules/unused.classes"), atomically: true, encoding: .utf8)
        #expect(!processCcd.isCurrent)
    }
}
