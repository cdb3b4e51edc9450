import ContentHash
import Corpus
import Foundation

/// The call archive in front of a language model.
///
/// Every request is looked up in the corpus's archive first; only the misses reach the model,
/// together in one batch, and their successful answers are stored before they are returned.
/// Errors are never stored, so a failed call is tried again on the next run. This is what
/// makes a run reproducible (a second run replays every answer) and resumable (an
/// interrupted stage loses at most the batch that was in flight).
///
/// The archive key is `sha256` of the canonical JSON (`JSON.canonical`: object keys sorted
/// by UTF-8 bytes, no whitespace, integers as integers, other doubles in shortest round-trip
/// form) of
///
///     {"identity": {"backend", "base_url", "fingerprint", "served"?},
///      "request":  {"messages": [{"role", "content"}...],
///                   "decoding": {"temperature", "top_p", "top_k", "max_tokens", "seed"},
///                   "top_logprobs", "sample_index", "sent"?}}
///
/// so an answer is replayed only for the same weights behind the same endpoint, and any
/// change of message text, decoding parameter, seed, alternatives or sample index is a miss.
/// A served model adds `served` (what the server says it serves, `ServedIdentity`) and
/// `sent` (the sampling fields exactly as the request carried them, `ServerKind.sampling`);
/// the embedded engine has neither, so its keys are unchanged. The identity is settled
/// with the model once, before the first lookup (`establishedIdentity`).
/// That text is also stored as the call's `requestJSON`, so `sha256(requestJSON) == key`.
public final class ArchivedModel: @unchecked Sendable {
    /// The model that answers misses.
    public let model: any LanguageModel
    public let corpus: Corpus
    /// When set, a miss is an error (`ArchiveMiss`) instead of a model call: for audits and
    /// CI that must reproduce a corpus without touching a model.
    public let replayOnly: Bool
    /// The most requests handed to the model in one call; more misses are split.
    public let maxBatch: Int
    /// Shared by every archived model of a run, so the summary counts all calls.
    public let tally: CallTally
    private let identityLock = NSLock()
    private var settled: ModelIdentity?

    public init(model: any LanguageModel, corpus: Corpus, replayOnly: Bool = false, maxBatch: Int = 8,
                tally: CallTally = CallTally()) {
        self.model = model
        self.corpus = corpus
        self.replayOnly = replayOnly
        self.maxBatch = max(1, maxBatch)
        self.tally = tally
    }

    /// The canonical JSON the key is hashed from (see the type's documentation).
    public static func canonicalJSON(identity: ModelIdentity, request: ModelRequest) -> String {
        let messages: [JSON] = request.messages.map {
            .object(["role": .string($0.role.rawValue), "content": .string($0.content)])
        }
        var identityFields: [String: JSON] = [
            "backend": .string(identity.backend),
            "base_url": .string(identity.baseURL),
            "fingerprint": .string(identity.fingerprint),
        ]
        var requestFields: [String: JSON] = [
            "messages": .array(messages),
            "decoding": request.decoding.json,
            "top_logprobs": .integer(Int64(request.topLogprobs)),
            "sample_index": .integer(Int64(request.sampleIndex)),
        ]
        if let served = identity.served {
            identityFields["served"] = served.json
            if let kind = ServerKind(rawValue: served.kind), let endpoint = ServedEndpoint(rawValue: served.endpoint),
               let sent = try? kind.sampling(for: request, endpoint: endpoint) {
                requestFields["sent"] = .object(sent)
            }
        }
        return JSON.object(["identity": .object(identityFields), "request": .object(requestFields)]).canonical
    }

    /// The archive key of a request to a model with this identity.
    public static func key(identity: ModelIdentity, request: ModelRequest) -> String {
        SHA256.hex(canonicalJSON(identity: identity, request: request))
    }

    /// The key under the settled identity (the configured one until it is settled).
    public func key(for request: ModelRequest) -> String {
        Self.key(identity: identityLock.withLock { settled } ?? model.identity, request: request)
    }

    /// The identity keys are made from: settled with the model on first use, given what the
    /// archive last recorded for the same configured model.
    public func establishedIdentity() async throws -> ModelIdentity {
        if let settled = identityLock.withLock({ settled }) { return settled }
        let configured = model.identity
        let archived = try corpus.latestRequestJSON(backend: configured.backend, baseURL: configured.baseURL,
                                                    model: configured.fingerprint).flatMap(ServedIdentity.read)
        let identity = try await model.establishIdentity(archived: archived)
        return identityLock.withLock {
            if settled == nil { settled = identity }
            return settled!
        }
    }

