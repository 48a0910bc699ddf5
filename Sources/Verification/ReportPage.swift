import Foundation
import Mustache
import Planning
import Production

/// The HTML page of a step's verification, every filter on one page (`reports/STEP.html`), rendered
/// from the production's `templates/reports/step.html.mustache`: a site restyles the page there.
public struct ReportPage {
    public let template: URL

    public init(templates: URL) {
        template = templates.appendingPathComponent("reports/step.html.mustache")
    }

    /// The page for these reports (one per filter, in order), or nil when the production's templates
    /// have no report page (a production prepared before there was one).
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
