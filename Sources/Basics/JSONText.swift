/// JSON text written directly, where JSONEncoder's generic machinery would cost more than the work
/// (job manifests of a million events, query results of millions of rows).
public enum JSONText {
    /// A JSON string literal (RFC 8259 escapes).
    public static func string(_ text: String) -> String {
        var bytes: [UInt8] = []
        append(text, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `text` as a JSON string literal (RFC 8259 escapes) to UTF-8 bytes.
    ///
    /// The characters to escape are ASCII, so the bytes are scanned in place and copied in runs:
    /// this runs for every path of every manifest a plan writes, and every value `dcprod sql` prints.
    public static func append(_ text: String, to out: inout [UInt8]) {
        out.append(0x22)
        var text = text
        text.withUTF8 { bytes in
            var run = 0
            for index in bytes.indices {
                let byte = bytes[index]
                guard byte == 0x22 || byte == 0x5C || byte < 0x20 else { continue }
                out.append(contentsOf: bytes[run..<index])
                run = index + 1
                switch byte {
                case 0x22: out.append(contentsOf: [0x5C, 0x22])  // \"
                case 0x5C: out.append(contentsOf: [0x5C, 0x5C])  // \\
                case 0x0A: out.append(contentsOf: [0x5C, 0x6E])  // \n
                case 0x0D: out.append(contentsOf: [0x5C, 0x72])  // \r
                case 0x09: out.append(contentsOf: [0x5C, 0x74])  // \t
                default:  // \u00XX, lower-case hex
                    let hex = Array("0123456789abcdef".utf8)
                    out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
                }
            }
            out.append(contentsOf: bytes[run...])
        }
        out.append(0x22)
    }

    /// Appends `values` as a JSON array of string literals to UTF-8 bytes.
    public static func append(_ values: [String], to out: inout [UInt8]) {
        out.append(0x5B)
        for (index, value) in values.enumerated() {
            if index > 0 { out.append(0x2C) }
            append(value, to: &out)
        }
        out.append(0x5D)
    }
}
