import Testing
@testable import Pluralism

/// GlobalOpinionQA: one distributional item per question and country, Python-repr fields
/// read strictly, rounding within the stated tolerance renormalised, anything else an error.
struct ImportGlobalOpinionQATests {
    static let file = ImportScratch.fixture("globalopinionqa.csv")

    @Test func fixtureImportsWithExactCounts() throws {
        let scratch = try ImportScratch()
        defer { scratch.remove() }
        let summary = try scratch.run(GlobalOpinionQAImporter(), [ImportGlobalOpinionQATests.file])
        #expect(summary.rowsRead == 3)
        #expect(summary.imported == [.distributional: 4])
        #expect(summary.skipped.map(\.reason) == ["countries whose fractions are all 0", "two options with the same text"])
        #expect(summary.skipped.map(\.count) == [1, 1])
        #expect(summary.populations == ["kenya": "Kenya", "japan": "Japan", "brazil": "Brazil", "germany": "Germany"])

        let inputs = try scratch.load(summary: summary, pool: "culture")
        let key1 = ImportText.digest("WVS\nDo you think children should learn obedience at home?")
        #expect(inputs.items.map(\.id) == ["goqa-\(key1)-Kenya", "goqa-\(key1)-Japan",
                                            "goqa-\(ImportText.digest("GAS\nIs it fine to borrow a neighbour's tools without asking?"))-Brazil",
                                            "goqa-\(ImportText.digest("GAS\nIs it fine to borrow a neighbour's tools without asking?"))-Germany"])
        #expect(inputs.items[0].goldDistribution == [0.6, 0.3, 0.1])
        // Japan's fractions sum to 0.99, within 3 × 0.005 of 1: renormalised.
        #expect(inputs.items[1].goldDistribution == [0.2 / 0.99, 0.5 / 0.99, 0.29 / 0.99])
        #expect(inputs.items[2].options == ["Yes", "It's fine, if returned"])
        #expect(inputs.config.populations.first { $0.name == "japan" }?.label == "Japan")
    }

    @Test func malformedRowsAreAllReported() throws {
        let scratch = try ImportScratch(["bad.csv": """
            question,selections,options,source
            Q1?,"{'A': [0.5, 0.4]}","['x', 'y', 'z']",S
            Q2?,"{'A': [0.6, 0.3, 0.05]}","['x', 'y', 'z']",S
            Q3?,"{'A': [0.5, 0.5}","['x', 'y']",S
            Q4?,"{'A': [-0.5, 1.5]}","['x', 'y']",S
            Q5?,"{'A': [0.5, 0.5]}","x, y",S
            Q6?,"{'A': ['half', 0.5]}","['x', 'y']",S
            Q7?,"{'A': [0.5, 0.5]}","['x', 'y']",S

            """])
        defer { scratch.remove() }
        let errors = scratch.errors(GlobalOpinionQAImporter(), [scratch.file("bad.csv")])
        let place = scratch.file("bad.csv")
        #expect(errors.map(\.description) == [
            "\(place):2: selections[\"A\"]: 2 fractions for 3 options; give one per option",
            "\(place):3: selections[\"A\"]: fractions sum to 0.95; they must sum to 1 (± 0.015, half a percentage point per option)",
            "\(place):4: selections: malformed Python literal: character 16: expected ',' or ']', found '}'",
            "\(place):5: selections[\"A\"]: negative fraction -0.5",
            "\(place):6: options: malformed Python literal: character 1: unexpected name \"x\"; only literals (strings, numbers, True, False, None, lists, tuples, dicts) are read",
            "\(place):7: selections[\"A\"]: expected a list of numbers, found a string in it",
        ])
    }
}
