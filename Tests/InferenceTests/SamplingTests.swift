import Foundation
import Testing
@testable import Inference

@Suite struct SamplingTests {
    @Test func seededRandomMatchesTheXoshiroDefinition() {
        // Computed with an independent implementation of SplitMix64 → xoshiro256**.
        var zero = SeededRandom(seed: 0)
        #expect((0..<5).map { _ in zero.next() } == [
            0x99ec_5f36_cb75_f2b4, 0xbf6e_1f78_4956_452a, 0x1a5f_849d_4933_e6e0, 0x6aa5_94f1_262d_2d2c, 0xbba5_ad4a_1f84_2e59,
        ])
        var answer = SeededRandom(seed: 42)
        #expect((0..<3).map { _ in answer.next() } == [0x1578_0b2e_0c2e_c716, 0x6104_d986_6d11_3a7e, 0xae17_5332_39e4_99a1])
    }

    @Test func unitDoublesStayInRange() {
        var random = SeededRandom(seed: 3)
        var sum = 0.0
        for _ in 0..<10_000 {
            let u = random.nextUnitDouble()
            #expect(u >= 0 && u < 1)
            sum += u
        }
        #expect(abs(sum / 10_000 - 0.5) < 0.02)
    }

    static func draws(_ logits: [Float], temperature: Float = 1, topK: Int = 0, topP: Float = 1,
                      seed: UInt64 = 1, count: Int) -> [Int32] {
        var sampler = Sampler(temperature: temperature, topK: topK, topP: topP, seed: seed)
        return logits.withUnsafeBufferPointer { buffer in (0..<count).map { _ in sampler.sample(logits: buffer) } }
    }

    @Test func sameSeedSameDraws() {
        let logits: [Float] = (0..<1000).map { Float(sin(Double($0) * 0.37)) * 3 }
        let a = Self.draws(logits, temperature: 0.8, topK: 50, topP: 0.9, seed: 11, count: 200)
        let b = Self.draws(logits, temperature: 0.8, topK: 50, topP: 0.9, seed: 11, count: 200)
        let c = Self.draws(logits, temperature: 0.8, topK: 50, topP: 0.9, seed: 12, count: 200)
        #expect(a == b)
        #expect(a != c)
        #expect(Self.draws(logits, seed: 5, count: 100) == Self.draws(logits, seed: 5, count: 100))
    }

    @Test func greedyTakesTheLowestIdAmongTies() {
        #expect(Self.draws([1, 3, 3, 2], temperature: 0, count: 3) == [1, 1, 1])
        #expect(Self.draws([.nan, -1, -1], temperature: 0, count: 1) == [1])
        #expect(Self.draws([-.infinity, -.infinity, 0], temperature: 0, count: 1) == [2])
    }

    /// Pearson's chi-square against the expected counts.
    static func chiSquare(_ draws: [Int32], expected probabilities: [Double]) -> Double {
        var counts = [Int](repeating: 0, count: probabilities.count)
        for d in draws { counts[Int(d)] += 1 }
        let n = Double(draws.count)
        var statistic = 0.0
        for (count, p) in zip(counts, probabilities) where p > 0 {
            statistic += pow(Double(count) - n * p, 2) / (n * p)
        }
        return statistic
    }

    @Test func drawsFollowTheSoftmax() {
        let probabilities = [0.5, 0.25, 0.125, 0.0625, 0.0625]
        let logits = probabilities.map { Float(log($0)) }
        let draws = Self.draws(logits, seed: 2024, count: 40_000)
        // 4 degrees of freedom: the 99.9% quantile is 18.47.
        #expect(Self.chiSquare(draws, expected: probabilities) < 18.47)
        // Temperature 2 flattens: p ∝ sqrt(p).
        let flat = probabilities.map { sqrt($0) }
        let flatTotal = flat.reduce(0, +)
        let warm = Self.draws(logits, temperature: 2, seed: 9, count: 40_000)
        #expect(Self.chiSquare(warm, expected: flat.map { $0 / flatTotal }) < 18.47)
    }

    @Test func topKKeepsOnlyTheBestK() {
        let logits: [Float] = [0, 5, 1, 4, 2, 3]   // best: 1, 3, 5
        let draws = Set(Self.draws(logits, topK: 3, seed: 4, count: 3000))
        #expect(draws == [1, 3, 5])
        // Ties at the cut go to the lower id.
        #expect(Set(Self.draws([1, 2, 2, 2], topK: 2, seed: 4, count: 2000)) == [1, 2])
        #expect(Self.draws(logits, topK: 1, seed: 4, count: 50).allSatisfy { $0 == 1 })
    }

    @Test func topPKeepsTheSmallestNucleus() {
        let probabilities = [0.05, 0.5, 0.3, 0.1, 0.05]
        let logits = probabilities.map { Float(log($0)) }
        // 0.5 + 0.3 = 0.8 reaches 0.75: the nucleus is {1, 2}, renormalised to 5/8, 3/8.
        let draws = Self.draws(logits, topP: 0.75, seed: 8, count: 20_000)
        #expect(Set(draws) == [1, 2])
        #expect(Self.chiSquare(draws, expected: [0, 0.625, 0.375, 0, 0]) < 10.83)  // 1 dof, 99.9%
        // 0.8 does not reach 0.85: token 3 joins.
        #expect(Set(Self.draws(logits, topP: 0.85, seed: 8, count: 5000)) == [1, 2, 3])
        // Below the first token's mass, one token is still kept.
        #expect(Set(Self.draws(logits, topP: 0.01, seed: 8, count: 500)) == [1])
        #expect(Set(Self.draws(logits, topP: 0, seed: 8, count: 500)) == [1])
    }

    @Test func topKThenTopP() {
        let probabilities = [0.4, 0.3, 0.2, 0.1]
        let logits = probabilities.map { Float(log($0)) }
        // Top-2 renormalises to 4/7, 3/7; top-p 0.5 then keeps only the first.
        #expect(Set(Self.draws(logits, topK: 2, topP: 0.5, seed: 1, count: 500)) == [0])
        #expect(Set(Self.draws(logits, topK: 2, topP: 0.6, seed: 1, count: 2000)) == [0, 1])
    }

    @Test func nucleusReachesBelowTheFirstThreshold() {
        // A flat vocabulary: every token weighs the same, so the nucleus needs most of them,
        // far below the candidate search's first threshold.
        var logits = [Float](repeating: 0, count: 50_000)
        logits[0] = 12   // weight 1 vs e^-12 ≈ 6e-6 each: together ≈ 0.23 of the mass
        let weights = logits.map { exp(Double($0 - 12)) }
        let candidates = logits.withUnsafeBufferPointer {
            Sampler.candidates($0, weights: weights, total: weights.reduce(0, +), topK: 0, topP: 0.95)
        }
        #expect(candidates.first == 0)
        #expect(candidates.count > 30_000 && candidates.count < 50_000)
        #expect(Array(candidates[1..<5]) == [1, 2, 3, 4])   // equal weights: by id
    }

    @Test func candidatesAgreeWithAFullSort() {
        var random = SeededRandom(seed: 77)
        for trial in 0..<60 {
            let count = 1 + Int(random.next() % 3000)
            let spread = [0.5, 4, 20, 60][trial % 4]
            // Rounded logits, so that ties occur and must fall to the lower id.
            let logits: [Float] = (0..<count).map { _ in Float((random.nextUnitDouble() * spread).rounded() / 2) }
            let maxLogit = Double(logits.max()!)
            let weights = logits.map { exp(Double($0) - maxLogit) }
            let total = weights.reduce(0, +)
            let topK = [0, 1, 5, 40, 5000][Int(random.next() % 5)]
            let topP = [1, 0.9, 0.5, 0.99, 0][Int(random.next() % 5)]

            let order = (0..<count).sorted { logits[$0] != logits[$1] ? logits[$0] > logits[$1] : $0 < $1 }
            var pool = topK > 0 ? Array(order.prefix(topK)) : order
            if topP < 1 {
                let target = topP * pool.reduce(0.0) { $0 + weights[$1] }
                var mass = 0.0
                var kept = 0
                for id in pool {
                    mass += weights[id]; kept += 1
                    if mass >= target { break }
                }
                pool = Array(pool.prefix(max(1, kept)))
            }
            let found = logits.withUnsafeBufferPointer {
                Sampler.candidates($0, weights: weights, total: total, topK: topK, topP: topP)
            }
            #expect(found == pool.map { Int32($0) }, "trial \(trial): \(count) tokens, top-k \(topK), top-p \(topP)")
        }
    }

    @Test func orderKeysSortByLogitDescendingThenId() {
        let entries: [(Float, Int)] = [(-1, 0), (2, 1), (0, 2), (-0.5, 3), (2, 4), (-.infinity, 5), (100, 6), (-0.0, 7)]
        let sorted = entries.map { Sampler.orderKey($0.0, id: $0.1) }.sorted().map { Int($0 & 0xFFFF_FFFF) }
        #expect(sorted == [6, 1, 4, 2, 7, 3, 0, 5])
    }

    @Test func logSoftmaxIsNormalisedAndStable() {
        let logits: [Float] = [1000, 999, 998, -1000]
        let logprobs = logits.withUnsafeBufferPointer { Logprobs.logSoftmax($0) }
        let total = logprobs.reduce(0.0) { $0 + exp(Double($1)) }
        #expect(abs(total - 1) < 1e-6)
        #expect(abs(Double(logprobs[0]) - (-log(1 + exp(-1) + exp(-2)))) < 1e-6)
        #expect(logprobs[3] < -1000)
        #expect(logprobs.allSatisfy { $0.isFinite })
    }

    @Test func topIsBestFirstWithTiesByLowerId() {
        let top = Logprobs.top([-3, -1, -2, -1, -5], k: 3)
        #expect(top.map(\.id) == [1, 3, 2])
        #expect(top.map(\.logprob) == [-1, -1, -2])
        #expect(Logprobs.top([-1, -2], k: 5).map(\.id) == [0, 1])
        #expect(Logprobs.top([-1, -2], k: 0).isEmpty)
        #expect(Logprobs.top([.nan, -2], k: 2).map(\.id) == [1])
    }

    @Test func samplingSpeedOnAFullVocabulary() {
        var random = SeededRandom(seed: 1)
        let logits: [Float] = (0..<49152).map { _ in Float(random.nextUnitDouble() * 20 - 10) }
        let clock = ContinuousClock()
        var sampler = Sampler(temperature: 1, topK: 0, topP: 0.9, seed: 1)
        let elapsed = clock.measure {
            logits.withUnsafeBufferPointer { buffer in for _ in 0..<20 { _ = sampler.sample(logits: buffer) } }
        }
        print("sampler: top-p 0.9 over 49152 logits: \(elapsed / 20) per token")
        #expect(elapsed < .seconds(20))
    }
}
