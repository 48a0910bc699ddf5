import Foundation
import Planning

/// The failure classes of `templates/rules/classes`, in report order: name, retry policy, label.
public struct FailureClasses: Sendable {
    public enum Retry: String, Sendable, Codable {
        /// Resubmitted up to MAXRETRY times.
        case retry
        /// Not resubmitted: resubmitting would fail the same way.
        case never
        /// Only with `resubmit --force` (e.g. missing files, once someone restored them).
        case force
    }

    public struct Class: Sendable, Equatable {
        public var name: String
        public var retry: Retry
        public var label: String
    }

    public var classes: [Class]

    public static let ok = "ok", crash = "crash", notRun = "not-run", other = "other", timeout = "timeout"

    public init(contentsOf path: String) throws {
        let lines = try TemplateLines(path: path, what: "the class list")
        var classes: [Class] = []
        for line in lines {
            let words = line.text.split(maxSplits: 2, omittingEmptySubsequences: true, whereSeparator: \.isWhitespace)
            guard words.count == 3, let retry = Retry(rawValue: String(words[1])) else {
                throw lines.error(line.number, "expected `NAME retry|never|force LABEL`")
            }
            classes.append(Class(name: String(words[0]), retry: retry, label: words[2].trimmingCharacters(in: .whitespaces)))
        }
        for required in [Self.ok, Self.crash, Self.notRun, Self.other, Self.timeout] where !classes.contains(where: { $0.name == required }) {
            throw TemplateError(file: path, line: 0, message: "the class list lacks the class '\(required)', which dcprod itself assigns")
        }
        self.classes = classes
    }

    public func named(_ name: String) -> Class? { classes.first { $0.name == name } }

    /// The label of a class, or the class name for one the list does not know.
    public func label(_ name: String) -> String { named(name)?.label ?? name }
}

/// Regular expressions that classify a failed event from its log (`templates/rules/NAME.rules`):
/// `CLASS REGEX` per line, tried in order.
public struct LogRules: @unchecked Sendable {
    public struct Rule {
        public var className: String
        public var pattern: NSRegularExpression
    }

    public var rules: [Rule]

    public init(contentsOf path: String, classes: FailureClasses) throws {
        let lines = try TemplateLines(path: path, what: "the rule set")
        var rules: [Rule] = []
        for line in lines {
            let parts = line.text.split(maxSplits: 1, omittingEmptySubsequences: true, whereSeparator: \.isWhitespace)
            guard parts.count == 2 else { throw lines.error(line.number, "expected `CLASS REGEX`") }
            let name = String(parts[0])
            guard classes.named(name) != nil else {
                throw lines.error(line.number, "unknown class '\(name)' (see templates/rules/classes)")
            }
            do {
                let pattern = try NSRegularExpression(pattern: parts[1].trimmingCharacters(in: .whitespaces))
                rules.append(Rule(className: name, pattern: pattern))
            } catch {
                throw lines.error(line.number, "invalid regular expression: \(error)")
            }
        }
        self.rules = rules
    }

    /// The class of the first rule matching a line of `log`, with that line; else `other` with the
    /// last non-empty line, so that a person can write the next rule.
    public func classify(_ log: String) -> (className: String, message: String) {
        let lines = log.split(separator: "\n").map(String.init)
        for rule in rules {
            for line in lines {
                let range = NSRange(line.startIndex..., in: line)
                if rule.pattern.firstMatch(in: line, range: range) != nil {
                    return (rule.className, Self.trim(line))
                }
            }
        }
        let last = lines.last { !$0.trimmingCharacters(in: .whitespaces).isEmpty } ?? "no output"
        return (FailureClasses.other, Self.trim(last))
    }

    static func trim(_ line: String) -> String {
        let text = line.trimmingCharacters(in: .whitespaces)
        return text.count > 300 ? String(text.prefix(300)) + "…" : text
    }
}
