import Basics
import Foundation
import Mustache
import Production

/// Compiles Mustache text for plain-text output (no HTML escaping: these are paths and scripts).
func textTemplate(_ text: String, file: String, line: Int) throws -> MustacheTemplate {
    do {
        return try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + text)
    } catch {
        throw TemplateError(file: file, line: line, message: "not a valid Mustache template: \(error)")
    }
}

/// What a step runs for each event (`templates/steps/STEP.step`): the rule set classifying its
/// failures, the per-event time limit, the command as words, and the expected outputs.
public struct StepDefinition: Sendable {
    public var step: Step
    public var rules: String
    /// Seconds an event may run before it is killed.
    public var timeLimit: Double
    public var command: [MustacheTemplate]
    public var outputs: [MustacheTemplate]

    /// The seconds `timeout` may give: from one second to a year (`ProductionConfig.Limits`'s
    /// longest walltime), so that the deadline and the report's whole seconds are always numbers.
    public static let timeLimits = 1.0...Double(ProductionConfig.Limits.walltimeSeconds.upperBound)

    public static func load(step: Step, templates: URL) throws -> StepDefinition {
        let url = templates.appendingPathComponent("steps/\(step.rawValue).step")
        let lines = try TemplateLines(path: url.path, what: "the step definition of \(step.rawValue)")
        var rules: String?, timeLimit: Double?, command: [MustacheTemplate]?, outputs: [MustacheTemplate] = []
        for line in lines {
            let words = line.text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            let rest = Array(words.dropFirst())
            switch words[0] {
            case "rules":
                guard rest.count == 1 else { throw lines.error(line.number, "`rules` takes one rule-set name") }
                rules = rest[0]
            case "timeout":
                guard rest.count == 1, let seconds = Double(rest[0]), timeLimits.contains(seconds) else {
                    throw lines.error(line.number, "`timeout` takes seconds, from \(Int(timeLimits.lowerBound)) to \(Int(timeLimits.upperBound)), got '\(rest.joined(separator: " "))'")
                }
                timeLimit = seconds
            case "command":
                guard !rest.isEmpty else { throw lines.error(line.number, "`command` needs at least the program") }
                command = try rest.map { try textTemplate($0, file: url.path, line: line.number) }
            case "output":
                guard rest.count == 1 else { throw lines.error(line.number, "`output` takes one path") }
                outputs.append(try textTemplate(rest[0], file: url.path, line: line.number))
            default:
                throw lines.error(line.number, "unknown directive '\(words[0])' (rules, timeout, command, output)")
            }
        }
        guard let command else { throw TemplateError(file: url.path, line: 0, message: "no `command` line") }
        return StepDefinition(step: step, rules: rules ?? "reference", timeLimit: timeLimit ?? 3600, command: command, outputs: outputs)
    }

    /// The class list of the step's rule set: `rules/RULES.classes`, else the production's `rules/classes`.
    public func classesFile(templates: URL) -> String {
        let own = templates.appendingPathComponent("rules/\(rules).classes").path
        return FileManager.default.fileExists(atPath: own) ? own : templates.appendingPathComponent("rules/classes").path
    }

    /// The argument vector and expected outputs of one event.
    public func render(_ variables: [String: String]) -> (command: [String], outputs: [String]) {
        (command.map { $0.render(variables) }, outputs.map { $0.render(variables) })
    }

    /// This definition specialised for one step and filter: words that do not depend on `perEvent`
    /// variables are rendered once from `shared`; words that are plain substitutions of per-event
    /// variables (checked by rendering them twice with Mustache) become string concatenations;
    /// anything else (sections, lambdas) is rendered by Mustache for each event.
    public func specialized(shared: [String: String], perEvent: [String]) throws -> Specialized {
        let command = command.map { Specialized.Word($0, shared: shared, perEvent: perEvent) }
        let outputs = outputs.map { Specialized.Word($0, shared: shared, perEvent: perEvent) }
        let used = (command + outputs).reduce(into: Set<String>()) { $0.formUnion($1.variables(of: perEvent)) }
        return Specialized(shared: shared, command: command, outputs: outputs, variables: used)
    }

    public struct Specialized: Sendable {
        public enum Part: Sendable, Equatable {
            case literal(String)
            case variable(String)

            /// Cuts a rendering made with `\u{1}name\u{2}` markers into literals and variables.
            static func parse(_ text: String, variables: Set<String>) -> [Part] {
                var parts: [Part] = []
                var rest = Substring(text)
                while let open = rest.firstIndex(of: "\u{1}"), let close = rest[open...].firstIndex(of: "\u{2}") {
                    let name = String(rest[rest.index(after: open)..<close])
                    guard variables.contains(name) else { break }
                    if open > rest.startIndex { parts.append(.literal(String(rest[..<open]))) }
                    parts.append(.variable(name))
                    rest = rest[rest.index(after: close)...]
                }
                if !rest.isEmpty { parts.append(.literal(String(rest))) }
                return parts
            }

            static func join(_ parts: [Part], _ values: [String: String]) -> String {
                var out = ""
                for part in parts {
                    switch part {
                    case .literal(let text): out += text
                    case .variable(let name): out += values[name] ?? ""
                    }
                }
                return out
            }
        }

        /// A template specialised for its shared variables (see `specialized(shared:perEvent:)`).
        public enum Word: Sendable {
            case constant(String)
            case substitution([Part])
            case template(MustacheTemplate)

            /// `template` specialised: rendered once with markers for the `perEvent` variables, and
            /// kept as literals and variables only if Mustache agrees on other values too.
            public init(_ template: MustacheTemplate, shared: [String: Any], perEvent: [String]) {
                var marked = shared, other = shared
                for name in perEvent {
                    marked[name] = "\u{1}\(name)\u{2}"
                    other[name] = "\u{3}\(name).\(name.count)\u{3}"
                }
                let text = template.render(marked)
                let parts = Part.parse(text, variables: Set(perEvent))
                let hasVariables = parts.contains { if case .variable = $0 { true } else { false } }
                if !hasVariables, template.render(other) == text {
                    self = .constant(text)
                } else if Part.join(parts, other.compactMapValues { $0 as? String }) == template.render(other) {
                    self = .substitution(parts)
                } else {
                    self = .template(template)
                }
            }

            /// The per-event variables this word reads (all of them for a template rendered each time).
            func variables(of perEvent: [String]) -> Set<String> {
                switch self {
                case .constant: []
                case .substitution(let parts): Set(parts.compactMap { if case .variable(let name) = $0 { name } else { nil } })
                case .template: Set(perEvent)
                }
            }

            /// The text for these per-event values.
            /// (Generic in the shared values so that a caller's `[String: String]` is not converted for every word.)
            public func render<Value>(_ perEvent: [String: String], shared: [String: Value]) -> String {
                switch self {
                case .constant(let text): text
                case .substitution(let parts): Part.join(parts, perEvent)
                case .template(let template): template.render(perEvent.reduce(into: shared as [String: Any]) { $0[$1.key] = $1.value })
                }
            }
        }

        let shared: [String: String]
        let command: [Word]
        let outputs: [Word]
        /// The per-event variables some word uses: the only ones worth computing.
        public let variables: Set<String>

        /// The argument vector and expected outputs of one event with these per-event variables.
        public func render(_ perEvent: [String: String]) -> (command: [String], outputs: [String]) {
            (command.map { $0.render(perEvent, shared: shared) }, outputs.map { $0.render(perEvent, shared: shared) })
        }
    }
}
