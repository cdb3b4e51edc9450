/// Writes items as question-file lines (`inputs/README.md`): the inverse of `ItemReader`, so
/// an imported file meets exactly the validation and hashing a hand-written one does.
/// Reading a written line gives back the same item (its id, mode, text and every optional
/// field; the file, line and pool are where it is read, not what it is).
public enum ItemWriter {
    /// One JSON object, without the line break: keys sorted, no whitespace, `gold` as a 0-based
    /// index. A steerable item's text is written as `situation` when it is steered by a value
    /// (its options are supports / opposes / either, or it has none) and as `question`
    /// otherwise; both read back as the item's text.
    public static func line(_ item: Item) -> String {
        var fields: [String: JSON] = ["id": .string(item.id), "mode": .string(item.mode.rawValue)]
        switch item.mode {
        case .overton: fields["situation"] = .string(item.text)
        case .steerable: fields[item.steersByValue ? "situation" : "question"] = .string(item.text)
        case .distributional: fields["question"] = .string(item.text)
        }
        if !item.values.isEmpty {
            fields["values"] = .array(item.values.map { .object(["value": .string($0.value), "explanation": .string($0.explanation)]) })
        }
        if let attribute = item.attribute { fields["attribute"] = .string(attribute) }
        if !item.options.isEmpty { fields["options"] = .array(item.options.map(JSON.string)) }
        if let gold = item.gold { fields["gold"] = .integer(Int64(gold)) }
        if let population = item.population { fields["population"] = .string(population) }
        if let distribution = item.goldDistribution { fields["gold_distribution"] = .array(distribution.map(JSON.double)) }
        return JSON.object(fields).canonical
    }
}
