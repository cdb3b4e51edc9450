import Corpus
import Testing

@Suite struct DigestTests {
    private func digest(of sample: SampleRun, reversed: Bool = false) throws -> String {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let corpus = try Corpus.open(path: folder.file("corpus.sqlite"))
        try sample.write(to: corpus, reversed: reversed)
        return try corpus.digest(runID: sample.run.id)
    }

    @Test func sameContentGivesTheSameDigestWhateverTheInsertionOrder() throws {
        let forwards = try digest(of: SampleRun())
        #expect(forwards.count == 64)
        #expect(try digest(of: SampleRun(), reversed: true) == forwards)
    }

    @Test func digestIgnoresTimestampsDurationsRunIDAndSourceLocation() throws {
        let reference = try digest(of: SampleRun())
        var other = SampleRun()
        other.run.createdAt = "2030-05-05T05:05:05.555Z"
        other.run.toolVersion = "9.9.9"
        other.run.status = .finished
        other.calls = other.calls.map { var call = $0; call.createdAt = "2030-01-01T00:00:00.000Z"; call.durationMS = 99_999; return call }
        other.items = other.items.map { var item = $0; item.sourceFile = "/home/someone/else/items.jsonl"; item.line += 10; return item }
        #expect(try digest(of: other) == reference)

        // Another run id throughout (a run names itself; the content is the same).
        var renamed = SampleRun()
        renamed.run.id = "run-other"
        renamed.items = renamed.items.map { var row = $0; row.runID = "run-other"; return row }
        renamed.communities = renamed.communities.map { var row = $0; row.runID = "run-other"; return row }
        renamed.comments = renamed.comments.map { var row = $0; row.runID = "run-other"; return row }
        renamed.syntheses = renamed.syntheses.map { var row = $0; row.runID = "run-other"; return row }
        renamed.distributions = renamed.distributions.map { var row = $0; row.runID = "run-other"; return row }
        renamed.audits = renamed.audits.map { var row = $0; row.runID = "run-other"; return row }
        #expect(try digest(of: renamed) == reference)
    }

    /// One change to each content field the digest covers.
    static let changes: [(String, @Sendable (inout SampleRun) -> Void)] = [
        ("item id", { $0.items[1].id = "q9"; $0.syntheses[2].itemID = "q9"; for i in 0..<3 { $0.distributions[i].itemID = "q9" } }),
        ("item mode", { $0.items[0].mode = "steerable" }),
        ("item pool", { $0.items[0].pool = "cultures" }),
        ("item ordinal", { $0.items[0].ordinal = 5 }),
        ("item content", { $0.items[0].contentJSON = #"{"text":"Is lying ever wrong?"}"# }),
        ("item content hash", { $0.items[0].contentHash = "0" }),
        ("community name", { $0.communities[0].name = "centre"; $0.comments[0].community = "centre"; $0.distributions[0].community = "centre" }),
        ("community pool", { $0.communities[0].pool = "cultures" }),
        ("community description", { $0.communities[0].description = "left of centre" }),
        ("community system prompt", { $0.communities[0].systemPrompt = "You are left-leaning." }),
        ("community profile", { $0.communities[0].profile = "We value fairness." }),
        ("community model", { $0.communities[0].modelJSON = #"{"backend":"openai"}"# }),
        ("community ordinal", { $0.communities[0].ordinal = 7 }),
        ("community label", { $0.communities[0].label = "Left-leaning readers" }),
        ("comment text", { $0.comments[0].text = "Sometimes!" }),
        ("comment sample index", { $0.comments[2].sampleIndex = 2 }),
        ("comment call key", { $0.comments[0].callKey = $0.calls[4].key }),
        ("synthesis text", { $0.syntheses[0].text = "Views differ a lot." }),
        ("synthesis method", { $0.syntheses[0].method = "vanilla" }),
        ("selected community", { $0.syntheses[1].selectedCommunity = "left" }),
        ("selected community absent", { $0.syntheses[1].selectedCommunity = nil }),
        ("selection parsed", { $0.syntheses[1].selectionParsed = true }),
        ("selection reply", { $0.syntheses[1].selectionReply = "2" }),
        ("answer option", { $0.syntheses[2].answerOption = 1 }),
        ("answer option absent", { $0.syntheses[2].answerOption = nil }),
        ("call keys order", { $0.syntheses[1].callKeys.reverse() }),
        ("call keys", { $0.syntheses[0].callKeys = [] }),
        ("selection method", { $0.syntheses[1].selectionMethod = .parsed }),
        ("selection method absent", { $0.syntheses[1].selectionMethod = nil }),
        ("selection distribution", { $0.syntheses[1].selectionJSON = #"{"candidates":["left","right"],"probabilities":[0.4,0.6]}"# }),
        ("passages", { $0.syntheses[0].passages = ["left", "right"] }),
        ("passage order", { $0.syntheses[0].passages = ["right", "left"]; $0.syntheses[1].passages = ["left"] }),
        ("passages absent", { $0.syntheses[1].passages = nil }),
        ("passages empty", { $0.syntheses[0].passages = [] }),
        ("answer tie", { $0.syntheses[2].answerTieJSON = #"{"drawn":1,"tied":[0,1]}"# }),
        ("answer tie absent", { $0.syntheses[2].answerTieJSON = nil }),
        ("probabilities", { $0.distributions[0].probabilities = [0.1, 0.9000000000000001] }),
        ("probability count", { $0.distributions[0].probabilities = [0.1, 0.9, 0] }),
        ("covered mass", { $0.distributions[0].coveredMass = 0.7500000000000001 }),
        ("fallback", { $0.distributions[0].fallback = true }),
        ("weight", { $0.distributions[1].weight = 3 }),
        ("rotations", { $0.distributions[0].rotationsJSON = #"[{"offset":0,"probabilities":[0.1,0.9]}]"# }),
        ("distribution community", { $0.distributions[1].community = "left"; $0.distributions[0].community = "right" }),
        ("audit metric", { $0.audits[0].metric = "recall" }),
        ("audit community", { $0.audits[1].community = "right" }),
        ("audit score", { $0.audits[0].score = 0.25 }),
        ("audit score absent", { $0.audits[0].score = nil }),
        ("audit evidence", { $0.audits[1].evidenceJSON = "{}" }),
        ("one row fewer", { $0.audits.removeLast() }),
    ]

    @Test(arguments: 0..<changes.count)
    func anyContentChangeChangesTheDigest(_ index: Int) throws {
        let (field, change) = Self.changes[index]
        var changed = SampleRun()
        change(&changed)
        #expect(try digest(of: changed) != digest(of: SampleRun()), "changing \(field) left the digest unchanged")
    }

    @Test func digestsOfRunsInOneFileAreIndependent() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let corpus = try Corpus.open(path: folder.file("corpus.sqlite"))
        let sample = SampleRun()
        try sample.write(to: corpus)
        let before = try corpus.digest(runID: "run-1")
        let empty = try corpus.digest(runID: "run-2")
        try corpus.insertRun(RunRecord(id: "run-2", name: "other", configJSON: "{}", inputHashes: [:], toolVersion: "0", seed: 1))
        try corpus.insertItems([ItemRecord(runID: "run-2", id: "z", mode: "overton", pool: "p", sourceFile: "f", line: 1, ordinal: 0,
                                           contentJSON: "{}", contentHash: "h")])
        #expect(try corpus.digest(runID: "run-1") == before)
        #expect(try corpus.digest(runID: "run-2") != empty)
        #expect(try corpus.digest(runID: "run-2") != before)
    }
}
