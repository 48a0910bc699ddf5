import Basics
import Foundation
import Production
import Verification

/// The report of a production as pages: the task summary (`index.html`), a page per step
/// (`STEP.html`), the events behind each count (`events/STEP-FILTER-COLUMN-PAGE.html`), the logbook
/// (`logbook.html`), the accounting (`accounting.html`) and the forecast (`forecast.html`).
///
/// Every page is drawn from the state store when asked for: `dcprod report` writes them all under
/// `reports/`, `dcprod serve` answers each request with the page of its path. Links are relative,
/// so that the written files and the served pages are the same site.
public struct ReportSite: Sendable {
    public let production: Production
    let templates: ReportTemplates
    /// Each filter's part of the step pages' figures as this site last drew them: a step's page drawn
    /// again (by `run` after a pass, by `serve` at the next request) reads again only the filters that
    /// changed since, not every event and attempt of the step (seconds at DC2013's size).
    let kept = StepActivityParts()
    /// Each step's and filter's report as last made: a step's page drawn again makes again only the
    /// reports whose stamp changed (`Verifier.report(filter:kept:)`); `run` shares them with its passes.
    public let keptReports = KeptReports()

    /// The site of a production, with the report templates of its tree.
    ///
    /// - Throws: `TemplateError` naming a template that is not valid Mustache.
    public init(production: Production) throws {
        self.production = production
        templates = try ReportTemplates(templates: production.tree.templatesDirectory)
    }

    /// A page of the site.
    public enum Page: Equatable, Sendable {
        case summary
        case step(Step)
        case events(step: Step, filter: Filter, column: String, page: Int)
        case logbook
        case accounting
        case forecast

        /// The page's path under `reports/` (and under the server's root).
        public var path: String {
            switch self {
            case .summary: "index.html"
            case .step(let step): "\(step.rawValue).html"
            case .events(let step, let filter, let column, let page): "events/\(step.rawValue)-\(filter.rawValue)-\(column)-\(page).html"
            case .logbook: "logbook.html"
            case .accounting: "accounting.html"
            case .forecast: "forecast.html"
            }
        }

        /// The page at a path, or nil for a path that is none of the site's (never a file name).
        public init?(path: String) {
            switch path {
            case "", "index.html": self = .summary
            case "logbook.html": self = .logbook
            case "accounting.html": self = .accounting
            case "forecast.html": self = .forecast
            default:
                if path.hasSuffix(".html"), let step = Step(rawValue: String(path.dropLast(5))) {
                    self = .step(step)
                    return
                }
                guard path.hasPrefix("events/"), path.hasSuffix(".html") else { return nil }
                // STEP-FILTER-COLUMN-PAGE: a step and a filter have no dash; a column may.
                let name = path.dropFirst("events/".count).dropLast(".html".count)
                let parts = name.split(separator: "-", omittingEmptySubsequences: false)
                guard parts.count >= 4, let step = Step(rawValue: String(parts[0])), let filter = Filter(rawValue: String(parts[1])),
                      let page = Int(parts[parts.count - 1]), page >= 1 else { return nil }
                let column = parts[2..<(parts.count - 1)].joined(separator: "-")
                guard column.allSatisfy({ $0.isLetter || $0.isNumber || "-._".contains($0) }) else { return nil }
                self = .events(step: step, filter: filter, column: column, page: page)
            }
        }

        /// The prefix that leads from the page back to the site's root, for relative links.
        var root: String { if case .events = self { "../" } else { "" } }
    }

    /// The HTML of a page, or nil when the page does not exist (an event list of a column the
    /// summary has not).
    ///
    /// - Parameters:
    ///   - page: The page.
    ///   - staticPages: The number of pages of each event list written as files, for the note on a
    ///     written list's last page; nil when served (every page is there).
    ///   - generated: When the page is made, printed on it.
    /// - Throws: A GRDB `DatabaseError` when the state store cannot be read; `TemplateError`.
    public func html(_ page: Page, staticPages: Int? = nil, generated: Date = Date()) throws -> String? {
        var context: [String: Any]
        switch page {
        case .summary:
            context = try SummaryPage(store: production.store).context()
        case .step(let step):
            context = try StepPage(production: production, step: step, kept: kept, keptReports: keptReports).context(generated: generated)
        case .events(let step, let filter, let column, let number):
            guard let list = try production.store.eventList(step: step, filter: filter, column: column, page: number) else { return nil }
            context = EventListPage.context(list, staticPages: staticPages, tree: production.tree.root.path)
        case .logbook:
            context = ["entries": try production.logbook.records().map(LogbookPage.context)]
        case .accounting:
            context = AccountingPage.context(try production.store.accounting())
        case .forecast:
            context = ForecastPage.context(try Forecast.make(for: production))
        }
        context["production"] = production.config.dcName
        context["generated"] = ISO8601DateFormatter().string(from: generated)
        context["root"] = page.root
        context["steps"] = Step.allCases.map { ["name": $0.rawValue] }
        return try templates.render(Self.template(of: page), context)
    }

    /// The template a page is drawn from.
    static func template(of page: Page) -> String {
        switch page {
        case .summary: "index.html"
        case .step: "step.html"
        case .events: "events.html"
        case .logbook: "logbook.html"
        case .accounting: "accounting.html"
        case .forecast: "forecast.html"
        }
    }
}
