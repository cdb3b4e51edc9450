import Dispatch
import Inference

/// The in-process GGUF engine as a `LanguageModel`: the default backend, needing no server.
///
/// A call's requests are decoded as one engine batch, so the community comments for an item
/// (one request per community) share each step's pass over the weights. Prompts are the
/// model's chat template applied to the messages, with message contents tokenized as plain
/// text (a comment containing "<|im_end|>" cannot end its turn early). Sampling uses the
/// request's `sampleSeed`, so repeated samples differ and a run is reproducible.
public struct EmbeddedModel: LanguageModel {
    public let engine: Engine
    public let identity: ModelIdentity

    /// - Parameter fingerprint: the GGUF file's sha256, which keys archived answers to
    ///   these exact weights.
    public init(engine: Engine, fingerprint: String) {
        self.engine = engine
        self.identity = Self.identity(fingerprint: fingerprint)
    }

    /// The archive identity of the embedded engine on a GGUF file: the weights' sha256 and
    /// the engine's numerics version, since both decide every token.
    public static func identity(fingerprint: String) -> ModelIdentity {
        ModelIdentity(backend: "embedded", baseURL: "", fingerprint: "\(fingerprint) engine-numerics-\(Engine.numericsVersion)")
    }

    /// Generation is synchronous and keeps every core busy, so it runs on a queue of its own
    /// rather than blocking a thread of Swift's cooperative pool. The engine decodes one
    /// batch at a time anyway; a serial queue makes calls wait here instead of on its lock.
    private static let queue = DispatchQueue(label: "pluralism.embedded-model", qos: .userInitiated)

    /// Answers all requests in one engine batch, in order. `steps` include the stop token
    /// as the last step when the model stopped; token texts are the tokenizer's pieces.
    public func respond(to requests: [ModelRequest]) async throws -> [ModelResponse] {
        if requests.isEmpty { return [] }
        let batch = requests.map(generationRequest)
        let engine = engine
        let generations: [Generation] = try await withCheckedThrowingContinuation { continuation in
            Self.queue.async {
                do {
                    continuation.resume(returning: try engine.generate(batch))
                } catch {
                    continuation.resume(throwing: ModelCallError(endpoint: "embedded", message: "\(error)"))
                }
            }
        }
        return generations.map(response)
    }

    /// The engine request for a model request: the chat-formatted prompt and every
    /// decoding parameter.
    public func generationRequest(for request: ModelRequest) -> GenerationRequest {
        let turns = request.messages.map { ChatTemplate.Turn(role: $0.role.rawValue, content: $0.content) }
        let decoding = request.decoding
        return GenerationRequest(
            promptIDs: ChatTemplate.encode(turns, tokenizer: engine.tokenizer),
            maxTokens: decoding.maxTokens,
            temperature: Float(decoding.temperature),
            topK: decoding.topK,
            topP: Float(decoding.topP),
            seed: request.sampleSeed,
            topLogprobs: request.topLogprobs)
    }

    private func response(_ generation: Generation) -> ModelResponse {
        let tokenizer = engine.tokenizer
        let steps = generation.steps.map { step in
            GeneratedStep(
                token: tokenizer.piece(step.id), logprob: Double(step.logprob),
                top: step.top.map { TokenLogprob(token: tokenizer.piece($0.id), logprob: Double($0.logprob)) })
        }
        let finishReason: ModelResponse.FinishReason = generation.finishReason == .stop ? .stop : .length
        return ModelResponse(
            text: generation.text, steps: steps, finishReason: finishReason,
            promptTokens: generation.promptIDs.count)
    }
}
