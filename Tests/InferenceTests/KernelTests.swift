import CKernels
import Foundation
import Testing
@testable import Inference

/// Block bytes built by hand, so the expected weights are known exactly.
enum Blocks {
    static func half(_ v: Float) -> [UInt8] {
        let bits = Float16(v).bitPattern
        return [UInt8(bits & 0xFF), UInt8(bits >> 8)]
    }

    static func floatBytes(_ v: Float) -> [UInt8] {
        withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) }
    }

    /// Nibbles in ggml order: byte i holds element i (low) and element i + 16 (high).
    static func nibbles(_ q: [UInt8]) -> [UInt8] {
        (0..<16).map { q[$0] | (q[$0 + 16] << 4) }
    }

    static func q4_1(d: Float, m: Float, q: [UInt8]) -> [UInt8] { half(d) + half(m) + nibbles(q) }
    static func q4_0(d: Float, q: [UInt8]) -> [UInt8] { half(d) + nibbles(q) }
    static func q8_0(d: Float, q: [Int8]) -> [UInt8] { half(d) + q.map { UInt8(bitPattern: $0) } }

    /// A random row of `columns` weights of `type`, with scales of ordinary size.
    static func randomRow(_ type: GGMLType, columns: Int, _ rng: inout SeededRandom) -> [UInt8] {
        var bytes: [UInt8] = []
        for _ in 0..<columns / 32 {
            let d = Float(rng.nextUnitDouble() * 0.02 + 0.001)
            switch type {
            case .q4_1:
                let q = (0..<32).map { _ in UInt8(rng.next() % 16) }
                bytes += q4_1(d: d, m: -8 * d * Float(rng.nextUnitDouble()), q: q)
            case .q4_0:
                bytes += q4_0(d: d, q: (0..<32).map { _ in UInt8(rng.next() % 16) })
            case .q8_0:
                bytes += q8_0(d: d, q: (0..<32).map { _ in Int8(truncatingIfNeeded: rng.next()) })
            case .f16:
                for _ in 0..<32 { bytes += half(Float(rng.nextUnitDouble() * 2 - 1)) }
            case .f32:
                for _ in 0..<32 { bytes += floatBytes(Float(rng.nextUnitDouble() * 2 - 1)) }
            default:
                fatalError("no kernel for \(type)")
            }
        }
        return bytes
    }
}

/// A matrix over bytes it owns.
final class OwnedMatrix {
    let storage: UnsafeMutableRawPointer
    let matrix: WeightMatrix

    init(type: GGMLType, rows: [[UInt8]], columns: Int) {
        let bytes = rows.flatMap { $0 }
        storage = .allocate(byteCount: max(1, bytes.count), alignment: 64)
        storage.copyMemory(from: bytes, byteCount: bytes.count)
        matrix = WeightMatrix(name: "test", type: type, rows: rows.count, columns: columns, data: storage)
    }

    convenience init(type: GGMLType, rows: Int, columns: Int, seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        self.init(type: type, rows: (0..<rows).map { _ in Blocks.randomRow(type, columns: columns, &rng) }, columns: columns)
    }

    deinit { storage.deallocate() }
}

func randomVectors(_ count: Int, columns: Int, seed: UInt64) -> [[Float]] {
    var rng = SeededRandom(seed: seed)
    return (0..<count).map { _ in (0..<columns).map { _ in Float(rng.nextUnitDouble() * 2 - 1) } }
}

let kernelTypes: [GGMLType] = [.q4_1, .q4_0, .q8_0, .f16, .f32]

@Suite struct KernelTests {
    @Test func q4_1BlockDequantizes() {
        let q: [UInt8] = (0..<32).map { UInt8(($0 * 7) % 16) }
        let m = OwnedMatrix(type: .q4_1, rows: [Blocks.q4_1(d: 0.5, m: -1.25, q: q)], columns: 32)
        #expect(m.matrix.dequantizedRow(0) == q.map { 0.5 * Float($0) - 1.25 })
    }

    @Test func q4_0BlockDequantizes() {
        let q: [UInt8] = (0..<32).map { UInt8(($0 * 5 + 3) % 16) }
        let m = OwnedMatrix(type: .q4_0, rows: [Blocks.q4_0(d: 0.25, q: q)], columns: 32)
        #expect(m.matrix.dequantizedRow(0) == q.map { 0.25 * (Float($0) - 8) })
    }

    @Test func q8_0BlockDequantizes() {
        let q: [Int8] = (0..<32).map { Int8(truncatingIfNeeded: $0 * 9 - 128) }
        let m = OwnedMatrix(type: .q8_0, rows: [Blocks.q8_0(d: 0.125, q: q)], columns: 32)
        #expect(m.matrix.dequantizedRow(0) == q.map { 0.125 * Float($0) })
        #expect(m.matrix.dequantizedRow(0).contains(-16))
    }

    @Test func f16AndF32RowsDequantize() {
        let values: [Float] = (0..<32).map { Float($0) * 0.5 - 7 }
        let f16 = OwnedMatrix(type: .f16, rows: [values.flatMap(Blocks.half)], columns: 32)
        let f32 = OwnedMatrix(type: .f32, rows: [values.flatMap(Blocks.floatBytes)], columns: 32)
        #expect(f16.matrix.dequantizedRow(0) == values)
        #expect(f32.matrix.dequantizedRow(0) == values)
    }

