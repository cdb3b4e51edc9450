import Foundation
import Testing
@testable import Inference

/// Every C kernel variant the CPU runs gives the Swift tile's bits, for the matrix shapes of
/// the model (576 and 1536 columns), row ranges that do not fill a whole pass of the wider
/// variants, and random scales including negative minimums and subnormal halves.
@Suite struct KernelVariantTests {
    static var variants: [KernelVariant] { KernelVariant.allCases.filter { $0.level <= KernelVariant.best.level } }

    func results(_ m: WeightMatrix, _ x: [Float], rows: Range<Int>, variant: KernelVariant?) -> [UInt32] {
        let arranged = UnsafeMutablePointer<Float>.allocate(capacity: m.columns)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: m.rows)
        defer { arranged.deallocate(); out.deallocate() }
        out.initialize(repeating: .nan, count: m.rows)
        x.withUnsafeBufferPointer { m.inputOrder.arrange($0.baseAddress!, count: 1, columns: m.columns, into: arranged) }
        m.multiply(rows: rows, x: arranged, xStride: m.columns, count: 1, out: out, outStride: m.rows, variant: variant)
        return rows.map { out[$0].bitPattern }
    }

    @Test(arguments: [GGMLType.q4_1, .q8_0], [576, 1536])
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
        for m in [q41.matrix, q80.matrix] {
            let swift = results(m, x, rows: 0..<m.rows, variant: nil)
            for variant in Self.variants {
                #expect(results(m, x, rows: 0..<m.rows, variant: variant) == swift, "\(m.type.name) \(variant)")
            }
        }
    }
}
