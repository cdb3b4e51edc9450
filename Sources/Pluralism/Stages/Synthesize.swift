import Corpus
import Foundation

extension Stages {
    /// Whether a method synthesizes an item: each mode handles the items written for it; the
    /// baselines answer every item, for comparison.
    public static func applies(_ method: Method, to item: Item) -> Bool {
        switch method {
        case .overton: item.mode == .overton
        case .steerable: item.mode == .steerable
        case .distributional: item.mode == .distributional
        case .vanilla, .prompting, .moe: true
        }
    }

    /// The base model synthesizes every (item, method) pair the config asks for and the
    /// corpus does not hold yet. Requests are grouped by method and batched across items;
    /// each batch of finished syntheses (with their distributions) is written in one
    /// transaction.
    public static func synthesize(_ context: StageContext) async throws -> StageReport {
        let started = Date()
        let before = (context.tally.fresh, context.tally.replayed)
        _ = try context.requireRun()
        let corpus = context.corpus
        let done = Set(try corpus.syntheses(runID: context.runID).map { SynthesisKey(item: $0.itemID, method: $0.method) })

        var alreadyDone = 0
        var pending: [(method: Method, items: [Item])] = []
        for method in context.config.methods {
            var items: [Item] = []
            for item in context.inputs.items where applies(method, to: item) {
                if done.contains(SynthesisKey(item: item.id, method: method.rawValue)) {
                    alreadyDone += 1
                } else {
                    items.append(item)
                }
            }
            if !items.isEmpty { pending.append((method, items)) }
        }
        let total = pending.reduce(0) { $0 + $1.items.count }
        var written = 0
        if total > 0 {
            var comments: [String: [CommentRecord]] = [:]
            for comment in try corpus.comments(runID: context.runID) {
                comments[comment.itemID, default: []].append(comment)
            }
            let synthesizer = Synthesizer(context: context, base: try context.archivedModel(for: context.config.baseModel),
                                          comments: comments)
            let progress = ProgressReporter(label: "syntheses", total: total, quiet: context.options.quiet)
            progress.advance(by: 0)
            defer { progress.finish() }
            for (method, items) in pending {
                for batch in items.chunked(context.options.batchSize) {
                    let outputs = try await synthesizer.synthesize(method, batch)
                    try corpus.transaction {
                        for output in outputs {
                            try corpus.insertSynthesis(output.synthesis, distributions: output.distributions)
                        }
                    }
                    written += outputs.count
                    progress.advance(by: outputs.count)
                }
            }
        }
        return StageReport(stage: "synthesize", written: written, alreadyDone: alreadyDone,
                           freshCalls: context.tally.fresh - before.0, replayedCalls: context.tally.replayed - before.1,
                           seconds: Date().timeIntervalSince(started))
    }

    struct SynthesisKey: Hashable {
        var item: String
        var method: String
    }
}

/// The base model's side of the method: prompts per method, selection with recorded
/// fallbacks, distributions read from log-probabilities and mixed per population.
struct Synthesizer {
    let context: StageContext
    let base: ArchivedModel
    /// Stored comments by item id.
    let comments: [String: [CommentRecord]]

    struct Output {
        var synthesis: SynthesisRecord
        var distributions: [DistributionRecord]
    }

    /// When a selection reply names no valid number, the first comment (the pool's first
    /// community in config order) is used, and the synthesis records `selectionParsed = false`
    /// with the raw reply.
    static let fallbackSelection = 0

    /// Selection replies are a number: a few tokens are plenty, and a model that rambles is
    /// cut short rather than paid for.
    static let selectionMaxTokens = 16

    /// Multiple-choice reads: one greedy token, whose alternatives are the distribution.
    static func choiceDecoding(seed: UInt64) -> Decoding {
        Decoding(temperature: 0, topP: 1, topK: 0, maxTokens: 1, seed: seed)
    }

    var config: RunConfig { context.config }

