import Corpus
import Foundation
import Inference
import Testing
@testable import Pluralism

/// The pipeline on the fixture files in `Fixtures/pipeline/` (one pool of 2 communities, one
/// item per mode, 16-token replies): through the input loader with a scripted model, and once
/// with the real embedded engine.
@Suite struct PipelineEngineTests {
    static let configPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/pipeline/run.json").path

    /// Comments 3 × 2; overton 1; steerable 2 selection rotations + 3 answer rotations;
    /// distributional 2 communities × 3 option rotations; vanilla and prompting 1 + 3 + 3 each;
    /// moe 2 selection rotations per item + answers 1 + 3 + 3.
    static let calls = 45

    static let modelPath = ModelStore().path(for: ModelStore.defaultModel)
    static let encoderPaths = [ModelStore.sentenceModel, ModelStore.sentenceVocabulary].map { ModelStore().path(for: $0) }
    static var engineTestsEnabled: Bool {
        #if DEBUG
        // Debug builds run the engine 10-100× slower: opt in explicitly.
        let optimised = ProcessInfo.processInfo.environment["PLURALISM_SLOW_TESTS"] == "1"
        #else
        let optimised = true
        #endif
        let present = ([modelPath] + encoderPaths).allSatisfy { FileManager.default.fileExists(atPath: $0) }
        // Under CI=true a missing model fails these tests instead of skipping them.
        return optimised && (present || ProcessInfo.processInfo.environment["CI"] == "true")
    }

    @Test func theFixtureFilesRunWithAScriptedModel() async throws {
        let inputs = try InputLoader.load(configPath: Self.configPath)
        #expect(inputs.items.map(\.id) == ["ov-park", "st-curfew", "di-bus"])
        #expect(inputs.config.communities.map(\.name) == ["farmers", "students"])
        var digests: [String] = []
        for batchSize in [2, 8] {
            let corpus = try PipelineFixture.temporaryCorpus()
            let model = ScriptedModel()
            let summary = try await Pipeline.run(PipelineFixture.context(inputs, corpus: corpus, model: model, batchSize: batchSize))
            #expect(model.calls == Self.calls)
            #expect(summary.comments == 6)
            #expect(summary.syntheses == 1 + 1 + 1 + 3 * 3)
            digests.append(try corpus.digest(runID: summary.runID))
        }
        #expect(digests[0] == digests[1])
    }

    @Test(.enabled(if: PipelineEngineTests.engineTestsEnabled,
                   "needs the model files (fetch them with `pluralism models fetch`) and a release build (swift test -c release -Xswiftc -enable-testing), or PLURALISM_SLOW_TESTS=1"))
    func aTinyRunWithTheEmbeddedEngineCompletesAndReplays() async throws {
        let inputs = try InputLoader.load(configPath: Self.configPath)
        let corpus = try PipelineFixture.temporaryCorpus()
        let loader = ModelLoader()
        let context = StageContext(inputs: inputs, corpus: corpus, options: StageOptions(batchSize: 8),
                                   models: { try loader.model(for: $0) }, embedder: { try loader.sentenceEmbedder() })
        let first = try await Pipeline.run(context)
        #expect(first.freshCalls == Self.calls)
        #expect(first.comments == 6)
        #expect(first.syntheses == 12)
        let comments = try corpus.comments(runID: first.runID)
        #expect(comments.allSatisfy { !$0.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty })
        let mixed = try #require(try corpus.distributions(runID: first.runID, itemID: "di-bus", method: "distributional")
            .first { $0.community == "" })
        #expect(abs(mixed.probabilities.reduce(0, +) - 1) < 1e-9)
        // The audit scored every answer with the real sentence encoder.
        let audits = try corpus.audits(runID: first.runID)
        #expect(Set(audits.map(\.method)).count == 6)
        #expect(audits.contains { $0.metric == "faithfulness" && $0.score != nil })
        #expect(try corpus.auditScorer(runID: first.runID)?.model.hasPrefix("all-MiniLM-L6-v2@") == true)

        let again = try await Pipeline.run(StageContext(inputs: inputs, corpus: corpus, models: { try loader.model(for: $0) }, embedder: { try loader.sentenceEmbedder() }))
        #expect(again.freshCalls == 0)

        var renamed = inputs
        renamed.config.name = "pipeline-fixture-replay"
        let replay = try await Pipeline.run(StageContext(inputs: renamed, corpus: corpus, options: StageOptions(replayOnly: true),
                                                         models: { try loader.model(for: $0) }, embedder: { try loader.sentenceEmbedder() }))
        #expect(replay.freshCalls == 0)
        #expect(replay.replayedCalls == Self.calls)
        #expect(try corpus.digest(runID: replay.runID) == corpus.digest(runID: first.runID))
    }

    /// The reproducibility promise on the real engine: two fresh runs into separate corpora,
    /// one on a single thread in small batches and one on two threads in large batches, store
    /// the same content.
    @Test(.enabled(if: PipelineEngineTests.engineTestsEnabled,
                   "needs the model files (fetch them with `pluralism models fetch`) and a release build"))
    func twoFreshEngineRunsGiveTheSameDigestWhateverThreadsAndBatches() async throws {
        let inputs = try InputLoader.load(configPath: Self.configPath)
        var digests: [String] = []
        for (threads, batchSize) in [(1, 3), (2, 8)] {
            let corpus = try PipelineFixture.temporaryCorpus()
            let loader = ModelLoader(threads: threads)
            let summary = try await Pipeline.run(StageContext(inputs: inputs, corpus: corpus,
                                                              options: StageOptions(batchSize: batchSize),
                                                              models: { try loader.model(for: $0) }, embedder: { try loader.sentenceEmbedder() }))
            #expect(summary.freshCalls == Self.calls)
            digests.append(try corpus.digest(runID: summary.runID))
        }
        #expect(digests[0] == digests[1])
    }
}
