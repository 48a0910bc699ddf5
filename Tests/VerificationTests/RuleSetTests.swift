import Basics
import Foundation
import Testing
import Verification

// The class list and rule sets shipped in templates/rules, applied to fixture logs: what a
// failed event's class and message will be in the outcome record and the verification report.

/// A fixture log and what the rule set must make of it.
struct ClassifiedLog: Sendable, CustomTestStringConvertible {
    var fixture: String
    var className: String
    var message: String

    var testDescription: String { "\(fixture) → \(className)" }
}

@Suite("Shipped rule sets")
struct ShippedRuleSetTests {
    let classes: FailureClasses

    init() throws {
        classes = try FailureClasses(contentsOf: classesPath)
    }

    @Test("templates/rules/classes lists the report's classes, in order, with their policies and labels")
    func classList() throws {
        #expect(classes.classes.map(\.name) == [
            "ok", "astrometry", "matches", "missing-files", "new-ExposureF", "new-MaskedImageF",
            "unreadable-header", "no-space", "read-only", "timeout", "other", "bad-record", "crash", "not-run",
        ])
        #expect(classes.named("no-space")?.retry == .retry)
        #expect(classes.named("read-only")?.retry == .force)
        #expect(classes.named("bad-record")?.retry == .retry)
        let missing = try #require(classes.named("missing-files"))
        #expect(missing.retry == .force)
        #expect(missing.label == "missing files")
        #expect(classes.named("astrometry")?.retry == .never)
        #expect(classes.named("timeout")?.retry == .retry)
        #expect(classes.named("crash")?.retry == .retry)
        #expect(classes.named("other")?.label == "Another problem")
        #expect(classes.label("astrometry") == "astrometry problem")
        #expect(classes.label("new-ExposureF") == "Wrong number or type of arguments for overloaded function 'new_ExposureF'")
        #expect(classes.label("no-such-class") == "no-such-class")
        #expect(classes.named("no-such-class") == nil)
    }

    static let lsstLogs: [ClassifiedLog] = [
        ClassifiedLog(
            fixture: "lsst-new-ExposureF.log", className: "new-ExposureF",
            message: "processCcd FATAL: Failed on dataId={'run': 4192, 'camcol': 3, 'field': 123, 'filter': 'r'}: Wrong number or type of arguments for overloaded function 'new_ExposureF'."),
        ClassifiedLog(
            fixture: "lsst-new-MaskedImageF.log", className: "new-MaskedImageF",
            message: "NotImplementedError: Wrong number or type of arguments for overloaded function 'new_MaskedImageF'."),
        ClassifiedLog(
            fixture: "lsst-astrometry.log", className: "astrometry",
            message: "processCcd.calibrate.astrometry.solver WARNING: Unable to match sources with catalog."),
        ClassifiedLog(
            fixture: "lsst-missing-files-noresults.log", className: "missing-files",
            message: "NoResults: No locations for get: datasetType:fpC dataId:{'run': 4192, 'camcol': 3, 'field': 123, 'filter': 'r'}"),
        ClassifiedLog(
            fixture: "lsst-missing-files-ioerror.log", className: "missing-files",
            message: "IOError: [Errno 2] No such file or directory: '/lsst7/stripe82/dr7/runs/4207/40/objcs/6/fpM-004207-r6-0388.fit.gz'"),
        // The first matching line in log order, not the traceback's last line.
        ClassifiedLog(
            fixture: "lsst-matches.log", className: "matches",
            message: "processCcd.calibrate.photocal WARNING: Too few matches for photometric calibration: 2 of 164 sources matched"),
        // No rule matches: `other`, with the last non-empty line (trailing blank lines skipped).
        ClassifiedLog(
            fixture: "lsst-other.log", className: "other",
            message: "0: Message: Unable to find object with ID == 1337"),
    ]

    @Test("lsst-dc2013.rules classifies DC2013-era processCcd logs", arguments: lsstLogs)
    func lsstStackLogs(_ expected: ClassifiedLog) throws {
        let rules = try LogRules(contentsOf: lsstRulesPath, classes: classes)
        let log = try fixture(expected.fixture)
        let result = rules.classify(log)
        #expect(result.className == expected.className)
        #expect(result.message == expected.message)
        // The message is a line of the log as written, not something made up.
        #expect(log.split(separator: "\n").contains { $0.trimmingCharacters(in: .whitespaces) == result.message })
        #expect(classes.named(result.className) != nil)
    }

    static let referenceLogs: [ClassifiedLog] = [
        ClassifiedLog(
            fixture: "reference-missing-files.log", className: "missing-files",
            message: "processCcd: /x/fpC-000094-r1-0011.fit: missing file: mask /x/fpM-000094-r1-0011.fit"),
        ClassifiedLog(
            fixture: "reference-astrometry.log", className: "astrometry",
            message: "processCcd: /x/fpC-000094-r1-0012.fit: astrometry problem: no solution: 2 reference matches among 40 bright detections"),
        ClassifiedLog(
            fixture: "reference-matches.log", className: "matches",
            message: "processCcd: /x/fpC-000094-r1-0013.fit: matches problem: 1 reference matches for 3 bright detections (need 6)"),
        ClassifiedLog(
            fixture: "reference-unreadable-header.log", className: "unreadable-header",
            message: "processCcd: /x/fpC-000094-r1-0014.fit: unreadable header: cannot open: /x/fpC-000094-r1-0014.fit"),
        ClassifiedLog(
            fixture: "reference-other.log", className: "other",
            message: "processCcd: /x/fpC-000094-r1-0015.fits.bz2: fpC-000094-r1-0015.fits.bz2 is not an fpC frame name"),
    ]

    @Test("reference.rules classifies what `dcprod pipe processCcd` prints", arguments: referenceLogs)
    func referencePayloadLogs(_ expected: ClassifiedLog) throws {
        let rules = try LogRules(contentsOf: referenceRulesPath, classes: classes)
        let result = rules.classify(try fixture(expected.fixture))
        #expect(result.className == expected.className)
        #expect(result.message == expected.message)
    }

    @Test("Rules are tried in file order: the first rule matching any line names the class")
    func ruleOrder() throws {
        let rules = try LogRules(contentsOf: referenceRulesPath, classes: classes)
        #expect(rules.rules.map(\.className) == ["missing-files", "unreadable-header", "astrometry", "matches", "no-space", "read-only"])
        // Two frames of one command: the matches problem comes first in the log, but the
        // astrometry rule comes first in the rule set.
        let log = """
            processCcd: /x/fpC-000094-r1-0013.fit: matches problem: 1 reference matches for 3 bright detections (need 6)
            processCcd: /x/fpC-000094-r1-0012.fit: astrometry problem: no solution: 2 reference matches among 40 bright detections
            """
        let result = rules.classify(log)
        #expect(result.className == "astrometry")
        #expect(result.message == "processCcd: /x/fpC-000094-r1-0012.fit: astrometry problem: no solution: 2 reference matches among 40 bright detections")
    }

    @Test("A log with no output is `other`, \"no output\"; long lines are cut at 300 characters")
    func emptyAndLongLogs() throws {
        let rules = try LogRules(contentsOf: lsstRulesPath, classes: classes)
        let empty = rules.classify("\n  \n")
        #expect(empty.className == "other")
        #expect(empty.message == "no output")

        let long = "  " + String(repeating: "x", count: 400) + "  "
        let cut = rules.classify("processCcd: Processing\n\(long)\n")
        #expect(cut.className == "other")
        #expect(cut.message == String(repeating: "x", count: 300) + "…")
    }
}

