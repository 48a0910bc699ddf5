import Foundation
import Testing

/// The manual cannot drift from the code: every `$ dcprod` line of a ```` ```console ```` block in
/// README.md and docs/*.md is run, and the code map of docs/architecture.md names exactly the targets
/// under Sources/. docs/architecture.md ("The manual is tested") says how a block is marked.
@Suite struct TheManual {
    /// The repository: README.md, docs/, Package.swift, Sources/, prepare.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    // MARK: - The code map

    @Test func theCodeMapNamesEveryTargetUnderSources() throws {
        let map = try String(contentsOf: Self.root.appendingPathComponent("docs/architecture.md"), encoding: .utf8)
        let mapped = Set(map.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("Sources/") else { return nil }
            return String(line.dropFirst("Sources/".count).prefix { !$0.isWhitespace && $0 != "/" })
        })
        let directories = Set(try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("Sources").path)
            .filter { name in
                var isDirectory: ObjCBool = false
                return !name.hasPrefix(".") && FileManager.default.fileExists(
                    atPath: Self.root.appendingPathComponent("Sources/\(name)").path, isDirectory: &isDirectory) && isDirectory.boolValue
            })
        let targets = try Self.packageTargets()
        #expect(!mapped.isEmpty, "docs/architecture.md has no `Sources/NAME` lines")
        for directory in directories.subtracting(mapped).sorted() {
            Issue.record("Sources/\(directory) is not in docs/architecture.md's code map")
        }
        for name in mapped.subtracting(directories).sorted() {
            Issue.record("docs/architecture.md's code map names Sources/\(name), which does not exist")
        }
        for name in mapped.subtracting(targets).sorted() {
            Issue.record("docs/architecture.md's code map names \(name), which is not a target of Package.swift")
        }
        for name in targets.subtracting(mapped).sorted() {
            Issue.record("Package.swift's target \(name) is not in docs/architecture.md's code map")
        }
    }

    /// The names of Package.swift's targets that are not tests, as the manifest gives them.
    static func packageTargets() throws -> Set<String> {
        let manifest = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: #"\.(target|executableTarget|systemLibrary|macro|plugin|binaryTarget)\(\s*name:\s*"([^"]+)""#)
        let text = manifest as NSString
        return Set(pattern.matches(in: manifest, range: NSRange(location: 0, length: text.length))
            .map { text.substring(with: $0.range(at: 2)) })
    }

    // MARK: - The guarantees

    /// Each promise of docs/guarantees.md names the tests that hold it, in its last column: each named
    /// suite (a type, or a test file) and test function (`Suite.test`, `test`, `prefix…`) exists under Tests/.
    @Test func everyTestAGuaranteeNamesExists() throws {
        let named = try TestNames.check(document: "docs/guarantees.md", header: "| promise")
        #expect(named > 30, "\(named) tests named")
    }

    /// Each row of docs/errors.md names the test that provokes its error (its last column), and the
    /// words its message column quotes (`…`) are checked by a test: they appear in a test's source.
    @Test func everyErrorTheTableNamesIsTested() throws {
        let named = try TestNames.check(document: "docs/errors.md", header: "| kind")
        let text = try String(contentsOf: Self.root.appendingPathComponent("docs/errors.md"), encoding: .utf8)
        let sources = try TestNames.sources().text
        var rows = 0
        for line in text.split(separator: "\n") where line.hasPrefix("| ") && !line.hasPrefix("| kind") && !line.hasPrefix("| ---") {
            let cells = line.replacingOccurrences(of: "\\|", with: "¦").split(separator: "|", omittingEmptySubsequences: false)
            guard cells.count >= 6 else {
                Issue.record("docs/errors.md: a row without its five cells: \(line)")
                continue
            }
            rows += 1
            let quoted = TestNames.codeSpans(in: String(cells[3]))
            #expect(!quoted.isEmpty, "docs/errors.md: the message of row \(cells[1].trimmingCharacters(in: .whitespaces)) quotes no words")
            for words in quoted {
                #expect(sources.contains(words.replacingOccurrences(of: "¦", with: "|")),
                        "docs/errors.md quotes the message `\(words)`: no test checks these words")
            }
        }
        #expect(named >= rows, "\(named) tests named for \(rows) rows")
    }

    // MARK: - The synopses

    /// The verbs and options named in the text (`dcprod pipe coadd --tract 0 …`, `submit --hold`) exist:
    /// `dcprod VERB --help` answers, and lists each option.
    @Test func everyVerbAndOptionTheTextNamesExists() throws {
        let spans = try Manual.inlineCommands()
        #expect(spans.count > 20, "\(spans.count) synopses found")
        let verbs = Set(spans.filter { $0.words.first == "dcprod" }.compactMap { $0.words.dropFirst().first })
        var help: [[String]: DCProd.Result] = [:]
        for span in spans {
            var words = span.words
            if words.first == "dcprod" {
                words.removeFirst()
            } else if !(words.count > 1 && verbs.contains(words[0]) && words[1].hasPrefix("--")) {
                continue
            }
            // `dcprod help VERB` is ArgumentParser's own; a capitalised word is a placeholder.
            guard let verb = words.first, verb.first?.isLowercase == true, verb != "help" else { continue }
            let path = ["pipe", "job"].contains(verb) && words.count > 1 && words[1].first?.isLowercase == true
                ? Array(words.prefix(2)) : [verb]
            if help[path] == nil { help[path] = try DCProd.run(path + ["--help"], in: FileManager.default.temporaryDirectory) }
            let answer = help[path]!
            // An unknown verb's --help is the top-level help: its usage line names no verb.
            #expect(answer.status == 0 && answer.stdout.contains("USAGE: dcprod \(path.joined(separator: " "))"),
                    "\(span.place): `dcprod \(path.joined(separator: " "))` is not a verb\n\(answer.stderr)")
            for option in words.dropFirst(path.count) where option.hasPrefix("--") {
                let name = String(option.prefix { $0 != "=" })
                #expect(answer.stdout.range(of: NSRegularExpression.escapedPattern(for: name) + "(?![-A-Za-z0-9])", options: .regularExpression) != nil,
                        "\(span.place): `dcprod \(path.joined(separator: " "))` has no option \(name)")
            }
        }
    }

    // MARK: - The commands

    /// README.md's tour makes the demo production (the config of `./prepare --demo`), and every
    /// command of every block that needs no service runs in it, in the order of the files.
    @Test func everyCommandOfTheManualRunsOnTheDemoProduction() throws {
        let all = try Manual.blocks()
        for block in all where block.language == "console" && !block.services.isSubset(of: Manual.services) {
            Issue.record("\(block.file):\(block.line): a console block for \(block.services.sorted()), which no test runs")
        }
        let blocks = all.filter { $0.services.isEmpty }
        let tour = try blocks.filter { $0.file == "README.md" && $0.language == "console" }.flatMap { try $0.commands }
        #expect(!tour.isEmpty, "README.md's tour has no console block")
        let work = try Workspace()
        try work.write(try Manual.demoConfig(in: work), to: "fichconfig.txt")
        try Manual.run(blocks, in: work)
    }

    @Test(.enabled(if: TestCluster.slurm.started || TestCluster.inCI, "no test Slurm cluster (Tests/run starts one)"),
          .usingCluster("DCPROD_TEST_SLURM_DIR"))
    func theSlurmCommandsRunOnTheTestCluster() throws {
        try Manual.runOnCluster(.slurm, service: "slurm")
    }

    @Test(.enabled(if: TestCluster.gridEngine.started || TestCluster.inCI, "no test Grid Engine cell (Tests/run starts one)"),
          .usingCluster("DCPROD_TEST_SGE_DIR"))
    func theGridEngineCommandsRunOnTheTestCell() throws {
        try Manual.runOnCluster(.gridEngine, service: "sge")
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["DCPROD_TEST_MARIADB_DEFAULTS"] != nil || TestCluster.inCI,
                   "no private MariaDB (Tests/run starts one)"))
    func theMariaDBCommandsRunOnThePrivateServer() throws {
        let blocks = try Manual.blocks().filter { $0.services == ["mariadb"] }
        try #require(!blocks.isEmpty, "no ```console mariadb block in the manual")
        let catalog = try ProductionRun.catalogConfig("mariadb")
        let defaults = try #require(ProcessInfo.processInfo.environment["DCPROD_TEST_MARIADB_DEFAULTS"])
        // As a user keeps it: the password in the client's environment, not on the command line.
        let password = try #require(try ProductionRun.password(inDefaultsFile: defaults), "no password in \(defaults)")
        let work = try Workspace()
        try SeedPatch.prepare(work, filters: "r", frames: 3, seed: 5, defects: 0, extra: catalog.lines)
        try Manual.run(blocks, in: work, environment: ["MYSQL_PWD": password])
    }
}

