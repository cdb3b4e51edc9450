import Foundation
import Testing
@testable import Inference

/// Continuous batching and prefix reuse change when and how tokens are computed, never
/// which: every test compares token ids and the bit patterns of every log-probability.
@Suite(.serialized) struct ContinuousBatchingTests {
    static func fingerprint(_ g: Generation) -> [String] {
        g.steps.map { "\($0.id) \($0.logprob.bitPattern) \($0.top.map { "\($0.id):\($0.logprob.bitPattern)" })" }
            + [g.finishReason.rawValue, g.text]
    }

    /// Prompts sharing a long system turn (a community's prompt and profile), as the
    /// comment stage sends them.
    static func sharedPrefixRequests(_ engine: Engine) -> [GenerationRequest] {
        let system = "You speak for a community of hill farmers. About your community: "
            + String(repeating: "They value water rights, long winters and old customs. ", count: 8)
        return ["Should cities ban cars?", "Is it fair to inherit wealth?", "What makes a good neighbour?"]
            .enumerated().map { i, question in
                let prompt = ChatTemplate.encode([.init(role: "system", content: system), .init(role: "user", content: question)],
                                                 tokenizer: engine.tokenizer)
                return GenerationRequest(promptIDs: prompt, maxTokens: 12, temperature: i == 0 ? 0 : 0.8, topP: 0.9,
                                         seed: UInt64(20 + i), topLogprobs: 4)
            }
    }

    @Test func prefixReuseGivesEqualStepsAndLogprobs() throws {
        guard let path = realModelPath() else { return }
        let engine = try Engine(modelPath: path, threads: 2)
        let requests = Self.sharedPrefixRequests(engine)
        let without = try engine.generate(requests, stopsAtEndTokens: true, reusePrefixes: false, onStep: nil).map(Self.fingerprint)
        #expect(engine.prefixReuse.reusedTokens == 0)
        // One at a time, so that each prompt finds the ones before it stored.
        var with: [[String]] = []
        for request in requests {
            with.append(try engine.generate([request], stopsAtEndTokens: true, reusePrefixes: true, onStep: nil).map(Self.fingerprint)[0])
        }
        #expect(with == without)
        let tally = engine.prefixReuse
        #expect(tally.hits == 2, "the second and third prompts reuse the first's system turn")
        #expect(tally.reusedTokens > 100)
        // The same prompt again reuses all but its last token.
        let again = try engine.generate([requests[1]], stopsAtEndTokens: true, reusePrefixes: true, onStep: nil)
        #expect(Self.fingerprint(again[0]) == without[1])
        #expect(engine.prefixReuse.reusedTokens - tally.reusedTokens == requests[1].promptIDs.count - 1)
    }

    @Test func sequencesJoinAsOthersFinishWithEqualOutputs() throws {
        guard let path = realModelPath(), let engine = sharedEngine else { return }
        let reference = try ExactReference.load()
        let lengths = [24, 2, 3, 2, 5]
        let requests = lengths.enumerated().map { i, length in
            GenerationRequest(promptIDs: reference.completions[i % reference.completions.count].prompt_ids,
                              maxTokens: length, temperature: i % 2 == 0 ? 0 : 0.9, topK: 40, topP: 0.95,
                              seed: UInt64(5 + i), topLogprobs: 3)
        }
        let alone = try requests.map { try engine.generate([$0], stopsAtEndTokens: false, reusePrefixes: false, onStep: nil)[0] }
        var order: [Int] = []
        var results = [Generation?](repeating: nil, count: requests.count)
        try engine.generateContinuously(requests, sequences: 2, stopsAtEndTokens: false) { index, generation in
            order.append(index)
            results[index] = generation
        }
        #expect(results.map { $0.map(Self.fingerprint) } == alone.map(Self.fingerprint))
        #expect(Set(order) == Set(requests.indices) && order.count == requests.count)
        // Request 0 is the long one: the short ones behind it join and finish first.
        #expect(order.last == 0, "delivery order \(order)")

        // A KV budget that fits one sequence at a time still answers everything, the same.
        let narrow = try Engine(modelPath: path, threads: 2, kvCacheBytes: 1, prefixCacheBytes: 0)
        var narrowResults = [Generation?](repeating: nil, count: requests.count)
        var narrowOrder: [Int] = []
        try narrow.generateContinuously(requests, sequences: 4, stopsAtEndTokens: false) { index, generation in
            narrowOrder.append(index)
            narrowResults[index] = generation
        }
        #expect(narrowOrder == Array(requests.indices))
        #expect(narrowResults.map { $0.map(Self.fingerprint) } == alone.map(Self.fingerprint))
    }

    @Test func deliveryErrorsStopTheGeneration() throws {
        guard let engine = sharedEngine else { return }
        struct Stop: Error {}
        let prompt = engine.tokenizer.encode("Once upon a time")
        let requests = (0..<4).map { GenerationRequest(promptIDs: prompt, maxTokens: 2 + $0, temperature: 0) }
        var delivered = 0
        #expect(throws: Stop.self) {
            try engine.generateContinuously(requests, sequences: 1) { _, _ in
                delivered += 1
                throw Stop()
            }
        }
        #expect(delivered == 1)
    }

    @Test func prefixStoreStaysWithinItsBudget() throws {
        guard let path = realModelPath() else { return }
        let probe = try Engine(modelPath: path, threads: 1, prefixCacheBytes: 0)
        let perPosition = KVCache(config: probe.config).bytesPerPosition
        let store = PrefixCache(budgetBytes: 100 * perPosition)
        let cache = KVCache(config: probe.config)
        cache.reserve(80)
        cache.length = 80
        store.store((0..<60).map { Int32($0) }, from: cache)
        store.store((100..<140).map { Int32($0) }, from: cache)
        #expect(store.count == 2 && store.usedBytes == 100 * perPosition)
        _ = store.longestMatch((0..<10).map { Int32($0) })  // the first is now the more recent
        store.store((200..<230).map { Int32($0) }, from: cache)
        #expect(store.count == 2 && store.usedBytes == 90 * perPosition, "the least recently used entry went")
        #expect(store.longestMatch((100..<140).map { Int32($0) }) == nil)
        #expect(store.longestMatch((0..<70).map { Int32($0) })?.length == 60)
        // Never the whole prompt: its last token must give the first step's logits.
        #expect(store.longestMatch((0..<60).map { Int32($0) })?.length == 59)
    }
}

/// Requests whose shared prefix is being computed when they could join wait for it (others
/// go first), so the comment prompts of a second item reuse the first item's system turns.
@Suite struct PrefixWaitingTests {
    @Test func aRequestWaitsForAPrefixInProgress() throws {
        guard let path = realModelPath() else { return }
        let engine = try Engine(modelPath: path, threads: 2)
        let shared = ContinuousBatchingTests.sharedPrefixRequests(engine)
        let other = GenerationRequest(promptIDs: engine.tokenizer.encode("A different prompt about the weather today."),
                                      maxTokens: 3, temperature: 0)
        var order: [Int] = []
        try engine.generateContinuously([shared[0], shared[1], other], sequences: 3) { index, _ in order.append(index) }
        let tally = engine.prefixReuse
        #expect(tally.hits == 1 && tally.reusedTokens > 100, "the second shared prompt copied the first's system turn")
        #expect(order.first == 2, "the unrelated request joined first and finished first: \(order)")
    }
}