    func synthesize(_ method: Method, _ items: [Item]) async throws -> [Output] {
        switch method {
        case .overton:
            let voices = try items.map(poolComments)
            return try await direct(method, items) { item, index in
                Prompts.overton(item: item, comments: voices[index].map(\.comment.text))
            }
        case .vanilla:
            return try await direct(method, items) { item, _ in Prompts.vanilla(item: item) }
        case .prompting:
            return try await direct(method, items) { item, _ in Prompts.prompting(item: item) }
        case .steerable:
            return try await selectThenAnswer(method, items, voices: items.map(poolComments)) { item, voices in
                Prompts.steerableSelection(item: item, attribute: item.attribute ?? "", comments: voices.map(\.comment.text))
            }
        case .moe:
            return try await selectThenAnswer(method, items, voices: items.map(poolComments)) { item, voices in
                Prompts.expertSelection(item: item, communities: voices.map { ($0.community.name, $0.community.description) })
            }
        case .distributional:
            return try await distributional(items)
        }
    }

    // MARK: methods

    /// One request per item: text for open items, a distribution for multiple-choice ones.
    private func direct(_ method: Method, _ items: [Item], prompt: (Item, Int) -> [ChatMessage]) async throws -> [Output] {
        let requests = items.enumerated().map { index, item in
            request(prompt(item, index), item: item, purpose: method.rawValue, choice: !item.options.isEmpty)
        }
        let answers = try await base.respond(to: requests)
        return zip(items, answers).map { item, answer in
            answered(item, method, answer, callKeys: [answer.key])
        }
    }

    /// Steerable and MoE: the base model picks a comment (steerable: the one reflecting the
    /// attribute; MoE: the expert community, from descriptions alone), then answers with that
    /// comment as a helping passage.
    private func selectThenAnswer(_ method: Method, _ items: [Item], voices: [[Voice]],
                                  selectionPrompt: (Item, [Voice]) -> [ChatMessage]) async throws -> [Output] {
        let selectionRequests = zip(items, voices).map { item, voices in
            var decoding = config.baseDecoding
            decoding.maxTokens = min(decoding.maxTokens, Self.selectionMaxTokens)
            decoding.seed = seed(item, "\(method.rawValue).select")
            return ModelRequest(messages: selectionPrompt(item, voices), decoding: decoding)
        }
        let selections = try await base.respond(to: selectionRequests)

        var chosen: [(voice: Voice, parsed: Bool)] = []
        var answerRequests: [ModelRequest] = []
        for (index, item) in items.enumerated() {
            let number = SelectionParser.parse(selections[index].response.text, count: voices[index].count)
            let voice = voices[index][number.map { $0 - 1 } ?? Self.fallbackSelection]
            chosen.append((voice, number != nil))
            let purpose = "\(method.rawValue).answer"
            let messages = item.options.isEmpty
                ? Prompts.answerWithPassage(item: item, passage: voice.comment.text, attribute: item.attribute)
                : Prompts.choiceWithPassage(item: item, passage: voice.comment.text, attribute: item.attribute)
            answerRequests.append(request(messages, item: item, purpose: purpose, choice: !item.options.isEmpty))
        }
        let answers = try await base.respond(to: answerRequests)

        return items.indices.map { index in
            var output = answered(items[index], method, answers[index], callKeys: [selections[index].key, answers[index].key])
            output.synthesis.selectedCommunity = chosen[index].voice.community.name
            output.synthesis.selectionParsed = chosen[index].parsed
            output.synthesis.selectionReply = selections[index].response.text
            return output
        }
    }

    /// Distributional: one answer distribution per community comment, mixed with the item's
    /// population weights (uniform when the item names no population). Stores every
    /// community's distribution and the mix (community "").
    private func distributional(_ items: [Item]) async throws -> [Output] {
        let voices = try items.map(poolComments)
        var requests: [ModelRequest] = []
        for (index, item) in items.enumerated() {
            for voice in voices[index] {
                let messages = Prompts.choiceWithPassage(item: item, passage: voice.comment.text, attribute: nil)
                requests.append(request(messages, item: item, purpose: "distributional/\(voice.community.name)", choice: true))
            }
        }
        let answers = try await base.respond(to: requests)

        var outputs: [Output] = []
        var next = 0
        for (index, item) in items.enumerated() {
            let population = item.population.flatMap(config.population(named:))
            let raw = voices[index].map { population?.weight(of: $0.community.name) ?? 1 }
            let sum = raw.reduce(0, +)
            let weights = raw.map { sum > 0 ? $0 / sum : 1 / Double(raw.count) }
            var parts: [OptionDistribution] = []
            var rows: [DistributionRecord] = []
            var keys: [String] = []
            for (voice, weight) in zip(voices[index], weights) {
                let answer = answers[next]
                next += 1
                let part = read(answer.response, optionCount: item.options.count)
                parts.append(part)
                keys.append(answer.key)
                rows.append(record(item, .distributional, community: voice.community.name, part, weight: weight))
            }
            let mixed = OptionDistribution.mix(parts, weights: weights)
            rows.append(record(item, .distributional, community: "", mixed, weight: 1))
            let option = mixed.argmax ?? 0
            outputs.append(Output(
                synthesis: SynthesisRecord(
                    runID: context.runID, itemID: item.id, method: Method.distributional.rawValue,
                    text: optionText(item, option), selectedCommunity: nil, selectionParsed: nil, selectionReply: nil,
                    answerOption: option, callKeys: keys),
                distributions: rows))
        }
        return outputs
    }

