import CKernels
import Foundation
import Testing
@testable import Inference

/// Every variant of the C attention kernels the CPU runs gives the bits of the former Swift
/// kernels (`SwiftAttention`, and `softmaxNumerators`, which BERT still uses), for head widths
/// with partial 64-dimension segments and 8-lane groups, key counts that are not multiples of
/// 8 or 16 (and 1), and few or many queries per call (keys read in place, or key blocks
/// transposed); and the grouped attention of a whole batch gives, for each (entry, head), the
/// bits of the Swift kernels run on that query alone, on any number of threads.
@Suite struct AttentionKernelTests {
    static var variants: [KernelVariant] { KernelVariant.allCases.filter { $0.level <= KernelVariant.best.level } }

    /// The first index where two arrays' bits differ (nil: equal), so that a failure names a
    /// place instead of printing thousands of values.
    static func firstDifference(_ a: [Float], _ b: [Float]) -> Int? {
        guard a.count == b.count else { return min(a.count, b.count) }
        return a.indices.first { a[$0].bitPattern != b[$0].bitPattern }
    }

    /// Uniform values in [-scale, scale), with some zeros of both signs.
    static func values(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var rng = SeededRandom(seed: seed)
        return (0..<count).map { i in
            if i % 23 == 5 { return -0.0 }
            if i % 29 == 7 { return 0 }
            return Float(rng.nextUnitDouble() * 2 - 1) * scale
        }
    }

    @Test(arguments: [64, 8, 16, 24, 80, 128])
    func scoresEqualSwift(dimensions: Int) {
        let stride = 3 * dimensions + 8
        for count in [1, 5, 8, 13, 37, 70] {
            let keys = Self.values(count * stride, seed: UInt64(count * 7 + dimensions))
            for queries in [1, 3, 7, 24, 26] {
                let qStride = dimensions + 8
                let q = Self.values(queries * qStride, seed: UInt64(queries + 100 * dimensions))
                var expected: [Float] = []
                for i in 0..<queries {
                    var row = [Float](repeating: .nan, count: count)
                    q.withUnsafeBufferPointer { q in
                        SwiftAttention.attentionScores(q.baseAddress! + i * qStride, keys: keys, stride: stride, count: count,
                                                       dimensions: dimensions, scale: 0.125, into: &row)
                    }
                    expected += row
                }
                for variant in Self.variants {
                    let scoreStride = count + 3
                    var scores = [Float](repeating: .nan, count: queries * scoreStride)
                    ck_attention_scores(variant.c, q, qStride, queries, keys, stride, count, dimensions, 0.125,
                                        &scores, scoreStride)
                    let rows = (0..<queries).flatMap { i in scores[i * scoreStride ..< i * scoreStride + count] }
                    #expect(Self.firstDifference(rows, expected) == nil, "\(variant): \(queries) queries × \(count) keys of \(dimensions)")
                }
            }
        }
    }

    /// Values far enough apart that some differences pass the −87 clamp.
    @Test(arguments: [1, 2, 7, 8, 9, 16, 29, 100, 1293])
    func softmaxNumeratorsEqualSwift(count: Int) {
        let x = Self.values(count, seed: UInt64(count), scale: 60)
        var expected = x
        let expectedSum = softmaxNumerators(&expected, count: count)
        for variant in Self.variants {
            var values = x
            let sum = ck_softmax_numerators(variant.c, &values, count)
            #expect(sum.bitPattern == expectedSum.bitPattern, "\(variant), \(count) values")
            #expect(Self.firstDifference(values, expected) == nil, "\(variant), \(count) values")
        }
    }

    @Test(arguments: [64, 8, 16, 24, 80, 128])
    func weightedSumsEqualSwift(dimensions: Int) {
        let stride = 3 * dimensions + 8
        for longest in [1, 8, 13, 70] {
            let values = Self.values(longest * stride, seed: UInt64(longest + dimensions))
            for queries in [1, 2, 3, 4, 5, 9] {
                let weightStride = longest + 5
                let weights = Self.values(queries * weightStride, seed: UInt64(queries * 31 + longest)).map(abs)
                // Each query its own length (the causal rows of a run of tokens) and scale.
                let counts = (0..<queries).map { max(1, longest - (queries - 1 - $0) * 3 % 11) }
                let scales = (0..<queries).map { 1 / Float(3 + $0) }
                var expected: [Float] = []
                for i in 0..<queries {
                    var out = [Float](repeating: .nan, count: dimensions)
                    weights.withUnsafeBufferPointer { w in
                        SwiftAttention.weightedSum(values, stride: stride, weights: w.baseAddress! + i * weightStride,
                                                   count: counts[i], dimensions: dimensions, scale: scales[i], into: &out)
                    }
                    expected += out
                }
                for variant in Self.variants {
                    let outStride = dimensions + 8
                    var out = [Float](repeating: .nan, count: queries * outStride)
                    ck_attention_weighted_sum(variant.c, values, stride, weights, weightStride, counts, scales, queries,
                                              dimensions, &out, outStride)
                    let rows = (0..<queries).flatMap { i in out[i * outStride ..< i * outStride + dimensions] }
                    #expect(Self.firstDifference(rows, expected) == nil, "\(variant): \(queries) queries, longest \(longest), \(dimensions) wide")
                }
            }
        }
    }

