import Basics
import Foundation
import Planning
import Testing
import Verification

// `dcprod job run MANIFEST` with real processes: the outcome file and log a batch job leaves
// behind, which `verify` then reads.

@Suite("Job runner")
struct JobRunnerTests {
    static let astrometryLine =
        "processCcd: /x/fpC-000094-r1-0012.fit: astrometry problem: no solution: 2 reference matches among 40 bright detections"

    func manifest(in directory: URL, job: String, timeLimit: Double, events: [JobManifest.Event]) throws -> JobManifest {
        let manifest = JobManifest(
            job: job, step: "processCcd", filter: "r", rules: referenceRulesPath, classes: classesPath,
            timeLimit: timeLimit, outcomes: directory.appendingPathComponent("outcomes").path,
            logs: directory.appendingPathComponent("logs").path, events: events)
        // As `plan` writes it and `dcprod job run` reads it.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let path = directory.appendingPathComponent("\(job).json").path
        #expect(FileManager.default.createFile(atPath: path, contents: try encoder.encode(manifest)))
        let read = try JobManifest.read(path)
        #expect(read == manifest)
        return read
    }

    @Test("Every kind of event: ok, outputs missing, classified failure, crash, timeout, cannot start")
    func mixedEvents() throws {
        try withTemporaryDirectory { directory in
            let present = try write("calexp\n", to: "calexp-000094-r1-0011.fits", in: directory)
            let absent = directory.appendingPathComponent("calexp-000094-r1-0012.fits").path
            let events = [
                JobManifest.Event(key: "e-ok", command: ["/bin/true"], outputs: [present]),
                JobManifest.Event(key: "e-echo", command: ["/bin/echo", "processCcd: frame written"], outputs: []),
                JobManifest.Event(key: "e-no-output", command: ["/bin/true"], outputs: [present, absent]),
                // The header line names the command, which carries the rule's text: the message
                // must still be the payload's own line.
                JobManifest.Event(key: "e-astrometry",
                                  command: ["/bin/sh", "-c", "echo 'processCcd: starting'; echo '\(Self.astrometryLine)' >&2; exit 1"],
                                  outputs: [absent]),
                JobManifest.Event(key: "e-segv", command: ["/bin/sh", "-c", "ulimit -c 0; kill -SEGV $$"], outputs: []),
                JobManifest.Event(key: "e-sleep", command: ["/bin/sleep", "30"], outputs: []),
                JobManifest.Event(key: "e-absent", command: ["/nonexistent/processCcd", "--help"], outputs: []),
                JobManifest.Event(key: "e-exit3", command: ["/bin/sh", "-c", "echo 'Segmentation fault in libwcs'; echo done; exit 3"], outputs: []),
            ]
            let manifest = try manifest(in: directory, job: "processCcd-r-00007", timeLimit: 1.0, events: events)
            let status = try JobRunner(manifest: manifest, attempt: 1).run()
            #expect(status == 1)

            let lines = try outcomeLines(manifest.outcomeFile(attempt: 1))
            #expect(manifest.outcomeFile(attempt: 1) == directory.appendingPathComponent("outcomes/processCcd-r-00007.a1.jsonl").path)
            try #require(lines.count == events.count + 2)

            let start = lines[0]
            #expect(start.type == .start)
            #expect(start.version == 1)
            #expect(start.job == "processCcd-r-00007")
            #expect(start.attempt == 1)
            #expect(start.host == ProcessInfo.processInfo.hostName)
            #expect(start.pid == getpid())
            #expect(start.time != nil)
            #expect(start.event == nil && start.status == nil && start.exit == nil)

            let records = Array(lines[1...events.count])
            #expect(records.map(\.type) == Array(repeating: .event, count: events.count))
            #expect(records.map(\.event) == events.map(\.key))
            #expect(records.map(\.status) == ["ok", "ok", "failed", "failed", "failed", "failed", "failed", "failed"])
            #expect(records.map(\.class) == ["ok", "ok", "other", "astrometry", "crash", "timeout", "other", "other"])
            #expect(records.map(\.exit) == [0, 0, 0, 1, nil, nil, nil, 3])
            #expect(records.map(\.signal) == [nil, nil, nil, nil, 11, 9, nil, nil])
            for record in records {
                let seconds = try #require(record.seconds)
                #expect(seconds >= 0)
                #expect(record.job == nil && record.events == nil)
            }

            let ok = records[0]
            #expect(ok.message == "")
            #expect(ok.outputs == [present])
            #expect(try #require(ok.seconds) < 1.0)

            let noOutput = records[2]
            #expect(noOutput.message == "exit status 0 but outputs missing: \(absent)")
            #expect(noOutput.outputs == nil)

            #expect(records[3].message == Self.astrometryLine)

            #expect(records[4].message == "killed by signal 11 (Segmentation fault)")

            let timedOut = records[5]
            #expect(timedOut.message == "killed after the time limit of 1 s")
            #expect(try #require(timedOut.seconds) >= 1.0)

            let absentProgram = try #require(records[6].message)
            #expect(absentProgram.hasPrefix("cannot start /nonexistent/processCcd: "))
            #expect(absentProgram.contains("No such file or directory"))

            // No rule matches: the last non-empty line of this event's output only.
            #expect(records[7].message == "done")

            let end = lines[events.count + 1]
            #expect(end.type == .end)
            #expect(end.exit == 1)
            #expect(end.events == events.count)
            #expect(end.time != nil)
            // The payloads' CPU seconds, as getrusage gives them: the local backend's accounting.
            #expect((end.cpu ?? -1) >= 0)

            // The log: each event's header, then what its payload printed on stdout and stderr.
            let log = try String(contentsOfFile: manifest.logFile(attempt: 1), encoding: .utf8)
            #expect(manifest.logFile(attempt: 1) == directory.appendingPathComponent("logs/processCcd-r-00007.a1.log").path)
            var searchFrom = log.startIndex
            for event in events {
                let header = "==== dcprod job run processCcd-r-00007 attempt 1: event \(event.key): \(event.command.joined(separator: " "))\n"
                let found = try #require(log.range(of: header, range: searchFrom..<log.endIndex), "header of \(event.key)")
                searchFrom = found.upperBound
            }
            #expect(log.contains("==== dcprod job run processCcd-r-00007 attempt 1: event e-echo: /bin/echo processCcd: frame written\nprocessCcd: frame written\n"))
            #expect(log.contains("processCcd: starting\n\(Self.astrometryLine)\n==== dcprod job run"))
            #expect(log.contains("Segmentation fault in libwcs\ndone\n"))
        }
    }

