import ContentHash

/// A percentile confidence interval for the mean of paired differences.
public struct Interval: Sendable, Equatable {
    public var low: Double
    public var high: Double

    public init(low: Double, high: Double) {
        self.low = low
        self.high = high
    }

    public func contains(_ value: Double) -> Bool { low <= value && value <= high }
}

/// The paired bootstrap over matched items: each resample draws n of the n item-level
/// differences (B − A of the same item) with replacement and takes their mean; the interval
/// is the 2.5th and 97.5th percentiles of those means (for a 95% level).
///
/// Pairing keeps each item's own difficulty out of the comparison: what varies between
/// resamples is only which items are drawn. Seeded, so the same data and seed give the
/// same interval on every machine.
public enum PairedBootstrap {
    public static let defaultResamples = 10_000

    /// The interval for the mean of `differences`; nil when there are none.
    public static func interval(differences: [Double], resamples: Int = defaultResamples, seed: UInt64, level: Double = 0.95) -> Interval? {
        guard !differences.isEmpty, resamples > 0 else { return nil }
        let count = differences.count
        var generator = SplitMix64(seed: seed)
        var means = [Double](repeating: 0, count: resamples)
        differences.withUnsafeBufferPointer { values in
            for resample in 0..<resamples {
                var sum = 0.0
                for _ in 0..<count { sum += values[generator.next(below: count)] }
                means[resample] = sum / Double(count)
            }
        }
        means.sort()
        let tail = (1 - level) / 2
        return Interval(low: quantile(means, tail), high: quantile(means, 1 - tail))
    }

    /// A seed for one comparison: the user's seed mixed with what is compared, so every
    /// comparison has its own stream and the result does not depend on the order (or the
    /// thread) in which comparisons are made.
    public static func seed(_ seed: UInt64, for label: String) -> UInt64 {
        let digest = SHA256.hex(Array("\(seed)\u{1F}\(label)".utf8))
        return UInt64(digest.prefix(16), radix: 16) ?? seed
    }

    /// The q-quantile of sorted values, interpolating linearly between neighbours.
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        let position = q * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down))
        let upper = min(lower + 1, sorted.count - 1)
        let fraction = position - Double(lower)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
    }
}

/// Steele, Lea and Flood's SplitMix64: tiny, fast, and identical on every platform (Swift's
/// own generator is neither seedable nor stable across versions).
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in 0..<bound (Lemire's multiply-shift; the bias is below 2⁻³² for
    /// any bound a bootstrap uses).
    mutating func next(below bound: Int) -> Int {
        Int(next().multipliedFullWidth(by: UInt64(bound)).high)
    }
}
