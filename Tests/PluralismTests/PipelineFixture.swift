import Corpus
import Foundation
@testable import Pluralism

/// Small inputs for pipeline tests, built in code so a test can change one thing (add a
/// community, rename the run) and count exactly what that costs.
///
/// Pools: `perspective` (left, center, right) and `culture` (asia, europe).
/// Items: two Overton situations (one per pool), two steerable items (open and multiple
/// choice), two distributional questions (one with a weighted population).
/// A full run, every choice read in every rotation of its candidates, makes 90 calls:
/// 16 comments (4 perspective items × 3 + 2 culture items × 2); overton 2; steerable: st1
/// 3 selection rotations + 1 answer, st2 3 + 3 option rotations; distributional di1 3
/// communities × 3 rotations, di2 2 × 2; vanilla and prompting 1 + 1 + 1 + 3 + 3 + 2 each;
/// moe selections 3 + 2 + 3 + 3 + 3 + 2 and answers 1 + 1 + 1 + 3 + 3 + 2.
enum PipelineFixture {
    static let fullRunCalls = 90
    static let commentCount = 16
    static let synthesisCount = 24

    static func community(_ name: String, pool: String, label: String? = nil) -> CommunitySpec {
        CommunitySpec(name: name, pool: pool, description: "People who see things the \(name) way.", label: label,
                      systemPrompt: "You speak for the \(name) community.",
                      profile: "We, the \(name) community, care about what our members care about.",
                      model: .embedded, decoding: RunConfig.defaultCommentDecoding)
    }

    static let items: [Item] = [
        Item(id: "ov1", mode: .overton, pool: "perspective", sourceFile: "overton.jsonl", line: 1,
             text: "A city plans to replace a park with housing.",
             values: [ReferenceValue(value: "Shelter", explanation: "People need homes.")]),
        Item(id: "ov2", mode: .overton, pool: "culture", sourceFile: "overton-culture.jsonl", line: 1,
             text: "Grandparents move in with their adult children's family."),
        Item(id: "st1", mode: .steerable, pool: "perspective", sourceFile: "steerable.jsonl", line: 1,
             text: "Should a company keep a loyal but slow employee?", attribute: "fairness"),
        Item(id: "st2", mode: .steerable, pool: "perspective", sourceFile: "steerable.jsonl", line: 2,
             text: "Government should do more to reduce income differences.", attribute: "political ideology: liberal",
             options: ["Agree", "Disagree", "Unsure"], gold: 0),
        Item(id: "di1", mode: .distributional, pool: "perspective", sourceFile: "distributional.jsonl", line: 1,
             text: "Is a free press important?", options: ["Very", "Somewhat", "Not at all"],
             population: "left-leaning", goldDistribution: [0.7, 0.2, 0.1]),
        Item(id: "di2", mode: .distributional, pool: "culture", sourceFile: "distributional-culture.jsonl", line: 1,
             text: "Is it rude to arrive early?", options: ["Yes", "No"]),
    ]

    static func config(name: String = "fixture", extraCommunity: String? = nil,
                       perspectives: [String] = ["left", "center", "right"]) -> RunConfig {
        var communities = perspectives.map { community($0, pool: "perspective") }
        if let extraCommunity { communities.append(community(extraCommunity, pool: "perspective")) }
        communities += ["asia", "europe"].map { community($0, pool: "culture") }
        return RunConfig(
            name: name, seed: 7, communities: communities, baseModel: .embedded, methods: Method.allCases,
            commentDecoding: RunConfig.defaultCommentDecoding, baseDecoding: RunConfig.defaultBaseDecoding,
            distributionTopLogprobs: 20,
            populations: [Population(name: "left-leaning", label: "Left-leaning voters", weights: ["left": 3])],
            questions: [])
    }

    static func inputs(name: String = "fixture", extraCommunity: String? = nil) -> RunInputs {
        RunInputs(config: config(name: name, extraCommunity: extraCommunity), items: items,
                  fileHashes: ["run.json": "0000", "overton.jsonl": "1111"])
    }

    /// The fixture with changes to its config and items (a reordering, a setting).
    static func inputs(config change: (inout RunConfig) -> Void, items: [Item] = items) -> RunInputs {
        var config = config()
        change(&config)
        return RunInputs(config: config, items: items, fileHashes: ["run.json": "0000", "overton.jsonl": "1111"])
    }

    static func temporaryCorpus() throws -> Corpus {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("pluralism-tests-\(UUID().uuidString)")
            .appendingPathComponent("corpus.sqlite").path
        return try Corpus.open(path: path)
    }

    static func context(_ inputs: RunInputs, corpus: Corpus, model: ScriptedModel, batchSize: Int = 4,
                        replayOnly: Bool = false) -> StageContext {
        StageContext(inputs: inputs, corpus: corpus,
                     options: StageOptions(replayOnly: replayOnly, batchSize: batchSize, quiet: true),
                     models: { _ in model }, embedder: { WordEmbedder() })
    }
}
