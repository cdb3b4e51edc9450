import Foundation
import Testing
@testable import Inference

/// Every C kernel variant the CPU runs gives the Swift tile's bits, for every weight format
/// and the matrix shapes of the model (576 and 1536 columns), row ranges that do not fill a whole pass of the wider
/// variants, and random scales including negative minimums and subnormal halves.
@Suite struct KernelVariantTests {
    static var variants: [KernelVariant] { KernelVariant.allCases.filter { $0.level <= KernelVariant.best.level } }

    /// The bits of rows `rows` of the product with each of `vectors` (padded rows of
    /// `xStride` floats, results `outStride` apart), by the C kernels of `variant` or (nil)
    /// the Swift panel tiles.
    func batchResults(_ m: WeightMatrix, _ vectors: [[Float]], rows: Range<Int>, xStride: Int, outStride: Int,
                      variant: KernelVariant?) -> [[UInt32]] {
        let count = vectors.count
        let input = UnsafeMutablePointer<Float>.allocate(capacity: count * m.columns)
        let arranged = UnsafeMutablePointer<Float>.allocate(capacity: count * xStride)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: count * outStride)
        defer { input.deallocate(); arranged.deallocate(); out.deallocate() }
        arranged.initialize(repeating: .nan, count: count * xStride)
        out.initialize(repeating: .nan, count: count * outStride)
        for (v, vector) in vectors.enumerated() {
            (input + v * m.columns).update(from: vector, count: m.columns)
            m.inputOrder.arrange(input + v * m.columns, count: 1, columns: m.columns, into: arranged + v * xStride)
        }
        m.multiply(rows: rows, x: arranged, xStride: xStride, count: count, out: out, outStride: outStride, variant: variant)
        return (0..<count).map { v in rows.map { out[v * outStride + $0].bitPattern } }
    }

    /// Batched products (decode at batch 2...6, prefill beyond: several tiles of six vectors
    /// and a partial one) give the Swift panel tiles' bits, which are those of one vector at
    /// a time, for row ranges that leave partial row groups at both ends.
    @Test(arguments: [GGMLType.q4_1, .q8_0, .q4_0, .f16, .f32], [576, 1536])
    func batchVariantsEqualSwiftTiles(type: GGMLType, columns: Int) {
        let m = OwnedMatrix(type: type, rows: 45, columns: columns, seed: UInt64(columns) + 7)
        for count in [2, 3, 5, 6, 7, 13] {
            let vectors = randomVectors(count, columns: columns, seed: UInt64(count) + 19)
            for rows in [0..<45, 3..<20, 7..<8, 0..<16] {
                let swift = batchResults(m.matrix, vectors, rows: rows, xStride: columns + 32, outStride: 50, variant: nil)
                let single = vectors.map { results(m.matrix, $0, rows: rows, variant: nil) }
                #expect(swift == single, "panel tiles vs one vector, \(count) vectors, rows \(rows)")
                for variant in Self.variants {
                    let c = batchResults(m.matrix, vectors, rows: rows, xStride: columns + 32, outStride: 50, variant: variant)
                    #expect(c == swift, "\(variant) \(count) vectors rows \(rows)")
                }
            }
        }
    }

    func results(_ m: WeightMatrix, _ x: [Float], rows: Range<Int>, variant: KernelVariant?) -> [UInt32] {
        let arranged = UnsafeMutablePointer<Float>.allocate(capacity: m.columns)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: m.rows)
        defer { arranged.deallocate(); out.deallocate() }
        out.initialize(repeating: .nan, count: m.rows)
        x.withUnsafeBufferPointer { m.inputOrder.arrange($0.baseAddress!, count: 1, columns: m.columns, into: arranged) }
        m.multiply(rows: rows, x: arranged, xStride: m.columns, count: 1, out: out, outStride: m.rows, variant: variant)
        return rows.map { out[$0].bitPattern }
    }

    @Test(arguments: [GGMLType.q4_1, .q8_0, .q4_0, .f16, .f32], [576, 1536])
    func variantsEqualSwiftTiles(type: GGMLType, columns: Int) {
        let m = OwnedMatrix(type: type, rows: 45, columns: columns, seed: UInt64(columns) + 3)
        let x = randomVectors(1, columns: columns, seed: 11)[0]
        for rows in [0..<45, 3..<20, 7..<8, 0..<16] {
            let swift = results(m.matrix, x, rows: rows, variant: nil)
            for variant in Self.variants {
                #expect(results(m.matrix, x, rows: rows, variant: variant) == swift, "\(variant) rows \(rows)")
            }
        }
    }

    /// Scales at the edges of the half format: subnormal, large, negative zero.
    @Test func edgeScalesAgree() {
        var rows: [[UInt8]] = []
        let halves: [UInt16] = [0x0001, 0x03FF, 0x8000, 0x7BFF, 0x3C00, 0xBC00, 0x0400, 0x1234]
        for (i, d) in halves.enumerated() {
            let m = halves[(i + 3) % halves.count]
            let q = (0..<16).map { UInt8(($0 * 37 + i * 11) & 0xFF) }
            rows.append([UInt8(d & 0xFF), UInt8(d >> 8), UInt8(m & 0xFF), UInt8(m >> 8)] + q)
        }
        let q41 = OwnedMatrix(type: .q4_1, rows: rows, columns: 32)
        let q80 = OwnedMatrix(type: .q8_0, rows: rows.map { Array($0.prefix(2)) + (0..<32).map { UInt8(($0 * 53) & 0xFF) } },
                              columns: 32)
        let x = randomVectors(1, columns: 32, seed: 5)[0]
        let batch = randomVectors(4, columns: 32, seed: 6)
        for m in [q41.matrix, q80.matrix] {
            let swift = results(m, x, rows: 0..<m.rows, variant: nil)
            let swiftBatch = batchResults(m, batch, rows: 0..<m.rows, xStride: 32, outStride: m.rows, variant: nil)
            for variant in Self.variants {
                #expect(results(m, x, rows: 0..<m.rows, variant: variant) == swift, "\(m.type.name) \(variant)")
                #expect(batchResults(m, batch, rows: 0..<m.rows, xStride: 32, outStride: m.rows, variant: variant) == swiftBatch,
                        "\(m.type.name) \(variant) batch")
            }
        }
    }
}
