import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A model served over the OpenAI chat-completions protocol: OpenAI itself, vLLM, the
/// llama.cpp server, Ollama, and the like.
///
/// Each request is one `POST {baseURL}/v1/chat/completions`. The base URL may be given with
/// or without the trailing `/v1` ("http://localhost:8000" and "http://localhost:8000/v1/"
/// name the same endpoint); the identity records it without, so both spellings share
/// archived answers.
///
/// Decoding parameters travel as `temperature`, `top_p`, `max_tokens` and `seed` (the
/// request's `sampleSeed`, masked to 63 bits since servers read it as a signed integer);
/// `top_k` only when set, because OpenAI itself rejects it. When alternatives are requested,
/// `logprobs: true` and `top_logprobs: min(k, 20)` — OpenAI caps the count at 20, so a
/// distribution read from the reply must report the probability mass it covers.
///
/// Failures: 408, 429, 5xx, timeouts and connection errors are retried with exponential backoff
/// and jitter (a `Retry-After` header, in seconds or as an HTTP date, replaces the backoff);
/// other 4xx fail at once. Malformed replies and missing log-probabilities (when requested)
/// are errors — never a made-up answer. Every error names the endpoint.
public struct OpenAICompatibleModel: LanguageModel {
    public let identity: ModelIdentity
    /// The full URL of the chat-completions endpoint.
    public let endpoint: String
    public let model: String
    public let maxRetries: Int
    public let timeout: Double
    /// The first retry's delay in seconds; each retry doubles it, up to 32 times as long.
    public let retryDelay: Double
    /// Requests kept open at once; the scheduler's `capacity`.
    public let maxInFlight: Int
    private let apiKey: String?
    private let limit: InFlightLimit
    private let transport: Transport

    /// The most alternatives an OpenAI-compatible server returns per token.
    public static let maxTopLogprobs = 20
    /// The longest wait a `Retry-After` header may impose, in seconds.
    public static let maxRetryAfter = 300.0

    /// - Parameters:
    ///   - baseURL: the server, with or without a trailing `/v1`.
    ///   - model: the server's model id (also the identity's fingerprint).
    ///   - apiKey: sent as `Authorization: Bearer`; read by the caller from the environment
    ///     variable the config names, never stored.
    ///   - maxInFlight: requests this model keeps open at once (shared by all copies).
    ///   - maxRetries: retries after the first attempt.
    ///   - timeout: seconds without a complete answer before an attempt counts as timed out;
    ///     rounded up to whole seconds, at least 1 (Linux Foundation truncates fractions, and
    ///     a timeout below one second would expire at once).
    ///   - retryDelay: the first retry's backoff in seconds (tests scale it down).
    public init(
        baseURL: String, model: String, apiKey: String?, maxInFlight: Int = 8, maxRetries: Int = 4,
        timeout: Double = 120, retryDelay: Double = 1
    ) {
        let base = Self.normalise(baseURL: baseURL)
        self.identity = ModelIdentity(backend: "openai", baseURL: base, fingerprint: model)
        self.endpoint = base + "/v1/chat/completions"
        self.model = model
        self.apiKey = apiKey
        self.maxRetries = max(0, maxRetries)
        self.timeout = max(1, timeout.rounded(.up))
        self.retryDelay = max(0, retryDelay)
        self.maxInFlight = max(1, maxInFlight)
        self.limit = InFlightLimit(max(1, maxInFlight))
        self.transport = Transport(timeout: self.timeout, connections: max(1, maxInFlight) * 2)
    }

    /// The base URL without trailing slashes or `/v1`.
    public static func normalise(baseURL: String) -> String {
        var base = baseURL.trimmingCharacters(in: .whitespaces)
        while base.hasSuffix("/") { base.removeLast() }
        if base.hasSuffix("/v1") { base.removeLast(3) }
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }

    /// Sends every request, at most `maxInFlight` at a time, and returns the answers in
    /// request order. The first failure cancels the rest and is thrown.
    public func respond(to requests: [ModelRequest]) async throws -> [ModelResponse] {
        guard let url = URL(string: endpoint), let scheme = url.scheme?.lowercased(),
              scheme == "http" || scheme == "https", url.host != nil
        else {
            throw ModelCallError(endpoint: endpoint, message: "not an http(s) URL; set base_url like http://localhost:8000")
        }
        return try await withThrowingTaskGroup(of: (Int, ModelResponse).self) { group in
            for (index, request) in requests.enumerated() {
                group.addTask {
                    let response = try await limit.run {
                        try Task.checkCancellation()
                        return try await call(request, url: url)
                    }
                    return (index, response)
                }
            }
            var responses = [ModelResponse?](repeating: nil, count: requests.count)
            for try await (index, response) in group { responses[index] = response }
            return responses.map { $0! }
        }
    }

    public var capacity: Int { maxInFlight }

