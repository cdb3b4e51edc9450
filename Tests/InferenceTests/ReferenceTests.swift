import Foundation
import Testing
@testable import Inference

/// llama.cpp's exact-arithmetic outputs for this model file (copied from
/// shared/reference/smollm2-exact.json: prompt ids, greedy continuation, top-10 log-probs).
struct ExactReference: Decodable {
    struct Completion: Decodable {
        var prompt: String
        var prompt_ids: [Int32]
        var greedy_ids: [Int32]
        var greedy_text: String
        var steps: [Step]
        var system: String?
        var user: String?
    }
    struct Step: Decodable {
        var id: Int32
        var logprob: Float
        var top: [[Double]]
        var alternatives: [(id: Int32, logprob: Float)] { top.map { (Int32($0[0]), Float($0[1])) } }
        var margin: Float { Float(top[0][1] - top[1][1]) }
    }
    var model_sha256: String
    var completions: [Completion]

    static func load() throws -> ExactReference {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/smollm2-exact-completions.json")
        return try JSONDecoder().decode(ExactReference.self, from: Data(contentsOf: url))
    }

    /// The reference steps whose greedy token is decided: every step up to (not including)
    /// the first whose top-1 beats its top-2 by 0.05 nats or less, where arithmetic noise
    /// could legitimately pick the other token.
    static func decidedPrefix(_ steps: [Step]) -> Int {
        steps.firstIndex { $0.margin <= 0.05 } ?? steps.count
    }
}

/// The largest difference between the reference's top-10 log-probs and ours for the same
/// token ids.
func topDistance(_ reference: ExactReference.Step, _ logprobs: [Float]) -> Float {
    reference.alternatives.map { abs(logprobs[Int($0.id)] - $0.logprob) }.max() ?? 0
}

@Suite struct ReferenceTests {
    /// Teacher-forced through the forward pass: each prompt followed by the reference's own
    /// continuation goes through the model in batches, and at every step our log-probs of
    /// the reference's top-10 tokens must agree within 0.05 nats, and our greedy choice must
    /// be its choice wherever it is decided.
    @Test(.enabled(if: RealModel.enabled, RealModel.skipReason))
    func forwardPassMatchesExactArithmetic() throws {
        let path = try RealModel.path()
        let reference = try ExactReference.load()
        let model = try LlamaModel(file: GGUFFile(path: path))
        let vocabulary = model.config.vocabularySize
        let capacity = 64
        let parallel = Parallel(threads: 2)
        let workspace = Workspace(config: model.config, capacity: capacity, threads: 2)
        let logits = UnsafeMutablePointer<Float>.allocate(capacity: capacity * vocabulary)
        defer { logits.deallocate() }
        var distances: [Float] = []
        for completion in reference.completions {
            let cache = KVCache(config: model.config)
            let prompt = completion.prompt_ids
            let tokens = prompt + completion.steps.dropLast().map(\.id)
            // Logits of position prompt.count - 1 + s predict step s.
            var stepLogits: [[Float]] = []
            for start in stride(from: 0, to: tokens.count, by: capacity) {
                let batch = (start..<min(tokens.count, start + capacity)).map {
                    BatchEntry(cache: cache, position: $0, token: tokens[$0], wantsLogits: $0 >= prompt.count - 1)
                }
                model.forward(batch, workspace: workspace, parallel: parallel, logits: logits)
                let wanted = batch.filter(\.wantsLogits).count
                for row in 0..<wanted {
                    stepLogits.append(Array(UnsafeBufferPointer(start: logits + row * vocabulary, count: vocabulary)))
                }
            }
            #expect(stepLogits.count == completion.steps.count)
            let decided = ExactReference.decidedPrefix(completion.steps)
            for (s, step) in completion.steps.enumerated() {
                let logprobs = stepLogits[s].withUnsafeBufferPointer { Logprobs.logSoftmax($0) }
                let distance = topDistance(step, logprobs)
                distances.append(distance)
                #expect(distance < 0.05, "\(completion.prompt.debugDescription) step \(s): \(distance) nats")
                if s < decided {
                    #expect(stepLogits[s].withUnsafeBufferPointer { Sampler.argmax($0) } == step.id,
                            "\(completion.prompt.debugDescription) step \(s)")
                }
            }
        }
        distances.sort()
        print("exact reference, top-10 log-prob distance over \(distances.count) steps: max \(distances.last ?? 0), median \(distances[distances.count / 2])")
    }
}