/// The manual's blocks and how they are run.
enum Manual {
    /// What a ```` ```console ```` block may name after its language: the services it needs.
    static let services: Set<String> = ["slurm", "sge", "mariadb"]

    /// One fenced block of a file: its info string's words after the language, and its lines.
    struct Block {
        var file: String
        var line: Int
        var language: String
        var services: Set<String>
        var lines: [(number: Int, text: String)]

        /// The `$ dcprod` lines, each with what follows it up to the next command.
        var commands: [Command] {
            get throws {
                var commands: [Command] = []
                for (number, text) in lines {
                    if text.hasPrefix("$ ") {
                        commands.append(try Command(text, at: "\(file):\(number)"))
                    } else if text.hasPrefix("dcprod: error:"), !commands.isEmpty {
                        commands[commands.count - 1].errors.append(text)
                    }
                }
                return commands
            }
        }
    }

    /// A `$ dcprod …` line: its words, and what its comment says of its exit status.
    struct Command {
        var place: String
        var arguments: [String]
        var status: Int32 = 0
        /// `# … until stopped …`: it runs until a signal ends it (`dcprod serve`).
        var runsUntilStopped = false
        /// The `dcprod: error:` lines shown after it, which its standard error must hold.
        var errors: [String] = []

        init(_ line: String, at place: String) throws {
            self.place = place
            let (words, comment) = try Manual.words(of: String(line.dropFirst(2)), at: place)
            guard words.first == "dcprod", words.count > 1 else {
                throw TestFailure("\(place): a console block runs dcprod only; show other commands in a ```text block: \(line)")
            }
            arguments = Array(words.dropFirst())
            if let comment {
                if let match = comment.range(of: #"exit status (\d+)"#, options: .regularExpression) {
                    status = Int32(comment[match].split(separator: " ").last!)!
                }
                runsUntilStopped = comment.contains("until stopped")
            }
        }
    }

