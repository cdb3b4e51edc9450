/// Writes items as question-file lines (`inputs/README.md`): the inverse of `ItemReader`, so
/// an imported file meets exactly the validation and hashing a hand-written one does.
/// Reading a written line gives back the same item (its id, mode, text and every optional
/// field; the file, line and pool are where it is read, not what it is).
///
/// Lines are canonical JSON (keys sorted, no whitespace, `gold` as a 0-based index). Importers
/// write many items that share a question and its options (one per country or group), so
/// the writer keeps the encoding of the last text and options it wrote.
public final class ItemWriter {
    private var lastText: (text: String, encoded: String)?
    private var lastOptions: (options: [String], encoded: String)?

    public init() {}

    /// One item's line, without the line break, equal to `JSON.object(…).canonical` of its
    /// fields. A steerable item's text is written as `situation` when it is steered by a
    /// value (its options are supports / opposes / either, or it has none) and as `question`
    /// otherwise; both read back as the item's text.
    public static func line(_ item: Item) -> String {
        ItemWriter().line(item)
    }

    public func line(_ item: Item) -> String {
        // Members in the canonical (sorted) key order.
        var members: [(key: String, value: String)] = []
        if let attribute = item.attribute { members.append(("attribute", Self.quoted(attribute))) }
        if let gold = item.gold { members.append(("gold", String(gold))) }
        if let distribution = item.goldDistribution {
            members.append(("gold_distribution", "[" + distribution.map(JSON.format).joined(separator: ",") + "]"))
        }
        members.append(("id", Self.quoted(item.id)))
        members.append(("mode", Self.quoted(item.mode.rawValue)))
        if !item.options.isEmpty { members.append(("options", encodedOptions(item.options))) }
        if let population = item.population { members.append(("population", Self.quoted(population))) }
        let textKey = item.mode == .overton || (item.mode == .steerable && item.steersByValue) ? "situation" : "question"
        members.append((textKey, encodedText(item.text)))
        if !item.values.isEmpty {
            let values = item.values.map { #"{"explanation":"# + Self.quoted($0.explanation) + #","value":"# + Self.quoted($0.value) + "}" }
            members.append(("values", "[" + values.joined(separator: ",") + "]"))
        }
        members.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        return "{" + members.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
    }

    private func encodedText(_ text: String) -> String {
        if let lastText, lastText.text == text { return lastText.encoded }
        let encoded = Self.quoted(text)
        lastText = (text, encoded)
        return encoded
    }

    private func encodedOptions(_ options: [String]) -> String {
        if let lastOptions, lastOptions.options == options { return lastOptions.encoded }
        let encoded = "[" + options.map(Self.quoted).joined(separator: ",") + "]"
        lastOptions = (options, encoded)
        return encoded
    }

    /// A JSON string literal; text that needs no escape is copied whole.
    static func quoted(_ text: String) -> String {
        let plain = text.utf8.allSatisfy { $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
        return plain ? "\"" + text + "\"" : JSON.quoted(text)
    }
}
