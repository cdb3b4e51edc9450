import Dispatch
import Foundation
import Inference

/// The in-process GGUF engine as a `LanguageModel`: the default backend, needing no server.
///
/// Requests are decoded by the engine's continuous batching: up to `capacity` sequences share
/// each step's pass over the weights, a finished one's place goes to the next request at
/// once, and prompts that start alike (a community's system prompt and profile, the base
/// model's instructions) reuse the computed prefix. Prompts are the
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

    /// The engine's sequences in flight.
    public var capacity: Int { engine.sequences }

    /// Streams the requests through the engine's continuous batching: each answer goes to
    /// `deliver` as soon as its sequence ends, while the engine keeps decoding the others
    /// (the engine runs on its own queue; answers reach `deliver` one at a time, in the
    /// order they finish). If `deliver` throws, the engine stops at the next answer and the
    /// error is rethrown once it has; an engine error arrives as a `ModelCallError` after
    /// every answer finished before it was delivered.
    public func respond(to requests: [ModelRequest],
                        deliver: @Sendable (Int, ModelResponse) async throws -> Void) async throws {
        if requests.isEmpty { return }
        let batch = requests.map(generationRequest)
        let engine = engine
        let (answers, continuation) = AsyncStream<(Int, Generation)>.makeStream()
        let outcome = EngineOutcome()
        Self.queue.async {
            do {
                try engine.generateContinuously(batch) { index, generation in
                    if outcome.consumerFailed { throw CancellationError() }
                    continuation.yield((index, generation))
                }
            } catch {
                outcome.record(engineError: error)
            }
            continuation.finish()
        }
        var failure: Error?
        for await (index, generation) in answers where failure == nil {
            do {
                try await deliver(index, response(generation))
            } catch {
                failure = error
                outcome.stopEngine()
            }
        }
        if let failure { throw failure }
        if let error = outcome.engineError {
            throw ModelCallError(endpoint: "embedded", message: "\(error)")
        }
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

/// What the engine's thread and the delivering task tell each other: the consumer failed
/// (stop generating), or the engine failed (with this error).
private final class EngineOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false
    private var error: Error?

    var consumerFailed: Bool { lock.withLock { stopped } }
    var engineError: Error? { lock.withLock { stopped ? nil : error } }

    func stopEngine() { lock.withLock { stopped = true } }
    func record(engineError: Error) { lock.withLock { error = engineError } }
}
