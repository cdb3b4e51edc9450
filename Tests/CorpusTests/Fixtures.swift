import ContentHash
import Corpus
import Foundation

/// A fresh folder under the system temp folder, removed by `remove()`.
struct TemporaryFolder {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("corpus-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A small, complete run: two items, two communities, comments, syntheses with
/// distributions and audits. Tests change one field at a time through `change`.
struct SampleRun {
    var run = RunRecord(
        id: "run-1", name: "sample", configJSON: #"{"seed":7}"#, inputHashes: ["inputs/items.jsonl": "ab12", "config.json": "cd34"],
        toolVersion: "0.1.0", seed: 7, status: .running, createdAt: "2026-01-01T00:00:00.000Z")
    var items: [ItemRecord] = [
        ItemRecord(runID: "run-1", id: "q1", mode: "overton", pool: "perspectives", sourceFile: "inputs/items.jsonl", line: 1,
                   ordinal: 0, contentJSON: #"{"text":"Is lying ever right?"}"#, contentHash: SHA256.hex("q1")),
        ItemRecord(runID: "run-1", id: "q2", mode: "distributional", pool: "cultures", sourceFile: "inputs/items.jsonl", line: 2,
                   ordinal: 1, contentJSON: #"{"options":["yes","no"]}"#, contentHash: SHA256.hex("q2")),
    ]
    var communities: [CommunityRecord] = [
        CommunityRecord(runID: "run-1", name: "left", pool: "perspectives", description: "left-leaning", systemPrompt: "You are left.",
                        profile: "We value equality.", modelJSON: #"{"backend":"embedded"}"#, ordinal: 0),
        CommunityRecord(runID: "run-1", name: "right", pool: "perspectives", description: "right-leaning", systemPrompt: "You are right.",
                        profile: "We value liberty.", modelJSON: #"{"backend":"embedded"}"#, ordinal: 1, label: "Right-leaning readers"),
    ]
    var calls: [ArchivedCall] = ["k1", "k2", "k3", "k4", "k5"].map {
        ArchivedCall(key: SHA256.hex($0), backend: "embedded", baseURL: "", model: "smollm2", requestJSON: "{\"r\":\"\($0)\"}",
                     responseJSON: "{\"text\":\"\($0)\"}", createdAt: "2026-01-01T00:00:00.000Z", durationMS: 12)
    }
    var comments: [CommentRecord] = []
    var syntheses: [SynthesisRecord] = []
    var distributions: [DistributionRecord] = []
    var audits: [AuditRecord] = []

    init() {
        comments = [
            CommentRecord(runID: "run-1", itemID: "q1", community: "left", sampleIndex: 0, text: "Sometimes.", callKey: calls[0].key),
            CommentRecord(runID: "run-1", itemID: "q1", community: "right", sampleIndex: 0, text: "Rarely.", callKey: calls[1].key),
            CommentRecord(runID: "run-1", itemID: "q1", community: "right", sampleIndex: 1, text: "Never.", callKey: calls[2].key),
        ]
        syntheses = [
            SynthesisRecord(runID: "run-1", itemID: "q1", method: "overton", text: "Views differ.", callKeys: [calls[3].key]),
            SynthesisRecord(runID: "run-1", itemID: "q1", method: "steerable", text: "Rarely.", selectedCommunity: "right",
                            selectionParsed: false, selectionReply: "I pick the second", answerOption: nil, callKeys: [calls[3].key, calls[4].key],
                            selectionMethod: .fallback, selectionJSON: #"{"candidates":["left","right"],"probabilities":[0.5,0.5]}"#,
                            passages: ["right"]),
            SynthesisRecord(runID: "run-1", itemID: "q2", method: "distributional", text: "A", answerOption: 0, callKeys: [calls[4].key],
                            answerTieJSON: #"{"drawn":0,"tied":[0,1]}"#),
        ]
        distributions = [
            DistributionRecord(runID: "run-1", itemID: "q2", method: "distributional", community: "left",
                               probabilities: [0.1, 0.9], coveredMass: 0.75, fallback: false, weight: 1,
                               rotationsJSON: #"[{"offset":0,"probabilities":[0.2,0.8]},{"offset":1,"probabilities":[0,1]}]"#),
            DistributionRecord(runID: "run-1", itemID: "q2", method: "distributional", community: "right",
                               probabilities: [0.5, 0.5], coveredMass: 0.0, fallback: true, weight: 2),
            DistributionRecord(runID: "run-1", itemID: "q2", method: "distributional", community: "",
                               probabilities: [1.0 / 3.0, 2.0 / 3.0], coveredMass: 0.5, fallback: false, weight: 1),
        ]
        audits = [
            AuditRecord(runID: "run-1", itemID: "q1", method: "overton", metric: "coverage", score: 0.5, evidenceJSON: #"{"covered":1}"#),
            AuditRecord(runID: "run-1", itemID: "q1", method: "overton", metric: "faithfulness", community: "left", score: nil,
                        evidenceJSON: #"{"error":"unparsed"}"#),
        ]
    }

    /// Writes everything, in the order given by `reversed` (forwards or backwards), so two
    /// writes of the same content differ in insertion order.
    func write(to corpus: Corpus, reversed: Bool = false) throws {
        func ordered<T>(_ rows: [T]) -> [T] { reversed ? rows.reversed() : rows }
        try corpus.insertRun(run)
        try corpus.insertCommunities(ordered(communities))
        try corpus.insertItems(ordered(items))
        for call in ordered(calls) { try corpus.archiveCall(call) }
        for comment in ordered(comments) { try corpus.insertComment(comment) }
        for synthesis in ordered(syntheses) {
            let parts = distributions.filter { $0.itemID == synthesis.itemID && $0.method == synthesis.method }
            try corpus.insertSynthesis(synthesis, distributions: ordered(parts))
        }
        try corpus.insertAudits(ordered(audits))
    }
}

/// sha256 of a file's bytes, to show that a refused file was left unchanged.
func fileHash(_ path: String) throws -> String {
    SHA256.hex([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
}