    /// The files of the manual, in the order their commands run: README.md, then docs/ by name.
    static func files() throws -> [String] {
        let docs = try FileManager.default.contentsOfDirectory(atPath: TheManual.root.appendingPathComponent("docs").path)
            .filter { $0.hasSuffix(".md") }.sorted()
        return ["README.md"] + docs.map { "docs/\($0)" }
    }

    /// Every fenced block of the manual.
    static func blocks() throws -> [Block] {
        var blocks: [Block] = []
        for file in try files() {
            let text = try String(contentsOf: TheManual.root.appendingPathComponent(file), encoding: .utf8)
            var current: Block?
            for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                // A fence, as CommonMark has it: three backquotes or more, and none in its info string.
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.hasPrefix("```"), !trimmed.drop(while: { $0 == "`" }).contains("`") {
                    if let block = current {
                        blocks.append(block)
                        current = nil
                    } else {
                        let info = trimmed.drop(while: { $0 == "`" }).split(separator: " ").map(String.init)
                        current = Block(file: file, line: index + 1, language: info.first ?? "",
                                        services: Set(info.dropFirst()), lines: [])
                    }
                } else if current != nil {
                    current!.lines.append((index + 1, String(line)))
                }
            }
            if let open = current { throw TestFailure("\(file):\(open.line): a block that is never closed") }
        }
        return blocks
    }

    /// The inline code spans of the text (outside fenced blocks) that are commands: each part of
    /// `a && b`, as words (quotes kept out of the way: only verbs and options are read).
    static func inlineCommands() throws -> [(place: String, words: [String])] {
        var spans: [(String, [String])] = []
        let pattern = try NSRegularExpression(pattern: "`([^`]+)`")
        for file in try files() {
            let text = try String(contentsOf: TheManual.root.appendingPathComponent(file), encoding: .utf8)
            var fenced = false
            for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.hasPrefix("```"), !trimmed.drop(while: { $0 == "`" }).contains("`") { fenced.toggle(); continue }
                guard !fenced else { continue }
                let string = String(line) as NSString
                for match in pattern.matches(in: String(line), range: NSRange(location: 0, length: string.length)) {
                    for part in string.substring(with: match.range(at: 1)).components(separatedBy: "&&") {
                        let words = part.split(separator: " ").map(String.init)
                        if !words.isEmpty { spans.append(("\(file):\(index + 1)", words)) }
                    }
                }
            }
        }
        return spans
    }

    /// The config `./prepare --demo` writes (its here-document), for a demo in `work`.
    static func demoConfig(in work: Workspace) throws -> String {
        let script = try String(contentsOf: TheManual.root.appendingPathComponent("prepare"), encoding: .utf8)
        guard let start = script.range(of: "<<CONF\n"), let end = script.range(of: "\nCONF\n", range: start.upperBound..<script.endIndex) else {
            throw TestFailure("prepare has no `<<CONF` here-document: the demo's config is not where the test reads it")
        }
        return script[start.upperBound..<end.lowerBound].replacingOccurrences(of: "$dir", with: work.url.path) + "\n"
    }

    /// Runs the commands of `blocks` in `work`, after writing the files of the ```` ```text NAME ```` blocks.
    static func run(_ blocks: [Block], in work: Workspace, environment: [String: String] = [:]) throws {
        for block in try Self.blocks() where block.language == "text" && block.services.count == 1 {
            let name = block.services.first!
            guard !name.contains("/"), name.contains("."),
                  !FileManager.default.fileExists(atPath: work.url.appendingPathComponent(name).path) else { continue }
            try work.write(block.lines.map(\.text).joined(separator: "\n") + "\n", to: name)
        }
        for block in blocks where block.language == "console" {
            for command in try block.commands {
                try run(command, in: work, environment: environment)
            }
        }
    }

    static func run(_ command: Command, in work: Workspace, environment: [String: String]) throws {
        let shown = "dcprod " + command.arguments.joined(separator: " ")
        if command.runsUntilStopped {
            let status = try runUntilItSpeaks(command.arguments, in: work.url, environment: environment)
            #expect(status == command.status, "\(command.place): `\(shown)` stopped by SIGINT exited \(status)")
            return
        }
        let result = try DCProd.run(command.arguments, in: work.url, environment: environment)
        #expect(result.status == command.status,
                "\(command.place): `\(shown)` exited \(result.status), the manual says \(command.status)\n\(result.stderr)")
        for error in command.errors {
            #expect(result.stderr.contains(error), "\(command.place): `\(shown)` did not say \(error)\n\(result.stderr)")
        }
    }

    /// Starts a command that runs until stopped, waits for its first line (at most 60 s), stops it
    /// with SIGINT and returns its exit status.
    static func runUntilItSpeaks(_ arguments: [String], in directory: URL, environment: [String: String]) throws -> Int32 {
        let process = DCProd.process(arguments, in: directory, environment: environment)
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        let spoke = DispatchSemaphore(value: 0)
        out.fileHandleForReading.readabilityHandler = { handle in
            if !handle.availableData.isEmpty { spoke.signal() }
        }
        try process.run()
        let answered = spoke.wait(timeout: .now() + 60) == .success
        out.fileHandleForReading.readabilityHandler = nil
        process.interrupt()
        process.waitUntilExit()
        if !answered { Issue.record("dcprod \(arguments.joined(separator: " ")) printed nothing in 60 s") }
        return process.terminationStatus
    }

    /// The words of a command line as a POSIX shell splits them (quotes, backslashes), and its comment.
    /// The line is one simple command: an unquoted `|` ends what is run (`| head -8` shows less of it);
    /// `;`, `&`, `<`, `>`, `$` and backquotes unquoted are refused, since the test would not do what a
    /// shell does with them.
    static func words(of line: String, at place: String) throws -> (words: [String], comment: String?) {
        var words: [String] = []
        var word: String?
        var characters = Substring(line)
        func refuse(_ what: Character) -> TestFailure {
            TestFailure("\(place): `\(what)` outside quotes: write one simple dcprod command a line")
        }
        while let c = characters.popFirst() {
            switch c {
            case " ", "\t":
                if let w = word { words.append(w); word = nil }
            case "#" where word == nil:
                return (words, String(characters))
            case "|":
                if let w = word { words.append(w) }
                let rest = characters.firstIndex(of: "#").map { String(characters[characters.index(after: $0)...]) }
                return (words, rest)
            case ";", "&", "<", ">", "$", "`", "(", ")":
                throw refuse(c)
            case "'":
                guard let end = characters.firstIndex(of: "'") else { throw TestFailure("\(place): an unclosed ' quote") }
                word = (word ?? "") + characters[..<end]
                characters = characters[characters.index(after: end)...]
            case "\"":
                var quoted = ""
                var closed = false
                while let d = characters.popFirst() {
                    if d == "\"" { closed = true; break }
                    if d == "\\", let next = characters.first, "$`\"\\".contains(next) {
                        quoted.append(characters.removeFirst())
                    } else if d == "$" || d == "`" {
                        throw refuse(d)
                    } else {
                        quoted.append(d)
                    }
                }
                guard closed else { throw TestFailure("\(place): an unclosed \" quote") }
                word = (word ?? "") + quoted
            case "\\":
                if let next = characters.popFirst() { word = (word ?? "") + String(next) }
            default:
                word = (word ?? "") + String(c)
            }
        }
        if let w = word { words.append(w) }
        return (words, nil)
    }

    /// The blocks of a batch system, on a production of a few frames on its test cluster (inventoried,
    /// not planned, with the embedded catalog).
    static func runOnCluster(_ cluster: TestCluster, service: String) throws {
        let blocks = try Manual.blocks().filter { $0.services == [service] }
        try #require(!blocks.isEmpty, "no ```console \(service) block in the manual")
        let work = try Workspace()
        _ = try cluster.prepare(work, filters: "r", eventsPerJob: 2, frames: 4, plan: false, embeddedCatalog: true)
        try run(blocks, in: work)
    }
}

