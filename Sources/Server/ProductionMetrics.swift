import Foundation
import Production
import Prometheus

/// A production's numbers in the Prometheus text format, for a computing centre's monitoring: events
/// by step, filter and state (the task summary's columns), jobs by the state of their latest attempt,
/// core-hours, and when the production last moved. A new registry per reading, so that a state no
/// longer present is not reported with its old value.
///
/// It reads only what it reports — the task summary, the jobs' states, the core-hours, the frames —
/// not the whole `status` and `accounting` (which read every outcome), and the text is kept until the
/// state store changes (`StoreReadings`): scrapes between two commits cost nothing.
struct ProductionMetrics {
    let production: Production

    func text() throws -> String {
        try production.store.readings.value("metrics") { try read() }
    }

    private func read() throws -> String {
        let store = production.store
        let registry = PrometheusCollectorRegistry()
        let summary = try store.taskSummary()
        for row in summary.rows {
            let labels = [("step", row.step), ("filter", row.filter)]
            for (column, count) in zip(summary.columns, row.counts) {
                Self.gauge(registry, "events", "Events by step, filter and state (a failure class: failed.CLASS)", labels: labels + [("state", column.key)]).set(Double(count))
            }
            Self.gauge(registry, "events_loaded", "Ok events whose results the catalog holds", labels: labels).set(Double(row.loaded))
            Self.gauge(registry, "events_stale", "Events planned on inputs redone since", labels: labels).set(Double(row.stale))
        }
        for job in try store.jobCounts() {
            Self.gauge(registry, "jobs", "Jobs by the state of their latest attempt", labels: [("step", job.step), ("filter", job.filter), ("state", job.state)]).set(Double(job.count))
        }
        for line in try store.coreHours() {
            Self.gauge(registry, "core_hours", "CPU hours used, from the batch accounting or the runner's own times", labels: [("step", line.step), ("filter", line.filter)]).set(line.hours)
        }
        if let last = summary.totals.lastActivity, let date = ISO8601DateFormatter().date(from: last) {
            Self.gauge(registry, "last_activity_timestamp_seconds", "When an attempt of the production was last submitted or ended (Unix time)").set(date.timeIntervalSince1970)
        }
        Self.gauge(registry, "frames", "Frames inventoried").set(Double(try store.frameCount()))
        return registry.emitToString()
    }

    /// The gauge `dcprod_NAME` with its labels.
    static func gauge(_ registry: PrometheusCollectorRegistry, _ name: String, _ help: String, labels: [(String, String)] = []) -> Gauge {
        registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "dcprod", metricName: name, unitName: "", helpText: help), labels: labels)
    }
}
