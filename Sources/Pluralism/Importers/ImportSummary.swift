/// What an import read, kept and left out, printed at its end: the numbers a researcher
/// checks against the dataset's documentation before trusting the file.
public struct ImportSummary: Sendable {
    /// One reason items (or rows) were left out, with how often and where first.
    public struct Skip: Sendable, Hashable {
        public var reason: String
        public var count: Int
        public var firstPlace: String
    }

    public var files: [String] = []
    public var rowsRead = 0
    /// Valid, distinct items before `--limit` sampled them.
    public var candidates = 0
    /// Items written, per mode.
    public var imported: [ItemMode: Int] = [:]
    /// In order of first occurrence.
    public private(set) var skipped: [Skip] = []
    /// Populations the written items name → their label.
    public var populations: [String: String?] = [:]

    public var importedCount: Int { imported.values.reduce(0, +) }
    public var skippedCount: Int { skipped.reduce(0) { $0 + $1.count } }

    /// How often `reason` was recorded (0 if never).
    public func skips(_ reason: String) -> Int {
        skipped.first { $0.reason == reason }?.count ?? 0
    }

    mutating func recordSkip(_ reason: String, at place: String) {
        if let index = skipped.firstIndex(where: { $0.reason == reason }) {
            skipped[index].count += 1
        } else {
            skipped.append(Skip(reason: reason, count: 1, firstPlace: place))
        }
    }

    mutating func recordImport(_ item: Item) {
        imported[item.mode, default: 0] += 1
    }

    /// The lines printed after an import.
    public func lines(output: String, options: ImportOptions) -> [String] {
        var lines = ["read \(Self.count(rowsRead)) rows from \(files.count == 1 ? "1 file" : "\(files.count) files")"]
        if !skipped.isEmpty {
            lines.append("skipped \(Self.count(skippedCount)):")
            let width = skipped.map { Self.count($0.count).count }.max() ?? 0
            for skip in skipped {
                let number = Self.count(skip.count)
                lines.append("  " + String(repeating: " ", count: width - number.count) + number + "  \(skip.reason) (first: \(skip.firstPlace))")
            }
        }
        let modes = ItemMode.allCases.compactMap { mode in imported[mode].map { "\(Self.count($0)) \(mode.rawValue)" } }
        var written = "imported \(Self.count(importedCount)) items"
        if !modes.isEmpty { written += " (\(modes.joined(separator: ", ")))" }
        if let limit = options.limit {
            written += ", a sample of at most \(Self.count(limit)) of \(Self.count(candidates)) (seed \(options.seed))"
        }
        lines.append(written + " to \(output)")
        return lines
    }

    /// 1367 → "1,367": counts are compared by eye with dataset cards.
    static func count(_ value: Int) -> String {
        let digits = String(value)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return out
    }
}