    /// A batch like the engine's: a 40-token prefill run of one sequence (long enough to be
    /// split over threads), a decoding sequence, and a short prompt from position 0.
    @Test(arguments: [(9, 3, 64), (4, 2, 24)])
    func groupedAttentionEqualsEachQueryAlone(heads: Int, kvHeads: Int, headDimension: Int) {
        let attention = GroupedQueryAttention(heads: heads, kvHeads: kvHeads, headDimension: headDimension)
        let kvDim = kvHeads * headDimension, dim = heads * headDimension
        let context = 256
        let caches = (0..<3).map { _ in KVCache(layers: 2, width: kvDim, maximumLength: context) }
        let lengths = [240, 41, 3]
        for (s, cache) in caches.enumerated() {
            cache.reserve(lengths[s])
            for layer in 0..<2 {
                let k = Self.values(lengths[s] * kvDim, seed: UInt64(10 * s + layer))
                let v = Self.values(lengths[s] * kvDim, seed: UInt64(10 * s + layer + 5))
                cache.key(layer: layer, position: 0).update(from: k, count: k.count)
                cache.value(layer: layer, position: 0).update(from: v, count: v.count)
            }
        }
        var batch: [BatchEntry] = []
        for p in 200..<240 { batch.append(BatchEntry(cache: caches[0], position: p, token: 0, wantsLogits: false)) }
        batch.append(BatchEntry(cache: caches[1], position: 40, token: 0, wantsLogits: true))
        for p in 0..<3 { batch.append(BatchEntry(cache: caches[2], position: p, token: 0, wantsLogits: p == 2)) }
        let queries = Self.values(batch.count * dim, seed: 77)
        let layer = 1
        let scale = 1 / Float(headDimension).squareRoot()

        var expected = [Float](repeating: .nan, count: batch.count * dim)
        for (i, entry) in batch.enumerated() {
            for h in 0..<heads {
                let kvOffset = (h / attention.group) * headDimension
                let count = entry.position + 1
                var scores = [Float](repeating: .nan, count: count)
                queries.withUnsafeBufferPointer { q in
                    SwiftAttention.attentionScores(q.baseAddress! + i * dim + h * headDimension,
                                                   keys: entry.cache.key(layer: layer, position: 0) + kvOffset, stride: kvDim,
                                                   count: count, dimensions: headDimension, scale: scale, into: &scores)
                }
                let sum = softmaxNumerators(&scores, count: count)
                expected.withUnsafeMutableBufferPointer { out in
                    SwiftAttention.weightedSum(entry.cache.value(layer: layer, position: 0) + kvOffset, stride: kvDim,
                                               weights: scores, count: count, dimensions: headDimension, scale: 1 / sum,
                                               into: out.baseAddress! + i * dim + h * headDimension)
                }
            }
        }
        for variant in Self.variants {
            for threads in [1, 2, 3] {
                let scratch = AttentionScratch(attention: attention, contextLength: context, threads: threads)
                var out = [Float](repeating: .nan, count: batch.count * dim)
                attention.run(batch, layer: layer, queries: queries, into: &out, scratch: scratch,
                              parallel: Parallel(threads: threads), variant: variant)
                #expect(Self.firstDifference(out, expected) == nil, "\(variant), \(threads) threads")
                // Each sequence alone (another batch composition) gives the same bits.
                let decode = [batch[40]]
                var alone = [Float](repeating: .nan, count: dim)
                queries.withUnsafeBufferPointer { q in
                    attention.run(decode, layer: layer, queries: q.baseAddress! + 40 * dim, into: &alone, scratch: scratch,
                                  parallel: Parallel(threads: threads), variant: variant)
                }
                #expect(Self.firstDifference(alone, Array(expected[40 * dim ..< 41 * dim])) == nil, "\(variant) decode alone")
            }
        }
    }
}
