import Basics
import Foundation
import Planning
import Testing

/// The manager reads a step's outputs from `templates/steps/STEP.step`; the reference payload writes
/// the names `StepOutput` spells. They must be the same files, or verify finds every event's
/// outputs missing.
@Suite struct StepOutputs {
    let templates = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("templates")

    @Test(arguments: Step.allCases)
    func theStepTemplateListsTheFilesThePayloadWrites(step: Step) throws {
        let definition = try StepDefinition.load(step: step, templates: templates)
        let outputs = definition.render(["out": "/out", "stem": "000094-r1-0011", "key": "0-380,5", "filter": "r"]).outputs
        let stem = step.unit == .patch ? "0-380,5-r" : "000094-r1-0011"
        #expect(outputs == step.outputs.map { "/out/" + $0.fileName(stem) })
    }

    /// The loader finds a CSV's table by the start of its name (`templates/schema/csv-tables`): every
    /// CSV the payload writes has its line there, and no other prefix is listed.
    @Test func theLoaderKnowsTheTableOfEveryCSVThePayloadWrites() throws {
        let text = try String(contentsOf: templates.appendingPathComponent("schema/csv-tables"), encoding: .utf8)
        let prefixes = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { $0.split(separator: " ").first.map(String.init) }
        #expect(Set(prefixes) == Set(StepOutput.allCases.filter { $0.fileExtension == "csv" }.map(\.prefix)))
        #expect(prefixes.count == Set(prefixes).count)
    }

    @Test func aFileNameGivesBackItsStem() {
        #expect(StepOutput.calexp.stem(of: "calexp-000094-r1-0011.fits") == "000094-r1-0011")
        #expect(StepOutput.calexp.stem(of: "src-000094-r1-0011.csv") == nil)
        #expect(StepOutput.deepsrc.stem(of: "deepsrc-0-380,5-r.csv") == "0-380,5-r")
        #expect(StepOutput.src.stem(of: "src-.csv") == nil)
    }
}
