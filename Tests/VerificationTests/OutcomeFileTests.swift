import Basics
import Foundation
import Testing
@testable import Verification

/// Verify reads outcome lines with its own scanner of JSON: it must read what the runner writes
/// (`OutcomeLine`, through JSONEncoder) exactly as JSONDecoder would, and skip what is not one.
@Suite struct OutcomeFileReading {
    func read(_ text: String) throws -> [OutcomeRecord] { try contents(text).records.map { var r = $0; r.line = 0; return r } }

    func contents(_ text: String) throws -> OutcomeFile.Contents {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dcprod-outcomes-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(text.utf8).write(to: url)
        return OutcomeFile.read(url.path)
    }

    @Test func whatTheRunnerWritesIsReadAsItWasWritten() throws {
        var start = OutcomeLine(type: .start)
        (start.version, start.job, start.attempt, start.host, start.pid, start.time) = (1, "processCcd-r-000001", 2, "ccwsge0042", 4242, "2026-12-01T17:00:00Z")
        var event = OutcomeLine(type: .event)
        (event.event, event.status, event.class, event.seconds, event.exit) = ("000094-1-0011", "failed", "astrometry", 1.25e-3, 1)
        event.message = "tab\tquote\" backslash\\ newline\n é 𝄞 \u{01} /slash"
        event.outputs = ["/data/a b/calexp-000094-r1-0011.fits", "/data/src,1.csv"]
        var ok = OutcomeLine(type: .event)
        (ok.event, ok.status, ok.class, ok.seconds, ok.outputs) = ("000094-1-0012", "ok", "ok", 12, [])
        var end = OutcomeLine(type: .end)
        (end.exit, end.events) = (1, 2)
        let encoder = JSONEncoder()
        let text = try [start, event, ok, end].map { String(decoding: try encoder.encode($0), as: UTF8.self) + "\n" }.joined()
        let records = try read(text)
        #expect(records.map(\.type) == [.start, .event, .event, .end])
        #expect(records[1] == OutcomeRecord(type: .event, event: event.event, status: "failed", class: "astrometry", message: event.message,
                                           seconds: 1.25e-3, outputs: event.outputs))
        #expect(records[2].outputs == [] && records[2].seconds == 12)
    }

    @Test func escapesNestedValuesAndDamagedLines() throws {
        let records = try read("""
            {"type":"event","event":"\\u00e9\\ud834\\udd1e","extra":{"a":[1,2,{"b":null}],"c":true},"seconds":null,"status":"ok"}
            { "type" : "end" , "exit" : 0 }
            {"type":"event","event":"cut
            {"type":"unknown"}
            not json
            {"type":"event"} trailing
            {"type":"event","outputs":["a",1]}
            {"type":"event","event":"last"}
            {"type":"event","event":"no newline at the end"}
            """)
        #expect(records.count == 3, "\(records)")
        #expect(records.first?.event == "é𝄞" && records.first?.status == "ok" && records.first?.seconds == nil)
        #expect(records[1].type == .end && records[2].event == "last")
        // The damaged lines are named by number; the line cut at the end is not one (a runner killed mid-write).
        let read = try contents("{\"type\":\"start\"}\n\nnot json\n{\"type\":\"end\"}\n{\"type\":\"event\",\"event\":\"cu")
        #expect(read.damaged == [3] && read.records.map(\.line) == [1, 4])
    }

    /// Keys are matched as bytes; one written with an escape is the same key, and one that only starts
    /// like a known key is another.
    @Test func keysWithEscapesOrOnlyAPrefixInCommon() throws {
        let records = try read("""
            {"\\u0074ype":"event","ev\\u0065nt":"a","statusx":"failed","stat":"failed","status":"ok","":1,"class\\\"":"x"}

            """)
        #expect(records == [OutcomeRecord(type: .event, event: "a", status: "ok")])
    }
}

/// Where an output may be: under the data tree, by its path's words, `.` and `..` refused.
@Suite struct OutputPlaces {
    @Test func anOutputIsInsideTheDataTreeOnlyByItsOwnComponents() {
        let root = "/data/DC_2013/"
        for inside in ["/data/DC_2013/processCcd/r/calexp-1.fits", "/data/DC_2013/a//b.csv", "/data/DC_2013/.hidden/..x.csv"] {
            #expect(OutcomeCheck.isInside(inside, root), "\(inside)")
        }
        for outside in ["/etc/passwd", "/data/DC_2013/../DC_2014/src.csv", "/data/DC_2013/r/./src.csv", "/data/DC_20134/src.csv",
                        "/data/DC_2013", "data/DC_2013/src.csv", "/data/DC_2013/r/.."] {
            #expect(!OutcomeCheck.isInside(outside, root), "\(outside)")
        }
    }
}