    /// Keeps `maxInFlight` requests open and starts the next as each returns; each answer is
    /// delivered as it arrives. After a failure no further request starts, the ones open
    /// finish (and are delivered, unless delivering failed), then the first error is thrown.
    public func respond(to requests: [ModelRequest],
                        deliver: @Sendable (Int, ModelResponse) async throws -> Void) async throws {
        guard let url = URL(string: endpoint), let scheme = url.scheme?.lowercased(),
              scheme == "http" || scheme == "https", url.host != nil
        else {
            throw ModelCallError(endpoint: endpoint, message: "not an http(s) URL; set base_url like http://localhost:8000")
        }
        let stopped = StopFlag()
        try await withThrowingTaskGroup(of: (Int, ModelResponse)?.self) { group in
            // Only `maxInFlight` tasks exist at once (a long list would otherwise queue
            // thousands on the shared limit); the limit still bounds calls shared with
            // other callers of this model.
            var next = 0
            func startNext(_ group: inout ThrowingTaskGroup<(Int, ModelResponse)?, Error>) {
                let (index, request) = (next, requests[next])
                next += 1
                group.addTask {
                    try await limit.run {
                        guard !stopped.isSet else { return nil }
                        return (index, try await call(request, url: url))
                    }
                }
            }
            while next < min(maxInFlight, requests.count) { startNext(&group) }
            var failure: Error?
            var delivering = true
            while let result = await group.nextResult() {
                switch result {
                case .failure(let error):
                    failure = failure ?? error
                    stopped.set()
                case .success(nil):
                    continue
                case .success(let (index, response)?):
                    guard delivering else { continue }
                    do {
                        try await deliver(index, response)
                    } catch {
                        failure = failure ?? error
                        delivering = false
                        stopped.set()
                    }
                }
                if next < requests.count && !stopped.isSet { startNext(&group) }
            }
            if let failure { throw failure }
        }
    }

    // MARK: One request, with retries