@Suite("Refused class lists and rule sets")
struct RefusedTemplateTests {
    static let goodClasses = """
        # name  retry  label
        ok                 never    ok
        astrometry         never    astrometry problem
        timeout            retry    time limit exceeded
        other              retry    Another problem
        crash              retry    Crashed
        not-run            retry    Not run
        """

    @Test("A class list lacking `crash` is refused, naming the file")
    func missingRequiredClass() throws {
        try withTemporaryDirectory { directory in
            let text = Self.goodClasses.split(separator: "\n").filter { !$0.hasPrefix("crash") }.joined(separator: "\n")
            let path = try write(text, to: "classes", in: directory)
            let error = try #require(throws: TemplateError.self) { try FailureClasses(contentsOf: path) }
            #expect(error.file == path)
            #expect(error.line == 0)
            #expect(error.message.contains("'crash'"))
            #expect(error.description.hasPrefix("\(path): "), "a problem of the whole file has no line number")
        }
    }

    @Test("A class list with a retry word other than retry|never|force is refused at its line")
    func badRetryWord() throws {
        try withTemporaryDirectory { directory in
            let text = Self.goodClasses.replacingOccurrences(of: "astrometry         never", with: "astrometry         sometimes")
            let path = try write(text, to: "classes", in: directory)
            let error = try #require(throws: TemplateError.self) { try FailureClasses(contentsOf: path) }
            #expect(error.file == path)
            #expect(error.line == 3)
            #expect(error.description.hasPrefix("\(path):3: "))
            #expect(error.message.contains("retry|never|force"))
        }
    }

    @Test("A class list that cannot be read is refused, naming the file")
    func unreadableClassList() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("no-classes").path
            let error = try #require(throws: TemplateError.self) { try FailureClasses(contentsOf: path) }
            #expect(error.file == path)
        }
    }

    @Test("A rule naming an unknown class is refused at its line")
    func unknownClassInRules() throws {
        try withTemporaryDirectory { directory in
            let classes = try FailureClasses(contentsOf: classesPath)
            let path = try write("""
                # rules
                missing-files      missing file

                astrometry-ish     astrometry problem
                """, to: "bad.rules", in: directory)
            let error = try #require(throws: TemplateError.self) { try LogRules(contentsOf: path, classes: classes) }
            #expect(error.file == path)
            #expect(error.line == 4)
            #expect(error.description.hasPrefix("\(path):4: "))
            #expect(error.message.contains("'astrometry-ish'"))
        }
    }

    @Test("A rule with an invalid regular expression is refused at its line")
    func invalidRegex() throws {
        try withTemporaryDirectory { directory in
            let classes = try FailureClasses(contentsOf: classesPath)
            let path = try write("""
                missing-files      missing file
                astrometry         (astrometry problem
                """, to: "bad.rules", in: directory)
            let error = try #require(throws: TemplateError.self) { try LogRules(contentsOf: path, classes: classes) }
            #expect(error.file == path)
            #expect(error.line == 2)
            #expect(error.description.hasPrefix("\(path):2: invalid regular expression"))
        }
    }

    @Test("A rule without a regular expression is refused at its line")
    func ruleWithoutRegex() throws {
        try withTemporaryDirectory { directory in
            let classes = try FailureClasses(contentsOf: classesPath)
            let path = try write("# only a class\nmatches\n", to: "bad.rules", in: directory)
            let error = try #require(throws: TemplateError.self) { try LogRules(contentsOf: path, classes: classes) }
            #expect(error.line == 2)
            #expect(error.message.contains("CLASS REGEX"))
        }
    }
}
