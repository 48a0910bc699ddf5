import Basics
import Foundation

/// Reads the Prepare_To_Run format: one `KEY value` per line, `#` starts a comment.
/// Every problem is a `ConfigError` naming the file and line; nothing is created here.
public enum ConfigParser {
    public static func parse(contentsOf path: String) throws -> ProductionConfig {
        if let kind = specialFileKind(atPath: path) {
            throw ConfigError(file: path, line: 0, message: "config file is a \(kind), not a regular file; not read")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist"
            throw ConfigError(file: path, line: 0, message: "config file \(reason)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            // The first line that is not UTF-8, counted as the parser counts lines.
            let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            let bad = lines.firstIndex { String(data: Data($0), encoding: .utf8) == nil } ?? 0
            throw ConfigError(file: path, line: bad + 1, message: "config file is not UTF-8 text")
        }
        return try parse(text: text, file: path)
    }

    /// The line of a config file where `key` is set, for errors found after parsing (in the file
    /// system); nil when the key is not written (a default) or the file cannot be read.
    public static func line(of key: String, in path: String) -> Int? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
        return lines.firstIndex { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).first == Substring(key) }.map { $0 + 1 }
    }

    public static func parse(text: String, file: String) throws -> ProductionConfig {
        let raw = try RawConfig(text: text, file: file)
        return try raw.resolve()
    }
}

/// A value as written, with where it was written.
struct Located {
    /// The value's words, joined by one space.
    var value: String
    var line: Int
    /// The value as written: the rest of the line after its key, blanks at its ends left out (a
    /// path keeps its spaces).
    var raw: String

    init(value: String, line: Int, raw: String? = nil) {
        self.value = value
        self.line = line
        self.raw = raw ?? value
    }
}

/// The lines of a config file, checked for shape (known key, value present, no duplicate)
/// but not yet for meaning.
struct RawConfig {
    let file: String
    let lineCount: Int
    var single: [String: Located] = [:]
    var perStep: [String: [Step: Located]] = [:]
    var repeated: [String: [Located]] = [:]

    init(text: String, file: String) throws {
        self.file = file
        // LF or CRLF ends a line (Swift reads "\r\n" as one character, so both are named).
        let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
        lineCount = lines.count
        for (index, rawLine) in lines.enumerated() {
            let number = index + 1
            // A control character (a lone CR, NUL, ESC, ...) in a value would reach a path, a batch
            // script or SQL: refused. Tabs separate words like spaces.
            if let control = rawLine.unicodeScalars.first(where: { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F }) {
                throw ConfigError(file: file, line: number,
                                  message: String(format: "control character U+%04X in the line; a value is printable text", control.value))
            }
            let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
            var line = Substring(rawLine)
            let rawWords = line.split(whereSeparator: isBlank)
            // A DIRECTIVE's value is the rest of the line, `#` included: batch directives start with `#SBATCH`, `#$`.
            if rawWords.first == "DIRECTIVE" {
                let rest = line.drop { isBlank($0) }.dropFirst("DIRECTIVE".count).drop { isBlank($0) }
                let value = String(rest).trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r")))
                try take(key: "DIRECTIVE", value: value, raw: value, valueWords: [value], line: number)
                continue
            }
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let words = line.split(whereSeparator: isBlank)
            guard let first = words.first else { continue }
            let key = String(first)
            let value = words.dropFirst().joined(separator: " ")
            let raw = String(line.drop { isBlank($0) }.dropFirst(first.count).drop { isBlank($0) }).trimmingCharacters(in: .whitespaces)
            try take(key: key, value: value, raw: raw, valueWords: words.dropFirst().map(String.init), line: number)
        }
    }

    private func error(_ line: Int, _ message: String) -> ConfigError {
        ConfigError(file: file, line: line, message: message)
    }

