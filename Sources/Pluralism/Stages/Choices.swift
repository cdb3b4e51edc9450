import Corpus
import Foundation

/// An answer planned for one item: where its requests are in the batch, and for a
/// multiple-choice item the rotations they show the options in.
struct Answer {
    var range: Range<Int>
    var choice: RotatedChoice?
}

/// A multiple-choice question asked once per rotation of its options (`DebiasSettings`).
struct RotatedChoice {
    var offsets: [Int]
    /// `orders[r][p]`: the option shown with the `p`-th letter in rotation `r`.
    var orders: [[Int]]
    var requests: [ModelRequest]
}

/// What the rotated reads of one multiple-choice question say.
struct ChoiceReading {
    struct Part {
        var offset: Int
        var order: [Int]
        /// In the item's option order.
        var distribution: OptionDistribution
    }

    var parts: [Part]
    /// The mean of the parts that were read (uniform, with `fallback`, when none was);
    /// `coveredMass` is the mean over all parts.
    var final: OptionDistribution

    init(parts: [Part]) {
        self.parts = parts
        let read = parts.filter { !$0.distribution.fallback }
        let covered = parts.map(\.distribution.coveredMass).reduce(0, +) / Double(parts.count)
        if read.isEmpty {
            final = .uniformFallback(optionCount: parts[0].distribution.probabilities.count)
        } else {
            final = OptionDistribution(probabilities: Rotations.average(read.map(\.distribution.probabilities)),
                                       coveredMass: covered, fallback: false)
        }
    }

    private init(parts: [Part], final: OptionDistribution) {
        self.parts = parts
        self.final = final
    }

    /// The distributional mode's mixture: the final distributions mixed with the weights, and
    /// per rotation the mixture of that rotation's parts (what a single read in that order
    /// would have mixed).
    static func mix(_ readings: [ChoiceReading], weights: [Double]) -> ChoiceReading {
        let final = OptionDistribution.mix(readings.map(\.final), weights: weights)
        let parts = readings[0].parts.indices.map { rotation in
            Part(offset: readings[0].parts[rotation].offset, order: readings[0].parts[rotation].order,
                 distribution: OptionDistribution.mix(readings.map { $0.parts[rotation].distribution }, weights: weights))
        }
        return ChoiceReading(parts: parts, final: final)
    }

    /// `[{"offset", "order", "probabilities", "covered_mass", "fallback"}, ...]`.
    var rotationsJSON: String {
        JSON.array(parts.map { part in
            .object([
                "offset": .integer(Int64(part.offset)),
                "order": .array(part.order.map { .integer(Int64($0)) }),
                "probabilities": .array(part.distribution.probabilities.map(JSON.double)),
                "covered_mass": .double(part.distribution.coveredMass),
                "fallback": .bool(part.distribution.fallback),
            ])
        }).canonical
    }
}

/// A selection asked once per rotation of its candidates.
struct SelectionPlan {
    var range: Range<Int>
    var offsets: [Int]
    var orders: [[Int]]
    var labels: Prompts.CandidateLabels
}

/// What the rotated selection prompts say.
struct SelectionReading {
    var method: SynthesisRecord.SelectionMethod
    /// Over the candidates in configuration order.
    var probabilities: [Double]
    var choice: Choice
    /// The reply in the configuration's order (the first rotation).
    var firstReply: String
    /// `selection_json` (docs/corpus-schema.md).
    var json: String
}

extension Synthesizer {
    /// The requests of a multiple-choice read: one per rotation of the options, each seeded
    /// from its purpose and offset (offset 0 keeps its key whatever the rotation setting).
    func rotatedChoice(_ item: Item, purpose: String, prompt: ([Int]) -> [ChatMessage]) -> RotatedChoice {
        let offsets = config.debias.offsets(candidates: item.options.count)
        let orders = offsets.map { Rotations.order(count: item.options.count, offset: $0) }
        let requests = zip(offsets, orders).map { offset, order in
            logprobRequest(prompt(order), item: item, purpose: "\(purpose)/r\(offset)")
        }
        return RotatedChoice(offsets: offsets, orders: orders, requests: requests)
    }

    /// Each rotation's letters read from the first step's alternatives and mapped back to the
    /// item's option order, and their mean.
    func readChoice(_ plan: Answer, _ answers: [ArchivedResponse], optionCount: Int) -> ChoiceReading {
        let choice = plan.choice!
        let parts = plan.range.enumerated().map { rotation, index in
            let read = OptionDistribution.read(answers[index].response.steps.first?.top ?? [], optionCount: optionCount)
            let order = choice.orders[rotation]
            return ChoiceReading.Part(
                offset: choice.offsets[rotation], order: order,
                distribution: OptionDistribution(probabilities: Rotations.toOriginal(read.probabilities, order: order),
                                                 coveredMass: read.coveredMass, fallback: read.fallback))
        }
        return ChoiceReading(parts: parts)
    }

