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
    /// corpus does not hold yet. Every pending request goes to the base model at once; each
    /// synthesis (with its distributions) is stored as soon as its last answer arrives, and a
    /// synthesis that needs a second step (steerable and MoE answer with the comment they
    /// selected) asks it in the next wave.
    public static func synthesize(_ context: StageContext) async throws -> StageReport {
        let clock = StageClock(context.tally)
        _ = try context.requireRun()
        let corpus = context.corpus
        let done = Set(try corpus.syntheses(runID: context.runID).map { SynthesisKey(item: $0.itemID, method: $0.method) })

        var alreadyDone = 0
        var pending: [(method: Method, item: Item)] = []
        for method in context.config.methods {
            for item in context.workItems where applies(method, to: item) {
                if done.contains(SynthesisKey(item: item.id, method: method.rawValue)) {
                    alreadyDone += 1
                } else {
                    pending.append((method, item))
                }
            }
        }
        let written = Counter()
        if !pending.isEmpty {
            var comments: [String: [CommentRecord]] = [:]
            for comment in try corpus.comments(runID: context.runID) {
                comments[comment.itemID, default: []].append(comment)
            }
            let synthesizer = Synthesizer(context: context, comments: comments)
            // Planned before any call, so a missing comment stops the stage before it spends any.
            let jobs = try pending.map { try synthesizer.job($0.method, $0.item) }
            let progress = ProgressReporter(label: "syntheses", total: pending.count, quiet: context.options.quiet)
            progress.advance(by: 0)
            defer { progress.finish() }
            let writes = context.writes
            try await Scheduler.run(jobs, on: try context.archivedModel(for: context.config.baseModel)) { output in
                try writes.add { try $0.insertSynthesis(output.synthesis, distributions: output.distributions) }
                written.add(1)
                progress.advance(by: 1)
            }
        }
        return clock.report("synthesize", written: written.value, alreadyDone: alreadyDone)
    }

    struct SynthesisKey: Hashable {
        var item: String
        var method: String
    }
}

/// The base model's side of the method: prompts per method, selections and multiple-choice
/// answers read as distributions in every rotation of their candidates (`Choices.swift`),
/// and distributions mixed per population. Each (method, item) is one `ModelJob`.
struct Synthesizer: Sendable {
    let context: StageContext
    /// Stored comments by item id.
    let comments: [String: [CommentRecord]]

    struct Output: Sendable {
        var synthesis: SynthesisRecord
        var distributions: [DistributionRecord]
    }

    typealias Job = ModelJob<Output>

    /// Selection replies parsed from text are a number: a few tokens are plenty, and a model
    /// that rambles is cut short rather than paid for (a cut reply is read cautiously).
    static let selectionMaxTokens = 16

    /// Reads from log-probabilities: one greedy token, whose alternatives are the distribution.
    static func choiceDecoding(seed: UInt64) -> Decoding {
        Decoding(temperature: 0, topP: 1, topK: 0, maxTokens: 1, seed: seed)
    }

    var config: RunConfig { context.config }

    func job(_ method: Method, _ item: Item) throws -> Job {
        switch method {
        case .overton: return try overton(item)
        case .vanilla, .prompting: return direct(method, item)
        case .steerable, .moe: return try selectThenAnswer(method, item)
        case .distributional: return try distributional(item)
        }
    }

    // MARK: methods

    /// Overton: every comment as a passage, in a seeded per-item order (or the
    /// configuration's), recorded with the answer.
    private func overton(_ item: Item) throws -> Job {
        let voices = try poolComments(item)
        let order = config.debias.passages == .shuffled
            ? Rotations.seededPermutation(count: voices.count, seed: seed(item, "overton.passages"))
            : Array(voices.indices)
        let shown = order.map { voices[$0] }
        let request = textRequest(Prompts.overton(item: item, comments: shown.map(\.comment.text)),
                                  item: item, purpose: Method.overton.rawValue)
        return Job(requests: [request]) { answers in
            var synthesis = record(item, .overton, text: answers[0].response.text, callKeys: [answers[0].key])
            synthesis.passages = shown.map(\.community.name)
            return .done(Output(synthesis: synthesis, distributions: []))
        }
    }

