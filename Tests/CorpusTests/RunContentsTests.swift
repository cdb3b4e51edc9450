import ContentHash
import Corpus
import Testing

@Suite struct RunContentsTests {
    @Test func itemContentsMatchThePerTableReads() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let corpus = try Corpus.open(path: folder.file("corpus.sqlite"))
        let sample = SampleRun()
        try sample.write(to: corpus)
        let contents = try corpus.itemContents(runID: "run-1", itemIDs: ["q2", "missing", "q1", "q2"])
        #expect(contents.map(\.item.id) == ["q2", "q1"])
        for entry in contents {
            let id = entry.item.id
            #expect(entry.item == (try corpus.items(runID: "run-1")).first { $0.id == id })
            #expect(entry.comments == (try corpus.comments(runID: "run-1", itemID: id)))
            #expect(entry.syntheses == (try corpus.syntheses(runID: "run-1", itemID: id)))
            #expect(entry.distributions == (try corpus.distributions(runID: "run-1")).filter { $0.itemID == id })
            #expect(entry.audits == (try corpus.audits(runID: "run-1", itemID: id)))
        }
        #expect(try corpus.itemContents(runID: "other", itemIDs: ["q1"]).isEmpty)
    }

    /// More ids than one `IN` list holds: every slice is read, the last one padded.
    @Test func manyItemsAndCallsAreReadInSlices() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let corpus = try Corpus.open(path: folder.file("corpus.sqlite"))
        var sample = SampleRun()
        sample.items = (0..<123).map { index in
            ItemRecord(runID: "run-1", id: "i\(index)", mode: "overton", pool: "perspectives", sourceFile: "f", line: index + 1,
                       ordinal: index, contentJSON: "{}", contentHash: SHA256.hex("i\(index)"))
        }
        sample.comments = []
        sample.syntheses = []
        sample.distributions = []
        sample.audits = []
        try sample.write(to: corpus)
        let ids = sample.items.map(\.id).reversed()
        #expect(try corpus.itemContents(runID: "run-1", itemIDs: Array(ids)).map(\.item.id) == Array(ids))
        let keys = sample.calls.map(\.key) + (0..<60).map { SHA256.hex("absent \($0)") }
        #expect(Set(try corpus.archivedCalls(keys: keys).keys) == Set(sample.calls.map(\.key)))
        #expect(try corpus.synthesisMethods(runID: "run-1").isEmpty)
    }

    @Test func scoresWithoutEvidence() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let corpus = try Corpus.open(path: folder.file("corpus.sqlite"))
        try SampleRun().write(to: corpus)
        let all = try corpus.auditScores(runID: "run-1")
        #expect(all.map(\.metric) == ["coverage", "faithfulness"])
        #expect(try corpus.auditScores(runID: "run-1", metric: "coverage").map(\.score) == [0.5])
        #expect(try corpus.audits(runID: "run-1", metric: "faithfulness").map(\.community) == ["left"])
        #expect(try corpus.synthesisMethods(runID: "run-1") == ["distributional", "overton", "steerable"])
    }
}
