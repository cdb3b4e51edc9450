/// The sentence-level scores behind faithfulness, representation and value coverage,
/// computed from a support matrix: `support[p][h]` is how strongly hypothesis sentence `h`
/// (an answer's sentence) is backed by premise `p` (a comment's sentence, or a reference
/// value's explanation), in [0, 1]. Pure functions: the scorer that fills the matrix is
/// the audit stage's business.
public enum Support {
    /// The best premise for one answer sentence.
    public struct Attribution: Sendable, Equatable {
        /// Index of the best premise, nil when there was none.
        public var premise: Int?
        public var support: Double
        public var supported: Bool
    }

    /// For each answer sentence, its best premise among `premises` (indices into the matrix's
    /// rows; the lowest index among ties) and whether that support reaches `threshold`.
    public static func attribute(_ support: [[Double]], premises: [Int], sentences: Int, threshold: Double) -> [Attribution] {
        (0..<sentences).map { h in
            var best: Int?
            var bestSupport = 0.0
            for p in premises where best == nil || support[p][h] > bestSupport {
                best = p
                bestSupport = support[p][h]
            }
            return Attribution(premise: best, support: bestSupport, supported: best != nil && bestSupport >= threshold)
        }
    }

    /// The share of answer sentences that are supported; nil for an answer without sentences.
    public static func faithfulness(_ attributions: [Attribution]) -> Double? {
        attributions.isEmpty ? nil : Double(attributions.filter(\.supported).count) / Double(attributions.count)
    }

    /// A pair of a premise and an answer sentence with its support.
    public struct Pair: Sendable, Equatable {
        public var premise: Int
        public var sentence: Int
        public var support: Double
    }

    /// The `limit` strongest (premise, sentence) pairs among the given premises, strongest
    /// first (ties: lower premise, then lower sentence). The first one's support is the
    /// community's representation score.
    public static func strongestPairs(_ support: [[Double]], premises: [Int], sentences: Int, limit: Int) -> [Pair] {
        var pairs: [Pair] = []
        for p in premises {
            for h in 0..<sentences { pairs.append(Pair(premise: p, sentence: h, support: support[p][h])) }
        }
        pairs.sort { a, b in
            a.support != b.support ? a.support > b.support : (a.premise, a.sentence) < (b.premise, b.sentence)
        }
        return Array(pairs.prefix(limit))
    }

    /// Value coverage (the paper's Overton score): for each value (a row of `support`, its
    /// explanation as premise), the best support by any answer sentence, and their mean.
    public static func valueCoverage(_ support: [[Double]], sentences: Int) -> (perValue: [(sentence: Int?, support: Double)], mean: Double?) {
        let perValue: [(sentence: Int?, support: Double)] = support.map { row in
            guard sentences > 0 else { return (nil, 0) }
            let best = (0..<sentences).max { a, b in row[a] < row[b] || (row[a] == row[b] && a > b) }!
            return (best, row[best])
        }
        guard !perValue.isEmpty, sentences > 0 else { return (perValue, nil) }
        return (perValue, perValue.reduce(0) { $0 + $1.support } / Double(perValue.count))
    }
}
