// Kernel throughput: each kernel on model-shaped random data, in the C variant this process
// runs and in the Swift code it replaced, timed in processor seconds on one thread.
import Foundation

/// What `pluralism bench kernels` measures. Figures only; nothing is asserted.
public struct KernelBenchmark: Sendable, Codable {
    public struct Figure: Sendable, Codable {
        /// The kernel and its shape, e.g. "q4_0 product 1536×576, 1 vector".
        public var kernel: String
        /// Billions of floating-point operations (a fused multiply-add counts two; for the
        /// elementwise kernels, values) per processor-second: the C variant's, then the
        /// Swift code's.
        public var cRate: Double
        public var swiftRate: Double
        public var unit: String
    }

    /// The C kernels' instruction-set variant.
    public var variant: String
    public var figures: [Figure]

    /// Runs each kernel for about `seconds` of processor time per implementation.
    public static func run(seconds: Double = 0.5, progress: (String) -> Void = { _ in }) -> KernelBenchmark {
        var figures: [Figure] = []
        var rng = SeededRandom(seed: 7)
        func random(_ count: Int, scale: Float = 1) -> [Float] {
            (0..<count).map { _ in Float(rng.nextUnitDouble() * 2 - 1) * scale }
        }
        func measure(_ kernel: String, operations: Double, unit: String, _ body: (KernelVariant?) -> Void) {
            progress(kernel)
            let c = rate(operations: operations, seconds: seconds) { body(.current) }
            let swift = rate(operations: operations, seconds: seconds) { body(nil) }
            figures.append(Figure(kernel: kernel, cRate: c, swiftRate: swift, unit: unit))
        }

        // The feed-forward's up-projection shape (1536 × 576), each weight format.
        let rows = 1536, columns = 576
        for type in [GGMLType.q4_1, .q8_0, .q4_0, .f16, .f32] {
            let bytes = randomBlocks(type, rows: rows, columns: columns, &rng)
            bytes.withUnsafeBytes { raw in
                let matrix = WeightMatrix(name: type.name, type: type, rows: rows, columns: columns, data: raw.baseAddress!)
                for vectors in [1, 6] {
                    let x = random(vectors * columns), out = UnsafeMutablePointer<Float>.allocate(capacity: vectors * rows)
                    defer { out.deallocate() }
                    measure("\(type.name) product \(rows)×\(columns), \(vectors) vector\(vectors == 1 ? "" : "s")",
                            operations: Double(2 * rows * columns * vectors), unit: "GFLOP/s") { variant in
                        matrix.multiply(rows: 0..<rows, x: x, xStride: columns, count: vectors, out: out, outStride: rows,
                                        variant: variant)
                    }
                }
            }
        }

        // The sentence encoder's intermediate product (1536 × 384) over a block of 96 tokens,
        // its GELU, layer norm and one head of attention over a 32-token sentence.
        let packed = PackedMatrix(weights: (0..<1536).map { _ in random(384) }, bias: random(1536))
        let tokens = UnsafeMutablePointer<Float>.allocate(capacity: 96 * 384)
        let product = UnsafeMutablePointer<Float>.allocate(capacity: 96 * 1536)
        defer { tokens.deallocate(); product.deallocate() }
        tokens.initialize(from: random(96 * 384), count: 96 * 384)
        measure("encoder product 1536×384, 96 tokens", operations: Double(2 * 1536 * 384 * 96), unit: "GFLOP/s") { variant in
            packed.multiply(rows: 0..<1536, x: tokens, xStride: 384, count: 96, out: product, outStride: 1536, variant: variant)
        }
        let activations = random(96 * 1536, scale: 4)
        measure("GELU, 96 × 1536 values", operations: Double(activations.count), unit: "G values/s") { variant in
            product.update(from: activations, count: activations.count)
            gelu(product, count: activations.count, variant: variant)
        }
        let weight = random(384).map { $0 + 1 }, bias = random(384)
        measure("layer norm, 96 rows of 384", operations: Double(96 * 384), unit: "G values/s") { variant in
            for t in 0..<96 {
                layerNorm(tokens + t * 384, weight: weight, bias: bias, count: 384, epsilon: 1e-12,
                          into: product + t * 384, variant: variant)
            }
        }
        let sentence = random(32 * 3 * 32, scale: 2)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: attentionScratch(count: 32, dimensions: 32))
        defer { scratch.deallocate() }
        measure("attention head, 32 tokens × 32 dimensions", operations: Double(2 * 2 * 32 * 32 * 32), unit: "GFLOP/s") { variant in
            sentence.withUnsafeBufferPointer { s in
                let base = s.baseAddress!
                attendHead(q: base, k: base + 32, v: base + 64, stride: 96, count: 32, dimensions: 32, scale: 0.125,
                           scratch: scratch, into: product, outStride: 32, variant: variant)
            }
        }
        let up = random(96 * 1536)
        measure("SwiGLU, 96 × 1536 values", operations: Double(up.count), unit: "G values/s") { variant in
            product.update(from: activations, count: activations.count)
            swiGLU(product, up, count: up.count, variant: variant)
        }
        return KernelBenchmark(variant: KernelVariant.current.rawValue, figures: figures)
    }

    /// Operations per processor-nanosecond of `body`, run until `seconds` have passed.
    static func rate(operations: Double, seconds: Double, _ body: () -> Void) -> Double {
        body()
        var runs = 0
        let start = EngineBenchmark.processorSeconds()
        var elapsed = 0.0
        repeat {
            body()
            runs += 1
            elapsed = EngineBenchmark.processorSeconds() - start
        } while elapsed < seconds
        return operations * Double(runs) / elapsed / 1e9
    }

    /// `rows` rows of random blocks of `type`: scales of ordinary model magnitude, random
    /// quantised values (F16 and F32: random weights).
    static func randomBlocks(_ type: GGMLType, rows: Int, columns: Int, _ rng: inout SeededRandom) -> [UInt8] {
        var bytes: [UInt8] = []
        func half(_ v: Float) -> [UInt8] { withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { Array($0) } }
        func randomBytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
        for _ in 0..<rows * columns / 32 {
            let scale = Float(rng.nextUnitDouble() * 0.01 + 0.001)
            switch type {
            case .q4_1: bytes += half(scale) + half(-8 * scale) + randomBytes(16)
            case .q4_0: bytes += half(scale) + randomBytes(16)
            case .q8_0: bytes += half(scale) + randomBytes(32)
            case .f16: for _ in 0..<32 { bytes += half(Float(rng.nextUnitDouble() * 2 - 1) * 0.1) }
            default:
                for _ in 0..<32 {
                    bytes += withUnsafeBytes(of: (Float(rng.nextUnitDouble() * 2 - 1) * 0.1).bitPattern.littleEndian) { Array($0) }
                }
            }
        }
        return bytes
    }
}
