import Foundation
import Testing
@testable import Inference

/// Every C variant of the encoder and activation kernels (`Sources/CKernels/encoder.c`,
/// `activation.c`) the CPU runs gives the Swift kernels' bits (the Swift code computes what
/// the engine computed before these kernels moved to C), on random inputs of the model's
/// shapes and of awkward ones: partial tiles and blocks, odd head sizes, values past exp's
/// clamps, infinities, NaNs, subnormals.
@Suite struct EncoderKernelVariantTests {
    static var variants: [KernelVariant] { KernelVariant.allCases.filter { $0.level <= KernelVariant.best.level } }

    /// Equal bits, or both NaN (a NaN's payload is not part of the contract).
    static func same(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
    }

    static func random(_ count: Int, _ rng: inout SeededRandom, scale: Float = 1) -> [Float] {
        DenseKernelTests.random(count, &rng, scale: scale)
    }

    func product(_ matrix: PackedMatrix, _ x: [Float], count: Int, rows: Range<Int>, variant: KernelVariant?) -> [Float] {
        var out = [Float](repeating: .nan, count: count * matrix.rows)
        x.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { out in
                matrix.multiply(rows: rows, x: input.baseAddress!, xStride: matrix.columns + 3, count: count,
                                out: out.baseAddress!, outStride: matrix.rows, variant: variant)
            }
        }
        return out
    }

    /// Tiles of 1...6 (AVX2) and 1...12 (AVX-512) activation rows, blocks of 96 and a
    /// partial one, row ranges that start past the first panel.
    @Test(arguments: [(48, 8), (32, 384), (48, 1536)])
    func packedProductEqualsSwift(rows: Int, columns: Int) {
        var rng = SeededRandom(seed: UInt64(rows * columns))
        let matrix = PackedMatrix(weights: (0..<rows).map { _ in Self.random(columns, &rng) }, bias: Self.random(rows, &rng))
        for count in [1, 2, 5, 6, 7, 11, 12, 13, 25, 97, 130] {
            let x = Self.random(count * (columns + 3), &rng, scale: 3)
            for part in [0..<rows, 16..<rows] {
                let swift = product(matrix, x, count: count, rows: part, variant: nil)
                for variant in Self.variants {
                    #expect(Self.same(product(matrix, x, count: count, rows: part, variant: variant), swift),
                            "\(variant) \(rows)×\(columns), \(count) rows, panels \(part)")
                }
            }
        }
    }

    /// Overflow to infinity and a NaN input stay where the Swift tiles put them.
    @Test func packedProductEdgesEqualSwift() {
        var rng = SeededRandom(seed: 5)
        let weights = (0..<16).map { r in Self.random(40, &rng, scale: r < 8 ? 3e38 : 1e-30) }
        let matrix = PackedMatrix(weights: weights, bias: Self.random(16, &rng, scale: 1e-38))
        var x = Self.random(7 * 43, &rng, scale: 2)
        x[50] = .nan
        x[100] = .infinity
        let swift = product(matrix, x, count: 7, rows: 0..<16, variant: nil)
        #expect(swift.contains { $0.isInfinite } && swift.contains { $0.isNaN })
        for variant in Self.variants {
            #expect(Self.same(product(matrix, x, count: 7, rows: 0..<16, variant: variant), swift), "\(variant)")
        }
    }

    @Test func layerNormEqualsSwift() {
        var rng = SeededRandom(seed: 6)
        for (count, offset, spread) in [(8, Float(0), Float(1)), (384, 3, 0.5), (384, -2, 40), (1536, 0, 1e-3), (32, 1e6, 1)] {
            let x = Self.random(count, &rng, scale: spread).map { $0 + offset }
            let weight = Self.random(count, &rng).map { $0 + 1 }, bias = Self.random(count, &rng, scale: 0.1)
            func run(_ variant: KernelVariant?, inPlace: Bool) -> [Float] {
                var out = inPlace ? x : [Float](repeating: .nan, count: count)
                out.withUnsafeMutableBufferPointer { out in
                    if inPlace {
                        layerNorm(out.baseAddress!, weight: weight, bias: bias, count: count, epsilon: 1e-12,
                                  into: out.baseAddress!, variant: variant)
                    } else {
                        layerNorm(x, weight: weight, bias: bias, count: count, epsilon: 1e-12, into: out.baseAddress!,
                                  variant: variant)
                    }
                }
                return out
            }
            let swift = run(nil, inPlace: false)
            #expect(Self.same(run(nil, inPlace: true), swift))
            for variant in Self.variants {
                #expect(Self.same(run(variant, inPlace: false), swift), "\(variant) \(count) floats around \(offset)")
                #expect(Self.same(run(variant, inPlace: true), swift), "\(variant) in place")
            }
        }
    }

    /// Inputs across the erf polynomial's range, past exp's clamp, and special values;
    /// lengths that leave a partial 16-lane register.
    static func activationInputs(_ rng: inout SeededRandom) -> [Float] {
        var x = (0..<24_000).map { Float($0 - 12_000) / 1000 }
        x += random(4_000, &rng, scale: 120) + random(1_000, &rng, scale: 1e-3) + random(1_000, &rng, scale: .leastNormalMagnitude / 8)
        x += [0, -0.0, .infinity, -.infinity, .nan, 87, 88, -87, -88, 88.5, -87.5, .greatestFiniteMagnitude,
              -.greatestFiniteMagnitude, .leastNonzeroMagnitude, -.leastNormalMagnitude, 1]
        return x
    }

    @Test func geluEqualsSwift() {
        var rng = SeededRandom(seed: 7)
        let input = Self.activationInputs(&rng)
        for count in [8, 24, input.count / 8 * 8] {
            var swift = Array(input.prefix(count))
            gelu(&swift, count: count, variant: nil)
            for variant in Self.variants {
                var c = Array(input.prefix(count))
                gelu(&c, count: count, variant: variant)
                #expect(Self.same(c, swift), "\(variant), \(count) values")
            }
        }
    }

    @Test func swiGLUEqualsSwift() {
        var rng = SeededRandom(seed: 8)
        let gate = Self.activationInputs(&rng)
        let up = Self.random(gate.count, &rng, scale: 4)
        for count in [8, 24, gate.count / 8 * 8] {
            var swift = Array(gate.prefix(count))
            swiGLU(&swift, up, count: count, variant: nil)
            for variant in Self.variants {
                var c = Array(gate.prefix(count))
                swiGLU(&c, up, count: count, variant: variant)
                #expect(Self.same(c, swift), "\(variant), \(count) values")
            }
        }
    }

    /// One, two and an odd number of queries; keys filling 32-key groups or not; heads of 8
    /// to 72 dimensions (a partial 32-dimension segment); the scores of a head with large
    /// values, where softmax's maximum matters.
    @Test func attentionEqualsSwift() {
        var rng = SeededRandom(seed: 9)
        for (count, dimensions, spread) in [(1, 32, Float(2)), (2, 8, 2), (7, 32, 2), (33, 32, 2), (64, 16, 2), (70, 40, 2),
                                            (5, 72, 2), (256, 32, 2), (31, 32, 30), (40, 24, 200)] {
            let stride = 3 * dimensions + 5
            let rows = Self.random(count * stride, &rng, scale: spread)
            let scale = 1 / Float(dimensions).squareRoot()
            func run(_ variant: KernelVariant?) -> [Float] {
                var out = [Float](repeating: .nan, count: count * (dimensions + 1))
                var scratch = [Float](repeating: .nan, count: attentionScratch(count: count, dimensions: dimensions))
                rows.withUnsafeBufferPointer { p in
                    let base = p.baseAddress!
                    attendHead(q: base, k: base + dimensions, v: base + 2 * dimensions, stride: stride, count: count,
                               dimensions: dimensions, scale: scale, scratch: &scratch, into: &out,
                               outStride: dimensions + 1, variant: variant)
                }
                return out
            }
            let swift = run(nil)
            for variant in Self.variants {
                #expect(Self.same(run(variant), swift), "\(variant): \(count) tokens × \(dimensions)")
            }
        }
    }

    /// The whole encoder, end to end: a small random BERT gives the same embedding bits with
    /// every variant as with the Swift kernels.
    @Test func tinyEncoderEqualsSwift() throws {
        let tiny = TinyBert(seed: 23)
        try withTemporaryFile(tiny.file()) { path in
            let model = try BertModel(file: SafetensorsFile(path: path), headCount: TinyBert.heads)
            let sequences: [[Int32]] = [[1, 5, 7, 2], [1, 2], [1, 23, 0, 9, 9, 9, 17, 4, 11, 2], (0..<20).map { Int32($0 % 24) }]
            let workspace = BertWorkspace(config: model.config, capacity: 64, threads: 2)
            let swift = model.embed(sequences, workspace: workspace, parallel: Parallel(threads: 2), variant: nil)
            for variant in Self.variants {
                #expect(model.embed(sequences, workspace: workspace, parallel: Parallel(threads: 2), variant: variant) == swift,
                        "\(variant)")
            }
        }
    }

    /// all-MiniLM-L6-v2 on the reference sentences: every variant's embeddings are the Swift
    /// kernels' bits.
    @Test(.enabled(if: MiniLM.enabled, MiniLM.skipReason))
    func miniLMEqualsSwift() throws {
        let encoder = try MiniLM.encoder(threads: 2)
        let reference = try MiniLMReference.load()
        let ids = reference.sentences.prefix(3).map { encoder.tokenizer.encode($0.text).ids }
        let workspace = BertWorkspace(config: encoder.config, capacity: SentenceEncoder.batchTokens, threads: 2)
        let swift = encoder.model.embed(ids, workspace: workspace, parallel: Parallel(threads: 2), variant: nil)
        for variant in Self.variants {
            #expect(encoder.model.embed(ids, workspace: workspace, parallel: Parallel(threads: 2), variant: variant) == swift,
                    "\(variant)")
        }
    }
}
