import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A model served over the OpenAI protocol: OpenAI itself, vLLM, llama.cpp's server, Ollama,
/// and the like.
///
/// Each request is one `POST {baseURL}/v1/chat/completions` (or `/v1/completions` for a base
/// model). The base URL may be given with or without the trailing `/v1`; the identity
/// records it without, so both spellings share archived answers.
///
/// - Identity: before the first archive lookup, `establishIdentity` reads the server's
///   `/v1/models` entry and adds it, with the server kind and endpoint, to the identity
///   (`ServedIdentity`). Every reply's `model` and `system_fingerprint` are stored with it,
///   and a reply whose pair differs from the first one seen is an error
///   (`ServedModelChanged`), never an answer.
/// - Sampling: every decoding parameter is sent explicitly, as `ServerKind` spells it.
/// - Deadline: each attempt has `timeout` seconds to deliver a complete reply, enforced by
///   `ServedTransport` whatever the server does.
/// - Retries: 408, 429 (but not 429 `insufficient_quota`), 5xx, missed deadlines, dropped or
///   broken connections and bodies cut off mid-JSON are retried with exponential backoff and
///   jitter (a `Retry-After` header replaces the backoff), at most `maxRetries` times per
///   request and `retryBudget` times per run; other 4xx and 3xx fail at once.
/// - Credentials: the key is sent as `Authorization: Bearer`, never along a redirect
///   (redirects are not followed); a base URL with `user:password@` is refused.
///
/// Malformed replies, empty answers and missing log-probabilities (when requested) are
/// errors — never a made-up answer. Every error names the endpoint.
public struct OpenAICompatibleModel: LanguageModel {
    /// What to do when the server's identity differs from the one the archive recorded for
    /// the same configured model.
    public enum ServerChangePolicy: String, Sendable, CaseIterable {
        /// Treat it as a different model: its answers get new keys (the default).
        case newIdentity = "new_identity"
        /// Stop with an error naming both identities.
        case error
    }

    /// The configured identity; `establishIdentity` adds what the server says it serves.
    public let identity: ModelIdentity
    /// The full URL of the endpoint requests go to.
    public let endpoint: String
    public let model: String
    public let endpointKind: ServedEndpoint
    public let maxRetries: Int
    /// Seconds each attempt has to deliver a complete reply.
    public let timeout: Double
    /// The first retry's delay in seconds; each retry doubles it, up to 32 times as long.
    public let retryDelay: Double
    public let capacity: Int
    public let onServerChange: ServerChangePolicy
    private let configuredKind: ServerKind?
    private let apiKey: String?
    private let baseHasUserInfo: Bool
    private let limit: InFlightLimit
    private let connection: Connection
    private let state: ServedState

    /// The longest wait a `Retry-After` header may impose, in seconds.
    public static let maxRetryAfter = 300.0
    /// Retries one run may spend on one model, all requests together, unless configured.
    public static let defaultRetryBudget = 100

    /// - Parameters:
    ///   - baseURL: the server, with or without a trailing `/v1`.
    ///   - model: the model name sent with each request (also the identity's fingerprint).
    ///   - apiKey: read by the caller from the environment variable the config names.
    ///   - maxInFlight: requests this model keeps open at once (its `capacity`).
    ///   - maxRetries: retries of one request after its first attempt.
    ///   - timeout: the deadline of each attempt, in seconds.
    ///   - retryDelay: the first retry's backoff in seconds (tests scale it down).
    ///   - retryBudget: retries all requests of this model may spend together.
    ///   - server: the server kind; nil means detected from `/v1/models` (else `generic`).
    public init(
        baseURL: String, model: String, apiKey: String?, maxInFlight: Int = 8, maxRetries: Int = 4,
        timeout: Double = 120, retryDelay: Double = 1, retryBudget: Int = OpenAICompatibleModel.defaultRetryBudget,
        server: ServerKind? = nil, endpoint: ServedEndpoint = .chat, onServerChange: ServerChangePolicy = .newIdentity
    ) {
        let base = Self.normalise(baseURL: baseURL)
        self.identity = ModelIdentity(backend: "openai", baseURL: base, fingerprint: model)
        self.endpoint = base + endpoint.path
        self.endpointKind = endpoint
        self.model = model
        self.apiKey = apiKey
        self.baseHasUserInfo = ServedCredentials.hasUserInfo(baseURL)
        self.maxRetries = max(0, maxRetries)
        self.timeout = max(0.001, timeout)
        self.retryDelay = max(0, retryDelay)
        self.capacity = max(1, maxInFlight)
        self.configuredKind = server
        self.onServerChange = onServerChange
        self.limit = InFlightLimit(max(1, maxInFlight))
        self.connection = Connection(ServedTransport(deadline: self.timeout, connections: max(1, maxInFlight) * 2))
        self.state = ServedState(retryBudget: max(0, retryBudget))
    }

