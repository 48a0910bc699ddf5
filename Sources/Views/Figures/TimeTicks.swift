/// The ticks of a time axis, at round times of UTC: every 1, 2, 5, 10, 15 or 30 seconds or minutes,
/// 1, 2, 3, 6 or 12 hours, 1, 2, 7 or 14 days, or a nice number (1, 2, 5 × 10^n) of days.
///
/// Times are seconds since 1970 in UTC; the calendar is computed here (proleptic Gregorian, days from
/// civil dates after Howard Hinnant's algorithm) so that labels do not depend on the machine's time zone.
struct TimeTicks {
    static let steps: [Double] = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800,
                                  3600, 7200, 10800, 21600, 43200, 86400, 172_800, 604_800, 1_209_600]
    /// The seconds between ticks.
    let step: Double
    /// The ticks, seconds since 1970.
    let values: [Double]

    /// About `count` ticks from `start` to `end`, both included if round.
    init(from start: Double, to end: Double, count: Int) {
        let rough = (end - start) / Double(max(count, 1))
        let step = Self.steps.first { $0 >= rough } ?? 86400 * Ticks.step(for: rough / 86400)
        self.step = step
        let first = (start / step).rounded(.up), last = (end / step).rounded(.down)
        values = first <= last ? (0...Int(last - first)).map { (first + Double($0)) * step } : []
    }

    /// A tick's label: the time of day for steps under a day, with the date on the first tick and at
    /// midnight (`03-04 00:00`, `06:00`); the date for longer steps (`2025-03-04`).
    func label(_ time: Double, isFirst: Bool) -> String {
        let civil = Self.civil(time)
        if step >= 86400 { return civil.date }
        let clock = step < 60 ? civil.time : String(civil.time.prefix(5))
        return isFirst || civil.time == "00:00:00" ? "\(civil.date.dropFirst(5)) \(clock)" : clock
    }

    /// The UTC date `yyyy-MM-dd` and time `HH:mm:ss` of a time, seconds since 1970 within ±10^12 s.
    static func civil(_ time: Double) -> (date: String, time: String) {
        let seconds = Int64(time.rounded(.down))
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let ofDay = seconds - days * 86400
        // Days since 1970-01-01 to a civil date, with March-based years so that leap days come last.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let yearText = year >= 0 && year < 1000 ? String(repeating: "0", count: 4 - String(year).count) + String(year) : String(year)
        return ("\(yearText)-\(two(month))-\(two(day))", "\(two(ofDay / 3600)):\(two(ofDay % 3600 / 60)):\(two(ofDay % 60))")
    }
}
