import Foundation

/// Distances between distributions over an item's options.
public enum Divergence {
    /// The largest Jensen–Shannon distance with natural logarithms: √ln 2 ≈ 0.833.
    public static let maxJensenShannonDistance = ln2.squareRoot()
    private static let ln2 = Foundation.log(2.0)

    /// The Jensen–Shannon distance (the square root of the divergence, natural log), as
    /// scipy's `jensenshannon`: both inputs are first normalised to sum 1; terms with zero
    /// probability contribute nothing. 0 for equal distributions, √ln 2 for disjoint ones.
    public static func jensenShannonDistance(_ p: [Double], _ q: [Double]) -> Double {
        precondition(p.count == q.count && !p.isEmpty, "distributions over \(p.count) and \(q.count) options")
        let pSum = p.reduce(0, +), qSum = q.reduce(0, +)
        precondition(pSum > 0 && qSum > 0, "a distribution with no mass")
        var divergence = 0.0
        for (pi, qi) in zip(p, q) {
            let a = pi / pSum, b = qi / qSum
            let m = (a + b) / 2
            if a > 0 { divergence += a * Foundation.log(a / m) }
            if b > 0 { divergence += b * Foundation.log(b / m) }
        }
        // Rounding can leave a tiny negative value for identical inputs.
        return max(0, divergence / 2).squareRoot()
    }

    /// The index of the largest probability; ties go to the lower index (the gold side of
    /// most-likely correctness uses the same rule).
    public static func argmax(_ p: [Double]) -> Int {
        precondition(!p.isEmpty, "argmax of an empty distribution")
        return p.indices.max { a, b in p[a] < p[b] || (p[a] == p[b] && a > b) }!
    }

    /// The weighted mix of distributions, weights renormalised (all-zero weights: uniform).
    public static func mix(_ parts: [[Double]], weights: [Double]) -> [Double] {
        precondition(!parts.isEmpty && parts.count == weights.count, "\(parts.count) parts, \(weights.count) weights")
        let total = weights.reduce(0, +)
        let normalised = total > 0 ? weights.map { $0 / total } : Array(repeating: 1 / Double(parts.count), count: parts.count)
        var mixed = Array(repeating: 0.0, count: parts[0].count)
        for (part, weight) in zip(parts, normalised) {
            for index in mixed.indices { mixed[index] += weight * part[index] }
        }
        return mixed
    }

    /// The uniform distribution over `count` options.
    public static func uniform(_ count: Int) -> [Double] {
        Array(repeating: 1 / Double(count), count: count)
    }
}
