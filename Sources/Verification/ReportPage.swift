import Foundation
import Mustache
import Planning
import Production

/// The HTML page of a step's verification, every filter on one page (`reports/STEP.html`), rendered
/// from the production's `templates/reports/step.html.mustache`: a site restyles the page there.
public struct ReportPage {
    /// `templates/reports/step.html.mustache` of the production.
    public let template: URL

    /// Makes the page of a production's templates.
    ///
    /// - Parameter templates: The production's `templates/` directory.
    public init(templates: URL) {
        template = templates.appendingPathComponent("reports/step.html.mustache")
    }

    /// The page for these reports (one per filter, in order), or nil when the production's templates
    /// have no report page (a production prepared before there was one).
    ///
    /// The template gets `production`, `step`, `generated` (ISO 8601) and one `filters` section per
    /// report with its counts, its listed classes (label, count, percent, a bar `width` in em) and its
    /// first "Another problem" messages. Values are HTML-escaped by Mustache.
    ///
    /// - Parameters:
    ///   - production: The production's name, for the title.
    ///   - step: The step the reports are of.
    ///   - reports: The reports of the step's filters, in the order the page shows them.
    ///   - generated: When the page is made, printed on it.
    /// - Returns: The HTML page, or nil when the template file cannot be read.
    /// - Throws: `TemplateError` naming the template when it is not valid Mustache.
    public func render(production: String, step: Step, reports: [VerificationReport], generated: Date = Date()) throws -> String? {
        guard let text = try? String(contentsOf: template, encoding: .utf8) else { return nil }
        let page: MustacheTemplate
        do {
            page = try MustacheTemplate(string: text)
        } catch {
            throw TemplateError(file: template.path, line: 0, message: "not a valid Mustache template: \(error)")
        }
        let context: [String: Any] = [
            "production": production, "step": step.rawValue,
            "generated": ISO8601DateFormatter().string(from: generated),
            "filters": reports.map(Self.context),
        ]
        return page.render(context)
    }

    /// One filter's section: values as the text report words them; HTML escaping is Mustache's.
    static func context(_ report: VerificationReport) -> [String: Any] {
        var context: [String: Any] = [
            "filter": report.filter.rawValue, "total": report.total, "processed": report.processed,
            "notRun": report.notRun, "crashed": report.crashed, "toResubmit": report.retry.count,
            "classes": report.listedClasses.map { c -> [String: Any] in
                let count = report.count(c.name)
                // Bars up to 20em for all the events.
                let width = report.total > 0 ? 20 * Double(count) / Double(report.total) : 0
                return ["label": c.label, "count": count, "percent": VerificationReport.percent(count, of: report.total),
                        "ok": c.name == FailureClasses.ok, "width": String(format: "%.2f", width)]
            },
            "hasAnother": !report.another.isEmpty,
            "another": report.another.map { ["event": $0.event, "message": $0.message] },
        ]
        if report.inProgress > 0 { context["inProgress"] = report.inProgress }
        if let line = report.requeuedLine { context["requeued"] = line }
        return context
    }
}
