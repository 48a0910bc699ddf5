import Basics
import Foundation
import Production
import Synchronization

/// Writes the report's pages under the production's `reports/` (`dcprod report`, and `verify` and
/// `run` when they end), each file written whole under a temporary name and renamed.
public struct ReportWriter: Sendable {
    public let site: ReportSite

    /// The pages of each event list written as files; `dcprod serve` lists every page.
    public static let writtenEventPages = 5

    public init(production: Production) throws {
        site = try ReportSite(production: production)
    }

    var directory: URL { site.production.tree.reportsDirectory }

    /// True once a report has been written: its summary page exists.
    public var hasWritten: Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent(ReportSite.Page.summary.path).path)
    }

    /// Writes every page: the summary, each step's page, the events behind each count (up to
    /// `writtenEventPages` pages per list), the logbook, the accounting and the forecast. The event
    /// lists are made in a new directory that then takes the old one's place, so that no list of an
    /// earlier report is left behind.
    ///
    /// - Returns: The number of pages written.
    /// - Throws: A GRDB `DatabaseError`, `TemplateError`, or a file system error.
    @discardableResult
    public func writeAll(generated: Date = Date()) throws -> Int {
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        let staging = directory.appendingPathComponent(".events.tmp-\(getpid())")
        try? fm.removeItem(at: staging)
        try fm.createDirectory(at: staging, withIntermediateDirectories: true)
        let summary = try site.production.store.taskSummary()
        let written = try writeEventLists(of: summary.rows, in: summary, into: staging, generated: generated)
        let events = directory.appendingPathComponent("events")
        try? fm.removeItem(at: events)
        try fm.moveItem(at: staging, to: events)
        // The pages that read every event or outcome (the forecast, the accounting, each step's figures:
        // seconds each at DC2013's size) are drawn on every core; the summary comes last.
        let pages: [ReportSite.Page] = [.forecast, .accounting]
            + Step.allCases.filter { step in summary.rows.contains { $0.step == step.rawValue } }.map(ReportSite.Page.step) + [.logbook]
        let failures = Mutex([Int: any Error]())
        DispatchQueue.concurrentPerform(iterations: pages.count) { index in
            do { try write(pages[index], generated: generated) } catch { failures.withLock { $0[index] = error } }
        }
        if let first = failures.withLock({ $0 }).min(by: { $0.key < $1.key }) { throw first.value }
        try write(.summary, generated: generated)
        logger.debug("wrote \(written + pages.count + 1) pages under \(directory.path)")
        return written + pages.count + 1
    }

    /// Writes what a verify of `step` changes: the step's page, its event lists and the summary. The
    /// forecast and the accounting, which read every outcome of the production (seconds at DC2013's
    /// size), wait for `dcprod report` or the end of `run`.
    ///
    /// - Throws: A GRDB `DatabaseError`, `TemplateError`, or a file system error.
    public func writeVerified(_ step: Step, generated: Date = Date()) throws {
        let fm = FileManager.default
        let events = directory.appendingPathComponent("events")
        try fm.createDirectory(at: events, withIntermediateDirectories: true)
        // The step's earlier lists go first: a count now at 0 leaves no page behind.
        for name in (try? fm.contentsOfDirectory(atPath: events.path)) ?? [] where name.hasPrefix(step.rawValue + "-") {
            try fm.removeItem(at: events.appendingPathComponent(name))
        }
        let summary = try site.production.store.taskSummary()
        let written = try writeEventLists(of: summary.rows.filter { $0.step == step.rawValue }, in: summary, into: events, generated: generated)
        try write(.step(step), generated: generated)
        try write(.summary, generated: generated)
        logger.debug("wrote \(written + 2) pages of \(step.rawValue) under \(directory.path)")
    }

    /// Writes the lists of events behind each non-zero count of `rows` (up to `writtenEventPages`
    /// pages per list) into `directory`.
    ///
    /// - Returns: The number of pages written.
    private func writeEventLists(of rows: [TaskSummary.Row], in summary: TaskSummary, into directory: URL, generated: Date) throws -> Int {
        var written = 0
        for row in rows {
            guard let step = Step(rawValue: row.step), let filter = Filter(rawValue: row.filter) else { continue }
            let counts = zip(summary.columns.map(\.key), row.counts) + [(TaskSummary.Column.loaded.key, row.loaded), (TaskSummary.Column.stale.key, row.stale)]
            for (column, count) in counts where count > 0 {
                let pages = min(Self.writtenEventPages, (count + EventList.defaultPageSize - 1) / EventList.defaultPageSize)
                for number in 1...max(pages, 1) {
                    let page = ReportSite.Page.events(step: step, filter: filter, column: column, page: number)
                    guard let html = try site.html(page, staticPages: Self.writtenEventPages, generated: generated) else { continue }
                    try AtomicFile.write(Data(html.utf8), to: directory.appendingPathComponent(String(page.path.dropFirst("events/".count))))
                    written += 1
                }
            }
        }
        return written
    }

    /// Writes the page of a step alone: what each pass of `run` changes, between the whole reports
    /// that `dcprod report` and the end of `run` write.
    ///
    /// - Throws: A GRDB `DatabaseError`, `TemplateError`, or a file system error.
    public func writeStep(_ step: Step, generated: Date = Date()) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try write(.step(step), generated: generated)
    }

    private func write(_ page: ReportSite.Page, generated: Date) throws {
        guard let html = try site.html(page, generated: generated) else { return }
        try AtomicFile.write(Data(html.utf8), to: directory.appendingPathComponent(page.path))
    }
}