    /// Vanilla and prompting: the item alone, as text or as a multiple-choice read in every
    /// rotation of its options.
    private func direct(_ method: Method, _ item: Item) -> Job {
        var batch = RequestBatch()
        let population = item.population.flatMap(config.population(named:))
        let prompt: ([Int]) -> [ChatMessage] = method == .vanilla
            ? { Prompts.vanilla(item: item, order: $0) }
            : { Prompts.prompting(item: item, population: population, order: $0) }
        let plan = answerPlan(item, purpose: method.rawValue, into: &batch, prompt: prompt)
        return Job(requests: batch.requests) { answers in .done(answered(item, method, plan, answers, callKeys: [])) }
    }

    /// Steerable and MoE: the base model picks a comment (steerable: the one reflecting the
    /// attribute; MoE: the expert community, from labels and descriptions alone), then answers
    /// with that comment as a helping passage.
    private func selectThenAnswer(_ method: Method, _ item: Item) throws -> Job {
        let voices = try poolComments(item)
        var selectionBatch = RequestBatch()
        let selection = selectionPlan(method, item, voices, into: &selectionBatch)
        return Job(requests: selectionBatch.requests) { replies in
            let reading = readSelection(method, item, voices, selection, replies)
            let voice = voices[reading.choice.index]
            var answerBatch = RequestBatch()
            let plan = answerPlan(item, purpose: "\(method.rawValue).answer", into: &answerBatch) { order in
                order.isEmpty ? Prompts.answerWithPassage(item: item, passage: voice.comment.text)
                    : Prompts.choiceWithPassage(item: item, passage: voice.comment.text, order: order)
            }
            return .next(Job(requests: answerBatch.requests) { answers in
                var output = answered(item, method, plan, answers, callKeys: replies.map(\.key))
                output.synthesis.selectedCommunity = voice.community.name
                output.synthesis.selectionParsed = reading.method != .fallback
                output.synthesis.selectionReply = reading.firstReply
                output.synthesis.selectionMethod = reading.method
                output.synthesis.selectionJSON = reading.json
                output.synthesis.passages = [voice.community.name]
                return .done(output)
            })
        }
    }

    /// Distributional: one answer distribution per community comment (each read in every
    /// rotation of the options), mixed with the item's population weights (uniform when the
    /// item names no population). Stores every community's distribution and the mix
    /// (community ""), whose rotations are the per-rotation mixes.
    private func distributional(_ item: Item) throws -> Job {
        let voices = try poolComments(item)
        var batch = RequestBatch()
        let plans = voices.map { voice in
            answerPlan(item, purpose: "distributional/\(voice.community.name)", into: &batch) { order in
                Prompts.choiceWithPassage(item: item, passage: voice.comment.text, order: order)
            }
        }
        return Job(requests: batch.requests) { answers in
            let population = item.population.flatMap(config.population(named:))
            let raw = voices.map { population?.weight(of: $0.community.name) ?? 1 }
            let sum = raw.reduce(0, +)
            let weights = raw.map { sum > 0 ? $0 / sum : 1 / Double(raw.count) }
            let readings = plans.map { readChoice($0, answers, optionCount: item.options.count) }
            var rows = zip(voices, zip(readings, weights)).map { voice, part in
                distributionRecord(item, .distributional, community: voice.community.name, part.0, weight: part.1)
            }
            let mixed = ChoiceReading.mix(readings, weights: weights)
            rows.append(distributionRecord(item, .distributional, community: "", mixed, weight: 1))
            let choice = Choice.make(mixed.final.probabilities, seed: seed(item, "distributional.tie"))
            var synthesis = record(item, .distributional, text: optionText(item, choice.index),
                                   callKeys: plans.flatMap { $0.range.map { answers[$0].key } })
            synthesis.answerOption = choice.index
            synthesis.answerTieJSON = tieJSON(choice)
            return .done(Output(synthesis: synthesis, distributions: rows))
        }
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

/// The requests of one job; each answer or selection keeps the range of its own.
struct RequestBatch {
    private(set) var requests: [ModelRequest] = []

    mutating func add(_ new: [ModelRequest]) -> Range<Int> {
        let start = requests.count
        requests += new
        return start..<requests.count
    }
}
