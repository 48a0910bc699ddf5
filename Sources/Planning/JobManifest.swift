import Basics
import Foundation

/// What one job does: written by `plan` beside the batch script, read by `dcprod job run`.
/// Version 1.
public struct JobManifest: Codable, Sendable, Equatable {
    public static let currentVersion = 1

    public struct Event: Codable, Sendable, Equatable {
        public var key: String
        /// The rendered argument vector; run as is, never through a shell.
        public var command: [String]
        public var outputs: [String]

        public init(key: String, command: [String], outputs: [String]) {
            self.key = key
            self.command = command
            self.outputs = outputs
        }
    }

    public var version: Int
    public var job: String
    public var step: String
    public var filter: String
    /// The rule set classifying failures: `templates/rules/NAME.rules` of the production.
    public var rules: String
    public var classes: String
    public var timeLimit: Double
    public var outcomes: String
    public var logs: String
    public var events: [Event]

    public init(job: String, step: String, filter: String, rules: String, classes: String, timeLimit: Double,
                outcomes: String, logs: String, events: [Event]) {
        version = Self.currentVersion
        self.job = job
        self.step = step
        self.filter = filter
        self.rules = rules
        self.classes = classes
        self.timeLimit = timeLimit
        self.outcomes = outcomes
        self.logs = logs
        self.events = events
    }

    /// The outcome record file of an attempt: `outcomes/JOB.aN.jsonl`.
    public func outcomeFile(attempt: Int) -> String { "\(outcomes)/\(job).a\(attempt).jsonl" }
    /// The payload log of an attempt: `logs/JOB.aN.log`.
    public func logFile(attempt: Int) -> String { "\(logs)/\(job).a\(attempt).log" }

    /// The manifest as JSON, written directly into bytes: JSONEncoder, and even string
    /// concatenation, spent most of the time of planning a million events (a manifest is about
    /// 500 bytes per event). Reads back with `JSONDecoder` (see `read`).
    public func jsonData() -> Data {
        var out: [UInt8] = []
        out.reserveCapacity(512 + events.count * 512)
        func raw(_ text: String) { out.append(contentsOf: text.utf8) }
        func field(_ name: String, _ value: String) {
            raw(",\"\(name)\":")
            JSONText.append(value, to: &out)
        }
        raw("{\"version\":\(version)")
        field("job", job)
        field("step", step)
        field("filter", filter)
        field("rules", rules)
        field("classes", classes)
        raw(",\"timeLimit\":\(timeLimit)")
        field("outcomes", outcomes)
        field("logs", logs)
        raw(",\"events\":[")
        for (index, event) in events.enumerated() {
            raw(index > 0 ? ",\n{\"key\":" : "\n{\"key\":")
            JSONText.append(event.key, to: &out)
            raw(",\"command\":")
            JSONText.append(event.command, to: &out)
            raw(",\"outputs\":")
            JSONText.append(event.outputs, to: &out)
            out.append(0x7D)
        }
        raw("]}\n")
        return Data(out)
    }

    public static func read(_ path: String) throws -> JobManifest {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TemplateError(file: path, line: 0, message: "job manifest cannot be read")
        }
        do {
            let manifest = try JSONDecoder().decode(JobManifest.self, from: data)
            guard manifest.version == currentVersion else {
                throw TemplateError(file: path, line: 0, message: "manifest version \(manifest.version), this dcprod reads \(currentVersion)")
            }
            return manifest
        } catch let error as TemplateError {
            throw error
        } catch {
            throw TemplateError(file: path, line: 0, message: "not a job manifest: \(error)")
        }
    }
}