/// The tests a document's table names in its last column.
enum TestNames {
    static var root: URL { TheManual.root }

    /// Every Swift source under Tests/, joined, and the names of its files.
    static func sources() throws -> (text: String, files: Set<String>) {
        var text = ""
        var files: Set<String> = []
        let walker = FileManager.default.enumerator(at: root.appendingPathComponent("Tests"), includingPropertiesForKeys: nil)
        while let url = walker?.nextObject() as? URL {
            guard url.pathExtension == "swift" else { continue }
            text += try String(contentsOf: url, encoding: .utf8) + "\n"
            files.insert(url.deletingPathExtension().lastPathComponent)
        }
        return (text, files)
    }

    /// The text of each `…` span of `text`.
    static func codeSpans(in text: String) -> [String] {
        let code = try! NSRegularExpression(pattern: "`([^`]+)`")
        return code.matches(in: text, range: NSRange(location: 0, length: (text as NSString).length))
            .map { (text as NSString).substring(with: $0.range(at: 1)) }
    }

    /// Checks that each suite (a type, or a test file) and test function (`Suite.test`, `test`,
    /// `prefix…`) named in the last column of the table rows of `document` exists under Tests/;
    /// returns how many were named. `header` starts the table's header row.
    static func check(document: String, header: String) throws -> Int {
        let text = try String(contentsOf: root.appendingPathComponent(document), encoding: .utf8)
        let (sources, files) = try sources()
        var named = 0
        for line in text.split(separator: "\n") where line.hasPrefix("| ") && !line.hasPrefix(header) {
            // `\|` is a `|` inside a cell.
            guard let column = line.replacingOccurrences(of: "\\|", with: "¦").split(separator: "|").last.map(String.init) else { continue }
            for token in codeSpans(in: column) {
                let parts = token.split(separator: ".").map(String.init)
                if token.hasSuffix(".swift") {
                    let file = URL(fileURLWithPath: token).deletingPathExtension().lastPathComponent
                    #expect(files.contains(file), "\(document) names \(token): no such file under Tests/")
                    named += 1
                    continue
                }
                // A suite, `Suite.test`, or a test function (camelCase: `load` is a verb, not a test).
                guard token.range(of: #"^([A-Z][A-Za-z]*(\.[a-z][A-Za-z]*)?|[a-z]+[A-Z][A-Za-z]*)…?$"#, options: .regularExpression) != nil else { continue }
                var function: String?
                if parts.count == 2 || parts[0].first!.isLowercase { function = parts.last! }
                if parts[0].first!.isUppercase {
                    let suite = parts[0].replacingOccurrences(of: "…", with: "")
                    #expect(files.contains(suite) || sources.range(of: #"(struct|enum|extension|class) "# + suite + #"\b"#, options: .regularExpression) != nil,
                            "\(document) names \(token): no suite or test file \(suite) under Tests/")
                }
                if let function {
                    let name = function.replacingOccurrences(of: "…", with: "")
                    let pattern = "func " + name + (function.hasSuffix("…") ? "" : #"\("#)
                    #expect(sources.range(of: pattern, options: .regularExpression) != nil,
                            "\(document) names \(token): no test function \(name) under Tests/")
                }
                named += 1
            }
        }
        return named
    }
}
