import Foundation
import Production

/// The forecast page's context: per step and filter, what the events still to do will take.
enum ForecastPage {
    static func context(_ forecast: Forecast) -> [String: Any] {
        func estimate(_ e: Forecast.Estimate, _ format: String) -> String {
            String(format: format, e.value) + " ± " + String(format: format, e.uncertainty)
        }
        func line(_ l: Forecast.Line) -> [String: Any] {
            [
                "step": l.step, "filter": l.filter, "done": l.eventsDone, "toDo": l.eventsToDo, "estimated": l.eventsToDoEstimated,
                "jobs": estimate(l.jobs, "%.0f"), "coreHours": estimate(l.coreHours, "%.2f"), "wallHours": estimate(l.wallHours, "%.2f"),
                "bytes": ProductionAccounting.bytes(Int64(l.bytes.value)) + " ± " + ProductionAccounting.bytes(Int64(l.bytes.uncertainty)),
                "rows": estimate(l.rows, "%.0f"), "basis": l.basis,
            ]
        }
        return ["maxRunning": forecast.maxRunning, "lines": forecast.lines.map(line), "totals": line(forecast.totals)]
    }
}
