import ArgumentParser
import Foundation
import Production

struct Prepare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Create the production tree, data tree, frozen config, state store and logbook from a config file.",
        discussion: """
            The config is the Prepare_To_Run format: one `KEY value` per line, `#` comments. MAINDIR, DCNAME and DATAMAIN \
            are required; `dcprod keys` lists every key and its default. Preparing again with the same config changes \
            nothing; with a different one, prepare refuses and names the keys that differ.
            """)

    @Argument(help: "The config file, e.g. fichconfig.txt.")
    var config: String

    func run() throws {
        try reporting {
            let path = config
            let parsed = try ConfigParser.parse(contentsOf: path)
            let absolute = URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).path
            let (production, outcome) = try Production.prepare(config: parsed, source: absolute, commandLine: typedCommandLine)
            switch outcome {
            case .created:
                print("Production \(parsed.dcName) prepared")
            case .unchanged:
                print("Production \(parsed.dcName) is already prepared with this config; nothing changed")
            }
            print("  tree:    \(production.tree.root.path)")
            print("  data:    \(production.tree.dataRoot.path)")
            print("  input:   \(parsed.input)")
            print("  filters: \(parsed.filters.map(\.rawValue).joined(separator: " "))   region: \(parsed.region)   backend: \(parsed.backend.rawValue)")
            print("  catalog: \(parsed.usesEmbeddedCatalog ? "embedded SQLite" : "\(parsed.dbUser)@\(parsed.dbHost):\(parsed.dbPort)/\(parsed.dbName)")")
        }
    }
}

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keys", abstract: "List every config key, its meaning and its default.")

    func run() {
        for key in ConfigKey.all {
            let form = switch key.shape {
            case .single: "\(key.name) VALUE"
            case .perStep: "\(key.name) STEP VALUE"
            case .repeated: "\(key.name) VALUE   (repeatable)"
            }
            print(form)
            print("    \(key.summary)")
            print("    " + (key.required ? "required" : "default: \(key.defaultText)"))
        }
    }
}
