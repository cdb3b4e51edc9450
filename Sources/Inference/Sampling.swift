// Sampling the next token from logits, and log-probabilities for reporting.
//
// Reproducibility is the point: a run's archive records the seed, and the same seed must
// give the same tokens on any machine. So the random stream is the project's own (Swift's
// `SystemRandomNumberGenerator` is not seedable, and `Double.random(in:using:)`'s mapping
// is not promised to stay the same across Swift versions), every cut is a total order
// (probability, then lower id), and sums run in a fixed order in Double.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// xoshiro256** (Blackman & Vigna, 2018), seeded through SplitMix64 as its authors
/// recommend: a small, fast generator whose stream is fixed by its definition, so a seed
/// means the same draws everywhere.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var s0, s1, s2, s3: UInt64

    public init(seed: UInt64) {
        var mix = seed
        func splitMix() -> UInt64 {
            mix &+= 0x9E37_79B9_7F4A_7C15
            var z = mix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    public mutating func next() -> UInt64 {
        let result = rotate(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotate(s3, 45)
        return result
    }

    /// A uniform draw in [0, 1) with 53 random bits: the top bits of `next()` scaled by 2⁻⁵³.
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    @inline(__always) private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

/// Picks the next token: greedy at temperature 0, otherwise temperature, then top-k, then
/// top-p (nucleus), then a draw. One sampler per sequence: it owns that sequence's random
/// stream, so sequences decoded together in a batch do not disturb each other's draws.
public struct Sampler: Sendable {
    public let temperature: Float
    /// 0 (or less) keeps every token.
    public let topK: Int
    /// 1 (or more) keeps every token.
    public let topP: Float
    private var random: SeededRandom

    public init(temperature: Float, topK: Int, topP: Float, seed: UInt64) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.random = SeededRandom(seed: seed)
    }

    public var isGreedy: Bool { !(temperature > 0) }

    /// The next token. Greedy picks the highest logit (the lowest id among equals) and
    /// draws nothing; otherwise exactly one number is drawn per call, so the i-th token of a
    /// sequence depends only on its seed and its logits.
    public mutating func sample(logits: UnsafeBufferPointer<Float>) -> Int32 {
        precondition(!logits.isEmpty, "sampling from an empty distribution")
        if isGreedy { return Sampler.argmax(logits) }

        // Temperature: weights exp((l - max) / T), in Double so that small probabilities keep
        // their precision through the sums.
        let invT = 1.0 / Double(temperature)
        var maxLogit = -Double.infinity
        for l in logits where Double(l) > maxLogit { maxLogit = Double(l) }
        guard maxLogit.isFinite else { return Sampler.argmax(logits) }
        var weights = [Double](repeating: 0, count: logits.count)
        var total = 0.0
        for i in 0..<logits.count {
            let l = Double(logits[i])
            let w = l.isNaN ? 0 : exp((l - maxLogit) * invT)
            weights[i] = w
            total += w
        }

        let keepAll = topK <= 0 || topK >= logits.count
        let nucleus = topP < 1 ? max(0, Double(topP)) : 1
        if keepAll && nucleus >= 1 {
            // A plain draw: walk the vocabulary in id order.
            let r = random.nextUnitDouble() * total
            var cumulative = 0.0
            for i in 0..<weights.count {
                cumulative += weights[i]
                if r < cumulative { return Int32(i) }
            }
            return Sampler.argmax(logits)
        }
        let kept = Sampler.candidates(logits, weights: weights, total: total, topK: keepAll ? 0 : topK, topP: nucleus)
        var keptMass = 0.0
        for id in kept { keptMass += weights[Int(id)] }
        let r = random.nextUnitDouble() * keptMass
        var cumulative = 0.0
        for id in kept {
            cumulative += weights[Int(id)]
            if r < cumulative { return id }
        }
        return kept[kept.count - 1]
    }

    /// The tokens that survive top-k (0: off) then top-p (1: off), best first (logit
    /// descending, then lower id); never empty. `weights[i]` is token i's unnormalised
    /// probability (a non-decreasing function of its logit), `total` their sum.
    ///
    /// Nothing sorts the whole vocabulary. The tokens at or above a weight threshold are
    /// exactly the best ones, so when they already hold the k best or the nucleus mass, the
    /// rest cannot matter (otherwise the threshold is lowered, down to zero). Among them,
    /// selection (quickselect, by count or by mass) finds the kept set, and only that is sorted.
    static func candidates(_ logits: UnsafeBufferPointer<Float>, weights: [Double], total: Double,
                           topK: Int, topP: Double) -> [Int32] {
        var keys: [UInt64] = []
        for threshold in [1e-1, 1e-2, 1e-4, 1e-8, 1e-16, 0.0] {
            let complete = threshold == 0
            keys.removeAll(keepingCapacity: true)
            var mass = 0.0
            for i in 0..<weights.count where weights[i] >= threshold && weights[i] > 0 {
                keys.append(orderKey(logits[i], id: i))
                mass += weights[i]
            }
            if !complete {
                if keys.isEmpty { continue }
                if topK > 0 && keys.count < topK { continue }
                if topK == 0 && mass < topP * total { continue }
            }
            var poolMass = total
            if topK > 0 {
                if keys.count > topK {
                    selectSmallest(&keys, count: topK)
                    keys.removeLast(keys.count - topK)
                }
                poolMass = keys.reduce(0.0) { $0 + weights[id(of: $1)] }
            }
            if topP < 1 {
                // With a threshold and no top-k, rounding can leave the kept tokens' mass a
                // hair short of the target: then the tokens below the threshold are needed.
                guard let count = selectNucleus(&keys, weights: weights, target: topP * poolMass) else {
                    if topK == 0 && !complete { continue }
                    keys.sort()
                    return keys.map { Int32(id(of: $0)) }
                }
                keys.removeLast(keys.count - count)
            }
            keys.sort()
            return keys.map { Int32(id(of: $0)) }
        }
        preconditionFailure("the zero threshold keeps every token with weight")
    }

    @inline(__always) static func id(of key: UInt64) -> Int { Int(key & 0xFFFF_FFFF) }

    /// Moves the nucleus to the front of `keys` and returns its size: the fewest best keys
    /// whose weights reach `target` (at least one). Nil when all of them together fall short.
    /// A quickselect that recurses on mass instead of count.
    static func selectNucleus(_ keys: inout [UInt64], weights: [Double], target: Double) -> Int? {
        guard !keys.isEmpty else { return nil }
        guard target > 0 else {
            selectSmallest(&keys, count: 1)
            return 1
        }
        var low = 0, high = keys.count - 1
        var before = 0.0   // the mass of keys[..<low], all inside the nucleus; below target
        while low <= high {
            if low == high {
                return before + weights[id(of: keys[low])] >= target ? low + 1 : nil
            }
            // Median of three as the pivot, moved to the end (Lomuto partition).
            let middle = low + (high - low) / 2
            if keys[middle] < keys[low] { keys.swapAt(middle, low) }
            if keys[high] < keys[low] { keys.swapAt(high, low) }
            if keys[middle] < keys[high] { keys.swapAt(middle, high) }
            let pivot = keys[high]
            var store = low
            var leftMass = 0.0
            for i in low..<high where keys[i] < pivot {
                keys.swapAt(i, store)
                leftMass += weights[id(of: keys[store])]
                store += 1
            }
            keys.swapAt(store, high)
            if before + leftMass >= target {
                high = store - 1
            } else if before + leftMass + weights[id(of: pivot)] >= target {
                return store + 1
            } else {
                before += leftMass + weights[id(of: pivot)]
                low = store + 1
            }
        }
        return nil
    }

    /// Moves the `count` smallest keys to the front, in no particular order (quickselect;
    /// keys are distinct, since each holds its token id).
    static func selectSmallest(_ keys: inout [UInt64], count: Int) {
        var low = 0, high = keys.count - 1
        while low < high {
            // Median of three as the pivot, so sorted input does not degrade.
            let middle = low + (high - low) / 2
            let pivot = max(min(keys[low], keys[middle]), min(max(keys[low], keys[middle]), keys[high]))
            var i = low, j = high
            while i <= j {
                while keys[i] < pivot { i += 1 }
                while keys[j] > pivot { j -= 1 }
                if i <= j { keys.swapAt(i, j); i += 1; j -= 1 }
            }
            if count - 1 <= j { high = j } else if count - 1 >= i { low = i } else { return }
        }
    }

    /// A key whose ascending order is logit descending, then id ascending: the logit's bits
    /// made monotone as an unsigned integer, inverted, above the id.
    @inline(__always) static func orderKey(_ logit: Float, id: Int) -> UInt64 {
        let bits = logit.bitPattern
        let ascending = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
        return UInt64(~ascending) << 32 | UInt64(id)
    }

    /// The highest logit's id; the lowest id among equals. NaN never wins.
    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        var best = 0
        var bestValue = -Float.infinity
        var found = false
        for i in 0..<logits.count {
            let v = logits[i]
            if v.isNaN { continue }
            if !found || v > bestValue {
                best = i; bestValue = v; found = true
            }
        }
        return Int32(best)
    }
}

/// Log-probabilities over the vocabulary, for reporting alternatives and for reading answer
/// distributions off the next-token distribution.
public enum Logprobs {
    /// log softmax, computed in Double with the max subtracted (no overflow, and the small
    /// probabilities keep their precision).
    public static func logSoftmax(_ logits: UnsafeBufferPointer<Float>) -> [Float] {
        guard !logits.isEmpty else { return [] }
        var maxLogit = -Double.infinity
        for l in logits where Double(l) > maxLogit { maxLogit = Double(l) }
        var sum = 0.0
        for l in logits { sum += exp(Double(l) - maxLogit) }
        let logTotal = maxLogit + log(sum)
        return logits.map { Float(Double($0) - logTotal) }
    }

    /// The `k` most likely tokens, best first; equal log-probabilities by lower id.
    public static func top(_ logprobs: [Float], k: Int) -> [(id: Int32, logprob: Float)] {
        let k = min(k, logprobs.count)
        guard k > 0 else { return [] }
        // A sorted buffer of the best k so far: each new entry is compared with the worst
        // kept one first, so most of the vocabulary costs one comparison.
        var best: [(id: Int32, logprob: Float)] = []
        best.reserveCapacity(k + 1)
        func better(_ a: (id: Int32, logprob: Float), _ b: (id: Int32, logprob: Float)) -> Bool {
            a.logprob != b.logprob ? a.logprob > b.logprob : a.id < b.id
        }
        for (i, value) in logprobs.enumerated() where !value.isNaN {
            let entry = (id: Int32(i), logprob: value)
            if best.count == k {
                guard better(entry, best[k - 1]) else { continue }
                best.removeLast()
            }
            var position = best.count
            while position > 0 && better(entry, best[position - 1]) { position -= 1 }
            best.insert(entry, at: position)
        }
        return best
    }
}