    /// Each fast kernel against the reference product, on one known block per type: the
    /// fast product of a one-hot vector picks out exactly the reference weight.
    @Test(arguments: kernelTypes)
    func oneHotPicksEachWeight(type: GGMLType) {
        let m = OwnedMatrix(type: type, rows: 3, columns: 64, seed: 11)
        let vectors = (0..<64).map { j in (0..<64).map { $0 == j ? Float(1) : 0 } }
        let fast = m.matrix.product(vectors, parallel: Parallel(threads: 1))
        for j in 0..<64 {
            for r in 0..<3 { #expect(fast[j][r] == m.matrix.dequantizedRow(r)[j]) }
        }
    }

    @Test(arguments: kernelTypes)
    func fastMatchesReference(type: GGMLType) {
        let m = OwnedMatrix(type: type, rows: 37, columns: 160, seed: 3)
        let x = randomVectors(7, columns: 160, seed: 4)
        let reference = m.matrix.referenceMultiply(x)
        let fast = m.matrix.product(x, parallel: Parallel(threads: 2))
        for v in 0..<x.count {
            for r in 0..<37 {
                let scale = zip(m.matrix.dequantizedRow(r), x[v]).reduce(Float(0)) { $0 + abs($1.0 * $1.1) }
                #expect(abs(fast[v][r] - reference[v][r]) <= 1e-6 * max(scale, 1e-3),
                        "\(type.name) vector \(v) row \(r): \(fast[v][r]) vs \(reference[v][r])")
            }
        }
    }

    /// A vector's product is bit-identical alone or in any batch (13 = two full register
    /// tiles and a remainder), at any thread count.
    @Test(arguments: kernelTypes)
    func batchAndThreadInvariance(type: GGMLType) {
        let m = OwnedMatrix(type: type, rows: 45, columns: 96, seed: 5)
        let x = randomVectors(13, columns: 96, seed: 6)
        let batched = m.matrix.product(x, parallel: Parallel(threads: 1))
        for v in 0..<13 {
            #expect(m.matrix.product([x[v]], parallel: Parallel(threads: 1))[0] == batched[v])
        }
        for threads in [2, 3, 5] {
            #expect(m.matrix.product(x, parallel: Parallel(threads: threads)) == batched)
            #expect(m.matrix.product(Array(x[1..<4]), parallel: Parallel(threads: threads)) == Array(batched[1..<4]))
        }
    }

    @Test func arrangementIsAPermutation() {
        for order in InputOrder.allCases {
            #expect(order.sourceIndex.sorted() == Array(0..<32))
        }
    }

    /// The attention kernels against plain loops, for head sizes of one, two and a partial
    /// 64-dimension segment.
    @Test(arguments: [64, 128, 80, 16])
    func attentionKernels(dimensions: Int) {
        let stride = 3 * dimensions, count = 37
        let q = randomVectors(1, columns: dimensions, seed: 8)[0]
        let cache = randomVectors(1, columns: count * stride, seed: 9)[0]
        let weights = randomVectors(1, columns: count, seed: 10)[0]
        var scores = [Float](repeating: .nan, count: count)
        let variant = KernelVariant.current.c
        ck_attention_scores(variant, q, dimensions, 1, cache, stride, count, dimensions, 0.125, &scores, count)
        var out = [Float](repeating: .nan, count: dimensions)
        ck_attention_weighted_sum(variant, cache, stride, weights, count, [count], [0.5], 1, dimensions, &out, dimensions)
        for t in 0..<count {
            let expected = (0..<dimensions).reduce(0.0) { $0 + Double(q[$1]) * Double(cache[t * stride + $1]) } * 0.125
            #expect(abs(Double(scores[t]) - expected) < 1e-5)
        }
        for d in 0..<dimensions {
            let expected = (0..<count).reduce(0.0) { $0 + Double(weights[$1]) * Double(cache[$1 * stride + d]) } * 0.5
            #expect(abs(Double(out[d]) - expected) < 1e-5)
        }
    }

    @Test func vectorExpIsAccurate() {
        var worst = 0.0
        for i in 0..<20_000 {
            let x = Float(-87 + 175 * Double(i) / 20_000)
            let e = Inference.exp(SIMD8<Float>(repeating: x))[0]
            let expected = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(e) - expected) / expected)
        }
        #expect(worst < 3e-7, "relative error \(worst)")
        #expect(Inference.exp(SIMD8<Float>(repeating: 0))[0] == 1)
        #expect(Inference.exp(SIMD8<Float>(repeating: -.infinity))[0] < 1e-37)
    }

    @Test(arguments: [1, 7, 8, 29])
    func softmaxNumeratorsMatchPlainLoop(count: Int) {
        let x = randomVectors(1, columns: count, seed: 12)[0].map { $0 * 20 }
        var values = x
        let sum = ck_softmax_numerators(KernelVariant.current.c, &values, count)
        let top = x.max()!
        let expected = x.map { Foundation.exp(Double($0 - top)) }
        for j in 0..<count { #expect(abs(Double(values[j]) - expected[j]) <= 3e-7 * expected[j]) }
        #expect(abs(Double(sum) - expected.reduce(0, +)) < 1e-5 * expected.reduce(0, +))
    }

    @Test func swiGLUMatchesPlainLoop() {
        let gate = randomVectors(1, columns: 64, seed: 13)[0].map { $0 * 12 }
        let up = randomVectors(1, columns: 64, seed: 14)[0]
        var out = gate
        swiGLU(&out, up, count: 64)
        for j in 0..<64 {
            let g = Double(gate[j])
            let expected = g / (1 + Foundation.exp(-g)) * Double(up[j])
            #expect(abs(Double(out[j]) - expected) < 1e-6 * max(1, abs(expected)))
        }
    }
}