    /// The base URL without trailing slashes, `/v1` or user-info (which must never reach the
    /// archive or an error message).
    public static func normalise(baseURL: String) -> String {
        var base = ServedCredentials.withoutUserInfo(baseURL.trimmingCharacters(in: .whitespaces))
        while base.hasSuffix("/") { base.removeLast() }
        if base.hasSuffix("/v1") { base.removeLast(3) }
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }

    /// The server kind requests are written for: configured, else detected, else generic.
    public var serverKind: ServerKind { configuredKind ?? state.detectedKind ?? .generic }

    /// Retries still available to this model's run.
    public var retriesLeft: Int { state.retriesLeft }

    // MARK: Identity

    public func establishIdentity(archived: ServedIdentity?) async throws -> ModelIdentity {
        if let known = state.established { return known }
        let base = try validatedURL(identity.baseURL + "/v1/models")
        let listing = try await readListing(base)
        let kind = configuredKind ?? ServerKind.detect(ownedBy: listing.ownedBy)
        state.detect(kind)
        let served = ServedIdentity(kind: kind.rawValue, endpoint: endpointKind.rawValue, listing: listing.entry)
        if onServerChange == .error, let archived, archived != served {
            throw ServedModelChanged(endpoint: endpoint, before: Self.describe(archived), now: Self.describe(served),
                                     remedy: "restore the previous server, or set on_server_change to \"new_identity\" to continue under the new identity")
        }
        var established = identity
        established.served = served
        return state.establish(established)
    }

    private func readListing(_ url: URL) async throws -> ModelListing {
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        request.httpMethod = "GET"
        authorise(&request)
        var attempt = 0
        let (data, http) = try await exchange(request, name: url.absoluteString, attempt: &attempt)
        switch http.statusCode {
        case 200..<300:
            guard let listing = ModelListing.read(Array(data), model: model) else {
                throw ModelCallError(endpoint: url.absoluteString, message: "the model listing is not {\"data\": [...]}; body: \(Self.snippet(data))")
            }
            return listing
        case 404, 405, 501:
            return .none  // No listing: only the per-reply checks guard the identity.
        default:
            throw ModelCallError(endpoint: url.absoluteString, message: "HTTP \(http.statusCode): \(Self.snippet(data))", status: http.statusCode)
        }
    }

    static func describe(_ served: ServedIdentity) -> String {
        let listing = served.listing.isEmpty ? "no /v1/models entry" : served.listing
        return "\(served.kind) server, \(served.endpoint) endpoint, \(listing)"
    }

    // MARK: Answers

