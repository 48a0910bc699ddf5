import Basics
import Foundation

/// The failure classes of `templates/rules/classes`, in report order: name, retry policy, label.
///
/// One `NAME POLICY LABEL` per line, e.g. `astrometry never astrometry problem`. The list must have the
/// classes dcprod assigns itself: `ok`, `crash`, `not-run`, `other` and `timeout`.
public struct FailureClasses: Sendable {
    /// What `resubmit` does with the events of a class: the class list's second word.
    public enum Retry: String, Sendable, Codable {
        /// Resubmitted up to MAXRETRY times.
        case retry
        /// Not resubmitted: resubmitting would fail the same way.
        case never
        /// Only with `resubmit --force` (e.g. missing files, once someone restored them).
        case force
    }

    /// One line of the class list.
    public struct Class: Sendable, Equatable {
        /// The class name that rules and outcome records use, e.g. `not-run`.
        public var name: String
        /// Whether `resubmit` takes the class's events.
        public var retry: Retry
        /// The words the report prints for the class (the rest of the line, spaces included).
        public var label: String
    }

    /// The classes in the file's order, which is the report's.
    public var classes: [Class]

    /// The names of the classes dcprod assigns itself: an event that succeeded, one killed by a signal,
    /// one its job never ran, a failure no rule matches, and one killed at its time limit.
    public static let ok = "ok", crash = "crash", notRun = "not-run", other = "other", timeout = "timeout"

    /// The class of an event whose outcome record verify does not believe (`OutcomeCheck`): another
    /// job's file, outputs the manifest does not expect, outside the data tree, missing or empty.
    /// Resubmitted like a crash. A class list of an older production, without it, gets it last.
    public static let badRecord = "bad-record"
    static let badRecordClass = Class(name: badRecord, retry: .retry, label: "bad outcome record")

    /// The classes DC2013's report did not have, which a report lists only when some event is in
    /// them: a bad outcome record, a full file system, a read-only one.
    public static let listedOnlyWhenSeen: Set<String> = [badRecord, "no-space", "read-only"]

    /// Reads a class list.
    ///
    /// Blank lines and lines starting with `#` are skipped.
    ///
    /// - Parameter path: The class list, normally `templates/rules/classes`.
    /// - Throws: `TemplateError` naming the file and line when the file cannot be read, a line is not
    ///   `NAME retry|never|force LABEL`, or one of the classes dcprod assigns is missing (line 0).
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
        if !classes.contains(where: { $0.name == Self.badRecord }) { classes.append(Self.badRecordClass) }
        self.classes = classes
    }

    /// The class of this name.
    ///
    /// - Parameter name: A class name.
    /// - Returns: The class, or nil when the list has none of that name.
    public func named(_ name: String) -> Class? { classes.first { $0.name == name } }

    /// The label of a class, or the class name for one the list does not know.
    ///
    /// - Parameter name: A class name, e.g. from an outcome record.
    /// - Returns: The label to print.
    public func label(_ name: String) -> String { named(name)?.label ?? name }
}

/// Regular expressions that classify a failed event from its log (`templates/rules/NAME.rules`):
/// `CLASS REGEX` per line, tried in order.
///
/// `@unchecked Sendable` because `NSRegularExpression` is not marked so, though it is immutable and
/// safe to share once made.
public struct LogRules: @unchecked Sendable {
    /// One line of a rule set: a log line matching `pattern` puts the event in class `className`.
    public struct Rule {
        /// A class of the class list.
        public var className: String
        /// The pattern, matched against one log line at a time (ICU syntax, unanchored).
        public var pattern: NSRegularExpression
    }

    /// The rules, in the file's order, which is their priority.
    public var rules: [Rule]

    /// Reads a rule set and checks it against the class list.
    ///
    /// Blank lines and lines starting with `#` are skipped; the regular expression is the rest of the
    /// line after the class name, trimmed.
    ///
    /// - Parameters:
    ///   - path: The rule set, `templates/rules/NAME.rules`.
    ///   - classes: The class list, to which every rule's class must belong.
    /// - Throws: `TemplateError` naming the file and line when the file cannot be read, a line is not
    ///   `CLASS REGEX`, its class is not in `classes`, or its expression is not valid.
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
    ///
    /// Rules are tried in order, each against every line: an earlier rule wins over an earlier line.
    ///
    /// - Parameter log: What the event's command printed (standard output and error).
    /// - Returns: The class name and the line that decided it, trimmed and cut to 300 characters (`…`
    ///   marks a cut); `no output` for an empty log.
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
