import Foundation
import Testing
@testable import Inference

/// Continuous batching and prefix reuse change when and how tokens are computed, never
/// which: every test compares token ids and the bit patterns of every log-probability.
@Suite(.serialized, .enabled(if: RealModel.enabled, RealModel.skipReason)) struct ContinuousBatchingTests {
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

    @Test func prefixReuseGivesEqualStepsAndLogprobs() async throws {
        let path = try RealModel.path()
        let engine = try Engine(modelPath: path, threads: 2)
        let requests = Self.sharedPrefixRequests(engine)
        let (without, afterWithout, with, tally, again, afterAgain) = try await offCooperativePool {
            let without = try engine.generate(requests, stopsAtEndTokens: true, reusePrefixes: false, onStep: nil).map(Self.fingerprint)
            let afterWithout = engine.prefixReuse
            // One at a time, so that each prompt finds the ones before it stored.
            var with: [[String]] = []
            for request in requests {
                with.append(try engine.generate([request], stopsAtEndTokens: true, reusePrefixes: true, onStep: nil).map(Self.fingerprint)[0])
            }
            let tally = engine.prefixReuse
            let again = try engine.generate([requests[1]], stopsAtEndTokens: true, reusePrefixes: true, onStep: nil).map(Self.fingerprint)[0]
            return (without, afterWithout, with, tally, again, engine.prefixReuse)
        }
        #expect(afterWithout.reusedTokens == 0)
        #expect(with == without)
        #expect(tally.hits == 2, "the second and third prompts reuse the first's system turn")
        #expect(tally.reusedTokens > 100)
        // The same prompt again reuses all but its last token.
        #expect(again == without[1])
        #expect(afterAgain.reusedTokens - tally.reusedTokens == requests[1].promptIDs.count - 1)
    }

    @Test func sequencesJoinAsOthersFinishWithEqualOutputs() async throws {
        let path = try RealModel.path()
        let engine = try RealModel.engine()
        let reference = try ExactReference.load()
        let lengths = [24, 2, 3, 2, 5]
        let requests = lengths.enumerated().map { i, length in
            GenerationRequest(promptIDs: reference.completions[i % reference.completions.count].prompt_ids,
                              maxTokens: length, temperature: i % 2 == 0 ? 0 : 0.9, topK: 40, topP: 0.95,
                              seed: UInt64(5 + i), topLogprobs: 3)
        }
        typealias Run = (order: [Int], results: [[String]?])
        let (alone, joined, narrow) = try await offCooperativePool { () -> ([[String]], Run, Run) in
            let alone = try requests.map {
                Self.fingerprint(try engine.generate([$0], stopsAtEndTokens: false, reusePrefixes: false, onStep: nil)[0])
            }
            func run(_ engine: Engine, sequences: Int) throws -> Run {
                var order: [Int] = []
                var results = [[String]?](repeating: nil, count: requests.count)
                try engine.generateContinuously(requests, sequences: sequences, stopsAtEndTokens: false) { index, generation in
                    order.append(index)
                    results[index] = Self.fingerprint(generation)
                }
                return (order, results)
            }
            // A KV budget that fits one sequence at a time still answers everything.
            let narrow = try Engine(modelPath: path, threads: 2, kvCacheBytes: 1, prefixCacheBytes: 0)
            return (alone, try run(engine, sequences: 2), try run(narrow, sequences: 4))
        }
        #expect(joined.results == alone)
        #expect(Set(joined.order) == Set(requests.indices) && joined.order.count == requests.count)
        // Request 0 is the long one: the short ones behind it join and finish first.
        #expect(joined.order.last == 0, "delivery order \(joined.order)")
        #expect(narrow.order == Array(requests.indices))
        #expect(narrow.results == alone)
    }

    @Test func deliveryErrorsStopTheGeneration() async throws {
        let engine = try RealModel.engine()
        struct Stop: Error {}
        let prompt = engine.tokenizer.encode("Once upon a time")
        let requests = (0..<4).map { GenerationRequest(promptIDs: prompt, maxTokens: 2 + $0, temperature: 0) }
        let (delivered, stopped) = try await offCooperativePool { () -> (Int, Bool) in
            var delivered = 0
            do {
                try engine.generateContinuously(requests, sequences: 1) { _, _ in
                    delivered += 1
                    throw Stop()
                }
                return (delivered, false)
            } catch is Stop {
                return (delivered, true)
            }
        }
        #expect(stopped)
        #expect(delivered == 1)
    }

    @Test func prefixStoreStaysWithinItsBudget() throws {
        let path = try RealModel.path()
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
@Suite(.enabled(if: RealModel.enabled, RealModel.skipReason)) struct PrefixWaitingTests {
    @Test func aRequestWaitsForAPrefixInProgress() async throws {
        let path = try RealModel.path()
        let engine = try Engine(modelPath: path, threads: 2)
        let shared = ContinuousBatchingTests.sharedPrefixRequests(engine)
        let other = GenerationRequest(promptIDs: engine.tokenizer.encode("A different prompt about the weather today."),
                                      maxTokens: 3, temperature: 0)
        let order = try await offCooperativePool { () -> [Int] in
            var order: [Int] = []
            try engine.generateContinuously([shared[0], shared[1], other], sequences: 3) { index, _ in order.append(index) }
            return order
        }
        let tally = engine.prefixReuse
        #expect(tally.hits == 1 && tally.reusedTokens > 100, "the second shared prompt copied the first's system turn")
        #expect(order.first == 2, "the unrelated request joined first and finished first: \(order)")
    }
}
