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
        let clock = StageClock(context.tally)
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
                    try context.stop.check()
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
        return clock.report("synthesize", written: written, alreadyDone: alreadyDone)
    }

    struct SynthesisKey: Hashable {
        var item: String
        var method: String
    }
}

/// The base model's side of the method: prompts per method, selections and multiple-choice
/// answers read as distributions in every rotation of their candidates (`Choices.swift`),
/// and distributions mixed per population.
struct Synthesizer {
    let context: StageContext
    let base: ArchivedModel
    /// Stored comments by item id.
    let comments: [String: [CommentRecord]]

    struct Output {
        var synthesis: SynthesisRecord
        var distributions: [DistributionRecord]
    }

    /// Selection replies parsed from text are a number: a few tokens are plenty, and a model
    /// that rambles is cut short rather than paid for (a cut reply is read cautiously).
    static let selectionMaxTokens = 16

    /// Reads from log-probabilities: one greedy token, whose alternatives are the distribution.
    static func choiceDecoding(seed: UInt64) -> Decoding {
        Decoding(temperature: 0, topP: 1, topK: 0, maxTokens: 1, seed: seed)
    }

    var config: RunConfig { context.config }

    func synthesize(_ method: Method, _ items: [Item]) async throws -> [Output] {
        switch method {
        case .overton: return try await overton(items)
        case .vanilla, .prompting: return try await direct(method, items)
        case .steerable, .moe: return try await selectThenAnswer(method, items)
        case .distributional: return try await distributional(items)
        }
    }

    // MARK: methods

    /// Overton: every comment as a passage, in a seeded per-item order (or the
    /// configuration's), recorded with the answer.
    private func overton(_ items: [Item]) async throws -> [Output] {
        var requests: [ModelRequest] = []
        var shown: [[Voice]] = []
        for item in items {
            let voices = try poolComments(item)
            let order = config.debias.passages == .shuffled
                ? Rotations.seededPermutation(count: voices.count, seed: seed(item, "overton.passages"))
                : Array(voices.indices)
            shown.append(order.map { voices[$0] })
            requests.append(textRequest(Prompts.overton(item: item, comments: shown.last!.map(\.comment.text)),
                                        item: item, purpose: Method.overton.rawValue))
        }
        let answers = try await base.respond(to: requests)
        return items.indices.map { index in
            var synthesis = record(items[index], .overton, text: answers[index].response.text, callKeys: [answers[index].key])
            synthesis.passages = shown[index].map(\.community.name)
            return Output(synthesis: synthesis, distributions: [])
        }
    }

    /// Vanilla and prompting: the item alone, as text or as a multiple-choice read in every
    /// rotation of its options.
    private func direct(_ method: Method, _ items: [Item]) async throws -> [Output] {
        var batch = RequestBatch()
        var plans: [Answer] = []
        for item in items {
            let population = item.population.flatMap(config.population(named:))
            let prompt: ([Int]) -> [ChatMessage] = method == .vanilla
                ? { Prompts.vanilla(item: item, order: $0) }
                : { Prompts.prompting(item: item, population: population, order: $0) }
            plans.append(answerPlan(item, purpose: method.rawValue, into: &batch, prompt: prompt))
        }
        let answers = try await base.respond(to: batch.requests)
        return zip(items, plans).map { item, plan in answered(item, method, plan, answers, callKeys: []) }
    }

    /// Steerable and MoE: the base model picks a comment (steerable: the one reflecting the
    /// attribute; MoE: the expert community, from labels and descriptions alone), then answers
    /// with that comment as a helping passage.
    private func selectThenAnswer(_ method: Method, _ items: [Item]) async throws -> [Output] {
        let voices = try items.map(poolComments)
        var selectionBatch = RequestBatch()
        let selections = zip(items, voices).map { item, voices in
            selectionPlan(method, item, voices, into: &selectionBatch)
        }
        let selectionAnswers = try await base.respond(to: selectionBatch.requests)

        var answerBatch = RequestBatch()
        var chosen: [(voice: Voice, selection: SelectionReading, keys: [String])] = []
        var plans: [Answer] = []
        for (index, item) in items.enumerated() {
            let replies = Array(selectionAnswers[selections[index].range])
            let selection = readSelection(method, item, voices[index], selections[index], replies)
            let voice = voices[index][selection.choice.index]
            chosen.append((voice, selection, replies.map(\.key)))
            plans.append(answerPlan(item, purpose: "\(method.rawValue).answer", into: &answerBatch) { order in
                order.isEmpty ? Prompts.answerWithPassage(item: item, passage: voice.comment.text)
                    : Prompts.choiceWithPassage(item: item, passage: voice.comment.text, order: order)
            })
        }
        let answers = try await base.respond(to: answerBatch.requests)

        return items.indices.map { index in
            let (voice, selection, keys) = chosen[index]
            var output = answered(items[index], method, plans[index], answers, callKeys: keys)
            output.synthesis.selectedCommunity = voice.community.name
            output.synthesis.selectionParsed = selection.method != .fallback
            output.synthesis.selectionReply = selection.firstReply
            output.synthesis.selectionMethod = selection.method
            output.synthesis.selectionJSON = selection.json
            output.synthesis.passages = [voice.community.name]
            return output
        }
    }

