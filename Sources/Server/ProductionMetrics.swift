import Foundation
import Production
import Prometheus

/// A production's numbers in the Prometheus text format, for a computing centre's monitoring: events
/// by step, filter and state (the task summary's columns), jobs by the state of their latest attempt,
/// core-hours, and when the production last moved. A new registry per scrape, so that a state no
/// longer present is not reported with its old value.
struct ProductionMetrics {
    let production: Production

    func text() throws -> String {
        let registry = PrometheusCollectorRegistry()
        let summary = try production.store.taskSummary()
        let status = try production.store.status(production: production.config.dcName, tree: production.tree.root.path)
        for row in summary.rows {
            let labels = [("step", row.step), ("filter", row.filter)]
            for (column, count) in zip(summary.columns, row.counts) {
                Self.gauge(registry, "events", "Events by step, filter and state (a failure class: failed.CLASS)", labels: labels + [("state", column.key)]).set(Double(count))
            }
            Self.gauge(registry, "events_loaded", "Ok events whose results the catalog holds", labels: labels).set(Double(row.loaded))
            Self.gauge(registry, "events_stale", "Events planned on inputs redone since", labels: labels).set(Double(row.stale))
        }
        for job in status.jobs {
            Self.gauge(registry, "jobs", "Jobs by the state of their latest attempt", labels: [("step", job.step), ("filter", job.filter), ("state", job.state)]).set(Double(job.count))
        }
        for line in try production.store.accounting().lines {
            Self.gauge(registry, "core_hours", "CPU hours used, from the batch accounting or the runner's own times", labels: [("step", line.step), ("filter", line.filter)]).set(line.coreHours)
        }
        if let last = summary.totals.lastActivity, let date = ISO8601DateFormatter().date(from: last) {
            Self.gauge(registry, "last_activity_timestamp_seconds", "When an attempt of the production was last submitted or ended (Unix time)").set(date.timeIntervalSince1970)
        }
        Self.gauge(registry, "frames", "Frames inventoried").set(Double(status.frames))
        return registry.emitToString()
    }

    /// The gauge `dcprod_NAME` with its labels.
    static func gauge(_ registry: PrometheusCollectorRegistry, _ name: String, _ help: String, labels: [(String, String)] = []) -> Gauge {
        registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "dcprod", metricName: name, unitName: "", helpText: help), labels: labels)
    }
}
