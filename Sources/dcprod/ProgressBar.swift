import Foundation

/// A progress bar with rate and ETA on a terminal; plain lines (every 10 %) otherwise.
struct ProgressBar {
    let label: String
    let unit: String
    let isTerminal = isatty(STDERR_FILENO) != 0
    private var lastDecile = -1
    private var lastDraw = 0.0
    private var drawn = false

    init(label: String, unit: String) {
        self.label = label
        self.unit = unit
    }

    mutating func update(done: Int, total: Int, elapsed: Double) {
        guard total > 0 else { return }
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        if isTerminal {
            guard done == total || elapsed - lastDraw >= 0.1 else { return }
            lastDraw = elapsed
            let width = 30
            let filled = width * done / total
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            write("\r\(label) [\(bar)] \(done)/\(total) \(String(format: "%.1f", rate)) \(unit)/s ETA \(Self.clock(eta))  ")
            drawn = true
        } else {
            let decile = done * 10 / total
            guard decile > lastDecile else { return }
            lastDecile = decile
            write("\(label): \(done)/\(total) \(unit), \(String(format: "%.1f", rate)) \(unit)/s, ETA \(Self.clock(eta))\n")
        }
    }

    func finish() {
        if isTerminal && drawn { write("\n") }
    }

    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
