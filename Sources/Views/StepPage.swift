import Basics
import Foundation
import Planning
import Production
import Sky
import Verification

/// The page of a step (`STEP.html`): DC2013's verification report of every filter, as `verify`
/// prints it, and figures drawn from the state store — outcomes per filter, the sky coloured by
/// outcome, run time and peak memory against what the jobs asked for, events done over time — with
/// the retry history. Rendered from `templates/reports/step.html.mustache`.
struct StepPage {
    let production: Production
    let step: Step
    /// The filters' parts of the activity as `run` last drew them (`StepActivityParts`); nil: all read.
    var kept: StepActivityParts?
    /// The filters' reports as last made (`KeptReports`); nil: all made.
    var keptReports: KeptReports?

    /// The page's context: `production`, `step`, `generated`, one `filters` section per report (see
    /// `reportContext`), `figures` (each a `title` and its inline `svg`), `requeued` and `resubmitted`.
    func context(generated: Date) throws -> [String: Any] {
        let verifier = try Verifier(production: production, step: step)
        let reports = try production.config.filters.map { try verifier.report(filter: $0, kept: keptReports).report }
        let config = production.config
        let activity = try production.store.stepActivity(step: step, walltime: config.walltime[step], memory: config.memory[step],
                                                         separately: Figure.skyMapPointLimit, kept: kept)
        let resubmitted = activity.resubmittedByClass.sorted { $0.key < $1.key }.map { ["className": $0.key, "count": $0.value] as [String: Any] }
        return [
            "step": step.rawValue,
            "filters": reports.map(Self.reportContext),
            "figures": try figures(reports: reports, activity: activity, classes: verifier.classes),
            "hasResubmitted": !resubmitted.isEmpty, "resubmitted": resubmitted,
        ]
    }

    /// The figures, each `["title": …, "svg": …]`.
    private func figures(reports: [VerificationReport], activity: StepActivity, classes: FailureClasses) throws -> [[String: String]] {
        // Outcomes per filter: a segment per class listed in the reports, and the events not run.
        let listed = reports.first?.listedClasses ?? []
        var series = listed.map { c in
            Figure.Series(label: c.label, color: Figure.color(forClass: c.name), values: reports.map { Double($0.count(c.name)) })
        }.filter { $0.values.contains { $0 > 0 } }
        series.append(Figure.Series(label: "not run", color: Figure.color(forClass: EventState.notRun.rawValue),
                                    values: reports.map { Double($0.notRun + $0.inProgress) }))
        let bars = Figure.stackedBars(title: "Outcomes per filter", categories: reports.map(\.filter.rawValue), series: series)

        let map = try skyMap(activity)
        let runTimes = Self.histogram("Run time of the jobs", axis: "seconds", values: activity.attempts.compactMap(\.seconds),
                                      limit: activity.attempts.compactMap(\.requestedSeconds).max().map(Double.init), limitName: "walltime asked")
        let peaks = Self.histogram("Peak memory of the jobs", axis: "MiB", values: activity.attempts.compactMap(\.peakBytes).map { $0 / 1_048_576 },
                                   limit: activity.attempts.compactMap(\.requestedBytes).max().map { $0 / 1_048_576 }, limitName: "memory asked")
        let formatter = ISO8601DateFormatter()
        let done = Figure.cumulative(title: "Events done over time",
                                     counted: activity.endTimes.compactMap { end in formatter.date(from: end.time).map { ($0, end.events) } },
                                     axis: "events")
        return [("Outcomes per filter", bars), ("Where: events on the sky, by outcome", map),
                ("Run time", runTimes), ("Peak memory", peaks), ("Events done over time", done)]
            .map { ["title": $0.0, "svg": $0.1] }
    }

    /// A histogram of what the jobs used, with the limit they asked for drawn where it is in reach (up
    /// to three times the largest use); a limit far beyond (a generous walltime) is said in the title
    /// instead, so that the uses are not squeezed into one bar.
    static func histogram(_ title: String, axis: String, values: [Double], limit: Double?, limitName: String) -> String {
        guard let limit, let largest = values.max(), limit > 3 * largest else {
            return Figure.histogram(title: title, axis: axis, values: values, marker: limit, markerLabel: limit.map { _ in limitName })
        }
        return Figure.histogram(title: "\(title) (\(limitName): \(String(format: "%.0f", limit)) \(axis))", axis: axis, values: values,
                                marker: nil, markerLabel: nil)
    }

    /// Frames at their centres; patches as the sky map's boxes, coloured by outcome; failures drawn
    /// last, over the ok events of the same place.
    private func skyMap(_ activity: StepActivity) throws -> String {
        func color(_ event: StepActivity.Event) -> String {
            Figure.color(forClass: event.state == .ok ? FailureClasses.ok : event.state == .failed ? event.className ?? "failed" : event.state.rawValue)
        }
        var points: [Figure.SkyPoint] = []
        var boxes: [Figure.SkyBox] = []
        var seen: [String: String] = [:]
        let skyMap = step.unit == .patch ? try SkyMap.of(production) : nil
        for event in activity.events.sorted(by: { ($0.state == .ok ? 0 : 1) < ($1.state == .ok ? 0 : 1) }) {
            let outcome = event.state == .failed ? event.className ?? "failed" : event.state.rawValue
            seen[outcome] = color(event)
            let title = event.count == 1 ? "\(event.key) \(event.filter): \(outcome)" : "\(event.count) events: \(outcome)"
            if let ra = event.ra, let dec = event.dec {
                points.append(Figure.SkyPoint(ra: ra, dec: dec, color: color(event), title: title, href: nil, count: event.count))
            } else if let skyMap, let patch = PatchId(key: event.key), let corners = try? skyMap.corners(of: patch) {
                boxes.append(Figure.SkyBox(corners: corners, color: color(event), title: title))
            }
        }
        let legend = seen.sorted { $0.key < $1.key }.map { Figure.Key(label: $0.key, color: $0.value) }
        return Figure.skyMap(title: "\(step.rawValue) events on the sky", points: points, boxes: boxes, legend: legend)
    }

    /// One filter's section: values as the text report words them; HTML escaping is Mustache's.
    static func reportContext(_ report: VerificationReport) -> [String: Any] {
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
            "failures": report.classes.classes.compactMap { c -> [String: Any]? in
                guard let first = report.firstFailures[c.name], !first.isEmpty else { return nil }
                return ["label": c.label, "count": report.count(c.name), "remedy": report.remedy(for: c),
                        "events": first.map { ["event": $0.event, "message": $0.message] }]
            },
        ]
        if report.inProgress > 0 { context["inProgress"] = report.inProgress }
        if let line = report.requeuedLine { context["requeued"] = line }
        return context
    }
}