    /// Distributional: one answer distribution per community comment (each read in every
    /// rotation of the options), mixed with the item's population weights (uniform when the
    /// item names no population). Stores every community's distribution and the mix
    /// (community ""), whose rotations are the per-rotation mixes.
    private func distributional(_ items: [Item]) async throws -> [Output] {
        let voices = try items.map(poolComments)
        var batch = RequestBatch()
        var plans: [[Answer]] = []
        for (index, item) in items.enumerated() {
            plans.append(voices[index].map { voice in
                answerPlan(item, purpose: "distributional/\(voice.community.name)", into: &batch) { order in
                    Prompts.choiceWithPassage(item: item, passage: voice.comment.text, order: order)
                }
            })
        }
        let answers = try await base.respond(to: batch.requests)

        var outputs: [Output] = []
        for (index, item) in items.enumerated() {
            let population = item.population.flatMap(config.population(named:))
            let raw = voices[index].map { population?.weight(of: $0.community.name) ?? 1 }
            let sum = raw.reduce(0, +)
            let weights = raw.map { sum > 0 ? $0 / sum : 1 / Double(raw.count) }
            let readings = plans[index].map { readChoice($0, answers, optionCount: item.options.count) }
            var rows = zip(voices[index], zip(readings, weights)).map { voice, part in
                distributionRecord(item, .distributional, community: voice.community.name, part.0, weight: part.1)
            }
            let mixed = ChoiceReading.mix(readings, weights: weights)
            rows.append(distributionRecord(item, .distributional, community: "", mixed, weight: 1))
            let choice = Choice.make(mixed.final.probabilities, seed: seed(item, "distributional.tie"))
            var synthesis = record(item, .distributional, text: optionText(item, choice.index),
                                   callKeys: plans[index].flatMap { $0.range.map { answers[$0].key } })
            synthesis.answerOption = choice.index
            synthesis.answerTieJSON = tieJSON(choice)
            outputs.append(Output(synthesis: synthesis, distributions: rows))
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

    func seed(_ item: Item, _ purpose: String) -> UInt64 {
        CallSeed.derive(runSeed: config.seed, itemID: item.id, purpose: purpose)
    }

    /// A free-text request with the run's base decoding.
    private func textRequest(_ messages: [ChatMessage], item: Item, purpose: String) -> ModelRequest {
        var decoding = config.baseDecoding
        decoding.seed = seed(item, purpose)
        return ModelRequest(messages: messages, decoding: decoding)
    }

    /// A request read from the next-token distribution after the prompt: one greedy token
    /// with `distributionTopLogprobs` alternatives.
    func logprobRequest(_ messages: [ChatMessage], item: Item, purpose: String) -> ModelRequest {
        ModelRequest(messages: messages, decoding: Self.choiceDecoding(seed: seed(item, purpose)),
                     topLogprobs: config.distributionTopLogprobs)
    }

    /// How an item is answered: a text request for an open item (the prompt gets an empty
    /// order), a multiple-choice read in every rotation of its options otherwise.
    private func answerPlan(_ item: Item, purpose: String, into batch: inout RequestBatch,
                            prompt: ([Int]) -> [ChatMessage]) -> Answer {
        guard !item.options.isEmpty else {
            return Answer(range: batch.add([textRequest(prompt([]), item: item, purpose: purpose)]), choice: nil)
        }
        let choice = rotatedChoice(item, purpose: purpose, prompt: prompt)
        return Answer(range: batch.add(choice.requests), choice: choice)
    }

    /// The synthesis for one planned answer: the reply's text, or for a multiple-choice item
    /// the debiased option distribution and its choice. `callKeys` are the calls made before
    /// the answer (a selection's).
    private func answered(_ item: Item, _ method: Method, _ plan: Answer, _ answers: [ArchivedResponse],
                          callKeys: [String]) -> Output {
        let keys = callKeys + plan.range.map { answers[$0].key }
        guard let choice = plan.choice else {
            return Output(synthesis: record(item, method, text: answers[plan.range.lowerBound].response.text, callKeys: keys),
                          distributions: [])
        }
        let reading = readChoice(Answer(range: plan.range, choice: choice), answers, optionCount: item.options.count)
        let chosen = Choice.make(reading.final.probabilities, seed: seed(item, "\(method.rawValue).tie"))
        var synthesis = record(item, method, text: optionText(item, chosen.index), callKeys: keys)
        synthesis.answerOption = chosen.index
        synthesis.answerTieJSON = tieJSON(chosen)
        return Output(synthesis: synthesis, distributions: [distributionRecord(item, method, community: "", reading, weight: 1)])
    }

    private func record(_ item: Item, _ method: Method, text: String, callKeys: [String]) -> SynthesisRecord {
        SynthesisRecord(runID: context.runID, itemID: item.id, method: method.rawValue, text: text, callKeys: callKeys)
    }

    private func distributionRecord(_ item: Item, _ method: Method, community: String, _ reading: ChoiceReading,
                                    weight: Double) -> DistributionRecord {
        DistributionRecord(runID: context.runID, itemID: item.id, method: method.rawValue, community: community,
                           probabilities: reading.final.probabilities, coveredMass: reading.final.coveredMass,
                           fallback: reading.final.fallback, weight: weight, rotationsJSON: reading.rotationsJSON)
    }

    /// `{"tied": [...], "drawn": i}` when the choice was a draw among ties; nil otherwise.
    private func tieJSON(_ choice: Choice) -> String? {
        guard choice.tied.count > 1 else { return nil }
        return JSON.object(["tied": .array(choice.tied.map { .integer(Int64($0)) }), "drawn": .integer(Int64(choice.index))]).canonical
    }

    /// How a multiple-choice answer reads as text: "B. <option>", lettered in the item's own
    /// order (the order the options were written in, whatever order a prompt showed).
    private func optionText(_ item: Item, _ option: Int) -> String {
        "\(Prompts.optionLetters[option]). \(item.options[option])"
    }
}

/// Requests gathered from several items and answered in one call to the archive; each item
/// keeps the range of its own.
struct RequestBatch {
    private(set) var requests: [ModelRequest] = []

    mutating func add(_ new: [ModelRequest]) -> Range<Int> {
        let start = requests.count
        requests += new
        return start..<requests.count
    }
}
