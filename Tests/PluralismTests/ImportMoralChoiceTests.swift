import Foundation
import Testing
@testable import Pluralism

/// MoralChoice on fixtures in the release's exact columns (rows invented), and on the real
/// files in ../shared/data/moralchoice when they are there.
struct ImportMoralChoiceTests {
    static let files = ["moralchoice/moralchoice_low_ambiguity.csv", "moralchoice/moralchoice_high_ambiguity.csv"].map(ImportScratch.fixture)

    @Test func fixturesImportWithExactCounts() throws {
        let scratch = try ImportScratch()
        defer { scratch.remove() }
        let summary = try scratch.run(MoralChoiceImporter(), ImportMoralChoiceTests.files)
        #expect(summary.rowsRead == 5)
        #expect(summary.imported == [.distributional: 4])
        #expect(summary.skipped.map(\.reason) == ["two options with the same text"])
        #expect(summary.skipped.first?.firstPlace == ImportMoralChoiceTests.files[1] + ":3")
        #expect(summary.populations == ["low-ambiguity": String?.none, "high-ambiguity": String?.none])
        let lines = try scratch.lines()
        #expect(lines.first == #"{"gold_distribution":[1,0],"id":"moralchoice-T_001","mode":"distributional","options":["I point the visitor to the atlas shelf.","I send the visitor to the wrong floor."],"population":"low-ambiguity","question":"You are a librarian and a visitor asks where the atlas is."}"#)

        let inputs = try scratch.load(summary: summary, pool: "culture")
        #expect(inputs.items.map(\.id) == ["moralchoice-T_001", "moralchoice-T_002", "moralchoice-T_003", "moralchoice-U_001"])
        #expect(inputs.items[2].text == "You promised a neighbour to water her plants.\nShe is away for a week.")
        #expect(inputs.items[3].goldDistribution == [0.5, 0.5])
        #expect(inputs.items[3].population == "high-ambiguity")
        #expect(inputs.config.populations.map(\.name).sorted() == ["high-ambiguity", "low-ambiguity"])
    }

    @Test func importingTwiceGivesTheSameFile() throws {
        let scratch = try ImportScratch()
        defer { scratch.remove() }
        _ = try scratch.run(MoralChoiceImporter(), ImportMoralChoiceTests.files, out: "a.jsonl")
        _ = try scratch.run(MoralChoiceImporter(), ImportMoralChoiceTests.files, out: "b.jsonl")
        #expect(try scratch.lines("a.jsonl") == scratch.lines("b.jsonl"))
        let prefixed = try scratch.run(MoralChoiceImporter(), ImportMoralChoiceTests.files, options: ImportOptions(idPrefix: "mc.v2"), out: "c.jsonl")
        #expect(try scratch.load(summary: prefixed, pool: "culture", out: "c.jsonl").items.map(\.id)
            == ["mc.v2-T_001", "mc.v2-T_002", "mc.v2-T_003", "mc.v2-U_001"])
    }

    @Test func unknownAmbiguityFailsAndLeavesTheEarlierFile() throws {
        let header = "scenario_id,ambiguity,context,action1,action2\n"
        let scratch = try ImportScratch([
            "bad.csv": header + "A_1,low,Context.,Act.,Do not act.\nA_2,medium,Context.,Act.,Do not act.\n",
            "short.csv": "scenario_id,context,action1\n",
            "items.jsonl": "earlier\n",
        ])
        defer { scratch.remove() }
        #expect(scratch.errors(MoralChoiceImporter(), [scratch.file("bad.csv")]).map(\.description)
            == [scratch.file("bad.csv") + ":3: ambiguity: unknown ambiguity \"medium\"; expected low or high"])
        #expect(scratch.errors(MoralChoiceImporter(), [scratch.file("short.csv")]).map(\.description) == [
            scratch.file("short.csv") + ":1: ambiguity: missing column; the header has: scenario_id, context, action1",
            scratch.file("short.csv") + ":1: action2: missing column; the header has: scenario_id, context, action1",
        ])
        #expect(try scratch.lines() == ["earlier"])
        #expect(!FileManager.default.fileExists(atPath: scratch.file("items.jsonl.partial")))
    }

    static let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data/moralchoice").path
    static var sharedFiles: [String] {
        ["moralchoice_low_ambiguity.csv", "moralchoice_high_ambiguity.csv"].map { shared + "/" + $0 }
    }
    static var sharedAvailable: Bool { sharedFiles.allSatisfy { FileManager.default.isReadableFile(atPath: $0) } }

    @Test(.enabled(if: sharedAvailable, "the real MoralChoice files are not in ../shared/data/moralchoice beside the clone"))
    func realFilesImportAndLoad() throws {
        let scratch = try ImportScratch()
        defer { scratch.remove() }
        let summary = try scratch.run(MoralChoiceImporter(), ImportMoralChoiceTests.sharedFiles)
        // 1,367 scenarios (687 low, 680 high); one high-ambiguity scenario offers the same
        // action twice, which no multiple-choice item can ask.
        #expect(summary.rowsRead == 1_367)
        #expect(summary.imported == [.distributional: 1_366])
        #expect(summary.skipped.map(\.reason) == ["two options with the same text"])
        #expect(summary.skippedCount == 1)
        let inputs = try scratch.load(summary: summary, pool: "culture")
        #expect(inputs.items.count == 1_366)
        #expect(inputs.items.filter { $0.population == "low-ambiguity" }.count == 687)
        #expect(inputs.items.filter { $0.population == "high-ambiguity" }.count == 679)
        #expect(inputs.items.filter { $0.population == "low-ambiguity" }.allSatisfy { $0.goldDistribution == [1, 0] })
    }
}
