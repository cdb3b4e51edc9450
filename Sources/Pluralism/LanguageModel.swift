/// One turn of a chat conversation.
public struct ChatMessage: Codable, Hashable, Sendable {
    public enum Role: String, Codable, Hashable, Sendable { case system, user, assistant }
    public var role: Role
    public var content: String

    public init(role: Role, content: String) {
        self.role = role
        self.content = content
    }

    public static func system(_ text: String) -> ChatMessage { ChatMessage(role: .system, content: text) }
    public static func user(_ text: String) -> ChatMessage { ChatMessage(role: .user, content: text) }
}

/// Every parameter that shapes a model's output. All of it enters the archive key, so a
/// changed temperature, seed or sample index is a different call.
public struct Decoding: Codable, Hashable, Sendable {
    /// 0 means greedy.
    public var temperature: Double
    public var topP: Double
    /// 0 means no top-k cut.
    public var topK: Int
    public var maxTokens: Int
    public var seed: UInt64

    public init(temperature: Double, topP: Double = 1.0, topK: Int = 0, maxTokens: Int, seed: UInt64) {
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.maxTokens = maxTokens
        self.seed = seed
    }
}

/// One model call: a chat conversation and how to decode the reply.
public struct ModelRequest: Codable, Hashable, Sendable {
    public var messages: [ChatMessage]
    public var decoding: Decoding
    /// How many alternatives to report at each generated step (0: none). The distributional
    /// mode asks for one token with many alternatives: the next-token distribution at the
    /// end of the prompt.
    public var topLogprobs: Int
    /// Distinguishes repeated samples of the same request (otherwise identical requests
    /// would collapse to one archived answer).
    public var sampleIndex: Int

    public init(messages: [ChatMessage], decoding: Decoding, topLogprobs: Int = 0, sampleIndex: Int = 0) {
        self.messages = messages
        self.decoding = decoding
        self.topLogprobs = topLogprobs
        self.sampleIndex = sampleIndex
    }
}

/// A token alternative and its log-probability (natural log).
public struct TokenLogprob: Codable, Hashable, Sendable {
    /// The token's text as the model's tokenizer spells it (may be a partial UTF-8 sequence
    /// rendered with replacement characters).
    public var token: String
    public var logprob: Double

    public init(token: String, logprob: Double) {
        self.token = token
        self.logprob = logprob
    }
}

/// One generated token with its alternatives.
public struct GeneratedStep: Codable, Hashable, Sendable {
    public var token: String
    public var logprob: Double
    /// Best first; empty when the request asked for no alternatives.
    public var top: [TokenLogprob]

    public init(token: String, logprob: Double, top: [TokenLogprob]) {
        self.token = token
        self.logprob = logprob
        self.top = top
    }
}

/// A model's reply to one request.
public struct ModelResponse: Codable, Hashable, Sendable {
    public enum FinishReason: String, Codable, Sendable { case stop, length }
    public var text: String
    public var steps: [GeneratedStep]
    public var finishReason: FinishReason
    public var promptTokens: Int

    public init(text: String, steps: [GeneratedStep], finishReason: FinishReason, promptTokens: Int) {
        self.text = text
        self.steps = steps
        self.finishReason = finishReason
        self.promptTokens = promptTokens
    }
}

/// What identifies a model for the archive: a replayed answer is valid only for the same
/// backend, endpoint and weights.
public struct ModelIdentity: Codable, Hashable, Sendable {
    /// "embedded" or "openai".
    public var backend: String
    /// Empty for the embedded engine.
    public var baseURL: String
    /// The GGUF file's sha256 for the embedded engine, the server's model id otherwise.
    public var fingerprint: String

    public init(backend: String, baseURL: String, fingerprint: String) {
        self.backend = backend
        self.baseURL = baseURL
        self.fingerprint = fingerprint
    }
}

/// A source of completions. Implementations: the embedded GGUF engine (default) and an
/// OpenAI-compatible HTTP client. Stages never call a model directly: they go through the
/// call archive, which replays stored answers and only forwards misses here.
public protocol LanguageModel: Sendable {
    var identity: ModelIdentity { get }
    /// Answers a batch of requests, in order. A backend may run them together (the embedded
    /// engine decodes them as one batch; the HTTP client keeps several in flight). Throws on
    /// the first failure: partial results are never returned as if complete.
    func respond(to requests: [ModelRequest]) async throws -> [ModelResponse]

    /// How many requests the backend works on at once (the HTTP client: `max_in_flight`; the
    /// embedded engine: its batch). A scheduler hands it work in amounts of this size.
    var capacity: Int { get }

    /// Answers the requests, handing each answer to `deliver` with its index as soon as it
    /// is ready, in any order; calls to `deliver` never overlap. A backend keeps up to
    /// `capacity` requests going and starts the next as each one finishes, so no answer
    /// waits for a slower one. On a failure, answers already delivered stay delivered (the
    /// caller archives them); the error is thrown once the requests in flight have ended.
    func respond(to requests: [ModelRequest],
                 deliver: @Sendable (Int, ModelResponse) async throws -> Void) async throws
}

extension LanguageModel {
    public var capacity: Int { 8 }

    /// The lockstep fallback: chunks of `capacity`, each answered by `respond(to:)`.
    public func respond(to requests: [ModelRequest],
                        deliver: @Sendable (Int, ModelResponse) async throws -> Void) async throws {
        var start = 0
        while start < requests.count {
            let end = min(start + max(1, capacity), requests.count)
            let answers = try await respond(to: Array(requests[start..<end]))
            guard answers.count == end - start else {
                throw ModelAnswerCountError(expected: end - start, received: answers.count, identity: identity)
            }
            for (offset, answer) in answers.enumerated() { try await deliver(start + offset, answer) }
            start = end
        }
    }
}
