import Basics
import Foundation
import Testing
@testable import Planning

/// Step definitions render the same arguments whether a word is rendered once, substituted,
/// or rendered by Mustache for each event.
@Suite struct StepDefinitions {
    func definition(_ text: String) throws -> StepDefinition {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dcprod-steps-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("steps"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data(text.utf8).write(to: directory.appendingPathComponent("steps/processCcd.step"))
        return try StepDefinition.load(step: .processCcd, templates: directory)
    }

    @Test func specializedRenderingEqualsMustacheForEveryKindOfWord() throws {
        let step = try definition("""
            # a comment
            rules lsst-dc2013
            timeout 90
            command {{dcprod}} pipe processCcd {{frame}} --id run={{run}}^camcol={{camcol}} {{#key}}--key={{key}}{{/key}} --out {{out}}
            output {{out}}/calexp-{{stem}}.fits
            """)
        #expect(step.rules == "lsst-dc2013" && step.timeLimit == 90 && step.outputs.count == 1)
        let shared = ["dcprod": "/opt/dcprod", "out": "/data/r & co"]
        let perEvent = ["frame": "/in/fpC-000094-r1-0011.fit", "run": "94", "camcol": "1", "key": "000094-1-0011",
                        "stem": "000094-r1-0011", "mask": "-", "field": "11"]
        let specialized = try step.specialized(shared: shared, perEvent: Array(perEvent.keys))
        let expected = step.render(shared.merging(perEvent) { $1 })
        #expect(specialized.render(perEvent).command == expected.command)
        #expect(specialized.render(perEvent).outputs == expected.outputs)
        #expect(expected.command == ["/opt/dcprod", "pipe", "processCcd", "/in/fpC-000094-r1-0011.fit", "--id",
                                     "run=94^camcol=1", "--key=000094-1-0011", "--out", "/data/r & co"])
        #expect(expected.outputs == ["/data/r & co/calexp-000094-r1-0011.fits"])
        // Only the per-event variables some word uses are computed.
        #expect(specialized.variables.isSuperset(of: ["frame", "run", "camcol", "key", "stem"]))
        #expect(!specialized.variables.contains("mask"))
    }

    @Test func aBadStepDefinitionNamesItsLine() throws {
        #expect(throws: TemplateError.self) { try definition("rules reference\ntimeout soon\ncommand x\n") }
        do {
            _ = try definition("rules reference\ncommand x\nrun y\n")
        } catch let error as TemplateError {
            #expect(error.line == 3 && error.message.contains("unknown directive 'run'"))
        }
        // A time limit that is not a number of seconds a job could wait (issue 23: `inf` reached the
        // manifest's JSON and the report's Int) is refused at its line, with the range.
        for limit in ["inf", "nan", "1e300", "0", "-0", "0.5", "31536001", "9223372036854775808"] {
            let error = #expect(throws: TemplateError.self) { try definition("rules reference\ncommand x\ntimeout \(limit)\n") }
            #expect(error?.line == 3 && error?.message == "`timeout` takes seconds, from 1 to 31536000, got '\(limit)'", "\(limit)")
        }
        #expect(try definition("command x\ntimeout 31536000\n").timeLimit == 31_536_000)
    }
}
