import Foundation

/// The meaningful lines of a template text file (`steps/*.step`, `rules/*`): numbered from 1,
/// trimmed, without blank lines and `#` comments.
public struct TemplateLines: Sequence {
    public let path: String
    let text: String

    /// Reads `path`; a file that cannot be read is a `TemplateError` saying what it was meant to be.
    public init(path: String, what: String) throws {
        // A FIFO would block the verb (and its lock) for ever: never opened.
        if let kind = specialFileKind(atPath: path) {
            throw TemplateError(file: path, line: 0, message: "\(what) is a \(kind), not a regular file; not read")
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw TemplateError(file: path, line: 0, message: "\(what) cannot be read")
        }
        self.path = path
        self.text = text
    }

    public func makeIterator() -> some IteratorProtocol<(number: Int, text: String)> {
        text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().lazy
            .map { (number: $0.offset + 1, text: $0.element.trimmingCharacters(in: .whitespaces)) }
            .filter { !$0.text.isEmpty && !$0.text.hasPrefix("#") }
            .makeIterator()
    }

    /// An error at a line of this file.
    public func error(_ line: Int, _ message: String) -> TemplateError {
        TemplateError(file: path, line: line, message: message)
    }
}

/// A problem in a template file, located.
public struct TemplateError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int
    public var message: String
    /// `file:line: message`, or `file: message` for a problem of the whole file (line 0).
    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }
}
