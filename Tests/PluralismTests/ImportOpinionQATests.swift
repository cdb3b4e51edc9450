import Testing
@testable import Pluralism

/// OpinionQA from a survey-wave folder in the public release's layout (rows invented):
/// the gold answer is the group's most heavily weighted option, refusals dropped, ties skipped.
struct ImportOpinionQATests {
    static let wave = ImportScratch.fixture("opinionqa/American_Trends_Panel_W99")

    @Test func waveImportsOneItemPerQuestionAndGroup() throws {
        let scratch = try ImportScratch()
        defer { scratch.remove() }
        let summary = try scratch.run(OpinionQAImporter(), [ImportOpinionQATests.wave])
        #expect(summary.rowsRead == 10)
        #expect(summary.imported == [.steerable: 7])
        #expect(summary.skips("answers refused (dropped, as the paper did)") == 2)
        #expect(summary.skips("answers that are none of the question's options (not counted)") == 1)
        #expect(summary.skips("ties between most likely answers") == 1)
        #expect(summary.skippedCount == 4)

        let inputs = try scratch.load(summary: summary, pool: "perspective")
        #expect(inputs.items.map(\.attribute) == [
            "political ideology: Liberal", "political ideology: Conservative", "sex: Female", "sex: Male",
            "political ideology: Liberal", "political ideology: Conservative", "sex: Male",
        ])
        #expect(inputs.items.map(\.gold) == [0, 2, 0, 2, 0, 1, 1])
        #expect(inputs.items[0].id == "opinionqa-W99-Q1_W99-POLIDEOLOGY-Liberal")
        #expect(inputs.items[0].options == ["Very likely", "Somewhat likely", "Not likely"])
        #expect(inputs.items[4].options == ["Yes", "No"])
        #expect(inputs.items[4].text == "Should towns keep a public library open on Sundays?")
        #expect(inputs.items.allSatisfy { !$0.steersByValue })
    }

    @Test func groupColumnsReplaceMetadata() throws {
        let scratch = try ImportScratch()
        defer { scratch.remove() }
        let summary = try scratch.run(OpinionQAImporter(groupColumns: [("SEX", "gender")]), [ImportOpinionQATests.wave])
        #expect(summary.rowsRead == 8)
        #expect(summary.imported == [.steerable: 3])
        let inputs = try scratch.load(summary: summary, pool: "perspective")
        #expect(inputs.items.map(\.attribute) == ["gender: Female", "gender: Male", "gender: Male"])
    }

    @Test func missingColumnsAndMisnamedFoldersAreNamed() throws {
        let scratch = try ImportScratch([
            "American_Trends_Panel_W5/info.csv": "key,question,references\nQ1,Which?,\"['a', 'b']\"\n",
            "American_Trends_Panel_W5/metadata.csv": "key,attribute\nSEX,sex\n",
            "American_Trends_Panel_W5/responses.csv": "QKEY,WEIGHT_W26,Q1,SEX\n1,1.0,a,Male\n",
            "wave5/info.csv": "key,question,references\n",
            "American_Trends_Panel_W7/info.csv": "key,question,references\nQ1,Which?,\"['a', 'b'\"\nQ2,Which?,\"[1, 2]\"\nQ1,Again?,\"['a']\"\n",
            "American_Trends_Panel_W7/metadata.csv": "key,attribute\nSEX,sex\n",
        ])
        defer { scratch.remove() }
        let folder = scratch.file("American_Trends_Panel_W5")
        #expect(scratch.errors(OpinionQAImporter(), [folder]).map(\.description)
            == ["\(folder)/responses.csv:1: WEIGHT_W5: missing column; the header has: QKEY, WEIGHT_W26, Q1, SEX"])
        #expect(scratch.errors(OpinionQAImporter(), [scratch.file("wave5")]).map(\.description)
            == ["\(scratch.file("wave5")): expected a survey wave folder named American_Trends_Panel_W<NN> (the wave number names the weight column WEIGHT_W<NN>)"])
        let info = scratch.file("American_Trends_Panel_W7/info.csv")
        #expect(scratch.errors(OpinionQAImporter(), [scratch.file("American_Trends_Panel_W7")]).map(\.description) == [
            "\(info):2: references: malformed Python literal: character 10: expected ',' or ']', found end of text",
            "\(info):3: references: expected a list of strings, found an integer in it",
            "\(info):4: key: question \"Q1\" given twice (first on line 2)",
        ])
    }
}
