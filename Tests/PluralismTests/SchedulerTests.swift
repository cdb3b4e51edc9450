import Corpus
import Foundation
import Testing
@testable import Pluralism

@Suite struct SchedulerTests {
    static func context(_ corpus: Corpus, _ model: any LanguageModel, replayOnly: Bool = false) -> StageContext {
        StageContext(inputs: PipelineFixture.inputs(), corpus: corpus, options: StageOptions(replayOnly: replayOnly),
                     models: { _ in model }, embedder: { WordEmbedder() })
    }

    static func referenceDigest() async throws -> (runID: String, digest: String) {
        let corpus = try PipelineFixture.temporaryCorpus()
        let summary = try await Pipeline.run(PipelineFixture.context(PipelineFixture.inputs(), corpus: corpus, model: ScriptedModel()))
        return (summary.runID, try corpus.digest(runID: summary.runID))
    }

    /// Answers in random completion order, with 1 to 64 in flight, change not a byte.
    @Test func completionOrderDoesNotChangeTheDigest() async throws {
        let reference = try await Self.referenceDigest()
        for (capacity, seed) in [(1, 1), (3, 2), (7, 3), (64, 4), (64, 5)] as [(Int, UInt64)] {
            let corpus = try PipelineFixture.temporaryCorpus()
            let model = SchedulerScrambledModel(capacity: capacity, seed: seed)
            let summary = try await Pipeline.run(Self.context(corpus, model))
            #expect(summary.freshCalls == PipelineFixture.fullRunCalls)
            #expect(summary.comments == PipelineFixture.commentCount)
            #expect(summary.syntheses == PipelineFixture.synthesisCount)
            #expect(try corpus.digest(runID: summary.runID) == reference.digest, "capacity \(capacity), seed \(seed)")
        }
    }

    /// A crash after any number of answers: every answer delivered before it is archived
    /// (and every comment made of one is stored), and the resumed run ends with the
    /// uninterrupted run's digest, asking the model only for what was missing.
    @Test func answersDeliveredBeforeAFailureAreKeptAndTheRunResumes() async throws {
        let reference = try await Self.referenceDigest()
        for failAfter in [0, 1, 5, 15, 16, 17, 23, 40, 61, 89] {
            let corpus = try PipelineFixture.temporaryCorpus()
            let failing = SchedulerScrambledModel(capacity: 6, seed: UInt64(failAfter), failAfter: failAfter)
            await #expect(throws: ScriptedFailure.self) { try await Pipeline.run(Self.context(corpus, failing)) }
            #expect(try corpus.archivedCallCount() == failAfter, "fail after \(failAfter)")
            let comments = try corpus.comments(runID: reference.runID).count
            #expect(comments == min(failAfter, PipelineFixture.commentCount))

            let resuming = SchedulerScrambledModel(capacity: 6, seed: 99)
            let resumed = try await Pipeline.run(Self.context(corpus, resuming))
            #expect(resuming.deliveries == PipelineFixture.fullRunCalls - failAfter)
            #expect(resumed.freshCalls == PipelineFixture.fullRunCalls - failAfter)
            #expect(try corpus.digest(runID: reference.runID) == reference.digest, "fail after \(failAfter)")
        }
    }

    /// Each model gets all of a stage's calls in one request list, not chunks.
    @Test func aStageHandsAModelAllItsCallsAtOnce() async throws {
        let corpus = try PipelineFixture.temporaryCorpus()
        let model = ScriptedModel()
        let context = Self.context(corpus, model)
        try Stages.ingest(context.inputs, into: corpus)
        _ = try await Stages.comment(context)
        // The lockstep default answers in chunks of the model's capacity (8): 16 comments
        // are two full chunks, handed over together.
        #expect(model.batches == [8, 8])
    }

    @Test func groupCommitWritesByCountAndByTime() async throws {
        let corpus = try PipelineFixture.temporaryCorpus()
        let writes = GroupCommit(corpus: corpus, maxWrites: 3, maxDelay: 0.2)
        func call(_ n: Int) -> ArchivedCall {
            ArchivedCall(key: "k\(n)", backend: "b", baseURL: "", model: "m", requestJSON: "{}", responseJSON: "{}", durationMS: 0)
        }
        try writes.add { try $0.archiveCall(call(1)) }
        try writes.add { try $0.archiveCall(call(2)) }
        #expect(try corpus.archivedCallCount() == 0)
        try writes.add { try $0.archiveCall(call(3)) }
        #expect(try corpus.archivedCallCount() == 3)
        try writes.add { try $0.archiveCall(call(4)) }
        // The timer commits a lone write without any further add.
        var waited = 0
        while try corpus.archivedCallCount() < 4, waited < 100 {
            try await Task.sleep(nanoseconds: 50_000_000)
            waited += 1
        }
        #expect(try corpus.archivedCallCount() == 4)
        // A failed commit is reported, and by every later use.
        try writes.add { _ in throw ScriptedFailure(afterCalls: 0) }
        #expect(throws: (any Error).self) { try writes.commit() }
        #expect(throws: (any Error).self) { try writes.add { _ in } }
    }

    /// Against a real HTTP server whose answers come back in whatever order the sockets
    /// give: the OpenAI client keeps up to max_in_flight requests open, and two runs give
    /// the same digest. (max_in_flight is part of the config, so of the run's content.)
    @Test func anHTTPRunKeepsItsRequestsInFlightAndItsDigest() async throws {
        let server = try LoopbackServer(latency: 0.05, handler: ScriptedChatCompletions.reply)
        defer { server.stop() }
        var digests: [String] = []
        for inFlight in [16, 16] {
            let spec = ModelSpec(backend: "openai", baseURL: server.baseURL, model: "loopback", maxInFlight: inFlight)
            let inputs = PipelineFixture.inputs { config in
                config.baseModel = spec
                for index in config.communities.indices { config.communities[index].model = spec }
            }
            let corpus = try PipelineFixture.temporaryCorpus()
            let before = server.requestCount
            let context = StageContext(inputs: inputs, corpus: corpus, options: StageOptions(),
                                       models: { try ModelLoader(environment: [:]).model(for: $0) },
                                       embedder: { WordEmbedder() })
            let summary = try await Pipeline.run(context)
            // Plus one GET /v1/models, which settles the served identity (404 here: no listing).
            #expect(server.requestCount - before == PipelineFixture.fullRunCalls + 1)
            #expect(summary.syntheses == PipelineFixture.synthesisCount)
            digests.append(try corpus.digest(runID: summary.runID))
        }
        // Never more than asked for; more than one at once (the exact peak depends on timing).
        #expect(server.peakConcurrency > 1 && server.peakConcurrency <= 16)
        #expect(digests[0] == digests[1])
    }
}
