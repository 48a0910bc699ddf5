import Foundation

/// One thing the manager did: when, who, where, the command line and what it changed.
public struct LogbookEntry: Sendable, Equatable {
    public var date: Date
    public var user: String
    public var host: String
    public var commandLine: [String]
    public var summary: String

    public init(date: Date = Date(), user: String = LogbookEntry.currentUser, host: String = LogbookEntry.currentHost,
                commandLine: [String], summary: String) {
        self.date = date
        self.user = user
        self.host = host
        self.commandLine = LogbookEntry.redacted(commandLine)
        self.summary = summary
    }

    public static var currentUser: String { ProcessInfo.processInfo.environment["USER"] ?? NSUserName() }
    public static var currentHost: String {
        ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
    }

    /// Replaces the value of anything that looks like a password argument by `***`,
    /// so that a logbook never holds one even if a user typed it.
    static func redacted(_ arguments: [String]) -> [String] {
        var out: [String] = []
        var hideNext = false
        for argument in arguments {
            let lower = argument.lowercased()
            let secretish = ["pass", "pwd", "secret", "token"].contains { lower.contains($0) }
            if hideNext {
                out.append("***")
                hideNext = false
            } else if secretish, let equals = argument.firstIndex(of: "=") {
                out.append(argument[...equals] + "***")
            } else {
                out.append(argument)
                hideNext = secretish && argument.hasPrefix("-")
            }
        }
        return out
    }

    /// The Markdown block appended to the day's file.
    public var markdown: String {
        let time = Logbook.timeFormatter.string(from: date)
        let command = commandLine.map { $0.contains(" ") || $0.isEmpty ? "'\($0)'" : $0 }.joined(separator: " ")
        return "### \(time) UTC · \(user)@\(host)\n\n`\(command)`\n\n\(summary)\n\n"
    }
}

/// The production's logbook: `logbook/YYYY-MM-DD.md` in the tree, one file per UTC day,
/// entries appended, never rewritten.
public struct Logbook: Sendable {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    static let dayFormatter: DateFormatter = formatter("yyyy-MM-dd")
    static let timeFormatter: DateFormatter = formatter("HH:mm:ss")

    private static func formatter(_ format: String) -> DateFormatter {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = format
        return f
    }

    public func file(for date: Date) -> URL {
        directory.appendingPathComponent(Self.dayFormatter.string(from: date) + ".md")
    }

    /// Appends the entry with one `write(2)` on an `O_APPEND` descriptor, so that
    /// concurrent writers never interleave inside an entry.
    public func append(_ entry: LogbookEntry) throws {
        let url = file(for: entry.date)
        var text = entry.markdown
        if !FileManager.default.fileExists(atPath: url.path) {
            text = "# Logbook \(Self.dayFormatter.string(from: entry.date))\n\n" + text
        }
        let fd = open(url.path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard fd >= 0 else { throw LogbookError(path: url.path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw LogbookError(path: url.path, reason: String(cString: strerror(errno))) }
    }

    /// The day files, oldest first, from `since` (a `YYYY-MM-DD` day) on.
    public func days(since: String? = nil) throws -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".md") && $0.count == 13 }
            .filter { since == nil || String($0.prefix(10)) >= since! }
            .sorted()
            .map { directory.appendingPathComponent($0) }
    }

    /// Every entry of the logbook, newest first, as its Markdown holds it: what the logbook page shows.
    ///
    /// - Throws: A file system error when a day's file cannot be read.
    public func records() throws -> [LogbookRecord] {
        var records: [LogbookRecord] = []
        for file in try days() {
            let day = String(file.lastPathComponent.prefix(10))
            let text = try String(contentsOf: file, encoding: .utf8)
            for block in text.components(separatedBy: "\n### ").dropFirst() {
                var lines = block.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                let heading = lines.removeFirst().components(separatedBy: " UTC · ")
                let body = lines.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
                var command = "", summary = body
                if body.hasPrefix("`"), let end = body.dropFirst().firstIndex(of: "`") {
                    command = String(body[body.index(after: body.startIndex)..<end])
                    summary = body[body.index(after: end)...].trimmingCharacters(in: .whitespacesAndNewlines)
                }
                records.append(LogbookRecord(day: day, time: heading.first ?? "", who: heading.count > 1 ? heading[1] : "",
                                             command: command, summary: summary))
            }
        }
        return records.reversed()
    }

    public static func isDay(_ text: String) -> Bool {
        dayFormatter.date(from: text) != nil && text.count == 10
    }
}

public struct LogbookError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "\(path): cannot append to the logbook: \(reason)" }
}

/// One entry of the logbook as read back from its Markdown (`Logbook.records()`).
public struct LogbookRecord: Codable, Sendable, Equatable {
    /// `YYYY-MM-DD` and `HH:MM:SS`, UTC.
    public var day: String
    public var time: String
    /// `user@host`.
    public var who: String
    /// The command line as typed (passwords redacted when written).
    public var command: String
    public var summary: String
}