    private mutating func take(key: String, value: String, raw: String, valueWords: [String], line: Int) throws {
        if ConfigKey.passwordLike.contains(key.uppercased()) {
            throw error(line, "\(key): passwords never go in the config; put them in ~/.my.cnf ([client] password=...) or MYSQL_PWD")
        }
        guard let spec = ConfigKey.named(key) else {
            if let known = ConfigKey.named(key.uppercased()) {
                throw error(line, "unknown key '\(key)'; keys are upper case: did you mean \(known.name)?")
            }
            let hint = nearest(key, among: ConfigKey.all.map(\.name)).map { "; did you mean \($0)?" } ?? ""
            throw error(line, "unknown key '\(key)'\(hint)")
        }
        guard !value.isEmpty else {
            let form = spec.shape == .perStep ? "\(key) STEP VALUE" : "\(key) VALUE"
            throw error(line, "\(key) has no value (expected `\(form)`)")
        }
        switch spec.shape {
        case .single:
            if let earlier = single[key] {
                throw error(line, "duplicate key \(key) (first set at line \(earlier.line))")
            }
            single[key] = Located(value: value, line: line, raw: raw)
        case .repeated:
            repeated[key, default: []].append(Located(value: value, line: line))
        case .perStep:
            let stepName = valueWords[0]
            guard let step = Step(rawValue: stepName) else {
                let hint = nearest(stepName, among: Step.allCases.map(\.rawValue)).map { "; did you mean \($0)?" } ?? ""
                throw error(line, "\(key): unknown step '\(stepName)'\(hint) (steps: \(Step.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard valueWords.count == 2 else {
                throw error(line, valueWords.count < 2 ? "\(key) \(stepName) has no value" : "\(key) \(stepName) takes one value, got \(valueWords.count - 1)")
            }
            if let earlier = perStep[key]?[step] {
                throw error(line, "duplicate key \(key) \(stepName) (first set at line \(earlier.line))")
            }
            perStep[key, default: [:]][step] = Located(value: valueWords[1], line: line)
        }
    }

    // MARK: - Meaning

    func resolve() throws -> ProductionConfig {
        let mainDir = try absolutePath("MAINDIR", required: true)!
        let dcName = try required("DCNAME")
        if dcName.value.contains(where: { !($0.isLetter || $0.isNumber || "_.-".contains($0)) }) || dcName.value.hasPrefix(".") {
            throw error(dcName.line, "DCNAME '\(dcName.value)' must be letters, digits, '_', '.' or '-' and not start with '.'")
        }
        let dataMain = try absolutePath("DATAMAIN", required: true)!
        let defaultInput = URL(fileURLWithPath: dataMain).appendingPathComponent(dcName.value).appendingPathComponent("input").path
        let input = try absolutePath("INPUT", required: false) ?? defaultInput
        let refcat = try absolutePath("REFCAT", required: false) ?? URL(fileURLWithPath: input).appendingPathComponent("refcat.csv").path
        try checkSeparate(tree: (mainDir as NSString).appendingPathComponent(dcName.value),
                          data: (dataMain as NSString).appendingPathComponent(dcName.value), input: input)

        let dbHost = try word("DBHOST") ?? "sqlite"
        let dbUser = try name("DBUSER", extra: "_.-$", length: 80) ?? ProcessInfo.processInfo.environment["USER"] ?? NSUserName()
        return ProductionConfig(
            mainDir: mainDir, dcName: dcName.value, dataMain: dataMain,
            dbHost: dbHost, dbUser: dbUser,
            dbPort: try integer("DBPORT", range: ProductionConfig.Limits.dbPort) ?? 3306,
            dbName: try name("DBNAME", extra: "_-$", length: 60) ?? "lsst_prod_\(dcName.value.replacingOccurrences(of: ".", with: "_"))",
            dbSplit: try choice("DBSPLIT", ProductionConfig.DatabaseSplit.self) ?? .none,
            dbConnections: try integer("DBCONNECTIONS", range: ProductionConfig.Limits.dbConnections) ?? 4,
            input: input,
            refcat: refcat,
            filters: try filters() ?? Filter.allCases,
            region: try region() ?? .stripe82,
            backend: try choice("BACKEND", ProductionConfig.Backend.self) ?? .local,
            queue: try word("QUEUE"),
            project: try word("PROJECT"),
            walltime: try perStepValues("WALLTIME", defaults: ProductionConfig.defaultWalltime, check: Self.isWalltime,
                                        expected: "HH:MM:SS or D-HH:MM:SS, at most \(ProductionConfig.Limits.walltimeSeconds.upperBound / 86_400) days"),
            memory: try perStepValues("MEMORY", defaults: ProductionConfig.defaultMemory, check: Self.isMemory,
                                      expected: "a size such as 4G, 512M or 2048K, at most \(Int(ProductionConfig.Limits.memoryBytes.upperBound) >> 40)T"),
            eventsPerJob: try perStepValues("EVENTSPERJOB", defaults: ProductionConfig.defaultEventsPerJob,
                                            check: { Int($0).flatMap { ProductionConfig.Limits.eventsPerJob.contains($0) ? $0 : nil } },
                                            expected: "an integer from \(ProductionConfig.Limits.eventsPerJob.lowerBound) to \(ProductionConfig.Limits.eventsPerJob.upperBound)"),
            directives: repeated["DIRECTIVE"]?.map(\.value) ?? [],
            maxRetry: try integer("MAXRETRY", range: ProductionConfig.Limits.maxRetry) ?? 2,
            maxRunning: try integer("MAXRUNNING", range: ProductionConfig.Limits.maxRunning) ?? 0
        )
    }

    private func error(at key: String, _ message: String) -> ConfigError {
        error(single[key]?.line ?? lineCount, message)
    }

    private func required(_ key: String) throws -> Located {
        guard let found = single[key] else {
            throw error(max(lineCount, 1), "required key \(key) is missing (the five seed keys MAINDIR, DCNAME, DATAMAIN, DBHOST, DBUSER; MAINDIR, DCNAME and DATAMAIN are required)")
        }
        return found
    }

    private func absolutePath(_ key: String, required isRequired: Bool) throws -> String? {
        let candidate: Located? = isRequired ? try required(key) : single[key]
        guard let found = candidate else { return nil }
        // A path is the rest of its line: it may hold spaces (and `$`, quotes, …, which reach batch
        // scripts only as quoted words), not a `#`, which starts a comment.
        guard found.raw.hasPrefix("/") else {
            throw error(found.line, "\(key) '\(found.raw)' must be an absolute path (starting with /)")
        }
        // A TAB would split the path where job-array lists and outcome lines are tab-separated.
        if found.raw.contains("\t") {
            throw error(found.line, "\(key) contains a TAB; a path may hold spaces but no TAB or other control character")
        }
        return URL(fileURLWithPath: found.raw).standardizedFileURL.path
    }

    /// The production tree (`MAINDIR/DCNAME`), the data tree (`DATAMAIN/DCNAME`) and INPUT are kept
    /// apart: the tree and the data tree neither equal nor hold one another (preparing would move one
    /// into the other), and INPUT is not in the production tree, nor does it hold either tree, where
    /// inventory would take the production's own outputs for frames. INPUT in the data tree (its
    /// default, `DATAMAIN/DCNAME/input`) is allowed.
    private func checkSeparate(tree: String, data: String, input: String) throws {
        func within(_ path: String, _ directory: String) -> Bool { path == directory || path.hasPrefix(directory.hasSuffix("/") ? directory : directory + "/") }
        if within(data, tree) || within(tree, data) {
            let relation = data == tree ? "is" : within(data, tree) ? "is inside" : "holds"
            throw error(at: "DATAMAIN", "DATAMAIN: the data tree \(data) \(relation) the production tree \(tree); give DATAMAIN and MAINDIR separate directories")
        }
        guard single["INPUT"] != nil else { return }
        if within(input, tree) {
            throw error(at: "INPUT", "INPUT \(input) is inside the production tree \(tree); frames live outside it")
        }
        for (name, directory) in [("production", tree), ("data", data)] where within(directory, input) && directory != input {
            throw error(at: "INPUT", "INPUT \(input) holds the \(name) tree \(directory): inventory would read the production's own files as frames")
        }
        if input == data {
            throw error(at: "INPUT", "INPUT \(input) is the data tree itself: inventory would read the production's own files as frames; use a directory of its own, such as \(data)/input")
        }
    }

    private func word(_ key: String) throws -> String? {
        guard let found = single[key] else { return nil }
        guard !found.value.contains(" ") else {
            throw error(found.line, "\(key) takes one value, got '\(found.value)'")
        }
        return found.value
    }

    /// A name that reaches SQL (a database, a user): ASCII letters, digits and `extra`, at most
    /// `length` characters. It is quoted where it is used as well; this keeps a backtick, a quote or
    /// a `;` from ever getting that far, and says so at its line.
    private func name(_ key: String, extra: String, length: Int) throws -> String? {
        guard let value = try word(key) else { return nil }
        guard value.count <= length, value.allSatisfy({ ($0.isASCII && ($0.isLetter || $0.isNumber)) || extra.contains($0) }) else {
            throw error(single[key]!.line, "\(key) '\(value)' must be at most \(length) ASCII letters, digits or \(extra.map { "'\($0)'" }.joined(separator: " "))")
        }
        return value
    }

    private func integer(_ key: String, range: ClosedRange<Int>) throws -> Int? {
        guard let found = single[key] else { return nil }
        guard let number = Int(found.value), range.contains(number) else {
            throw error(found.line, "\(key) '\(found.value)' must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    private func choice<T: RawRepresentable & CaseIterable>(_ key: String, _ type: T.Type) throws -> T? where T.RawValue == String {
        guard let found = single[key] else { return nil }
        if let value = T(rawValue: found.value.lowercased()) { return value }
        let names = T.allCases.map(\.rawValue)
        let hint = nearest(found.value, among: names).map { "; did you mean \($0)?" } ?? ""
        throw error(found.line, "\(key) '\(found.value)' is not one of \(names.joined(separator: ", "))\(hint)")
    }

    private func filters() throws -> [Filter]? {
        guard let found = single["FILTERS"] else { return nil }
        var out: [Filter] = []
        for character in found.value where !" ,".contains(character) {
            guard let filter = Filter(rawValue: String(character)) else {
                throw error(found.line, "FILTERS: '\(character)' is not a filter (u, g, r, i, z)")
            }
            guard !out.contains(filter) else {
                throw error(found.line, "FILTERS: filter \(filter.rawValue) is listed twice")
            }
            out.append(filter)
        }
        return out.sorted()
    }

    private func region() throws -> Region? {
        guard let found = single["REGION"] else { return nil }
        let words = found.value.split(separator: " ")
        guard words.count == 4 else {
            throw error(found.line, "REGION takes four numbers RAMIN RAMAX DECMIN DECMAX, got \(words.count)")
        }
        let numbers = try words.map { word -> Double in
            guard let number = Double(word), number.isFinite else {
                throw error(found.line, "REGION: '\(word)' is not a number")
            }
            return number
        }
        let region = Region(raMin: numbers[0], raMax: numbers[1], decMin: numbers[2], decMax: numbers[3])
        if let why = region.impossibility { throw error(found.line, "impossible REGION: \(why)") }
        return region
    }

    private func perStepValues<T>(_ key: String, defaults: [Step: T], check: (String) -> T?, expected: String) throws -> [Step: T] {
        var out = defaults
        for (step, found) in perStep[key] ?? [:] {
            guard let value = check(found.value) else {
                throw error(found.line, "\(key) \(step.rawValue) '\(found.value)' must be \(expected)")
            }
            out[step] = value
        }
        return out
    }

    /// A walltime `[D-]HH:MM:SS` of at most `Limits.walltimeSeconds`: the days are counted only
    /// once they are known to be few (`BatchResources.seconds` multiplies them).
    static func isWalltime(_ text: String) -> String? {
        let pattern = #/^(?:(\d{1,3})-)?(\d{1,3}):([0-5]\d):([0-5]\d)$/#
        guard text.wholeMatch(of: pattern) != nil, let seconds = BatchResources.seconds(text),
              ProductionConfig.Limits.walltimeSeconds.contains(seconds) else { return nil }
        return text
    }

    /// A memory size of at most `Limits.memoryBytes`, in upper case.
    static func isMemory(_ text: String) -> String? {
        let pattern = #/^[1-9]\d{0,15}[KMGT]?$/#
        let size = text.uppercased()
        guard size.wholeMatch(of: pattern) != nil, let bytes = BatchResources.bytes(size),
              ProductionConfig.Limits.memoryBytes.contains(bytes) else { return nil }
        return size
    }
}
