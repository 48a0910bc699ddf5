/// Lines of the CSV files the payloads write and reference catalogs come in (RFC 4180 quoting as they use it: a quoted field such
/// as a patch, `"x,y"`, keeps its comma).
public enum CSVLine {
    /// A CSV line's fields; a quoted field (a patch, `"x,y"`) keeps its comma.
    public static func fields(_ line: Substring) -> [Substring] {
        var out: [Substring] = []
        var start = line.startIndex, quoted = false
        for index in line.indices {
            switch line[index] {
            case "\"": quoted.toggle()
            case "," where !quoted:
                out.append(line[start..<index])
                start = line.index(after: index)
            default: break
            }
        }
        out.append(line[start...])
        return out
    }
}
