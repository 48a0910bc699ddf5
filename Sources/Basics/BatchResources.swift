import Foundation

/// Walltimes and memory sizes as batch systems write them (Slurm's and Grid Engine's common forms).
public enum BatchResources {
    /// The seconds of a duration a batch system reports as used: seconds alone (`11.020`, Grid Engine's
    /// `11.020s`), `MM:SS[.fff]`, `HH:MM:SS[.fff]` or `D-HH:MM:SS` (Slurm's TotalCPU and Elapsed, qacct's).
    /// Unlike a walltime's (`seconds(_:)`), a number alone is seconds, not minutes.
    public static func duration(_ text: String) -> Double? {
        var clock = Substring(text.trimmingCharacters(in: .whitespaces))
        if clock.hasSuffix("s") { clock = clock.dropLast() }
        var days = 0.0
        if let dash = clock.firstIndex(of: "-") {
            guard let d = Double(clock[..<dash]), d >= 0 else { return nil }
            (days, clock) = (d, clock[clock.index(after: dash)...])
        }
        let parts = clock.split(separator: ":", omittingEmptySubsequences: false).map { Double($0) }
        guard (1...3).contains(parts.count), parts.allSatisfy({ $0 != nil && $0!.isFinite && $0! >= 0 }) else { return nil }
        return days * 86_400 + parts.reduce(0) { $0 * 60 + $1! }
    }

    /// The seconds of a walltime: `[D-]HH:MM:SS`, `MM:SS`, or minutes alone (Slurm's forms).
    public static func seconds(_ walltime: String) -> Int? {
        var days = 0, clock = Substring(walltime)
        if let dash = walltime.firstIndex(of: "-") {
            guard let d = Int(walltime[..<dash]) else { return nil }
            (days, clock) = (d, walltime[walltime.index(after: dash)...])
        }
        let parts = clock.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil && $0! >= 0 }) else { return nil }
        let numbers = parts.map { $0! }
        let clockSeconds = switch numbers.count {
        case 3: (numbers[0] * 60 + numbers[1]) * 60 + numbers[2]
        case 2: numbers[0] * 60 + numbers[1]
        case 1: numbers[0] * 60
        default: -1
        }
        return clockSeconds < 0 ? nil : days * 86_400 + clockSeconds
    }

    /// A walltime of so many seconds: `HH:MM:SS`, or `D-HH:MM:SS` from a day on.
    public static func walltime(seconds: Int) -> String {
        let (d, h, m, s) = (seconds / 86400, seconds / 3600 % 24, seconds / 60 % 60, seconds % 60)
        let time = String(format: "%02d:%02d:%02d", h, m, s)
        return d > 0 ? "\(d)-\(time)" : time
    }

    /// The bytes of a memory size: a number with `K`, `M`, `G` or `T` (powers of 1024), or bytes alone.
    public static func bytes(_ memory: String) -> Double? {
        if let unit = memory.last, let power = "KMGT".firstIndex(of: unit), let number = Double(memory.dropLast()) {
            return number * pow(1024, Double("KMGT".distance(from: "KMGT".startIndex, to: power) + 1))
        }
        return Double(memory)
    }
}
