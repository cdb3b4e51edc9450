/// Cyclic rotations of a list of candidates, and how what was read in each is brought back
/// to the candidates' own order and combined.
///
/// With offset `r`, position `p` shows candidate `(p + r) mod k`. Over all `k` offsets every
/// candidate is shown once at every position, so a reader that only prefers a position
/// gives every candidate the same multiset of probabilities: the average is exactly uniform.
public enum Rotations {
    /// The candidate (index into the original order) shown at each position.
    public static func order(count: Int, offset: Int) -> [Int] {
        (0..<count).map { ($0 + offset) % count }
    }

    /// Probabilities read per position, rearranged into the candidates' original order.
    public static func toOriginal(_ byPosition: [Double], order: [Int]) -> [Double] {
        precondition(byPosition.count == order.count, "\(byPosition.count) probabilities for \(order.count) positions")
        var original = Array(repeating: 0.0, count: order.count)
        for (position, candidate) in order.enumerated() { original[candidate] = byPosition[position] }
        return original
    }

    /// The mean of several distributions over the same candidates. Each candidate's values
    /// are summed smallest first, so candidates given the same values in different rotations
    /// get bit-identical means (a position bias cancels exactly, not to the last bit).
    public static func average(_ parts: [[Double]]) -> [Double] {
        precondition(!parts.isEmpty, "averaging no distributions")
        let count = parts[0].count
        precondition(parts.allSatisfy { $0.count == count }, "averaging distributions over different candidate counts")
        return (0..<count).map { candidate in
            parts.map { $0[candidate] }.sorted().reduce(0, +) / Double(parts.count)
        }
    }

    /// Shares of each position among the positions holding the largest value; a tie is
    /// shared equally (how often a reader's first choice was at each position).
    public static func argmaxShares(_ values: [Double]) -> [Double] {
        let tied = Choice.tied(values)
        return values.indices.map { tied.contains($0) ? 1 / Double(tied.count) : 0 }
    }
}

/// The choice a final distribution makes: its most probable candidate, or, when several are
/// equally probable, a seeded draw among them (never the first by position, which would
/// bring the order bias back).
public struct Choice: Sendable, Equatable {
    public var index: Int
    /// The candidates that tied for the largest probability, in order; one element when none tied.
    public var tied: [Int]

    /// Probabilities this close to the largest count as tied: far below any difference a
    /// model's reading can express, far above rounding in an average of a few numbers.
    public static let tolerance = 1e-12

    /// The choice, drawing among ties with `seed` (derived from what the choice is for, so
    /// the draw is reproducible and independent of the order of work).
    public static func make(_ probabilities: [Double], seed: UInt64) -> Choice {
        let tied = tied(probabilities)
        return Choice(index: tied[Int(seed % UInt64(tied.count))], tied: tied)
    }

    static func tied(_ values: [Double]) -> [Int] {
        precondition(!values.isEmpty, "choosing among no candidates")
        let best = values.max()!
        return values.indices.filter { values[$0] >= best - tolerance }
    }
}

extension Rotations {
    /// A permutation of `0..<count` drawn from `seed` (Fisher–Yates over SplitMix64): the
    /// same seed gives the same order on every machine.
    public static func seededPermutation(count: Int, seed: UInt64) -> [Int] {
        var order = Array(0..<count)
        var state = seed
        for last in stride(from: count - 1, to: 0, by: -1) {
            state = splitMix64(state)
            order.swapAt(last, Int(state % UInt64(last + 1)))
        }
        return order
    }
}