    @Test("A job whose events are all ok exits 0; each attempt has its own files")
    func allOk() throws {
        try withTemporaryDirectory { directory in
            let output = try write("src\n", to: "src-000094-r1-0011.csv", in: directory)
            let events = [
                JobManifest.Event(key: "a", command: ["/bin/true"], outputs: [output]),
                JobManifest.Event(key: "b", command: ["/bin/echo", "hello from b"], outputs: []),
                JobManifest.Event(key: "c", command: ["/usr/bin/env", "true"], outputs: [output]),
            ]
            let manifest = try manifest(in: directory, job: "processCcd-r-00001", timeLimit: 5, events: events)
            #expect(try JobRunner(manifest: manifest, attempt: 2).run() == 0)

            #expect(!FileManager.default.fileExists(atPath: manifest.outcomeFile(attempt: 1)))
            let lines = try outcomeLines(manifest.outcomeFile(attempt: 2))
            try #require(lines.count == 5)
            #expect(lines[0].type == .start)
            #expect(lines[0].attempt == 2)
            #expect(lines[1...3].map(\.status) == ["ok", "ok", "ok"])
            #expect(lines[1...3].map(\.class) == ["ok", "ok", "ok"])
            #expect(lines[4].type == .end)
            #expect(lines[4].exit == 0)
            #expect(lines[4].events == 3)

            let log = try String(contentsOfFile: manifest.logFile(attempt: 2), encoding: .utf8)
            #expect(log.contains("==== dcprod job run processCcd-r-00001 attempt 2: event b: /bin/echo hello from b\nhello from b\n"))
        }
    }

    @Test("A manifest whose rule set names an unknown class is refused before any event runs")
    func badRulesRefused() throws {
        try withTemporaryDirectory { directory in
            let rules = try write("astrometry-ish  astrometry problem\n", to: "bad.rules", in: directory)
            let marker = directory.appendingPathComponent("ran").path
            var manifest = try manifest(in: directory, job: "processCcd-r-00002", timeLimit: 5, events: [
                JobManifest.Event(key: "a", command: ["/usr/bin/touch", marker], outputs: []),
            ])
            manifest.rules = rules
            let error = try #require(throws: TemplateError.self) { try JobRunner(manifest: manifest, attempt: 1).run() }
            #expect(error.file == rules)
            #expect(error.line == 1)
            #expect(!FileManager.default.fileExists(atPath: marker))
            #expect(!FileManager.default.fileExists(atPath: manifest.outcomeFile(attempt: 1)))
        }
    }
}
