import ContentHash
import Foundation
@testable import Pluralism

/// A deterministic stand-in for a language model: every answer is a function of the request
/// alone (never of call order or batching), calls are counted, and it can be told to fail
/// after a number of calls to simulate a crash mid-stage.
///
/// Default answers:
/// - a request with `topLogprobs > 0` (a multiple-choice read or a selection read from
///   log-probabilities) answers with alternatives for the letters A…H whose log-probabilities
///   derive from the request's hash;
/// - a selection request parsed from text (its last message asks for the comment's or
///   expert's number) answers `selectionReply` (default "2");
/// - anything else answers "reply <hash prefix>".
/// `answer` overrides all of this.
final class ScriptedModel: LanguageModel, @unchecked Sendable {
    let identity: ModelIdentity
    private let lock = NSLock()
    private var callCount = 0
    private var batchSizes: [Int] = []
    private var failAfter: Int?
    private let answer: (@Sendable (ModelRequest) -> ModelResponse?)?
    let selectionReply: String

    init(identity: ModelIdentity = ModelIdentity(backend: "scripted", baseURL: "", fingerprint: "scripted-v1"),
         selectionReply: String = "2", failAfter: Int? = nil,
         answer: (@Sendable (ModelRequest) -> ModelResponse?)? = nil) {
        self.identity = identity
        self.selectionReply = selectionReply
        self.failAfter = failAfter
        self.answer = answer
    }

    /// Requests answered so far.
    var calls: Int { lock.withLock { callCount } }
    /// The size of every batch received.
    var batches: [Int] { lock.withLock { batchSizes } }

    /// Fail every batch that would take the total past `limit` calls (nil: never fail).
    func failAfter(_ limit: Int?) { lock.withLock { failAfter = limit } }

    func respond(to requests: [ModelRequest]) async throws -> [ModelResponse] {
        try lock.withLock {
            if let failAfter, callCount + requests.count > failAfter {
                throw ScriptedFailure(afterCalls: callCount)
            }
            callCount += requests.count
            batchSizes.append(requests.count)
        }
        return requests.map { answer?($0) ?? Self.defaultAnswer($0, selectionReply: selectionReply) }
    }

    static func hash(_ request: ModelRequest) -> String {
        ArchivedModel.canonicalJSON(identity: ModelIdentity(backend: "", baseURL: "", fingerprint: ""), request: request).sha256Hex
    }

    static func defaultAnswer(_ request: ModelRequest, selectionReply: String) -> ModelResponse {
        let hash = hash(request)
        if request.topLogprobs > 0 {
            return choice(letterWeights(hash))
        }
        if isSelection(request) {
            return text(selectionReply)
        }
        return text("reply \(hash.prefix(12))")
    }

    /// Weights 1…16 for the letters A…H, read from the hash's first hex digits.
    static func letterWeights(_ hash: String) -> [Double] {
        hash.prefix(8).map { Double(Int(String($0), radix: 16)! + 1) }
    }

    static func isSelection(_ request: ModelRequest) -> Bool {
        let text = request.messages.last?.content ?? ""
        return text.contains("Reply with the number of the comment") || text.contains("Reply with the number of the expert")
    }

    /// The lines a prompt labels with letters ("A. text" → "text"), in letter order: what
    /// each letter stands for in a multiple-choice or selection prompt.
    static func letteredLines(_ request: ModelRequest) -> [String] {
        var lines: [String] = []
        for line in (request.messages.last?.content ?? "").split(separator: "\n", omittingEmptySubsequences: false) {
            guard lines.count < Prompts.optionLetters.count, line.hasPrefix(Prompts.optionLetters[lines.count] + ". ") else { continue }
            lines.append(String(line.dropFirst(3)))
        }
        return lines
    }

    /// The lines a prompt numbers ("1. text" → "text"), in order.
    static func numberedLines(_ request: ModelRequest) -> [String] {
        var lines: [String] = []
        for line in (request.messages.last?.content ?? "").split(separator: "\n", omittingEmptySubsequences: false) {
            let marker = "\(lines.count + 1). "
            if line.hasPrefix(marker) { lines.append(String(line.dropFirst(marker.count))) }
        }
        return lines
    }

    static func text(_ text: String, finishReason: ModelResponse.FinishReason = .stop) -> ModelResponse {
        ModelResponse(text: text, steps: [], finishReason: finishReason, promptTokens: 10)
    }

    /// A one-token answer whose alternatives are the letters A… with probabilities
    /// proportional to `weights` (the rest of the mass on a non-letter token).
    static func choice(_ weights: [Double], otherMass: Double = 0.2) -> ModelResponse {
        let total = weights.reduce(0, +)
        var top = zip(Prompts.optionLetters, weights).map { letter, weight in
            TokenLogprob(token: letter, logprob: Foundation.log((1 - otherMass) * weight / total))
        }
        top.append(TokenLogprob(token: " The", logprob: Foundation.log(otherMass)))
        top.sort { $0.logprob > $1.logprob }
        return ModelResponse(text: top[0].token, steps: [GeneratedStep(token: top[0].token, logprob: top[0].logprob, top: top)],
                             finishReason: .length, promptTokens: 10)
    }
}

struct ScriptedFailure: Error, CustomStringConvertible {
    var afterCalls: Int
    var description: String { "scripted failure after \(afterCalls) calls" }
}

extension String {
    var sha256Hex: String { SHA256.hex(self) }
}
