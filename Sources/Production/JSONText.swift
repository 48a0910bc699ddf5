/// JSON text written directly, where JSONEncoder's generic machinery would cost more than the work
/// (job manifests of a million events, query results of millions of rows).
public enum JSONText {
    /// A JSON string literal (RFC 8259 escapes).
    public static func string(_ text: String) -> String {
        // Most values need no escape; their bytes are scanned in place (this runs for every path
        // of every manifest a plan writes).
        let plain = text.utf8.withContiguousStorageIfAvailable { bytes in
            !bytes.contains { $0 == 0x22 || $0 == 0x5C || $0 < 0x20 }
        } ?? !text.utf8.contains { $0 == 0x22 || $0 == 0x5C || $0 < 0x20 }
        if plain { return "\"" + text + "\"" }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
