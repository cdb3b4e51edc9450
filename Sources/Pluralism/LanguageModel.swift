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
    /// The token's exact bytes when the backend reports them (servers do; the embedded engine
    /// leaves this nil). Two tokens that are each half of a UTF-8 character render to the
    /// same text; their bytes keep them apart.
    public var bytes: [UInt8]?

    public init(token: String, logprob: Double, bytes: [UInt8]? = nil) {
        self.token = token
        self.logprob = logprob
        self.bytes = bytes
    }
}

/// One generated token with its alternatives.
public struct GeneratedStep: Codable, Hashable, Sendable {
    public var token: String
    public var logprob: Double
    /// Best first; empty when the request asked for no alternatives.
    public var top: [TokenLogprob]
    /// The generated token's exact bytes, when the backend reports them (see `TokenLogprob`).
    public var bytes: [UInt8]?

    public init(token: String, logprob: Double, top: [TokenLogprob], bytes: [UInt8]? = nil) {
        self.token = token
        self.logprob = logprob
        self.top = top
        self.bytes = bytes
    }
}

/// A model's reply to one request.
public struct ModelResponse: Codable, Hashable, Sendable {
    /// Why generation ended: a natural stop, or the `max_tokens` cap (the text is then cut
    /// short, and stages and summaries count it as truncated).
    public enum FinishReason: String, Codable, Sendable { case stop, length }
    public var text: String
    public var steps: [GeneratedStep]
    public var finishReason: FinishReason
    public var promptTokens: Int
    /// What a server said it was when it answered: the reply's `model` and
    /// `system_fingerprint` (nil for the embedded engine, or when the server sent none).
    /// Stored with the answer so an archive shows which server build and weights wrote it.
    public var servedModel: String?
    public var systemFingerprint: String?

    public init(text: String, steps: [GeneratedStep], finishReason: FinishReason, promptTokens: Int,
                servedModel: String? = nil, systemFingerprint: String? = nil) {
        self.text = text
        self.steps = steps
        self.finishReason = finishReason
        self.promptTokens = promptTokens
        self.servedModel = servedModel
        self.systemFingerprint = systemFingerprint
    }

    /// True when the answer stopped at `max_tokens` rather than ending by itself.
    public var isTruncated: Bool { finishReason == .length }
}

/// What identifies a model for the archive: a replayed answer is valid only for the same
/// backend, endpoint and weights.
public struct ModelIdentity: Codable, Hashable, Sendable {
    /// "embedded" or "openai".
    public var backend: String
    /// Empty for the embedded engine.
    public var baseURL: String
    /// The GGUF file's sha256 for the embedded engine, the configured model name otherwise.
    public var fingerprint: String
    /// For a served model, what the server says it serves (see `ServedIdentity`); nil for
    /// the embedded engine, whose fingerprint already names its weights.
    public var served: ServedIdentity?

    public init(backend: String, baseURL: String, fingerprint: String, served: ServedIdentity? = nil) {
        self.backend = backend
        self.baseURL = baseURL
        self.fingerprint = fingerprint
        self.served = served
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

    /// The identity archive keys are made from, settled before the first lookup. A served
    /// model asks its server what it serves, so new weights behind the same URL get new keys
    /// instead of replaying the old model's answers. `archived` is the served identity the
    /// archive last recorded under this model's configured identity (nil when none): a
    /// model may refuse to run when it differs, or, knowing no server, adopt it.
    func establishIdentity(archived: ServedIdentity?) async throws -> ModelIdentity
}

extension LanguageModel {
    public var capacity: Int { 8 }

    public func establishIdentity(archived: ServedIdentity?) async throws -> ModelIdentity { identity }

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