    // MARK: parts

    /// A community and its stored comment on one item.
    typealias Voice = (community: CommunitySpec, comment: CommentRecord)

    /// The item's pool communities with their comments, in config order. Every comment must
    /// be stored: a synthesis over a partial pool would silently differ from a complete run.
    private func poolComments(_ item: Item) throws -> [Voice] {
        let stored = comments[item.id] ?? []
        var voices: [Voice] = []
        var missing: [String] = []
        for community in config.communities(inPool: item.pool) {
            if let comment = stored.first(where: { $0.community == community.name && $0.sampleIndex == 0 }) {
                voices.append((community, comment))
            } else {
                missing.append(community.name)
            }
        }
        if !missing.isEmpty { throw StageError.missingComments(itemID: item.id, missing: missing) }
        return voices
    }

    private func seed(_ item: Item, _ purpose: String) -> UInt64 {
        CallSeed.derive(runSeed: config.seed, itemID: item.id, purpose: purpose)
    }

    /// A base-model request. Choice requests ask for one greedy token with
    /// `distributionTopLogprobs` alternatives: the next-token distribution after the prompt.
    private func request(_ messages: [ChatMessage], item: Item, purpose: String, choice: Bool) -> ModelRequest {
        let seed = seed(item, purpose)
        if choice {
            return ModelRequest(messages: messages, decoding: Self.choiceDecoding(seed: seed),
                                topLogprobs: config.distributionTopLogprobs)
        }
        var decoding = config.baseDecoding
        decoding.seed = seed
        return ModelRequest(messages: messages, decoding: decoding)
    }

    /// The synthesis for one answer: the reply's text, or for a multiple-choice item the
    /// option distribution read from it and its most likely option.
    private func answered(_ item: Item, _ method: Method, _ answer: ArchivedResponse, callKeys: [String]) -> Output {
        var synthesis = SynthesisRecord(
            runID: context.runID, itemID: item.id, method: method.rawValue, text: answer.response.text,
            selectedCommunity: nil, selectionParsed: nil, selectionReply: nil, answerOption: nil, callKeys: callKeys)
        guard !item.options.isEmpty else { return Output(synthesis: synthesis, distributions: []) }
        let distribution = read(answer.response, optionCount: item.options.count)
        let option = distribution.argmax ?? 0
        synthesis.answerOption = option
        synthesis.text = optionText(item, option)
        return Output(synthesis: synthesis, distributions: [record(item, method, community: "", distribution, weight: 1)])
    }

    /// The alternatives at the first generated step; an empty reply reads as no alternatives
    /// (a recorded uniform fallback).
    private func read(_ response: ModelResponse, optionCount: Int) -> OptionDistribution {
        OptionDistribution.read(response.steps.first?.top ?? [], optionCount: optionCount)
    }

    private func record(_ item: Item, _ method: Method, community: String, _ distribution: OptionDistribution, weight: Double) -> DistributionRecord {
        DistributionRecord(runID: context.runID, itemID: item.id, method: method.rawValue, community: community,
                           probabilities: distribution.probabilities, coveredMass: distribution.coveredMass,
                           fallback: distribution.fallback, weight: weight)
    }

    /// How a multiple-choice answer reads as text: "B. <option>".
    private func optionText(_ item: Item, _ option: Int) -> String {
        "\(Prompts.optionLetters[option]). \(item.options[option])"
    }
}
