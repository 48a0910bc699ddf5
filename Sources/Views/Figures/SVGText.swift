/// Text and numbers as they go into the SVG: escaped, and written the same on every machine.
enum SVGText {
    /// `text` escaped for XML content and attribute values.
    ///
    /// Besides the five markup characters, characters XML 1.0 forbids (control characters from a
    /// log line, say) become U+FFFD: one of them would make the whole page unparseable.
    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&apos;"
            case "\t", "\n", "\r": escaped.unicodeScalars.append(scalar)
            case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF:
                escaped += "\u{FFFD}"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// `value` with exactly `decimals` decimals, e.g. `fixed(2.25, 1)` is `2.3`: no locale, no `-0`, no
    /// exponent below 10^15; a non-finite value is written 0 so that no NaN can reach the page.
    static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return decimals > 0 ? "0." + String(repeating: "0", count: decimals) : "0" }
        let decimals = min(max(decimals, 0), 12)
        var scale: UInt64 = 1
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * Double(scale)).rounded()
        // Beyond 2^53 a Double has no fraction left to print; its own description is exact enough.
        guard scaled < 9.0e15 else { return value < 0 ? "-" + String(abs(value).rounded()) : String(value.rounded()) }
        let units = UInt64(scaled)
        var text = String(units / scale)
        if decimals > 0 {
            let fraction = String(units % scale)
            text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
        }
        return value < 0 && units > 0 ? "-" + text : text
    }

    /// A coordinate in the viewBox: one decimal, a tenth of a unit being finer than any screen shows.
    static func coordinate(_ value: Double) -> String { fixed(value, 1) }

    /// `value` with at most `decimals` decimals and no trailing zeros: a tick label (`0.5`, `0`, `360`)
    /// or a count in a tooltip.
    static func trimmed(_ value: Double, _ decimals: Int) -> String {
        var text = fixed(value, decimals)
        guard text.contains(".") else { return text }
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
