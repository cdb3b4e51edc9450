import ContentHash
import Foundation
import Testing
@testable import Inference

/// Every generated id and the bit pattern of every log-probability (chosen and top-k), for
/// four requests, hashed. `expected` was computed from `pluralism generate --json` of the
/// engine before the C kernels, continuous batching and prefix reuse (numerics version 1,
/// each request alone): any changed bit in any kernel variant, the batching or the reuse
/// fails this test.
@Suite(.serialized, .enabled(if: RealModel.enabled, RealModel.skipReason)) struct GoldenOutputTests {
    static let expected = "865f8267fa69d027359e61e67158dcdcd24b8428eb759695d7d9b1490e47887f"

    /// The requests `pluralism generate` builds for the recorded commands.
    static func requests(_ engine: Engine) -> [GenerationRequest] {
        func chat(_ user: String, system: String? = nil) -> [Int32] {
            var turns: [ChatTemplate.Turn] = []
            if let system { turns.append(.init(role: "system", content: system)) }
            turns.append(.init(role: "user", content: user))
            return ChatTemplate.encode(turns, tokenizer: engine.tokenizer)
        }
        let long = String(repeating: "Rivers carry water from the mountains to the sea, and towns grow on their banks. ", count: 6)
        return [
            GenerationRequest(promptIDs: chat("Should cities ban cars from their centres?"), maxTokens: 24,
                              temperature: 0, topLogprobs: 5),
            GenerationRequest(promptIDs: chat("Is it fair to inherit wealth? Answer in two sentences.",
                                              system: "You are a farmer from a small village who values tradition."),
                              maxTokens: 32, temperature: 0.8, topP: 0.9, seed: 11, topLogprobs: 5),
            GenerationRequest(promptIDs: chat("Write a short poem about rivers and the towns that grow on their banks, then explain it."),
                              maxTokens: 40, temperature: 0.7, topK: 40, seed: 3, topLogprobs: 3),
            // Longer than one 64-token forward batch.
            GenerationRequest(promptIDs: engine.tokenizer.encode(long), maxTokens: 32, temperature: 0.7, topK: 40,
                              seed: 99, topLogprobs: 5),
        ]
    }

    static func digest(_ generations: [Generation]) -> String {
        var text = ""
        for g in generations {
            text += "\(g.finishReason.rawValue)|"
            for step in g.steps {
                text += "\(step.id):\(step.logprob.bitPattern)"
                for alternative in step.top { text += ",\(alternative.id):\(alternative.logprob.bitPattern)" }
                text += ";"
            }
            text += "\n"
        }
        return SHA256.hex(Array(text.utf8))
    }

    /// All four in one batch, then two at a time with prefix reuse (the third and first
    /// share the template's system turn).
    @Test func outputsEqualNumericsVersion1() async throws {
        let engine = try RealModel.engine()
        let (batched, twoAtATime) = try await offCooperativePool {
            let requests = Self.requests(engine)
            let batched = Self.digest(try engine.generate(requests))
            var results = [Generation?](repeating: nil, count: requests.count)
            try engine.generateContinuously(requests, sequences: 2) { results[$0] = $1 }
            return (batched, Self.digest(results.map { $0! }))
        }
        #expect(batched == Self.expected)
        #expect(twoAtATime == Self.expected)
    }
}
