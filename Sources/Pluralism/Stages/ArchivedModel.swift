import ContentHash
import Corpus
import Foundation

/// The call archive in front of a language model.
///
/// Every request is looked up in the corpus's archive first; only the misses reach the model,
/// all of them at once, so the backend keeps as many going as it can (`capacity`). Each
/// answer is archived as it is delivered, through the context's `GroupCommit` (a transaction
/// per 64 answers or per second), so the stage can store what it makes of the answer in the
/// same transaction, and a kill loses at most the calls in flight and the last second's
/// answers. When the model fails, the answers it delivered before are committed before the
/// error is thrown. Errors are never stored, so a failed call is tried again on the next
/// run. This is what makes a run reproducible (a second run replays every answer) and
/// resumable.
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
    /// Where answers are written; shared with the stage, whose rows follow the calls they use.
    public let writes: GroupCommit
    /// Shared by every archived model of a run, so the summary counts all calls.
    public let tally: CallTally
    /// The run's stop request: once set, no new miss is sent (the model stops at its next
    /// answer; what was delivered is committed, then `RunStopped` is thrown).
    public let stop: StopSignal
    private let identityLock = NSLock()
    private var settled: ModelIdentity?

    public init(model: any LanguageModel, corpus: Corpus, replayOnly: Bool = false, writes: GroupCommit? = nil,
                tally: CallTally = CallTally(), stop: StopSignal = StopSignal()) {
        self.model = model
        self.stop = stop
        self.corpus = corpus
        self.replayOnly = replayOnly
        self.writes = writes ?? GroupCommit(corpus: corpus)
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
    /// misses (deduplicated by key) to the model; returns once every answer is archived.
    public func respond(to requests: [ModelRequest]) async throws -> [ArchivedResponse] {
        let answers = AnswerSlots(count: requests.count)
        try await respond(to: requests) { index, answer in answers.fill(index, answer) }
        return answers.all
    }

    /// Streams the answers: replayed ones first, then each fresh one as the model delivers it
    /// (in any order), each handed to `deliver` with its request's index after its archive
    /// write is queued, so whatever `deliver` queues on `writes` commits with it or later.
    /// Calls to `deliver` never overlap. Returns (or throws the model's error) only after
    /// every delivered answer is committed.
    public func respond(to requests: [ModelRequest],
                        deliver: @Sendable (Int, ArchivedResponse) async throws -> Void) async throws {
        let identity = try await establishedIdentity()
        let canonical = requests.map { Self.canonicalJSON(identity: identity, request: $0) }
        let keys = canonical.map { SHA256.hex($0) }
        var replayed: [String: ModelResponse] = [:]
        var missing: [(key: String, request: ModelRequest, json: String)] = []
        var indices: [String: [Int]] = [:]
        for (index, (key, request)) in zip(keys, requests).enumerated() {
            if indices[key] == nil {
                if let stored = try corpus.archivedCall(key: key) {
                    replayed[key] = try Self.decodeResponse(stored)
                } else {
                    missing.append((key, request, canonical[index]))
                }
            }
            indices[key, default: []].append(index)
        }
        if !missing.isEmpty && replayOnly {
            throw ArchiveMiss(count: missing.count, identity: identity, firstRequest: missing[0].request)
        }
        for (index, key) in keys.enumerated() {
            guard let response = replayed[key] else { continue }
            tally.record(fresh: 0, replayed: 1)
            try await deliver(index, ArchivedResponse(key: key, response: response, replayed: true))
        }
        guard !missing.isEmpty else {
            // What `deliver` made of the replayed answers.
            try writes.commit()
            return
        }

        let progress = DeliveryLog(expected: missing.count)
        let (writes, misses, byKey, stop) = (writes, missing, indices, stop)
        do {
            try stop.check()
            try await model.respond(to: misses.map(\.request)) { missIndex, response in
                guard misses.indices.contains(missIndex), progress.markDelivered(missIndex) else {
                    throw ModelDeliveryError(index: missIndex, count: misses.count, identity: identity)
                }
                let entry = misses[missIndex]
                let call = ArchivedCall(
                    key: entry.key, backend: identity.backend, baseURL: identity.baseURL, model: identity.fingerprint,
                    requestJSON: entry.json,
                    responseJSON: Self.canonicalString(response), createdAt: Corpus.timestamp(),
                    durationMS: progress.millisecondsSinceLastDelivery())
                try writes.add { try $0.archiveCall(call) }
                tally.record(fresh: 1, replayed: 0)
                for index in byKey[entry.key] ?? [] {
                    try await deliver(index, ArchivedResponse(key: entry.key, response: response, replayed: false))
                }
                // Stopping here makes the model start nothing new; its open calls end.
                try stop.check()
            }
        } catch {
            // What was delivered stays: commit it, then report the failure itself.
            try? writes.commit()
            throw error
        }
        try writes.commit()
        guard progress.delivered == missing.count else {
            throw ModelAnswerCountError(expected: missing.count, received: progress.delivered, identity: identity)
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

/// Which misses a model has delivered, and when the last one came: a call's `duration_ms`
/// is the time since the previous delivery, so the durations of a stage add up to the time
/// its model worked, however many calls ran at once.
private final class DeliveryLog: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [Bool]
    private var count = 0
    private var last = Date()

    init(expected: Int) { seen = Array(repeating: false, count: expected) }

    var delivered: Int { lock.withLock { count } }

    /// False when the index was delivered before (a backend breaking the protocol).
    func markDelivered(_ index: Int) -> Bool {
        lock.withLock {
            guard !seen[index] else { return false }
            seen[index] = true
            count += 1
            return true
        }
    }

    func millisecondsSinceLastDelivery() -> Int {
        lock.withLock {
            let now = Date()
            defer { last = now }
            return Int(now.timeIntervalSince(last) * 1000)
        }
    }
}

/// Answers gathered by index from a stream, for callers that want them all in order.
final class AnswerSlots: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [ArchivedResponse?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func fill(_ index: Int, _ answer: ArchivedResponse) { lock.withLock { slots[index] = answer } }

    /// Every slot; called once the stream has delivered all of them.
    var all: [ArchivedResponse] { lock.withLock { slots.map { $0! } } }
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

/// A backend delivered an answer for an index it was not asked, or twice for one request.
public struct ModelDeliveryError: Error, CustomStringConvertible {
    public var index: Int
    public var count: Int
    public var identity: ModelIdentity
    public var description: String {
        "\(identity.backend) model delivered answer \(index) of \(count) requests twice or out of range"
    }
}
