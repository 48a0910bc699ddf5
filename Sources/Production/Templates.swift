import Foundation

/// dcprod's `templates/` directory — batch scripts, step commands, failure rules — and its copy
/// in each production tree, which is what that production uses.
public enum Templates {
    /// `DCPROD_TEMPLATES`, else the nearest `templates/` holding `steps/` at or above the directory
    /// of the running executable (a checkout's `.build/CONFIG/dcprod` finds the checkout's).
    public static func source(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> URL {
        if let given = environment["DCPROD_TEMPLATES"], !given.isEmpty {
            return URL(fileURLWithPath: given)
        }
        let executable = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
        var directory = executable.resolvingSymlinksInPath().deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("templates")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("steps").path) { return candidate }
            directory.deleteLastPathComponent()
        }
        throw TemplatesError.notFound(executable.path)
    }

    /// Copies dcprod's templates into `directory` unless it already holds them.
    public static func install(into directory: URL) throws {
        let fm = FileManager.default
        guard !fm.fileExists(atPath: directory.path) else { return }
        let source = try source()
        let staging = directory.deletingLastPathComponent().appendingPathComponent(".templates.tmp-\(getpid())")
        try? fm.removeItem(at: staging)
        try fm.copyItem(at: source, to: staging)
        try fm.moveItem(at: staging, to: directory)
    }
}

public enum TemplatesError: Error, CustomStringConvertible {
    case notFound(String)
    public var description: String {
        switch self {
        case .notFound(let executable):
            return "cannot find dcprod's templates/ directory above \(executable); set DCPROD_TEMPLATES to it"
        }
    }
}