    private func call(_ request: ModelRequest, url: URL) async throws -> ModelResponse {
        let body = try requestBody(for: request)
        var urlRequest = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        urlRequest.httpMethod = "POST"
        urlRequest.httpBody = body
        urlRequest.setValue("application/json", forHTTPHeaderField: "Content-Type")
        urlRequest.setValue("application/json", forHTTPHeaderField: "Accept")
        if let apiKey, !apiKey.isEmpty {
            urlRequest.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization")
        }

        var attempt = 0
        while true {
            let failure: (message: String, status: Int?, retryAfter: Double?)
            do {
                let (data, response) = try await transport.session.data(for: urlRequest)
                guard let http = response as? HTTPURLResponse else {
                    throw ModelCallError(endpoint: endpoint, message: "the reply is not HTTP")
                }
                if (200..<300).contains(http.statusCode) {
                    return try decode(data, for: request)
                }
                let message = "HTTP \(http.statusCode): \(Self.snippet(data))"
                guard Self.isRetryable(status: http.statusCode) else {
                    throw ModelCallError(endpoint: endpoint, message: message, status: http.statusCode)
                }
                let retryAfter = http.value(forHTTPHeaderField: "Retry-After").flatMap(Self.parseRetryAfter)
                failure = (message, http.statusCode, retryAfter)
            } catch let error as URLError where Self.isTransient(error) {
                failure = (Self.describe(error), nil, nil)
            } catch let error as URLError {
                if error.code == .cancelled { throw CancellationError() }
                throw ModelCallError(endpoint: endpoint, message: Self.describe(error))
            } catch let error as ModelCallError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                throw ModelCallError(endpoint: endpoint, message: "\(error)")
            }

            guard attempt < maxRetries else {
                let tries = attempt + 1
                throw ModelCallError(
                    endpoint: endpoint,
                    message: "gave up after \(tries) attempt\(tries == 1 ? "" : "s"); last: \(failure.message)",
                    status: failure.status)
            }
            let delay = failure.retryAfter.map { min($0, Self.maxRetryAfter) } ?? backoff(attempt: attempt)
            attempt += 1
            try await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
        }
    }

    /// Overload and server faults are worth another try; other client errors are not.
    static func isRetryable(status: Int) -> Bool {
        status == 408 || status == 429 || status >= 500
    }

    /// `retryDelay · 2^attempt` capped at 32 × `retryDelay`, scaled by a random factor in
    /// 0.5...1 so that clients rejected together do not return together.
    func backoff(attempt: Int) -> Double {
        let exponential = retryDelay * Double(1 << min(attempt, 5))
        return exponential * Double.random(in: 0.5...1)
    }

    static func isTransient(_ error: URLError) -> Bool {
        switch error.code {
        case .timedOut, .cannotConnectToHost, .networkConnectionLost, .cannotFindHost, .dnsLookupFailed,
             .notConnectedToInternet, .badServerResponse, .zeroByteResource, .resourceUnavailable:
            return true
        default:
            return false
        }
    }

    static func describe(_ error: URLError) -> String {
        switch error.code {
        case .timedOut: return "timed out"
        case .cannotConnectToHost: return "could not connect (is the server running?)"
        case .networkConnectionLost: return "connection lost"
        case .cannotFindHost, .dnsLookupFailed: return "host not found"
        default: return error.localizedDescription
        }
    }

    /// Seconds to wait: `Retry-After: 2` or `Retry-After: Wed, 21 Oct 2026 07:28:00 GMT`.
    static func parseRetryAfter(_ value: String) -> Double? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(text), seconds.isFinite, seconds >= 0 { return seconds }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: text) else { return nil }
        return max(0, date.timeIntervalSinceNow)
    }

    /// The start of a reply body, on one line, for error messages.
    static func snippet(_ data: Data, limit: Int = 300) -> String {
        let text = String(decoding: data.prefix(limit * 4), as: UTF8.self)
            .split(whereSeparator: \.isNewline).joined(separator: " ")
        if text.isEmpty { return "(empty body)" }
        return text.count > limit ? String(text.prefix(limit)) + "…" : text
    }

    // MARK: Wire format

    struct ChatRequest: Encodable {
        struct Message: Encodable { var role: String; var content: String }
        var model: String
        var messages: [Message]
        var temperature: Double
        var top_p: Double
        var top_k: Int?
        var max_tokens: Int
        var seed: Int64
        var logprobs: Bool?
        var top_logprobs: Int?
    }

    func requestBody(for request: ModelRequest) throws -> Data {
        let decoding = request.decoding
        let alternatives = min(request.topLogprobs, Self.maxTopLogprobs)
        let body = ChatRequest(
            model: model,
            messages: request.messages.map { .init(role: $0.role.rawValue, content: $0.content) },
            temperature: decoding.temperature,
            top_p: decoding.topP,
            top_k: decoding.topK > 0 ? decoding.topK : nil,
            max_tokens: decoding.maxTokens,
            seed: Int64(bitPattern: request.sampleSeed & UInt64(Int64.max)),
            logprobs: alternatives > 0 ? true : nil,
            top_logprobs: alternatives > 0 ? alternatives : nil)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(body)
    }

    struct ChatReply: Decodable {
        struct Choice: Decodable {
            struct Message: Decodable { var content: String? }
            struct Logprobs: Decodable { var content: [Entry]? }
            struct Entry: Decodable {
                var token: String
                var logprob: Double
                var top_logprobs: [Alternative]?
            }
            struct Alternative: Decodable { var token: String; var logprob: Double }
            var message: Message?
            var finish_reason: String?
            var logprobs: Logprobs?
        }
        struct Usage: Decodable { var prompt_tokens: Int? }
        var choices: [Choice]?
        var usage: Usage?
    }

    /// Maps a 2xx body to a response, or throws naming what is missing.
    ///
    /// `promptTokens` is the server's `usage.prompt_tokens`, 0 when it reports no usage.
    /// Without requested alternatives, `steps` holds the server's per-token log-probs when it
    /// sent them anyway, and is empty otherwise.
    func decode(_ data: Data, for request: ModelRequest) throws -> ModelResponse {
        func failure(_ message: String) -> ModelCallError {
            ModelCallError(endpoint: endpoint, message: message + "; body: " + Self.snippet(data))
        }
        let reply: ChatReply
        do {
            reply = try JSONDecoder().decode(ChatReply.self, from: data)
        } catch {
            throw failure("malformed JSON in the reply (\(Self.describe(error)))")
        }
        guard let choice = reply.choices?.first else { throw failure("the reply has no choices") }
        guard let text = choice.message?.content else { throw failure("the reply has no choices[0].message.content") }

        let finishReason: ModelResponse.FinishReason
        switch choice.finish_reason {
        case nil, "stop", "eos", "end_turn", "stop_sequence": finishReason = .stop
        case "length", "max_tokens": finishReason = .length
        case let other?: throw failure("the reply stopped for \"\(other)\", not a normal stop or the length limit")
        }

        let entries = choice.logprobs?.content ?? []
        let steps = entries.map { entry in
            GeneratedStep(
                token: entry.token, logprob: entry.logprob,
                top: (entry.top_logprobs ?? []).map { TokenLogprob(token: $0.token, logprob: $0.logprob) })
        }
        if request.topLogprobs > 0 {
            guard let first = steps.first else {
                throw failure("log-probabilities were requested (top_logprobs \(min(request.topLogprobs, Self.maxTopLogprobs))) but the reply has none; does the server support logprobs?")
            }
            guard !first.top.isEmpty else {
                throw failure("top_logprobs were requested but the reply's first token lists no alternatives")
            }
        }
        return ModelResponse(
            text: text, steps: steps, finishReason: finishReason,
            promptTokens: reply.usage?.prompt_tokens ?? 0)
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context):
            return context.underlyingError.map { "\($0.localizedDescription)" } ?? context.debugDescription
        case DecodingError.keyNotFound(let key, let context):
            return "missing \(path(context.codingPath + [key]))"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }

    private static func path(_ keys: [CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop { $0 == "." }.description
    }
}

/// Set once a streaming call has failed, so requests not yet started are not sent.
private final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

/// The URL session of one model; invalidated when the last copy of the model goes away.
private final class Transport: Sendable {
    let session: URLSession

    init(timeout: Double, connections: Int) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        // Slack above the in-flight limit, so the limit, not the connection pool, bounds
        // the requests open at once.
        configuration.httpMaximumConnectionsPerHost = connections
        session = URLSession(configuration: configuration)
    }

    deinit { session.finishTasksAndInvalidate() }
}
