import Foundation

/// The YAML header astropy keeps beside a table it writes with `serialize_meta=True` (its
/// `meta.get_yaml_from_table`), one line per element of the `PATH.__table_column_meta__` dataset:
/// each column's name, unit, datatype, description and meta (its UCD, as astropy's VOTable reader
/// keeps one), the table's meta, and `__serialized_columns__` for the masked integer columns, whose
/// mask astropy stores as a bool column `NAME.mask` after the data.
///
/// Written as astropy's own dumper writes it (block style for a column with meta, flow style for
/// one without), so that `Table.read` finds the same structure it would have written; any string
/// that YAML could read as something else is quoted.
struct AstropyTableMeta {
    var columns: [ExportColumn]
    var metadata: ExportMetadata

    /// The lines, without line ends.
    var lines: [String] {
        var lines = ["datatype:"]
        for column in columns {
            lines += columnLines(column)
            if column.hasIntegerNulls { lines.append("- {name: \(Self.scalar(column.name + ".mask")), datatype: bool}") }
        }
        lines.append("meta: !!omap")
        for (key, value) in metadata.entries { lines.append("- {\(key): \(Self.scalar(value))}") }
        // Sorted, as PyYAML writes a dict's keys.
        let masked = columns.filter(\.hasIntegerNulls).sorted { $0.name < $1.name }
        if !masked.isEmpty {
            lines.append("- __serialized_columns__:")
            for column in masked {
                lines.append("    \(Self.scalar(column.name)):")
                lines.append("      __class__: astropy.table.column.MaskedColumn")
                lines.append("      data: !astropy.table.SerializedColumn {name: \(Self.scalar(column.name))}")
                lines.append("      mask: !astropy.table.SerializedColumn {name: \(Self.scalar(column.name + ".mask"))}")
            }
        }
        return lines
    }

    private func columnLines(_ column: ExportColumn) -> [String] {
        var fields = [("name", column.name)]
        if let unit = column.unit { fields.append(("unit", unit)) }
        fields.append(("datatype", Self.datatype(column.type)))
        if let description = column.description { fields.append(("description", description)) }
        guard let ucd = column.ucd else {
            return ["- {" + fields.map { "\($0.0): \(Self.scalar($0.1))" }.joined(separator: ", ") + "}"]
        }
        var lines = fields.enumerated().map {
            ($0.offset == 0 ? "- " : "  ") + "\($0.element.0): \(Self.scalar($0.element.1, inFlow: false))"
        }
        lines += ["  meta: !!omap", "  - {ucd: \(Self.scalar(ucd))}"]
        return lines
    }

    /// astropy's name of a column's type in its YAML (numpy's, `string` for bytes).
    static func datatype(_ type: ExportColumn.ValueType) -> String {
        switch type {
        case .int32: "int32"
        case .int64: "int64"
        case .double: "float64"
        case .text: "string"
        }
    }

    /// A string as a YAML scalar: plain when nothing in it means something to YAML (it starts with a
    /// letter, digit or `_`, then has only those, spaces and `_ . ; ( ) / + -`, and also `,` and `'`
    /// outside a flow collection; it is not a number, boolean or null), else single-quoted (`'`
    /// doubled), or double-quoted with escapes when it has control characters.
    static func scalar(_ text: String, inFlow: Bool = true) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ .;()/+-" + (inFlow ? "" : ",'"))
        let first = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
        let special: Set<String> = ["", "~", "null", "true", "false", "yes", "no", "on", "off", "y", "n"]
        let plain = text.first.map(first.contains) == true && text.allSatisfy(safe.contains)
            && !special.contains(text.lowercased()) && Double(text) == nil && !text.hasSuffix(" ")
        if plain { return text }
        if text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            var out = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += String(format: "\\x%02X", scalar.value)
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
        return "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }
}
