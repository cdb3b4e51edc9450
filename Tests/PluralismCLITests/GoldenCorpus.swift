import ContentHash
import Corpus
import Foundation

/// A small corpus written record by record with fixed values (timestamps included): its
/// digest and its export are pinned by the golden tests, so a change of the corpus's byte
/// format or of the export's records cannot pass unnoticed.
enum GoldenCorpus {
    static let runID = "golden-run"

    @discardableResult
    static func write(in scratch: Scratch, name: String = "golden.sqlite", userVersion: Int? = nil) throws -> String {
        let path = scratch.file(name)
        let corpus = try Corpus.open(path: path)
        try corpus.insertRun(RunRecord(
            id: runID, name: "golden", configJSON: #"{"name":"golden","seed":7}"#, inputHashes: ["run.json": SHA256.hex("config")],
            toolVersion: "golden-1", seed: 7, status: .finished, createdAt: "2026-01-01T00:00:00.000Z"))
        try corpus.insertItems([
            ItemRecord(runID: runID, id: "o1", mode: "overton", pool: "people", sourceFile: "questions.jsonl", line: 1, ordinal: 0,
                       contentJSON: #"{"id":"o1","mode":"overton","text":"Returning a lost wallet."}"#,
                       contentHash: SHA256.hex(#"{"id":"o1","mode":"overton","text":"Returning a lost wallet."}"#)),
        ])
        try corpus.insertCommunities([
            CommunityRecord(runID: runID, name: "north", pool: "people", description: "People of the north.",
                            systemPrompt: "You speak for the north.", profile: "", modelJSON: #"{"backend":"embedded"}"#, ordinal: 0),
            CommunityRecord(runID: runID, name: "south", pool: "people", description: "People of the south.",
                            systemPrompt: "You speak for the south.", profile: "", modelJSON: #"{"backend":"embedded"}"#, ordinal: 1),
        ])
        let calls = ["north", "south", "overton"].map { what in
            ArchivedCall(key: SHA256.hex("call/\(what)"), backend: "embedded", baseURL: "", model: "golden",
                         requestJSON: #"{"purpose":"\#(what)"}"#, responseJSON: #"{"text":"\#(what) reply"}"#,
                         createdAt: "2026-01-01T00:00:00.000Z", durationMS: 5)
        }
        for call in calls { try corpus.archiveCall(call) }
        try corpus.insertComment(CommentRecord(runID: runID, itemID: "o1", community: "north", sampleIndex: 0,
                                               text: "Give it back: it is theirs.", callKey: calls[0].key))
        try corpus.insertComment(CommentRecord(runID: runID, itemID: "o1", community: "south", sampleIndex: 0,
                                               text: "Hand it to the police.", callKey: calls[1].key))
        try corpus.insertSynthesis(SynthesisRecord(runID: runID, itemID: "o1", method: "overton",
                                                   text: "Return it, yourself or through the police.", callKeys: [calls[2].key]),
                                   distributions: [])
        if let userVersion { try corpus.database.executeScript("PRAGMA user_version = \(userVersion)") }
        return path
    }
}
