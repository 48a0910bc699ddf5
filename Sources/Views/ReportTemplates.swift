import Basics
import Foundation
import Mustache
import Production

/// The Mustache templates of the report pages: every `templates/reports/NAME.mustache` of the
/// production, registered as `NAME` (`index.html`, `step.html`, the partial `head`), so that a site
/// restyles its pages there. A page the production's copy lacks (a production prepared before the
/// page existed) comes from dcprod's own `templates/reports/`.
struct ReportTemplates: Sendable {
    let library: MustacheLibrary

    /// Reads the templates of a production's tree.
    ///
    /// - Parameter templates: The production's `templates/` directory.
    /// - Throws: `TemplateError` naming the file when one is not valid Mustache.
    init(templates: URL) throws {
        var library = MustacheLibrary()
        let shipped = try? Templates.source().appendingPathComponent("reports")
        // dcprod's first, then the production's own over them.
        for directory in [shipped, templates.appendingPathComponent("reports")].compactMap({ $0 }) {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            for name in names.sorted() where name.hasSuffix(".mustache") {
                let file = directory.appendingPathComponent(name)
                guard let text = try? String(contentsOf: file, encoding: .utf8) else { continue }
                do {
                    try library.register(text, named: String(name.dropLast(".mustache".count)))
                } catch {
                    throw TemplateError(file: file.path, line: 0, message: "not a valid Mustache template: \(error)")
                }
            }
        }
        self.library = library
    }

    /// The page of template `name` for a context.
    ///
    /// - Throws: `TemplateError` when no such template exists.
    func render(_ name: String, _ context: [String: Any]) throws -> String {
        guard let page = library.render(context, withTemplate: name) else {
            throw TemplateError(file: "templates/reports/\(name).mustache", line: 0, message: "no such report template")
        }
        return page
    }
}
