import Foundation

/// Columns padded to their widest cell (in characters), for terminal tables: the diff, the
/// audit summary and the order-bias report print through it.
public enum TextTable {
    /// Text from the corpus as it may reach a terminal: control characters (escape
    /// sequences, line breaks) and bidirectional overrides become U+FFFD.
    public static func clean(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x00...0x1F, 0x7F...0x9F, 0x202A...0x202E, 0x2066...0x2069: scalars.append("\u{FFFD}")
            default: scalars.append(scalar)
            }
        }
        return String(scalars)
    }

    public static func render(header: [String], rows: [[String]], rightAligned: Set<Int> = []) -> [String] {
        let all = ([header] + rows).map { $0.map(clean) }
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return rightAligned.contains(column) ? pad + cell : cell + pad
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
    }
}