    /// Answers the requests in order, replaying archived answers and forwarding only the
    /// misses (deduplicated by key) to the model.
    public func respond(to requests: [ModelRequest]) async throws -> [ArchivedResponse] {
        let identity = try await establishedIdentity()
        let keys = requests.map { Self.key(identity: identity, request: $0) }
        var answers: [String: ModelResponse] = [:]
        var missing: [(key: String, request: ModelRequest)] = []
        var seen = Set<String>()
        for (key, request) in zip(keys, requests) where seen.insert(key).inserted {
            if let stored = try corpus.archivedCall(key: key) {
                answers[key] = try Self.decodeResponse(stored)
            } else {
                missing.append((key, request))
            }
        }
        let replayedKeys = Set(answers.keys)
        if !missing.isEmpty && replayOnly {
            throw ArchiveMiss(count: missing.count, identity: identity, firstRequest: missing[0].request)
        }
        var start = 0
        while start < missing.count {
            let chunk = Array(missing[start..<min(start + maxBatch, missing.count)])
            start += chunk.count
            // Each answer is archived as it arrives, so a failure elsewhere in the chunk loses
            // none that were received; the failure is rethrown after.
            let began = Date()
            let arrived = ArrivedAnswers()
            defer { tally.record(fresh: arrived.count, replayed: 0) }
            try await model.respond(to: chunk.map(\.request)) { index, response in
                let entry = chunk[index]
                try self.corpus.archiveCall(ArchivedCall(
                    key: entry.key, backend: identity.backend, baseURL: identity.baseURL, model: identity.fingerprint,
                    requestJSON: Self.canonicalJSON(identity: identity, request: entry.request),
                    responseJSON: Self.canonicalString(response), createdAt: Corpus.timestamp(),
                    durationMS: Int(Date().timeIntervalSince(began) * 1000)))
                arrived.add(entry.key, response)
            }
            guard arrived.count == chunk.count else {
                throw ModelAnswerCountError(expected: chunk.count, received: arrived.count, identity: identity)
            }
            answers.merge(arrived.all) { first, _ in first }
        }
        tally.record(fresh: 0, replayed: keys.filter { replayedKeys.contains($0) }.count)
        return zip(keys, requests).map { key, _ in
            ArchivedResponse(key: key, response: answers[key]!, replayed: replayedKeys.contains(key))
        }
    }

    static func decodeResponse(_ call: ArchivedCall) throws -> ModelResponse {
        do {
            let decoder = JSONDecoder()
            decoder.nonConformingFloatDecodingStrategy = nonFiniteSpelling.decoding
            return try decoder.decode(ModelResponse.self, from: Data(call.responseJSON.utf8))
        } catch {
            throw CorruptArchiveEntry(key: call.key, reason: "\(error)")
        }
    }

    /// A log-probability of -infinity (a token the model rules out) has no JSON spelling;
    /// responses store it as the string "-inf" rather than failing to archive.
    static let nonFiniteSpelling = (
        encoding: JSONEncoder.NonConformingFloatEncodingStrategy.convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan"),
        decoding: JSONDecoder.NonConformingFloatDecodingStrategy.convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan"))

    static func canonicalString<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = nonFiniteSpelling.encoding
        // Plain structs of strings and numbers, with non-finite numbers spelt out: cannot fail.
        let data = try! encoder.encode(value)
        return String(decoding: data, as: UTF8.self)
    }
}

/// Answers archived during one chunk, gathered from serial deliveries.
private final class ArrivedAnswers: @unchecked Sendable {
    private let lock = NSLock()
    private var answers: [String: ModelResponse] = [:]
    private var delivered = 0

    func add(_ key: String, _ response: ModelResponse) {
        lock.withLock {
            answers[key] = response
            delivered += 1
        }
    }

    var count: Int { lock.withLock { delivered } }
    var all: [String: ModelResponse] { lock.withLock { answers } }
}

/// One answer and where it came from.
public struct ArchivedResponse: Sendable {
    /// The archive key (stored with every comment and synthesis, pointing at the call).
    public var key: String
    public var response: ModelResponse
    /// True when the answer came from the archive rather than the model.
    public var replayed: Bool
}

/// Counts model calls that went to a model (fresh) and answers replayed from the archive.
public final class CallTally: @unchecked Sendable {
    private let lock = NSLock()
    private var freshCount = 0
    private var replayedCount = 0

    public init() {}

    public var fresh: Int { lock.withLock { freshCount } }
    public var replayed: Int { lock.withLock { replayedCount } }

    func record(fresh: Int, replayed: Int) {
        lock.withLock {
            freshCount += fresh
            replayedCount += replayed
        }
    }
}

/// A `--replay-only` run needed an answer the archive does not hold.
public struct ArchiveMiss: Error, CustomStringConvertible {
    public var count: Int
    public var identity: ModelIdentity
    public var firstRequest: ModelRequest

    public var description: String {
        let where_ = identity.baseURL.isEmpty ? identity.backend : "\(identity.backend) at \(identity.baseURL)"
        let preview = firstRequest.messages.last?.content.prefix(80) ?? ""
        return "replay-only: \(count) call(s) to \(where_) (model \(identity.fingerprint.prefix(16))) are not in the archive; first: \"\(preview)…\""
    }
}

/// An archived answer that no longer decodes (a corpus written by an incompatible version or
/// edited by hand).
public struct CorruptArchiveEntry: Error, CustomStringConvertible {
    public var key: String
    public var reason: String
    public var description: String { "archived call \(key) does not decode: \(reason)" }
}

/// A backend broke the protocol by answering a different number of requests.
public struct ModelAnswerCountError: Error, CustomStringConvertible {
    public var expected: Int
    public var received: Int
    public var identity: ModelIdentity
    public var description: String {
        "\(identity.backend) model answered \(received) of \(expected) requests"
    }
}