    /// The selection prompts for one item: the candidates (comments for steerable, experts for
    /// MoE) in every rotation, lettered and read from log-probabilities when the base model
    /// gives them, numbered and parsed from text otherwise.
    func selectionPlan(_ method: Method, _ item: Item, _ voices: [Voice], into batch: inout RequestBatch) -> SelectionPlan {
        let logprobs = config.baseModel.givesLogprobs
        let labels: Prompts.CandidateLabels = logprobs ? .letters : .numbers
        let offsets = config.debias.offsets(candidates: voices.count)
        let orders = offsets.map { Rotations.order(count: voices.count, offset: $0) }
        let requests = zip(offsets, orders).map { offset, order in
            let shown = order.map { voices[$0] }
            let messages = method == .steerable
                ? Prompts.steerableSelection(item: item, comments: shown.map(\.comment.text), labels: labels)
                : Prompts.expertSelection(item: item, experts: shown.map { ($0.community.label, $0.community.description) }, labels: labels)
            let purpose = "\(method.rawValue).select/r\(offset)"
            if logprobs { return logprobRequest(messages, item: item, purpose: purpose) }
            var decoding = config.baseDecoding
            decoding.maxTokens = min(decoding.maxTokens, Self.selectionMaxTokens)
            decoding.seed = seed(item, purpose)
            return ModelRequest(messages: messages, decoding: decoding)
        }
        return SelectionPlan(range: batch.add(requests), offsets: offsets, orders: orders, labels: labels)
    }

    /// Reads every rotation's reply, maps it back to the configuration's order and averages:
    /// distributions from log-probabilities, or one vote per parsed reply. Nothing read at all
    /// is a fallback with the uniform distribution. The choice is the most probable candidate,
    /// a seeded draw among ties.
    func readSelection(_ method: Method, _ item: Item, _ voices: [Voice], _ plan: SelectionPlan,
                       _ replies: [ArchivedResponse]) -> SelectionReading {
        let count = voices.count
        var read: [[Double]] = []
        var rotations: [JSON] = []
        for (rotation, reply) in replies.enumerated() {
            let order = plan.orders[rotation]
            var fields: [String: JSON] = [
                "offset": .integer(Int64(plan.offsets[rotation])),
                "order": .array(order.map { .integer(Int64($0)) }),
                "reply": .string(reply.response.text),
            ]
            var probabilities: [Double]?
            if plan.labels == .letters {
                let distribution = OptionDistribution.read(reply.response.steps.first?.top ?? [], optionCount: count)
                if !distribution.fallback { probabilities = Rotations.toOriginal(distribution.probabilities, order: order) }
                fields["covered_mass"] = .double(distribution.coveredMass)
            } else {
                let candidates = order.map { index in
                    let community = voices[index].community
                    return method == .moe
                        ? SelectionParser.Candidate(names: [community.label, community.name].compactMap { $0 },
                                                    text: Prompts.expertLine(label: community.label, description: community.description))
                        : SelectionParser.Candidate(text: voices[index].comment.text)
                }
                let truncated = reply.response.finishReason == .length
                let reading = SelectionParser.read(reply.response.text, candidates: candidates,
                                                   echoSources: [item.text, item.attribute].compactMap { $0 }, truncated: truncated)
                if let reading {
                    var vote = Array(repeating: 0.0, count: count)
                    vote[order[reading.position]] = 1
                    probabilities = vote
                }
                fields["truncated"] = .bool(truncated)
                fields["evidence"] = reading.map { .string($0.evidence) } ?? .null
                fields["basis"] = reading.map { .string($0.basis.rawValue) } ?? .null
            }
            fields["probabilities"] = probabilities.map { .array($0.map(JSON.double)) } ?? .null
            if let probabilities { read.append(probabilities) }
            rotations.append(.object(fields))
        }

        let how: SynthesisRecord.SelectionMethod = read.isEmpty ? .fallback : plan.labels == .letters ? .logprobs : .parsed
        let probabilities = read.isEmpty ? Array(repeating: 1 / Double(count), count: count) : Rotations.average(read)
        let choice = Choice.make(probabilities, seed: seed(item, "\(method.rawValue).select.tie"))
        let names = voices.map { JSON.string($0.community.name) }
        var fields: [String: JSON] = [
            "candidates": .array(names),
            "probabilities": .array(probabilities.map(JSON.double)),
            "rotations": .array(rotations),
        ]
        if choice.tied.count > 1 {
            fields["tie"] = .object(["tied": .array(choice.tied.map { names[$0] }), "drawn": names[choice.index]])
        }
        return SelectionReading(method: how, probabilities: probabilities, choice: choice,
                                firstReply: replies.first?.response.text ?? "", json: JSON.object(fields).canonical)
    }
}