    /// Keeps up to `capacity` requests in flight, starting the next as each one returns, and
    /// delivers every answer as it arrives. After a failure no new request starts; those in
    /// flight finish and their answers are delivered, then the first error is thrown.
    public func respond(to requests: [ModelRequest],
                        deliver: @Sendable (Int, ModelResponse) async throws -> Void) async throws {
        let url = try validatedURL(endpoint)
        try await withThrowingTaskGroup(of: (Int, Result<ModelResponse, Error>).self) { group in
            var next = 0
            func start() {
                let index = next
                let request = requests[index]
                next += 1
                group.addTask {
                    do {
                        return (index, .success(try await limit.run { try await call(request, url: url) }))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            while next < min(capacity, requests.count) { start() }
            var firstError: Error?
            var deliveryFailed = false
            while let (index, result) = try await group.next() {
                switch result {
                case .success(let response) where !deliveryFailed:
                    do {
                        try await deliver(index, response)
                    } catch {
                        // The caller cannot take answers any more (its archive failed).
                        firstError = firstError ?? error
                        deliveryFailed = true
                    }
                case .success:
                    break
                case .failure(let error):
                    firstError = firstError ?? error
                }
                if firstError == nil && next < requests.count { start() }
            }
            if let firstError { throw firstError }
        }
    }

    /// Every answer in request order; on a failure, the answers that did arrive are lost to
    /// this caller (the archive uses `respond(to:deliver:)` to keep them).
    public func respond(to requests: [ModelRequest]) async throws -> [ModelResponse] {
        let answers = Answers(count: requests.count)
        try await respond(to: requests) { index, response in answers.set(index, response) }
        return answers.all
    }

    // MARK: One request, with retries

    private func call(_ request: ModelRequest, url: URL) async throws -> ModelResponse {
        var urlRequest = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        urlRequest.httpMethod = "POST"
        urlRequest.httpBody = Data(try body(for: request).utf8)
        urlRequest.setValue("application/json", forHTTPHeaderField: "Content-Type")
        authorise(&urlRequest)
        let alternatives = serverKind.alternativesCap(endpoint: endpointKind).map { min($0, request.topLogprobs) } ?? request.topLogprobs
        var attempt = 0
        while true {
            let (data, http) = try await exchange(urlRequest, name: endpoint, attempt: &attempt)
            guard (200..<300).contains(http.statusCode) else {
                throw ModelCallError(endpoint: endpoint, message: Self.refusal(http, data), status: http.statusCode)
            }
            do {
                let response = try ServedReply.decode(data, endpoint: endpointKind, alternativesRequested: alternatives)
                try state.confirm(response, endpoint: endpoint)
                return response
            } catch let problem as ServedReply.Problem {
                let message = problem.message + "; body: " + Self.snippet(data)
                // A body cut off mid-JSON is a transport failure in disguise: try again.
                guard problem.truncated else { throw ModelCallError(endpoint: endpoint, message: message) }
                try await prepareRetry(&attempt, name: endpoint, failure: (message, http.statusCode, nil))
            }
        }
    }

    /// One HTTP exchange with retries for transient failures: returns the first reply that
    /// is not worth retrying (which may be an error status), or throws when the request's
    /// retries or the run's budget are spent. `attempt` counts the request's retries so far.
    private func exchange(_ request: URLRequest, name: String, attempt: inout Int) async throws -> (Data, HTTPURLResponse) {
        while true {
            let failure: (message: String, status: Int?, retryAfter: Double?)
            do {
                let (data, http) = try await connection.transport.send(request)
                guard Self.isRetryable(status: http.statusCode, body: data) else { return (data, http) }
                failure = ("HTTP \(http.statusCode): \(Self.snippet(data))", http.statusCode,
                           http.value(forHTTPHeaderField: "Retry-After").flatMap(Self.parseRetryAfter))
            } catch let error as ServedTransport.Failure {
                switch error {
                case .cancelled: throw CancellationError()
                case .oversized(let limit):
                    throw ModelCallError(endpoint: name, message: "the reply is larger than \(limit >> 20) MB; not a model's answer")
                case .deadline(let seconds):
                    failure = ("no complete reply within the \(Self.seconds(seconds)) deadline", nil, nil)
                case .connection(let error):
                    guard Self.isTransient(error) else { throw ModelCallError(endpoint: name, message: Self.describe(error)) }
                    failure = (Self.describe(error), nil, nil)
                }
            }
            try await prepareRetry(&attempt, name: name, failure: failure)
        }
    }

    /// Waits before the next attempt, or throws when the request's retries or the run's
    /// budget are spent.
    private func prepareRetry(_ attempt: inout Int, name: String,
                              failure: (message: String, status: Int?, retryAfter: Double?)) async throws {
        guard attempt < maxRetries else {
            throw ModelCallError(endpoint: name, message: "gave up after \(attempt + 1) attempt\(attempt == 0 ? "" : "s"); last: \(failure.message)",
                                 status: failure.status)
        }
        guard state.spendRetry() else {
            throw ModelCallError(endpoint: name, message: "the run's retry budget (\(state.retryBudget) retries) is spent; last: \(failure.message)",
                                 status: failure.status)
        }
        let delay = failure.retryAfter.map { min($0, Self.maxRetryAfter) } ?? backoff(attempt: attempt)
        attempt += 1
        try await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
    }

    private func authorise(_ request: inout URLRequest) {
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        if let apiKey, !apiKey.isEmpty {
            request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization")
        }
    }

    private func validatedURL(_ text: String) throws -> URL {
        if baseHasUserInfo {
            throw ModelCallError(endpoint: text, message: ServedCredentials.userInfoRefusal)
        }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(),
              scheme == "http" || scheme == "https", url.host != nil
        else {
            throw ModelCallError(endpoint: text, message: "not an http(s) URL; set base_url like http://localhost:8000")
        }
        return url
    }

    /// Overload and server faults are worth another try; other client errors are not, nor
    /// is a 429 that says the account's quota is spent (waiting will not refill it).
    static func isRetryable(status: Int, body: Data = Data()) -> Bool {
        if status == 429 { return !String(decoding: body.prefix(4096), as: UTF8.self).contains("insufficient_quota") }
        // 501 and 505 say the server does not do this at all: asking again cannot help.
        return status == 408 || (status >= 500 && status != 501 && status != 505)
    }

    /// The message for a final non-2xx reply; a redirect says why it was not followed.
    static func refusal(_ http: HTTPURLResponse, _ data: Data) -> String {
        if (300..<400).contains(http.statusCode) {
            let target = http.value(forHTTPHeaderField: "Location").map { ServedCredentials.withoutUserInfo($0) } ?? "(no Location)"
            return "HTTP \(http.statusCode) redirect to \(target); redirects are not followed (the API key would travel with them): set base_url to the final address"
        }
        return "HTTP \(http.statusCode): \(snippet(data))"
    }

    /// `retryDelay · 2^attempt` capped at 32 × `retryDelay`, scaled by a random factor in
    /// 0.5...1 so that clients rejected together do not return together.
    func backoff(attempt: Int) -> Double {
        let exponential = retryDelay * Double(1 << min(attempt, 5))
        return exponential * Double.random(in: 0.5...1)
    }

    /// Connection failures are retried unless retrying cannot help (a bad URL, a refused
    /// certificate).
    static func isTransient(_ error: URLError) -> Bool {
        switch error.code {
        case .badURL, .unsupportedURL, .userAuthenticationRequired, .secureConnectionFailed, .serverCertificateUntrusted,
             .serverCertificateHasBadDate, .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot,
             .clientCertificateRejected, .clientCertificateRequired, .appTransportSecurityRequiresSecureConnection:
            return false
        default:
            return true
        }
    }

    static func describe(_ error: URLError) -> String {
        switch error.code {
        case .timedOut: return "timed out"
        case .cannotConnectToHost: return "could not connect (is the server running?)"
        case .networkConnectionLost: return "connection lost"
        case .cannotFindHost, .dnsLookupFailed: return "host not found"
        default: return "connection failed (\(error.localizedDescription))"
        }
    }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
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

    /// The request body: the model, the conversation (or, for `/v1/completions`, its texts
    /// joined by blank lines) and the sampling fields of `ServerKind.sampling`.
    func body(for request: ModelRequest) throws -> String {
        var fields: [String: JSON]
        do {
            fields = try serverKind.sampling(for: request, endpoint: endpointKind)
        } catch {
            throw ModelCallError(endpoint: endpoint, message: error.message)
        }
        fields["model"] = .string(model)
        switch endpointKind {
        case .chat:
            fields["messages"] = .array(request.messages.map {
                .object(["role": .string($0.role.rawValue), "content": .string($0.content)])
            })
        case .completions:
            fields["prompt"] = .string(Self.prompt(request.messages))
        }
        return JSON.object(fields).canonical
    }

    /// A conversation as one plain prompt for a base model: the texts, blank-line separated.
    static func prompt(_ messages: [ChatMessage]) -> String {
        messages.map(\.content).joined(separator: "\n\n")
    }
}

/// Owns the transport for every copy of a model and closes its session with the last one
/// (the session keeps its delegate alive until then).
private final class Connection: Sendable {
    let transport: ServedTransport
    init(_ transport: ServedTransport) { self.transport = transport }
    deinit { transport.close() }
}

/// Answers collected in request order from serial deliveries.
private final class Answers: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [ModelResponse?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ response: ModelResponse) { lock.withLock { slots[index] = response } }
    var all: [ModelResponse] { lock.withLock { slots.map { $0! } } }
}
