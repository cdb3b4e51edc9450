import Testing
@testable import Pluralism

/// ValuePrism as Overton items (a situation with its values) and as value-steered items.
struct ImportValuePrismTests {
    static let file = ImportScratch.fixture("valueprism.csv")
    static let lending = "Lending money to a friend, knowing they may not repay it"
    static let diary = "Reading a diary left open on a table"

    @Test func overtonItemsCollectEachSituationsValues() throws {
        let scratch = try ImportScratch()
        defer { scratch.remove() }
        let summary = try scratch.run(ValuePrismImporter(task: .overton), [ImportValuePrismTests.file])
        #expect(summary.rowsRead == 7)
        #expect(summary.imported == [.overton: 2])
        #expect(summary.skips("value rows repeating a value of their situation (the first kept)") == 1)
        #expect(summary.skips("value rows with an empty text or explanation (left out of their situation's values)") == 1)
        #expect(summary.skippedCount == 2)

        let inputs = try scratch.load(summary: summary, pool: "perspective")
        #expect(inputs.items.map(\.id) == ["valueprism-" + ImportText.digest(ImportValuePrismTests.lending),
                                            "valueprism-" + ImportText.digest(ImportValuePrismTests.diary)])
        #expect(inputs.items[0].text == ImportValuePrismTests.lending)
        #expect(inputs.items[0].values == [
            ReferenceValue(value: "Generosity", explanation: "Helping a friend in need is generous."),
            ReferenceValue(value: "Financial prudence", explanation: "The lender may lose money they need."),
            ReferenceValue(value: "Duty to care for oneself", explanation: "One may owe it to oneself to stay solvent, or not."),
        ])
        #expect(inputs.items[1].values.map(\.value) == ["Right to privacy", "Honesty"])
        #expect(inputs.items[1].values[1].explanation == "Whether it is dishonest depends on whether you say so \"afterwards\".")
    }

    @Test func steerableItemsTakeGoldFromValence() throws {
        let scratch = try ImportScratch()
        defer { scratch.remove() }
        let summary = try scratch.run(ValuePrismImporter(task: .steerable), [ImportValuePrismTests.file])
        #expect(summary.rowsRead == 7)
        #expect(summary.imported == [.steerable: 6])
        #expect(summary.skipped.map(\.reason) == ["duplicate id (the same source key twice)"])
        let inputs = try scratch.load(summary: summary, pool: "perspective")
        #expect(inputs.items.map(\.attribute) == ["Generosity", "Financial prudence", "Duty to care for oneself", "Right to privacy", "Curiosity", "Honesty"])
        #expect(inputs.items.map(\.gold) == [0, 1, 2, 1, 0, 2])
        #expect(inputs.items.allSatisfy { $0.options == ["supports", "opposes", "either"] && $0.steersByValue })
        #expect(inputs.items[3].id == "valueprism-\(ImportText.digest(ImportValuePrismTests.diary))-right-\(ImportText.digest("Right\nRight to privacy", length: 8))")
    }

    @Test func unknownLabelsAndScatteredSituationsFail() throws {
        let scratch = try ImportScratch(["bad.csv": """
            situation,vrd,text,valence,explanation
            S1,Value,Care,Supports,Because.
            S1,Virtue,Care,Supports,Because.
            S2,Value,Care,Neutral,Because.
            S1,Value,Honesty,Opposes,Because.

            """])
        defer { scratch.remove() }
        let place = scratch.file("bad.csv")
        #expect(scratch.errors(ValuePrismImporter(task: .overton), [place]).map(\.description) == [
            "\(place):3: vrd: unknown kind \"Virtue\"; expected Value, Right or Duty",
            "\(place):4: valence: unknown valence label \"Neutral\"; expected Supports, Opposes or Either",
            "\(place):5: situation: this situation's rows are not consecutive (it started at \(place):2); sort the file by situation",
        ])
    }
}
