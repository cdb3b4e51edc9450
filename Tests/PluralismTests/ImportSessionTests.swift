import Foundation
import Testing
@testable import Pluralism

/// What every import shares: seeded sampling under --limit, stable ids, atomic output and
/// the config snippet.
struct ImportSessionTests {
    @Test func limitKeepsTheLowestSeededRanksWhateverTheFileOrder() throws {
        let header = "scenario_id,ambiguity,context,action1,action2\n"
        let rows = (1...40).map { "S_\($0),low,Context \($0).,Act.,Do not act.\n" }
        let scratch = try ImportScratch(["forward.csv": header + rows.joined(), "backward.csv": header + rows.reversed().joined()])
        defer { scratch.remove() }
        let options = ImportOptions(limit: 5, seed: 42)
        let forward = try scratch.run(MoralChoiceImporter(), [scratch.file("forward.csv")], options: options, out: "f.jsonl")
        _ = try scratch.run(MoralChoiceImporter(), [scratch.file("backward.csv")], options: options, out: "b.jsonl")
        #expect(forward.candidates == 40)
        #expect(forward.importedCount == 5)
        let ids = try scratch.load(summary: forward, pool: "p", out: "f.jsonl").items.map(\.id)
        let backwardIDs = try scratch.load(summary: forward, pool: "p", out: "b.jsonl").items.map(\.id)
        let sample = ItemSample(limit: 5, seed: 42)
        let expected = (1...40).map { "moralchoice-S_\($0)" }.sorted { sample.rank($0) < sample.rank($1) }.prefix(5)
        #expect(Set(ids) == Set(expected))
        #expect(Set(backwardIDs) == Set(ids))
        // Kept items stay in file order.
        #expect(ids == ids.sorted { Int($0.dropFirst(14))! < Int($1.dropFirst(14))! })
        let again = try scratch.run(MoralChoiceImporter(), [scratch.file("forward.csv")], options: options, out: "again.jsonl")
        #expect(again.importedCount == 5)
        #expect(try scratch.lines("again.jsonl") == scratch.lines("f.jsonl"))
    }

    @Test func idPrefixAndLongKeys() throws {
        #expect(ImportText.identifier(["goqa", "ab12", "Côte d'Ivoire"]) == "goqa-ab12-C-te-d-Ivoire")
        let long = ImportText.identifier(["p", String(repeating: "x", count: 200)])
        #expect(long.utf8.count == 117)
        #expect(Identifier.isValid(long))
        #expect(long != ImportText.identifier(["p", String(repeating: "x", count: 201)]))
        #expect(ImportText.populationName("United States") == "united-states")
        #expect(ImportOptions.isValidPrefix("my-set.v2"))
        #expect(!ImportOptions.isValidPrefix("-bad"))
    }

    @Test func configSnippetNamesTheFileThePoolAndThePopulations() {
        var summary = ImportSummary()
        summary.populations = ["japan": "Japan", "low-ambiguity": nil]
        #expect(DatasetImport.configSnippet(file: "questions/goqa.jsonl", pool: "culture", summary: summary) == """
            {
              "questions": [{"file":"questions/goqa.jsonl","pool":"culture"}],
              "populations": {
                "japan": {"label":"Japan"},
                "low-ambiguity": {}
              }
            }

            """)
        #expect(DatasetImport.configSnippet(file: "vp.jsonl", pool: "perspective", summary: ImportSummary())
            == "{\n  \"questions\": [{\"file\":\"vp.jsonl\",\"pool\":\"perspective\"}]\n}\n")
    }

    @Test func theSnippetNamesTheQuestionFileFromItsOwnFolder() {
        #expect(DatasetImport.path(of: "/data/my/questions/mc.jsonl", relativeToFolderOf: "/data/my/entries.json") == "questions/mc.jsonl")
        #expect(DatasetImport.path(of: "/data/other/mc.jsonl", relativeToFolderOf: "/data/my/entries.json") == "../other/mc.jsonl")
        #expect(DatasetImport.path(of: "/data/my/./x/../mc.jsonl", relativeToFolderOf: "/data/my/entries.json") == "mc.jsonl")
    }

    @Test func summaryLinesGroupSkipsWithCounts() {
        var summary = ImportSummary()
        summary.files = ["a.csv", "b.csv"]
        summary.rowsRead = 1_367
        summary.candidates = 1_366
        summary.recordSkip("two options with the same text", at: "b.csv:3")
        for _ in 0..<12 { summary.recordSkip("ties", at: "a.csv:9") }
        summary.imported = [.distributional: 100]
        #expect(summary.lines(output: "out.jsonl", options: ImportOptions(limit: 100, seed: 3)) == [
            "read 1,367 rows from 2 files",
            "skipped 13:",
            "   1  two options with the same text (first: b.csv:3)",
            "  12  ties (first: a.csv:9)",
            "imported 100 items (100 distributional), a sample of at most 100 of 1,366 (seed 3) to out.jsonl",
        ])
    }

    @Test func outputIntoAMissingFolderFailsCleanly() throws {
        let scratch = try ImportScratch()
        defer { scratch.remove() }
        #expect(throws: ImportOutputError.self) {
            _ = try scratch.run(MoralChoiceImporter(), ImportMoralChoiceTests.files, out: "missing/items.jsonl")
        }
    }
}
