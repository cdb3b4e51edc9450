import Corpus
import Foundation

/// How often choices fell at each position, before and after order debiasing, read from the
/// stored rotations (docs/audit.md: the `*_position_*` metrics; `pluralism corpus bias`).
///
/// Three views of the same choices:
/// - **before**: the first rotation alone, the configuration's order: what the paper's single
///   read would have chosen (`debias.rotations: "none"`);
/// - **presented**: every rotation's read, each at the position its choice was shown in: the
///   model's own preference for positions;
/// - **after**: the final, debiased choice, at its position in the configuration's order.
/// A reader without position bias gives each position its uniform share in all three; a
/// model that always picks the first position gives position 1 everything before and in the
/// presented view, and its uniform share after.
public enum OrderBias {
    /// What choices are made of: candidates shown in some order.
    public enum Kind: String, Sendable, CaseIterable {
        /// Steerable comment and MoE expert choices (positions 1, 2, …).
        case selection
        /// Multiple-choice answers (letters A, B, …).
        case answer
    }

    public enum View: String, Sendable, CaseIterable { case before, presented, after }

    /// Shares of the choices at each position, beside what a uniform choice would give.
    public struct Shares: Sendable, Equatable {
        /// Choices counted (a tie in one read is shared among its positions).
        public var count = 0
        /// Per position: summed choice weight, then (in `shares`) divided by `count`.
        var totals: [Double] = []
        var uniformTotals: [Double] = []

        public var shares: [Double] { totals.map { count > 0 ? $0 / Double(count) : 0 } }
        /// What a choice uniform over each read's candidates would give each position.
        public var uniform: [Double] { uniformTotals.map { count > 0 ? $0 / Double(count) : 0 } }

        mutating func add(_ weights: [Double]) {
            if totals.count < weights.count {
                totals += Array(repeating: 0, count: weights.count - totals.count)
                uniformTotals += Array(repeating: 0, count: weights.count - uniformTotals.count)
            }
            for position in weights.indices {
                totals[position] += weights[position]
                uniformTotals[position] += 1 / Double(weights.count)
            }
            count += 1
        }
    }

    /// One choice's reads: each rotation's distribution over the candidates in their own
    /// order (nil where nothing was read), and the final choice.
    public struct Reads: Sendable {
        public var rotations: [(offset: Int, order: [Int], probabilities: [Double]?)]
        public var chosen: Int?
        public var candidates: Int
    }

    /// Adds one choice's reads to the three views.
    public static func add(_ reads: Reads, to views: inout [View: Shares]) {
        for rotation in reads.rotations {
            guard let probabilities = rotation.probabilities, probabilities.count == rotation.order.count else { continue }
            let shown = rotation.order.map { probabilities[$0] }
            let weights = Rotations.argmaxShares(shown)
            views[.presented, default: Shares()].add(weights)
            if rotation.offset == 0 { views[.before, default: Shares()].add(weights) }
        }
        if let chosen = reads.chosen, chosen < reads.candidates {
            var weights = Array(repeating: 0.0, count: reads.candidates)
            weights[chosen] = 1
            views[.after, default: Shares()].add(weights)
        }
    }

    /// A synthesis's selection reads, from its `selection_json`.
    public static func selectionReads(_ synthesis: SynthesisRecord) -> Reads? {
        guard let text = synthesis.selectionJSON,
              let stored = try? JSONDecoder().decode(StoredSelection.self, from: Data(text.utf8)) else { return nil }
        let chosen = synthesis.selectedCommunity.flatMap { stored.candidates.firstIndex(of: $0) }
        return Reads(rotations: stored.rotations.map { ($0.offset, $0.order, $0.probabilities) }, chosen: chosen,
                     candidates: stored.candidates.count)
    }

    /// A multiple-choice answer's reads, from its final distribution row's `rotations_json`.
    public static func answerReads(_ synthesis: SynthesisRecord, final row: DistributionRecord) -> Reads? {
        guard let rotations = try? JSONDecoder().decode([StoredRotation].self, from: Data(row.rotationsJSON.utf8)) else { return nil }
        return Reads(rotations: rotations.map { ($0.offset, $0.order, $0.fallback == true ? nil : $0.probabilities) },
                     chosen: synthesis.answerOption, candidates: row.probabilities.count)
    }

    /// The distribution the first rotation read (the configuration's order), or nil when the
    /// row has no rotations.
    public static func firstRotation(_ row: DistributionRecord) -> (probabilities: [Double], fallback: Bool)? {
        guard let rotations = try? JSONDecoder().decode([StoredRotation].self, from: Data(row.rotationsJSON.utf8)),
              let first = rotations.first(where: { $0.offset == 0 }), let probabilities = first.probabilities else { return nil }
        return (probabilities, first.fallback ?? false)
    }

    struct StoredRotation: Decodable {
        var offset: Int
        var order: [Int]
        var probabilities: [Double]?
        var fallback: Bool?
    }

    struct StoredSelection: Decodable {
        var candidates: [String]
        var rotations: [StoredRotation]
    }
}

/// Per method, the order bias of a run's choices and how close its multiple-choice answers
/// come to the gold distributions before and after debiasing, beside the uniform guess: the
/// numbers `pluralism corpus bias` prints, from the corpus alone.
public struct OrderBiasReport: Sendable {
    public struct Method: Sendable {
        public var method: String
        public var selection: [OrderBias.View: OrderBias.Shares]
        public var answer: [OrderBias.View: OrderBias.Shares]
        /// Items with a gold distribution: mean JS distance of the first rotation's read
        /// (before), of the final answer (after), and of the uniform distribution.
        public var jsCount: Int
        public var jsBefore: Double?
        public var jsAfter: Double?
        public var jsUniform: Double?
    }

    public var runID: String
    public var methods: [Method]

    public init(corpus: Corpus, runID: String) throws {
        self.init(contents: try AuditedRun(corpus: corpus, runID: runID))
    }

    init(contents: AuditedRun) {
        runID = contents.runID
        var methods: [Method] = []
        for method in Set(contents.syntheses.map(\.method)).sorted() {
            var entry = Method(method: method, selection: [:], answer: [:], jsCount: 0)
            var before: [Double] = [], after: [Double] = [], uniform: [Double] = []
            for synthesis in contents.syntheses where synthesis.method == method {
                if let reads = OrderBias.selectionReads(synthesis) { OrderBias.add(reads, to: &entry.selection) }
                guard let final = contents.distributions(synthesis.itemID, method).first(where: { $0.community == "" }) else { continue }
                if let reads = OrderBias.answerReads(synthesis, final: final) { OrderBias.add(reads, to: &entry.answer) }
                guard let gold = contents.itemsByID[synthesis.itemID]?.content.goldDistribution,
                      gold.count == final.probabilities.count else { continue }
                after.append(Divergence.jensenShannonDistance(final.probabilities, gold))
                uniform.append(Divergence.jensenShannonDistance(Divergence.uniform(gold.count), gold))
                let first = OrderBias.firstRotation(final)
                before.append(Divergence.jensenShannonDistance(first?.probabilities ?? final.probabilities, gold))
            }
            entry.jsCount = after.count
            entry.jsBefore = AuditSummaries.mean(before)
            entry.jsAfter = AuditSummaries.mean(after)
            entry.jsUniform = AuditSummaries.mean(uniform)
            methods.append(entry)
        }
        self.methods = methods
    }
}
