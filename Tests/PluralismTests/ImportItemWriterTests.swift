import Testing
@testable import Pluralism

/// The item writer is the inverse of the item reader: every item written reads back equal
/// through the real input loader, whatever its mode and optional fields.
struct ImportItemWriterTests {
    static let items: [Item] = [
        Item(id: "o-1", mode: .overton, pool: "p", sourceFile: "q.jsonl", line: 1, text: "Keeping a found wallet, \"as is\".",
             values: [ReferenceValue(value: "Honesty", explanation: "It is someone else's.\nTwo lines."), ReferenceValue(value: "Need", explanation: "Tab\there.")]),
        Item(id: "o-2", mode: .overton, pool: "p", sourceFile: "q.jsonl", line: 2, text: "Bare situation with ünïcödé ✓."),
        Item(id: "s-1", mode: .steerable, pool: "p", sourceFile: "q.jsonl", line: 3, text: "Telling a white lie.",
             attribute: "Honesty", options: ["supports", "opposes", "either"], gold: 1),
        Item(id: "s-2", mode: .steerable, pool: "p", sourceFile: "q.jsonl", line: 4, text: "Should towns keep libraries open?",
             attribute: "political ideology: liberal", options: ["Yes", "No"], gold: 0),
        Item(id: "s-3", mode: .steerable, pool: "p", sourceFile: "q.jsonl", line: 5, text: "An open question.", attribute: "Care"),
        Item(id: "d-1", mode: .distributional, pool: "p", sourceFile: "q.jsonl", line: 6, text: "Which?",
             options: ["x", "y", "z"], population: "pop", goldDistribution: [0.1, 0.2, 0.7]),
        Item(id: "d-2", mode: .distributional, pool: "p", sourceFile: "q.jsonl", line: 7, text: "Which one?",
             options: ["x", "y"], goldDistribution: [1.0 / 3, 2.0 / 3]),
        Item(id: "d-3", mode: .distributional, pool: "p", sourceFile: "q.jsonl", line: 8, text: "No gold.", options: ["a", "b"]),
    ]

    @Test func writtenItemsReadBackEqual() throws {
        let text = ImportItemWriterTests.items.map(ItemWriter.line).joined(separator: "\n") + "\n"
        let folder = try InputsScratchFolder(["run.json": InputsScratchFolder.config(), "q.jsonl": text])
        defer { folder.remove() }
        let inputs = try folder.load()
        #expect(inputs.items == ImportItemWriterTests.items)
        #expect(inputs.items.map(\.contentJSON) == ImportItemWriterTests.items.map(\.contentJSON))
    }

    /// The canonical JSON of an item's fields, built the slow, obvious way.
    private func canonical(_ item: Item) -> String {
        var fields: [String: JSON] = ["id": .string(item.id), "mode": .string(item.mode.rawValue)]
        fields[item.mode == .overton || item.steersByValue ? "situation" : "question"] = .string(item.text)
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

    @Test func oneWriterReusingEncodingsWritesCanonicalJSON() {
        let writer = ItemWriter()
        var items = ImportItemWriterTests.items
        // Consecutive items sharing a question and options, as one row's countries do.
        items.insert(Item(id: "d-1b", mode: .distributional, pool: "p", sourceFile: "q.jsonl", line: 6, text: "Which?",
                          options: ["x", "y", "z"], population: "other", goldDistribution: [0.5, 0.5, 0]), at: 6)
        for item in items {
            #expect(writer.line(item) == canonical(item))
        }
    }

    @Test func linesAreCanonicalJSON() {
        #expect(ItemWriter.line(ImportItemWriterTests.items[2])
            == #"{"attribute":"Honesty","gold":1,"id":"s-1","mode":"steerable","options":["supports","opposes","either"],"situation":"Telling a white lie."}"#)
        #expect(ItemWriter.line(ImportItemWriterTests.items[3]).contains(#""question":"Should towns keep libraries open?""#))
        #expect(ItemWriter.line(ImportItemWriterTests.items[5])
            == #"{"gold_distribution":[0.1,0.2,0.7],"id":"d-1","mode":"distributional","options":["x","y","z"],"population":"pop","question":"Which?"}"#)
    }
}
