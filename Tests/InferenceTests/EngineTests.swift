import Foundation
import Testing
@testable import Inference

@Suite(.serialized, .enabled(if: RealModel.enabled, RealModel.skipReason)) struct EngineTests {
    /// All reference prompts decoded greedily in one batch: each continuation equals the
    /// reference wherever the reference's choice is decided (top-1 beats top-2 by more than
    /// 0.05 nats, up to the first step where it does not), and the top-10 log-probs agree
    /// within 0.05 nats at every compared step.
    @Test func greedyBatchMatchesExactReference() throws {
        let engine = try RealModel.engine()
        let reference = try ExactReference.load()
        let requests = reference.completions.map {
            GenerationRequest(promptIDs: $0.prompt_ids, maxTokens: $0.steps.count, temperature: 0, topLogprobs: 20)
        }
        let generations = try engine.generate(requests)
        var distances: [Float] = []
        for (completion, generation) in zip(reference.completions, generations) {
            #expect(generation.promptIDs == completion.prompt_ids)
            let decided = ExactReference.decidedPrefix(completion.steps)
            let compared = min(decided + 1, completion.steps.count)
            #expect(Array(generation.ids.prefix(decided)) == Array(completion.greedy_ids.prefix(decided)),
                    "\(completion.prompt.debugDescription)")
            for s in 0..<min(compared, generation.steps.count) {
                let ours = Dictionary(generation.steps[s].top.map { ($0.id, $0.logprob) }, uniquingKeysWith: { a, _ in a })
                for (id, logprob) in completion.steps[s].alternatives {
                    // We report our top-20 so that near-ties at rank 10 are still compared.
                    let mine = try #require(ours[id], "step \(s): token \(id) not in our top-20")
                    distances.append(abs(mine - logprob))
                    #expect(abs(mine - logprob) < 0.05, "\(completion.prompt.debugDescription) step \(s) token \(id)")
                }
            }
        }
        distances.sort()
        print("engine vs exact reference: \(distances.count) log-probs, max \(distances.last ?? 0) nats, median \(distances[distances.count / 2])")
        let first = try #require(generations.first)
        #expect(first.text == "The capital of France is Paris.")
        #expect(first.finishReason == .stop)
        #expect(first.ids.last == engine.tokenizer.endOfTurnID)
    }

    /// A sequence gets the same tokens and log-probs alone or batched with others, with one
    /// or two threads, greedy or sampled.
    @Test func batchingAndThreadsDoNotChangeOutputs() throws {
        let path = try RealModel.path()
        let engine = try RealModel.engine()
        let reference = try ExactReference.load()
        let requests = reference.completions.prefix(4).enumerated().map { i, completion in
            GenerationRequest(promptIDs: completion.prompt_ids, maxTokens: 8, temperature: i % 2 == 0 ? 0 : 0.9,
                              topK: 40, topP: 0.95, seed: UInt64(100 + i), topLogprobs: 3)
        }
        func fingerprint(_ g: Generation) -> [String] {
            g.steps.map { "\($0.id) \($0.logprob.bitPattern) \($0.top.map { "\($0.id):\($0.logprob.bitPattern)" })" }
        }
        let batched = try engine.generate(requests).map(fingerprint)
        for (i, request) in requests.enumerated() {
            #expect(try engine.generate([request]).map(fingerprint)[0] == batched[i])
        }
        let single = try Engine(modelPath: path, threads: 1)
        #expect(try single.generate(requests.reversed()).map(fingerprint) == batched.reversed())
    }

    @Test func sameSeedSameTokens() throws {
        let engine = try RealModel.engine()
        let prompt = engine.tokenizer.encode("Once upon a time")
        let request = GenerationRequest(promptIDs: prompt, maxTokens: 10, temperature: 1.0, topP: 0.9, seed: 7)
        let a = try engine.generate([request])[0].ids
        let b = try engine.generate([request])[0].ids
        #expect(a == b)
        #expect(a.count == 10 || a.last == engine.tokenizer.endOfTurnID || a.last == engine.tokenizer.endOfTextID)
    }

    @Test func maxTokensAndLengthFinish() throws {
        let engine = try RealModel.engine()
        let prompt = engine.tokenizer.encode("def fibonacci(n):\n")
        let g = try engine.generate([GenerationRequest(promptIDs: prompt, maxTokens: 3, temperature: 0),
                                     GenerationRequest(promptIDs: prompt, maxTokens: 0, temperature: 0)])
        #expect(g[0].ids.count == 3)
        #expect(g[0].finishReason == .length)
        #expect(g[0].text == engine.tokenizer.decode(g[0].ids))
        #expect(g[1].ids.isEmpty)
    }

    @Test func promptsThatDoNotFitAreRefused() throws {
        let engine = try RealModel.engine()
        let tooLong = [Int32](repeating: 42, count: engine.contextLength + 1)
        #expect(throws: EngineError.contextOverflow(promptLength: engine.contextLength + 1, contextLength: engine.contextLength)) {
            try engine.generate([GenerationRequest(promptIDs: tooLong, maxTokens: 1, temperature: 0)])
        }
        let text = EngineError.contextOverflow(promptLength: 9000, contextLength: 8192).description
        #expect(text.contains("9000") && text.contains("8192"))
        #expect(throws: EngineError.self) {
            try engine.generate([GenerationRequest(promptIDs: [], maxTokens: 1, temperature: 0)])
        }
        #expect(throws: EngineError.invalidToken(request: 0, id: 99999, vocabularySize: engine.config.vocabularySize)) {
            try engine.generate([GenerationRequest(promptIDs: [1, 99999], maxTokens: 1, temperature: 0)])
        }
    }
}

@Suite struct ModelLoadingTests {
    @Test func wrongArchitectureIsNamed() throws {
        var bytes = GGUFBuilder.minimal()
        // "llama" → "gpt2x" in the architecture value.
        let needle = Array("llama".utf8)
        let at = try #require((0...(bytes.count - 5)).first { Array(bytes[$0..<$0 + 5]) == needle })
        bytes.replaceSubrange(at..<at + 5, with: Array("gpt2x".utf8))
        let text = try withTemporaryFile(bytes) { path -> String in
            do {
                _ = try LlamaModel(file: GGUFFile(path: path))
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(text.contains("unsupported model architecture 'gpt2x'"))
    }

    @Test func missingHyperparameterIsNamed() throws {
        let text = try withTemporaryFile(GGUFBuilder.minimal()) { path -> String in
            do {
                _ = try LlamaModel(file: GGUFFile(path: path))
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(text.contains("missing metadata key 'llama.embedding_length'"))
    }
}
