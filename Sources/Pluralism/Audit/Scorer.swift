import Foundation

/// Turns texts into unit-length vectors whose dot product is their similarity: the embedded
/// all-MiniLM-L6-v2 encoder by default, any implementation in tests.
public protocol SentenceEmbedder: Sendable {
    /// Names the weights, so a corpus says what measured it.
    var fingerprint: String { get }
    /// One vector per text, in order, every one of the same length and L2-normalised.
    func embed(_ texts: [String]) throws -> [[Float]]
}

/// Says how strongly a premise (a comment sentence, a value's explanation) backs a
/// hypothesis (an answer sentence), in [0, 1]. The audit's only judgement of meaning: every
/// faithfulness, representation and coverage score is built from these numbers.
public protocol SupportScorer: Sendable {
    /// `embedding` or `judge`, as written in the config and the corpus.
    var kind: String { get }
    /// The scorer model's identity (weights sha256 or the judge's archive identity).
    var fingerprint: String { get }
    /// `result[p][h]`: the support of `hypotheses[h]` by `premises[p]`.
    func support(premises: [String], hypotheses: [String]) async throws -> [[Double]]
}

/// Support as the cosine of sentence embeddings, clamped to [0, 1] (a negative cosine backs
/// nothing). Symmetric: premise and hypothesis play the same part. Embeddings are kept per
/// text, so a comment scored against six answers is embedded once.
public final class EmbeddingScorer: SupportScorer, @unchecked Sendable {
    public let embedder: any SentenceEmbedder
    public var kind: String { "embedding" }
    public var fingerprint: String { embedder.fingerprint }

    private let lock = NSLock()
    private var vectors: [String: [Float]] = [:]

    public init(embedder: any SentenceEmbedder) {
        self.embedder = embedder
    }

    public func support(premises: [String], hypotheses: [String]) async throws -> [[Double]] {
        try embedMissing(premises + hypotheses)
        let (p, h) = lock.withLock { (premises.map { vectors[$0]! }, hypotheses.map { vectors[$0]! }) }
        return p.map { premise in h.map { hypothesis in Self.clampedCosine(premise, hypothesis) } }
    }

    /// Embeds, in one call, the texts not seen before (each once, in first-seen order).
    private func embedMissing(_ texts: [String]) throws {
        var seen = Set<String>()
        let missing = lock.withLock { texts.filter { vectors[$0] == nil && seen.insert($0).inserted } }
        guard !missing.isEmpty else { return }
        let embedded = try embedder.embed(missing)
        lock.withLock {
            for (text, vector) in zip(missing, embedded) { vectors[text] = vector }
        }
    }

    /// The dot product of two unit vectors, in double precision, clamped to [0, 1].
    static func clampedCosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0
        for index in a.indices { dot += Double(a[index]) * Double(b[index]) }
        return min(1, max(0, dot))
    }
}

/// Support as a judge model's probability of "yes" when asked whether the passage supports
/// the sentence, read from the next-token log-probabilities (renormalised over the yes and
/// no spellings; 0 when neither is among the alternatives). Every question is one archived
/// call, so auditing again replays instead of asking again.
public struct JudgeScorer: SupportScorer {
    public let model: ArchivedModel
    public var kind: String { "judge" }
    public var fingerprint: String {
        let identity = model.model.identity
        return [identity.backend, identity.baseURL, identity.fingerprint].filter { !$0.isEmpty }.joined(separator: " ")
    }

    /// Alternatives asked for at the answer position.
    static let topLogprobs = 20

    public init(model: ArchivedModel) {
        self.model = model
    }

    /// The judge's question. Greedy, one token, seed 0: the same pair is the same archived
    /// call in every item, run and corpus.
    static func request(premise: String, hypothesis: String) -> ModelRequest {
        ModelRequest(
            messages: [
                .system("You check whether a sentence is supported by a passage. Answer with one word: yes or no."),
                .user("Passage: \(premise)\nSentence: \(hypothesis)\nIs the sentence supported by the passage? Answer yes or no."),
            ],
            decoding: Decoding(temperature: 0, topP: 1, topK: 0, maxTokens: 1, seed: 0),
            topLogprobs: topLogprobs)
    }

    public func support(premises: [String], hypotheses: [String]) async throws -> [[Double]] {
        let requests = premises.flatMap { premise in hypotheses.map { Self.request(premise: premise, hypothesis: $0) } }
        guard !requests.isEmpty else { return premises.map { _ in [] } }
        let answers = try await model.respond(to: requests)
        let scores = answers.map { Self.probabilityOfYes($0.response.steps.first?.top ?? []) }
        return premises.indices.map { p in Array(scores[p * hypotheses.count..<(p + 1) * hypotheses.count]) }
    }

    /// P(yes) / (P(yes) + P(no)) over every spelling of the two words among the alternatives.
    static func probabilityOfYes(_ alternatives: [TokenLogprob]) -> Double {
        var yes = 0.0, no = 0.0
        for alternative in alternatives {
            let word = alternative.token.trimmingCharacters(in: .whitespacesAndNewlines.union(.punctuationCharacters))
                .replacingOccurrences(of: "Ġ", with: "").lowercased()
            let probability = exp(alternative.logprob)
            guard probability.isFinite else { continue }
            if word == "yes" { yes += probability } else if word == "no" { no += probability }
        }
        return yes + no > 0 ? yes / (yes + no) : 0
    }
}
