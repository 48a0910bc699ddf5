import Basics
import Foundation
import Production

/// The landing page's context: the task summary (`StateStore.taskSummary()`, the same value
/// `dcprod status` prints), each non-zero count of a step and filter a link to its events.
struct SummaryPage {
    let store: StateStore

    /// `columns` (label, failure), `rows` and `totals` (step, filter, `cells` with count, href,
    /// failure; total, loaded, stale, lastActivity), `frames`, `jobs` (state and count).
    func context() throws -> [String: Any] {
        let summary = try store.taskSummary()
        func link(_ row: TaskSummary.Row, _ column: TaskSummary.Column, _ count: Int) -> [String: Any] {
            var cell: [String: Any] = ["count": count, "failure": column.isFailure && count > 0, "key": column.key]
            if count > 0, let step = Step(rawValue: row.step), let filter = Filter(rawValue: row.filter) {
                cell["href"] = ReportSite.Page.events(step: step, filter: filter, column: column.key, page: 1).path
            }
            return cell
        }
        func rowContext(_ row: TaskSummary.Row) -> [String: Any] {
            [
                "step": row.step, "filter": row.filter,
                "cells": zip(summary.columns, row.counts).map { link(row, $0, $1) },
                "total": row.total, "loaded": link(row, .loaded, row.loaded), "stale": link(row, .stale, row.stale),
                "lastActivity": row.lastActivityText,
            ]
        }
        var totals = rowContext(summary.totals)
        totals["cells"] = summary.totals.counts.map { ["count": $0] }
        totals["loaded"] = ["count": summary.totals.loaded]
        totals["stale"] = ["count": summary.totals.stale]
        return [
            "columns": summary.columns.map { ["label": $0.label, "key": $0.key, "failure": $0.isFailure] },
            "rows": summary.rows.map(rowContext),
            "totals": totals,
            "hasEvents": !summary.rows.isEmpty,
        ]
    }
}

/// A page of the events behind one count.
enum EventListPage {
    /// `step`, `filter`, `column`, `count`, `page`, `pages`, `entries`, `previous`/`next` links, and
    /// for a written list whose later pages were not written, `moreServed`.
    static func context(_ list: EventList, staticPages: Int?, tree: String) -> [String: Any] {
        func href(_ page: Int) -> String? {
            guard let step = Step(rawValue: list.step), let filter = Filter(rawValue: list.filter), (1...list.pages).contains(page),
                  staticPages.map({ page <= $0 }) ?? true else { return nil }
            // From one event page to another: both are under events/.
            return String(ReportSite.Page.events(step: step, filter: filter, column: list.column, page: page).path.dropFirst("events/".count))
        }
        var context: [String: Any] = [
            "step": list.step, "filter": list.filter, "column": list.column, "count": list.count, "tree": tree,
            "label": TaskSummary.Column(key: list.column, label: list.column, isFailure: false).failureClass.map { "failed: \($0)" } ?? list.column,
            "page": list.page, "pages": list.pages, "first": (list.page - 1) * list.pageSize + 1,
            "entries": list.entries.map { entry -> [String: Any] in
                [
                    "key": entry.key, "job": entry.job ?? "-", "attempt": entry.attempt.map(String.init) ?? "-",
                    "host": entry.host ?? "-", "seconds": entry.seconds.map { String(format: "%.1f", $0) } ?? "-",
                    "peakMemory": entry.peakMemory ?? "-", "className": entry.className ?? "-",
                    "message": entry.message ?? "", "log": entry.log.map { Self.relative($0, to: tree) } ?? "-",
                ]
            },
        ]
        if let previous = href(list.page - 1) { context["previous"] = previous }
        if let next = href(list.page + 1) { context["next"] = next }
        if let staticPages, list.page == staticPages, list.pages > staticPages {
            context["moreServed"] = list.pages - staticPages
        }
        return context
    }

    /// A path under the production's tree as relative to it, to keep the table narrow.
    static func relative(_ path: String, to tree: String) -> String {
        path.hasPrefix(tree + "/") ? String(path.dropFirst(tree.count + 1)) : path
    }
}

/// One logbook entry's context.
enum LogbookPage {
    static func context(_ record: LogbookRecord) -> [String: Any] {
        ["day": record.day, "time": record.time, "who": record.who, "command": record.command, "summary": record.summary]
    }
}

/// The accounting page's context: DC2013's data-volume table, computed.
enum AccountingPage {
    static func context(_ accounting: ProductionAccounting) -> [String: Any] {
        let lines = accounting.lines.map { line -> [String: Any] in
            [
                "step": line.step, "filter": line.filter, "jobs": line.jobs, "attempts": line.attempts, "events": line.events,
                "ok": line.ok, "coreHours": String(format: "%.3f", line.coreHours), "accounted": line.accountedAttempts,
                "read": ProductionAccounting.text(line.inputs), "written": ProductionAccounting.text(line.outputs), "rowsLoaded": line.rowsLoaded,
            ]
        }
        return ["lines": lines, "coreHours": String(format: "%.3f", accounting.lines.map(\.coreHours).reduce(0, +)),
                "written": ProductionAccounting.bytes(accounting.lines.flatMap(\.outputs).map(\.bytes).reduce(0, +)),
                "rowsLoaded": accounting.lines.map(\.rowsLoaded).reduce(0, +)]
    }
}
