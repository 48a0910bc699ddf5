import Basics
import Foundation
import Testing
@testable import Verification

// The report `dcprod verify` prints: DC2013's wording, order and percentages.

@Suite("Verification report")
struct VerificationReportTests {
    @Test("Percentages as DC2013 printed them", arguments: [
        (309_324, 313_319, "98.7"),
        (2131, 313_319, "0.680"),
        (0, 313_319, "0.0"),
        (0, 0, "0.0"),
        (188, 200, "94.0"),
        (5, 200, "2.5"),
        (2, 200, "1.0"),
        (1, 200, "0.500"),
        (200, 200, "100.0"),
        (313_319, 313_319, "100.0"),
    ])
    func percent(_ count: Int, _ total: Int, _ expected: String) {
        #expect(VerificationReport.percent(count, of: total) == expected)
    }

    func seedReport() throws -> VerificationReport {
        let classes = try FailureClasses(contentsOf: classesPath)
        return VerificationReport(
            step: .processCcd, filter: .r, total: 200,
            counts: ["ok": 188, "astrometry": 5, "matches": 2, "missing-files": 3, "other": 2],
            inProgress: 0, classes: classes, retry: ["94-r1-0031", "94-r1-0032"],
            another: [
                VerificationReport.Message(event: "94-r1-0031", message: "processCcd: /x/fpC-000094-r1-0031.fit: killed by the OOM killer"),
                VerificationReport.Message(event: "94-r1-0032", message: "0: Message: Unable to find object with ID == 1337"),
            ])
    }

    /// Each failed class lists its first events and the command that takes them again.
    @Test("Each failed class has its first events and its remedy")
    func remedies() throws {
        var report = try seedReport()
        report.firstFailures = [
            "astrometry": [VerificationReport.Message(event: "94-r1-0040", message: "no astrometric solution: 3 matches")],
            "missing-files": [VerificationReport.Message(event: "94-r1-0041", message: "/x/fpC-000094-r1-0041.fit: no such file")],
        ]
        #expect(report.text.contains("""
            Failures, first events and what to do:
              astrometry problem: 5 - the input is at fault: fix it, then `dcprod resubmit processCcd --filter r --class astrometry`
                94-r1-0040: no astrometric solution: 3 matches
              missing files: 3 - `dcprod resubmit processCcd --filter r --class missing-files --force` takes them once their files are back (`resubmit` alone does not)
                94-r1-0041: /x/fpC-000094-r1-0041.fit: no such file

            """))
        let classes = try FailureClasses(contentsOf: classesPath)
        #expect(report.remedy(for: classes.named("timeout")!) == "`dcprod resubmit processCcd --filter r` takes them (up to MAXRETRY retries)")
    }

    @Test("The text starts with the seed's lines, then Not run, Crashed, resubmission and the first messages")
    func text() throws {
        let report = try seedReport()
        #expect(report.processed == 200)
        #expect(report.failed == 12)
        #expect(report.notRun == 0)
        #expect(report.crashed == 0)
        let text = report.text
        #expect(text.hasPrefix("""
            Step processCcd, filter r
            Events processed: 200 out of 200:
            ok: 188 - 94.0 %
            astrometry problem: 5 - 2.5 %
            matches problem: 2 - 1.0 %
            missing files: 3 - 1.5 %

            """))
        #expect(text.contains("\nWrong number or type of arguments for overloaded function 'new_ExposureF': 0 - 0.0 %\n"))
        #expect(text.contains("\ntime limit exceeded: 0 - 0.0 %\n"))
        #expect(text.contains("\nAnother problem: 2 - 1.0 %\n"))
        #expect(text.contains("\nNot run: 0\n"))
        #expect(text.contains("\nCrashed: 0\n"))
        #expect(text.contains("\nTo resubmit: 2\n"))
        #expect(!text.contains("In progress"))
        // crash and not-run are reported once, as counts, not as class lines.
        #expect(!text.contains("Crashed: 0 -"))
        #expect(!text.contains("Not run: 0 -"))
        #expect(text.hasSuffix("""
            Another problem, first messages:
              94-r1-0031: processCcd: /x/fpC-000094-r1-0031.fit: killed by the OOM killer
              94-r1-0032: 0: Message: Unable to find object with ID == 1337

            """))
    }

    @Test("Events never run and in progress are not counted as processed")
    func notRunAndInProgress() throws {
        let classes = try FailureClasses(contentsOf: classesPath)
        let report = VerificationReport(
            step: .processCcd, filter: .g, total: 10,
            counts: ["ok": 4, "crash": 1, "not-run": 1, "new": 1, "planned": 3],
            inProgress: 2, classes: classes, retry: ["a", "b"], another: [])
        #expect(report.notRun == 3)
        #expect(report.processed == 5)
        #expect(report.failed == 1)
        let text = report.text
        #expect(text.hasPrefix("Step processCcd, filter g\nEvents processed: 5 out of 10:\nok: 4 - 40.0 %\n"))
        #expect(text.contains("\nNot run: 3\nCrashed: 1\nIn progress: 2\nTo resubmit: 2\n"))
        #expect(!text.contains("Another problem, first messages:"))
    }

    @Test("The JSON document carries the counts, percentages and messages")
    func json() throws {
        struct Line: Decodable { var name: String; var label: String; var count: Int; var percent: String }
        struct Message: Decodable { var event: String; var message: String }
        struct Document: Decodable {
            var step: String, filter: String, events: Int, processed: Int
            var classes: [Line]
            var notRun: Int, crashed: Int, inProgress: Int
            var retry: [String]
            var anotherProblem: [Message]
        }
        let report = try seedReport()
        let document = try JSONDecoder().decode(Document.self, from: report.json)
        #expect(document.step == "processCcd")
        #expect(document.filter == "r")
        #expect(document.events == 200)
        #expect(document.processed == 200)
        #expect(document.notRun == 0)
        #expect(document.crashed == 0)
        #expect(document.inProgress == 0)
        #expect(document.retry == ["94-r1-0031", "94-r1-0032"])
        #expect(document.classes.map(\.name) == report.classes.classes.map(\.name))
        let counts = Dictionary(uniqueKeysWithValues: document.classes.map { ($0.name, $0.count) })
        #expect(counts == ["ok": 188, "astrometry": 5, "matches": 2, "missing-files": 3, "new-ExposureF": 0,
                           "new-MaskedImageF": 0, "unreadable-header": 0, "timeout": 0, "other": 2, "bad-record": 0, "crash": 0, "not-run": 0])
        let ok = try #require(document.classes.first)
        #expect(ok.label == "ok")
        #expect(ok.percent == "94.0")
        #expect(document.classes.first { $0.name == "missing-files" }?.percent == "1.5")
        #expect(document.anotherProblem.map(\.event) == ["94-r1-0031", "94-r1-0032"])
        #expect(document.anotherProblem.last?.message == "0: Message: Unable to find object with ID == 1337")
    }
}
