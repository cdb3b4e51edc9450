// Kernels: weight matrix × activation vectors for the ggml block formats this engine reads,
// then (at the end) the BERT encoder's dense F32 product, layer norm and GELU.
//
// Weights stay in their quantised blocks in the mapped file. Products of Q4_1 and Q8_0
// matrices (the engine's time, one vector at batch 1, several in batched decode and
// prefill) go to the C kernels of `CKernels`, chosen by CPU features at run time; they
// compute the same bits as the Swift tiles below. Of the Swift tiles, a single vector reads
// the blocks straight (each block unpacked into SIMD8<Float> registers, a quarter at a
// time); a batch unpacks each row once into a small F32 panel shared by all its vectors.
// Activations and sums are F32: this is the model's exact arithmetic (the Q4_1 weights
// dequantised to F32), not llama.cpp's 8-bit-activation fast path. The other formats'
// products (`block_formats.c`), the encoder's packed product, layer norm, GELU and attention
// and the feed-forward's SwiGLU (`encoder.c`, `activation.c`) run in C as well; the Swift
// versions here stay as the definition the C variants are tested against bit for bit. No
// target is compiled for a particular CPU: Swift SIMD `addingProduct` without an FMA target
// is a libm call per lane, correctly rounded (same bits) but 13–140× slower (`pluralism
// bench kernels`), so nothing hot may be left to it.
//
// Determinism: the value of one output (one row · one vector) is computed by the same
// sequence of operations whatever the batch size, the tile it falls in and the thread that
// computes it: one SIMD8 accumulator, one FMA per 8 weights in kernel order, then one
// fixed horizontal sum. Batching and threading therefore never change a token.
import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a little-endian IEEE half at `offset`.
@inline(__always)
func loadHalf(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}

/// The order in which a block format's kernel consumes the 32 activations of a block.
///
/// Unpacking 4-bit and 8-bit weights into float lanes is cheapest with whole-word shifts
/// and masks, which yield the weights of a block in a fixed shuffled order. Rather than
/// shuffle the weights back, the activations are arranged once per product in the same
/// shuffled order (a dot product does not care about the order of its terms, only that both
/// sides agree), and every weight row then reads them straight.
enum InputOrder: Sendable, CaseIterable {
    /// Elements in their natural order (F32, F16).
    case natural
    /// Q4_0, Q4_1, Q8_0: the block's 32 byte-sized values are read as eight 32-bit words,
    /// and quarter t takes byte t of each word: kernel lane 8t + l holds element 4l + t.
    case interleaved

    /// For each kernel position in a 32-block, the natural element it holds.
    var sourceIndex: [Int] {
        (0..<32).map { i in
            switch self {
            case .natural: i
            case .interleaved: 4 * (i % 8) + i / 8
            }
        }
    }

    /// Copies `count` vectors of `columns` floats (stride `columns`) into kernel order.
    func arrange(_ x: UnsafePointer<Float>, count: Int, columns: Int, into out: UnsafeMutablePointer<Float>) {
        let source = sourceIndex
        source.withUnsafeBufferPointer { source in
            for block in 0..<count * columns / 32 {
                let from = x + 32 * block, to = out + 32 * block
                for i in 0..<32 { to[i] = from[source[i]] }
            }
        }
    }
}

/// A ggml block format: 32 weights in `blockBytes` bytes. `load` reads a block's raw words
/// and scales; `quarter(t)` turns them into weights 8t..<8t+8 of the kernel order. The
/// kernels unpack one quarter at a time so that few registers hold weights at once.
protocol BlockFormat {
    associatedtype Block
    static var blockBytes: Int { get }
    static func load(_ block: UnsafeRawPointer) -> Block
    static func quarter(_ block: Block, _ t: Int) -> SIMD8<Float>
}

/// Small integers as floats (exact). With a concrete SIMD8<Int32> the conversion is one
/// vector instruction; the generic SIMD initialisers would convert lane by lane.
@inline(__always)
func exactFloat(_ q: SIMD8<UInt32>) -> SIMD8<Float> {
    SIMD8<Float>(unsafeBitCast(q, to: SIMD8<Int32>.self))
}

/// The low nibble of byte t of each of the eight words (the 4-bit value of quarter t).
@inline(__always)
func nibbleLane(_ words: SIMD8<UInt32>, _ t: Int) -> SIMD8<UInt32> {
    let mask = SIMD8<UInt32>(repeating: 0x0F)
    switch t {
    case 0: return words & mask
    case 1: return (words &>> 8) & mask
    case 2: return (words &>> 16) & mask
    default: return (words &>> 24) & mask
    }
}

/// 16 bytes of nibbles (byte i: element i low, element i + 16 high) as 32 byte-sized values
/// in element order: the bytes, then the bytes shifted down by four (the high byte of each
/// value is masked off later).
@inline(__always)
func nibbleWords(_ p: UnsafeRawPointer) -> SIMD8<UInt32> {
    let words = p.loadUnaligned(as: SIMD4<UInt32>.self)
    return SIMD8<UInt32>(lowHalf: words, highHalf: words &>> 4)
}

/// Q4_1: f16 scale d, f16 minimum m, 16 bytes of nibbles; weight = d·q + m.
enum Q4_1Format: BlockFormat {
    static let blockBytes = 20
    @inline(__always)
    static func load(_ p: UnsafeRawPointer) -> (SIMD8<UInt32>, Float, Float) {
        (nibbleWords(p + 4), loadHalf(p, 0), loadHalf(p, 2))
    }
    @inline(__always)
    static func quarter(_ b: (SIMD8<UInt32>, Float, Float), _ t: Int) -> SIMD8<Float> {
        SIMD8<Float>(repeating: b.2).addingProduct(exactFloat(nibbleLane(b.0, t)), SIMD8<Float>(repeating: b.1))
    }
}

/// Q4_0: f16 scale d, 16 bytes of nibbles; weight = d·(q − 8).
enum Q4_0Format: BlockFormat {
    static let blockBytes = 18
    @inline(__always)
    static func load(_ p: UnsafeRawPointer) -> (SIMD8<UInt32>, Float) {
        (nibbleWords(p + 2), loadHalf(p, 0))
    }
    @inline(__always)
    static func quarter(_ b: (SIMD8<UInt32>, Float), _ t: Int) -> SIMD8<Float> {
        (exactFloat(nibbleLane(b.0, t)) - SIMD8<Float>(repeating: 8)) * SIMD8<Float>(repeating: b.1)
    }
}

/// Q8_0: f16 scale d, 32 signed bytes; weight = d·q. Byte t of each word is brought to
/// the top of its lane and shifted back down arithmetically, which sign-extends it.
enum Q8_0Format: BlockFormat {
    static let blockBytes = 34
    @inline(__always)
    static func load(_ p: UnsafeRawPointer) -> (SIMD8<Int32>, Float) {
        (p.loadUnaligned(fromByteOffset: 2, as: SIMD8<Int32>.self), loadHalf(p, 0))
    }
    @inline(__always)
    static func quarter(_ b: (SIMD8<Int32>, Float), _ t: Int) -> SIMD8<Float> {
        let q: SIMD8<Int32>
        switch t {
        case 0: q = (b.0 &<< 24) &>> 24
        case 1: q = (b.0 &<< 16) &>> 24
        case 2: q = (b.0 &<< 8) &>> 24
        default: q = b.0 &>> 24
        }
        return SIMD8<Float>(q) * SIMD8<Float>(repeating: b.1)
    }
}

/// F16 weights, 32 at a time, natural order.
enum F16Format: BlockFormat {
    static let blockBytes = 64
    @inline(__always)
    static func load(_ p: UnsafeRawPointer) -> UnsafeRawPointer { p }
    @inline(__always)
    static func quarter(_ p: UnsafeRawPointer, _ t: Int) -> SIMD8<Float> {
        SIMD8<Float>(p.loadUnaligned(fromByteOffset: 16 * t, as: SIMD8<Float16>.self))
    }
}

/// F32 weights, 32 at a time, natural order.
enum F32Format: BlockFormat {
    static let blockBytes = 128
    @inline(__always)
    static func load(_ p: UnsafeRawPointer) -> UnsafeRawPointer { p }
    @inline(__always)
    static func quarter(_ p: UnsafeRawPointer, _ t: Int) -> SIMD8<Float> {
        p.loadUnaligned(fromByteOffset: 32 * t, as: SIMD8<Float>.self)
    }
}

/// A weight matrix in the mapped model file: `rows` rows of `columns` weights, each row
/// `rowBytes` bytes of blocks. Multiplying computes `out[v][r] = row r · x[v]`.
public struct WeightMatrix: @unchecked Sendable {
    public let name: String
    public let type: GGMLType
    public let rows: Int
    public let columns: Int
    let data: UnsafeRawPointer
    let rowBytes: Int

    /// Wraps a 2-D tensor (ggml order: `dimensions[0]` is the row length).
    init(file: GGUFFile, tensor: GGUFTensor) throws {
        switch tensor.type {
        case .f32, .f16, .q4_0, .q4_1, .q8_0: break
        default:
            throw GGUFError.unsupportedTensorType(path: file.path, tensor: tensor.name, type: tensor.type.name)
        }
        guard tensor.dimensions.count == 2 || (tensor.dimensions.count > 2 && tensor.dimensions[2...].allSatisfy { $0 == 1 }) else {
            throw GGUFError.invalidTensor(path: file.path, tensor: tensor.name, reason: "expected a matrix, found dimensions \(tensor.dimensions)")
        }
        guard tensor.dimensions[0] % 32 == 0 else {
            throw GGUFError.invalidTensor(path: file.path, tensor: tensor.name, reason: "row length \(tensor.dimensions[0]) is not a multiple of 32")
        }
        self.init(name: tensor.name, type: tensor.type, rows: tensor.dimensions[1],
                  columns: tensor.dimensions[0], data: file.data(of: tensor))
    }

    /// Wraps raw block bytes (the tests build matrices this way).
    init(name: String, type: GGMLType, rows: Int, columns: Int, data: UnsafeRawPointer) {
        self.name = name
        self.type = type
        self.rows = rows
        self.columns = columns
        self.data = data
        self.rowBytes = columns / type.blockElements * type.blockBytes
    }

    /// The weights of one row as floats (the plain reference dequantisation, one value at a
    /// time, as ggml defines each format).
    func dequantizedRow(_ r: Int) -> [Float] {
        let p = data + r * rowBytes
        var out = [Float](repeating: 0, count: columns)
        switch type {
        case .f32:
            for j in 0..<columns { out[j] = p.loadUnaligned(fromByteOffset: 4 * j, as: Float.self) }
        case .f16:
            for j in 0..<columns { out[j] = loadHalf(p, 2 * j) }
        case .q4_0, .q4_1, .q8_0:
            for b in 0..<columns / 32 {
                let block = p + b * type.blockBytes
                for j in 0..<32 {
                    out[b * 32 + j] = Self.referenceWeight(type, block: block, index: j)
                }
            }
        default:
            fatalError("unsupported type \(type.name) passed the WeightMatrix check")
        }
        return out
    }

    @inline(never)
    static func referenceWeight(_ type: GGMLType, block: UnsafeRawPointer, index j: Int) -> Float {
        switch type {
        case .q4_1:
            let byte = block.load(fromByteOffset: 4 + j % 16, as: UInt8.self)
            let q = j < 16 ? byte & 0x0F : byte >> 4
            return loadHalf(block, 0) * Float(q) + loadHalf(block, 2)
        case .q4_0:
            let byte = block.load(fromByteOffset: 2 + j % 16, as: UInt8.self)
            let q = Int(j < 16 ? byte & 0x0F : byte >> 4) - 8
            return loadHalf(block, 0) * Float(q)
        case .q8_0:
            let q = block.load(fromByteOffset: 2 + j, as: Int8.self)
            return loadHalf(block, 0) * Float(q)
        default:
            fatalError("not a block format: \(type.name)")
        }
    }

    /// Reference product (dequantise each row, then a plain Double dot product); the tests
    /// hold the fast kernels against it.
    func referenceMultiply(_ x: [[Float]]) -> [[Float]] {
        x.map { vector in
            (0..<rows).map { r in
                let w = dequantizedRow(r)
                var sum = 0.0
                for j in 0..<columns { sum += Double(w[j]) * Double(vector[j]) }
                return Float(sum)
            }
        }
    }

    /// The activation order this matrix's kernel reads (see `InputOrder`).
    var inputOrder: InputOrder {
        switch type {
        case .q4_0, .q4_1, .q8_0: .interleaved
        default: .natural
        }
    }

    /// Fast product for rows `rowRange` and `count` vectors, already arranged in
    /// `inputOrder`: vector v starts at `x + v * xStride`, its result for row r goes to
    /// `out[v * outStride + r]`. Every format runs the C kernels of `variant` (Q4_1 and Q8_0:
    /// one vector, or a batch; the others: `ck_matmul_format`); nil runs the Swift tiles
    /// instead (the tests compare the two bit for bit).
    func multiply(rows rowRange: Range<Int>, x: UnsafePointer<Float>, xStride: Int, count: Int,
                  out: UnsafeMutablePointer<Float>, outStride: Int, variant: KernelVariant? = .current) {
        if count >= 1, rowRange.count > 0, let variant, type == .q4_1 || type == .q8_0 {
            if count == 1 {
                let kernel = type == .q4_1 ? ck_matvec_q4_1 : ck_matvec_q8_0
                kernel(variant.c, data, rowBytes, columns, rowRange.lowerBound, rowRange.upperBound, x, out)
            } else {
                let kernel = type == .q4_1 ? ck_matmul_q4_1 : ck_matmul_q8_0
                kernel(variant.c, data, rowBytes, columns, rowRange.lowerBound, rowRange.upperBound,
                       x, xStride, count, out, outStride)
            }
            return
        }
        if count >= 1, rowRange.count > 0, let variant, let format = cFormat {
            ck_matmul_format(variant.c, format, data, rowBytes, columns, rowRange.lowerBound, rowRange.upperBound,
                             x, xStride, count, out, outStride)
            return
        }
        switch type {
        case .q4_1: multiplyRows(Q4_1Format.self, rowRange, x, xStride, count, out, outStride)
        case .q8_0: multiplyRows(Q8_0Format.self, rowRange, x, xStride, count, out, outStride)
        case .q4_0: multiplyRows(Q4_0Format.self, rowRange, x, xStride, count, out, outStride)
        case .f16: multiplyRows(F16Format.self, rowRange, x, xStride, count, out, outStride)
        case .f32: multiplyRows(F32Format.self, rowRange, x, xStride, count, out, outStride)
        default: fatalError("unsupported type \(type.name) passed the WeightMatrix check")
        }
    }

    /// The format of `ck_matmul_format` for the formats without kernels of their own.
    private var cFormat: ck_format? {
        switch type {
        case .q4_0: CK_FORMAT_Q4_0
        case .f16: CK_FORMAT_F16
        case .f32: CK_FORMAT_F32
        default: nil
        }
    }

    /// The fast product of natural-order vectors, rows split over `parallel`'s threads.
    func product(_ x: [[Float]], parallel: Parallel) -> [[Float]] {
        let input = UnsafeMutablePointer<Float>.allocate(capacity: x.count * columns)
        let arranged = UnsafeMutablePointer<Float>.allocate(capacity: x.count * columns)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: x.count * rows)
        defer { input.deallocate(); arranged.deallocate(); out.deallocate() }
        for (v, vector) in x.enumerated() { (input + v * columns).update(from: vector, count: columns) }
        inputOrder.arrange(input, count: x.count, columns: columns, into: arranged)
        parallel.forEachRange(rows, granularity: 4) { _, range in
            multiply(rows: range, x: arranged, xStride: columns, count: x.count, out: out, outStride: rows)
        }
        return (0..<x.count).map { v in Array(UnsafeBufferPointer(start: out + v * rows, count: rows)) }
    }

    /// Walks the rows. A single vector reads the blocks directly, two rows at a time (two
    /// independent accumulators; more rows spill registers). A batch first unpacks two rows into a small F32 panel,
    /// once, then runs a register tile of 2 rows × up to 6 vectors over it; the whole batch
    /// shares that one unpacking.
    @inline(__always)
    private func multiplyRows<F: BlockFormat>(_ format: F.Type, _ rowRange: Range<Int>,
                                              _ x: UnsafePointer<Float>, _ xStride: Int, _ count: Int,
                                              _ out: UnsafeMutablePointer<Float>, _ outStride: Int) {
        let blocks = columns / 32
        var r = rowRange.lowerBound
        if count == 1 {
            while r + 2 <= rowRange.upperBound {
                rowsTile(F.self, rows: 2, r, blocks, x, out)
                r += 2
            }
            while r < rowRange.upperBound {
                rowsTile(F.self, rows: 1, r, blocks, x, out)
                r += 1
            }
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * columns) { panel in
            let panel = panel.baseAddress!
            while r < rowRange.upperBound {
                let rows = min(2, rowRange.upperBound - r)
                for i in 0..<rows { unpackRow(F.self, r + i, into: panel + i * columns) }
                var v = 0
                while v < count {
                    let xv = x + v * xStride, ov = out + v * outStride
                    let vectors = min(6, count - v)
                    if rows == 2 {
                        switch vectors {
                        case 1: panelTile(rows: 2, vectors: 1, panel, r, xv, xStride, ov, outStride)
                        case 2: panelTile(rows: 2, vectors: 2, panel, r, xv, xStride, ov, outStride)
                        case 3: panelTile(rows: 2, vectors: 3, panel, r, xv, xStride, ov, outStride)
                        case 4: panelTile(rows: 2, vectors: 4, panel, r, xv, xStride, ov, outStride)
                        case 5: panelTile(rows: 2, vectors: 5, panel, r, xv, xStride, ov, outStride)
                        default: panelTile(rows: 2, vectors: 6, panel, r, xv, xStride, ov, outStride)
                        }
                    } else {
                        switch vectors {
                        case 1: panelTile(rows: 1, vectors: 1, panel, r, xv, xStride, ov, outStride)
                        case 2: panelTile(rows: 1, vectors: 2, panel, r, xv, xStride, ov, outStride)
                        case 3: panelTile(rows: 1, vectors: 3, panel, r, xv, xStride, ov, outStride)
                        case 4: panelTile(rows: 1, vectors: 4, panel, r, xv, xStride, ov, outStride)
                        case 5: panelTile(rows: 1, vectors: 5, panel, r, xv, xStride, ov, outStride)
                        default: panelTile(rows: 1, vectors: 6, panel, r, xv, xStride, ov, outStride)
                        }
                    }
                    v += vectors
                }
                r += rows
            }
        }
    }

    /// Row `r`'s weights as floats, in kernel order.
    @inline(__always)
    private func unpackRow<F: BlockFormat>(_ format: F.Type, _ r: Int, into panel: UnsafeMutablePointer<Float>) {
        let row = data + r * rowBytes
        let to = UnsafeMutableRawPointer(panel)
        for b in 0..<columns / 32 {
            let k = F.load(row + b * F.blockBytes)
            for t in 0..<4 {
                to.storeBytes(of: F.quarter(k, t), toByteOffset: 128 * b + 32 * t, as: SIMD8<Float>.self)
            }
        }
    }

    // Every output is computed the same way, whichever tile computes it: one SIMD8
    // accumulator, acc = w·x + acc for each 8-lane step in kernel order, then
    // `horizontalSum`. The weights of a step are the same floats whether they come straight
    // from the block or from the panel.

    /// `rows` consecutive rows (1...4) times one vector, straight from the blocks.
    @inline(__always)
    private func rowsTile<F: BlockFormat>(_ format: F.Type, rows R: Int, _ r: Int, _ blocks: Int,
                                          _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var row = data + r * rowBytes
        var xp = UnsafeRawPointer(x)
        let stride = rowBytes
        for _ in 0..<blocks {
            let k0 = F.load(row)
            let k1 = F.load(row + (R >= 2 ? stride : 0))
            let k2 = F.load(row + (R >= 3 ? 2 * stride : 0))
            let k3 = F.load(row + (R >= 4 ? 3 * stride : 0))
            for t in 0..<4 {
                let xq = xp.loadUnaligned(fromByteOffset: 32 * t, as: SIMD8<Float>.self)
                a0 = a0.addingProduct(F.quarter(k0, t), xq)
                if R >= 2 { a1 = a1.addingProduct(F.quarter(k1, t), xq) }
                if R >= 3 { a2 = a2.addingProduct(F.quarter(k2, t), xq) }
                if R >= 4 { a3 = a3.addingProduct(F.quarter(k3, t), xq) }
            }
            row += F.blockBytes
            xp += 128
        }
        out[r] = horizontalSum(a0)
        if R >= 2 { out[r + 1] = horizontalSum(a1) }
        if R >= 3 { out[r + 2] = horizontalSum(a2) }
        if R >= 4 { out[r + 3] = horizontalSum(a3) }
    }

    /// `rows` (1...2) unpacked rows of the panel times `vectors` (1...6) vectors: up to 12
    /// accumulators, 2 weight registers and 1 activation register, all 16 ymm registers.
    @inline(__always)
    private func panelTile(rows R: Int, vectors V: Int, _ panel: UnsafeMutablePointer<Float>, _ r: Int,
                           _ x: UnsafePointer<Float>, _ xStride: Int,
                           _ out: UnsafeMutablePointer<Float>, _ outStride: Int) {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>()
        var a3 = SIMD8<Float>(), a4 = SIMD8<Float>(), a5 = SIMD8<Float>()
        var b0 = SIMD8<Float>(), b1 = SIMD8<Float>(), b2 = SIMD8<Float>()
        var b3 = SIMD8<Float>(), b4 = SIMD8<Float>(), b5 = SIMD8<Float>()
        let w0 = UnsafeRawPointer(panel), w1 = UnsafeRawPointer(panel + (R >= 2 ? columns : 0))
        @inline(__always) func vector(_ v: Int) -> UnsafeRawPointer { UnsafeRawPointer(x + (V > v ? v * xStride : 0)) }
        let x0 = vector(0), x1 = vector(1), x2 = vector(2), x3 = vector(3), x4 = vector(4), x5 = vector(5)
        @inline(__always) func step(_ a: inout SIMD8<Float>, _ b: inout SIMD8<Float>, _ xv: UnsafeRawPointer,
                                    _ u0: SIMD8<Float>, _ u1: SIMD8<Float>, _ o: Int) {
            let y = xv.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            a = a.addingProduct(u0, y)
            if R >= 2 { b = b.addingProduct(u1, y) }
        }
        var o = 0
        let end = 4 * columns
        while o < end {
            let u0 = w0.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            let u1 = w1.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            step(&a0, &b0, x0, u0, u1, o)
            if V >= 2 { step(&a1, &b1, x1, u0, u1, o) }
            if V >= 3 { step(&a2, &b2, x2, u0, u1, o) }
            if V >= 4 { step(&a3, &b3, x3, u0, u1, o) }
            if V >= 5 { step(&a4, &b4, x4, u0, u1, o) }
            if V >= 6 { step(&a5, &b5, x5, u0, u1, o) }
            o &+= 32
        }
        @inline(__always) func store(_ v: Int, _ a: SIMD8<Float>, _ b: SIMD8<Float>) {
            out[v * outStride + r] = horizontalSum(a)
            if R >= 2 { out[v * outStride + r + 1] = horizontalSum(b) }
        }
        store(0, a0, b0)
        if V >= 2 { store(1, a1, b1) }
        if V >= 3 { store(2, a2, b2) }
        if V >= 4 { store(3, a3, b3) }
        if V >= 5 { store(4, a4, b4) }
        if V >= 6 { store(5, a5, b5) }
    }
}

/// The one horizontal sum every kernel uses (a fixed pairwise tree), so that a value never
/// depends on which code path produced it.
@inline(__always)
func horizontalSum(_ v: SIMD8<Float>) -> Float {
    let a = v.lowHalf + v.highHalf
    let b = a.lowHalf + a.highHalf
    return b[0] + b[1]
}

/// Lane `i` (8 floats) of a group `width` wide, zero past the width.
@inline(__always)
private func lane(_ p: UnsafeRawPointer, _ i: Int, _ width: Int) -> SIMD8<Float> {
    i * 8 < width ? p.loadUnaligned(fromByteOffset: 32 * i, as: SIMD8<Float>.self) : SIMD8<Float>()
}

/// e^x for eight lanes: x = n·ln2 + r with |r| ≤ ln2/2, e^r by the Cephes single-precision
/// polynomial (about 1 ulp), times 2^n built in the exponent bits. Inputs are clamped to
/// [-87, 88], where e^x is a normal float; SiLU and GELU need nothing beyond that (the C
/// attention kernels' softmax uses the same polynomial).
@inline(__always)
func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    // `replacing(with:where:)` is one blend; `clamped` and `pointwiseMin` go lane by lane.
    let low = SIMD8<Float>(repeating: -87), high = SIMD8<Float>(repeating: 88)
    let x = x.replacing(with: low, where: x .< low).replacing(with: high, where: x .> high)
    // n = x·log2(e) rounded to nearest: adding 1.5·2²³ leaves the integer in the low bits.
    let shifter = SIMD8<Float>(repeating: 12_582_912)
    let t = shifter.addingProduct(x, SIMD8(repeating: 1.442_695_04))
    let n = t - shifter
    // r = x - n·ln2, with ln2 split in two for precision.
    let r = x.addingProduct(n, SIMD8(repeating: -0.693_359_375)).addingProduct(n, SIMD8(repeating: 2.121_944_4e-4))
    var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
    p = SIMD8(repeating: 1.398_199_950_7e-3).addingProduct(p, r)
    p = SIMD8(repeating: 8.333_451_907_3e-3).addingProduct(p, r)
    p = SIMD8(repeating: 4.166_579_589_4e-2).addingProduct(p, r)
    p = SIMD8(repeating: 1.666_666_545_9e-1).addingProduct(p, r)
    p = SIMD8(repeating: 5.000_000_120_1e-1).addingProduct(p, r)
    let er = (r + SIMD8(repeating: 1)).addingProduct(p, r * r)
    let exponent = (unsafeBitCast(t, to: SIMD8<Int32>.self) &- SIMD8(repeating: 0x4B40_0000) &+ SIMD8(repeating: 127)) &<< 23
    return er * unsafeBitCast(exponent, to: SIMD8<Float>.self)
}

/// Replaces `values[0..<count]` by e^(value − max) and returns their sum: the unnormalised
/// softmax. Eight lanes at a time; the tail is padded into one more SIMD8 so every value
/// goes through the same `exp`. (BERT's attention; the llama's runs `ck_softmax_numerators`,
/// which computes the same bits.)
func softmaxNumerators(_ values: UnsafeMutablePointer<Float>, count: Int) -> Float {
    let raw = UnsafeMutableRawPointer(values)
    var maximum = SIMD8<Float>(repeating: -.infinity)
    var i = 0
    while i + 8 <= count {
        maximum = pointwiseMax(maximum, raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
        i += 8
    }
    var top = maximum.max()
    for j in i..<count { top = max(top, values[j]) }
    let m = SIMD8<Float>(repeating: top)
    var sum = SIMD8<Float>()
    i = 0
    while i + 8 <= count {
        let e = exp(raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) - m)
        raw.storeBytes(of: e, toByteOffset: 4 * i, as: SIMD8<Float>.self)
        sum += e
        i += 8
    }
    if i < count {
        let rest = count - i
        // Padding lanes hold the maximum (e^0): computed, but neither stored nor summed.
        var tail = m
        for j in 0..<rest { tail[j] = values[i + j] }
        let e = exp(tail - m)
        var kept = SIMD8<Float>()
        for j in 0..<rest {
            values[i + j] = e[j]
            kept[j] = e[j]
        }
        sum += kept
    }
    return horizontalSum(sum)
}

/// gate ← silu(gate) · up, elementwise over `count` floats (a multiple of 8). The C
/// activation of `variant` computes these bits; nil runs this Swift code (the tests compare).
func swiGLU(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int,
            variant: KernelVariant? = .current) {
    if let variant { return ck_swiglu(variant.c, gate, up, count) }
    let g = UnsafeMutableRawPointer(gate), u = UnsafeRawPointer(up)
    var i = 0
    while i < count {
        let x = g.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
        let y = u.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
        g.storeBytes(of: x / (SIMD8(repeating: 1) + exp(-x)) * y, toByteOffset: 4 * i, as: SIMD8<Float>.self)
        i += 8
    }
}

// Dense F32 kernels for the BERT encoder: a packed weight matrix times a block of
// activation rows, layer normalisation and GELU.
//
// Determinism, as above: an output (one weight row · one activation row) is always
// bias + Σ_k x_k·w_k accumulated by one FMA per k in increasing k, in one SIMD lane of one
// accumulator, whatever the tile, the block of rows or the thread computing it. A sentence
// therefore gets bit-identical embeddings alone, in any batch, on any number of threads.

/// An F32 weight matrix of `rows` outputs × `columns` inputs (PyTorch's `Linear` layout)
/// with its bias, copied once into panels of 16 rows in which the 16 weights of each input
/// column lie together. The kernel then streams a panel front to back, two SIMD8 loads per
/// column, while six activation rows are broadcast against it: a 6 × 16 register tile of 12
/// accumulators that keeps both FMA units busy (weights read in place from the file's
/// row-major layout would need a horizontal sum per output instead).
final class PackedMatrix: @unchecked Sendable {
    static let panelRows = 16
    /// Activation rows per register tile.
    static let tileRows = 6
    /// Activation rows per cache block: the block's rows (96 × 1536 floats at most) stay in
    /// L2 while the panels pass over them (the encoder hands out work as one panel of one
    /// block at a time).
    static let blockRows = 96

    let rows: Int
    let columns: Int
    /// `rows / 16` panels of `columns × 16` floats.
    let panels: UnsafeMutablePointer<Float>
    let bias: UnsafeMutablePointer<Float>

    /// Packs the row-major F32 matrices `parts` (stacked in order, possibly unaligned in a
    /// mapped file) and their biases into one matrix: Q, K and V become one product.
    init(parts: [(weights: UnsafeRawPointer, bias: [Float])], columns: Int) {
        let rows = parts.reduce(0) { $0 + $1.bias.count }
        precondition(rows % Self.panelRows == 0 && rows > 0, "rows must be a positive multiple of 16")
        self.rows = rows
        self.columns = columns
        panels = .allocate(capacity: rows * columns)
        bias = .allocate(capacity: rows)
        var r = 0
        for part in parts {
            for i in 0..<part.bias.count {
                let row = part.weights + 4 * i * columns
                let panel = panels + (r / 16) * columns * 16 + r % 16
                for k in 0..<columns {
                    panel[16 * k] = row.loadUnaligned(fromByteOffset: 4 * k, as: Float.self)
                }
                bias[r] = part.bias[i]
                r += 1
            }
        }
    }

    /// Packs `weights` (`rows` arrays of `columns`) and `bias` (the tests build matrices so).
    convenience init(weights: [[Float]], bias: [Float]) {
        let flat = weights.flatMap { $0 }
        let copy = UnsafeMutablePointer<Float>.allocate(capacity: max(1, flat.count))
        copy.initialize(from: flat, count: flat.count)
        defer { copy.deallocate() }
        self.init(parts: [(weights: UnsafeRawPointer(copy), bias: bias)], columns: weights.first?.count ?? 0)
    }

    deinit {
        panels.deallocate()
        bias.deallocate()
    }

    /// The weight of row `r`, column `k`, read back from the panels.
    func weight(row r: Int, column k: Int) -> Float {
        panels[(r / 16) * columns * 16 + 16 * k + r % 16]
    }

    /// Reference product: a plain Double dot product per output, plus the bias.
    func referenceMultiply(_ x: [[Float]]) -> [[Float]] {
        x.map { vector in
            (0..<rows).map { r in
                var sum = Double(bias[r])
                for k in 0..<columns { sum += Double(weight(row: r, column: k)) * Double(vector[k]) }
                return Float(sum)
            }
        }
    }

    /// out[v · outStride + r] = bias[r] + row r · x[v] for the rows `rowRange` (multiples of
    /// 16 at both ends) and activation rows v in 0..<count, x[v] starting at `x + v · xStride`.
    /// The C kernel of `variant` computes these bits; nil runs the Swift tiles below.
    func multiply(rows rowRange: Range<Int>, x: UnsafePointer<Float>, xStride: Int, count: Int,
                  out: UnsafeMutablePointer<Float>, outStride: Int, variant: KernelVariant? = .current) {
        precondition(rowRange.lowerBound % 16 == 0 && rowRange.upperBound % 16 == 0, "row range not aligned to panels")
        if let variant {
            return ck_packed_matmul(variant.c, panels, bias, columns, rowRange.lowerBound, rowRange.upperBound,
                                    x, xStride, count, out, outStride)
        }
        var blockStart = 0
        while blockStart < count {
            let blockEnd = min(count, blockStart + Self.blockRows)
            var r = rowRange.lowerBound
            while r < rowRange.upperBound {
                let panel = UnsafePointer(panels + (r / 16) * columns * 16)
                var v = blockStart
                while v < blockEnd {
                    let xv = x + v * xStride, ov = out + v * outStride + r
                    switch blockEnd - v {
                    case 1: tile(vectors: 1, panel, r, xv, xStride, ov, outStride)
                    case 2: tile(vectors: 2, panel, r, xv, xStride, ov, outStride)
                    case 3: tile(vectors: 3, panel, r, xv, xStride, ov, outStride)
                    case 4: tile(vectors: 4, panel, r, xv, xStride, ov, outStride)
                    case 5: tile(vectors: 5, panel, r, xv, xStride, ov, outStride)
                    default: tile(vectors: 6, panel, r, xv, xStride, ov, outStride)
                    }
                    v += min(Self.tileRows, blockEnd - v)
                }
                r += 16
            }
            blockStart = blockEnd
        }
    }

    /// 16 outputs (one panel) for `vectors` (1...6) activation rows.
    @inline(__always)
    private func tile(vectors V: Int, _ panel: UnsafePointer<Float>, _ r: Int,
                      _ x: UnsafePointer<Float>, _ xStride: Int,
                      _ out: UnsafeMutablePointer<Float>, _ outStride: Int) {
        let b = UnsafeRawPointer(bias + r)
        let low = b.loadUnaligned(as: SIMD8<Float>.self)
        let high = b.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
        var a0 = low, a1 = low, a2 = low, a3 = low, a4 = low, a5 = low
        var c0 = high, c1 = high, c2 = high, c3 = high, c4 = high, c5 = high
        @inline(__always) func row(_ v: Int) -> UnsafePointer<Float> { x + (V > v ? v * xStride : 0) }
        let x0 = row(0), x1 = row(1), x2 = row(2), x3 = row(3), x4 = row(4), x5 = row(5)
        var w = UnsafeRawPointer(panel)
        for k in 0..<columns {
            let w0 = w.loadUnaligned(as: SIMD8<Float>.self)
            let w1 = w.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
            let s0 = SIMD8<Float>(repeating: x0[k])
            a0 = a0.addingProduct(s0, w0)
            c0 = c0.addingProduct(s0, w1)
            if V >= 2 {
                let s = SIMD8<Float>(repeating: x1[k])
                a1 = a1.addingProduct(s, w0)
                c1 = c1.addingProduct(s, w1)
            }
            if V >= 3 {
                let s = SIMD8<Float>(repeating: x2[k])
                a2 = a2.addingProduct(s, w0)
                c2 = c2.addingProduct(s, w1)
            }
            if V >= 4 {
                let s = SIMD8<Float>(repeating: x3[k])
                a3 = a3.addingProduct(s, w0)
                c3 = c3.addingProduct(s, w1)
            }
            if V >= 5 {
                let s = SIMD8<Float>(repeating: x4[k])
                a4 = a4.addingProduct(s, w0)
                c4 = c4.addingProduct(s, w1)
            }
            if V >= 6 {
                let s = SIMD8<Float>(repeating: x5[k])
                a5 = a5.addingProduct(s, w0)
                c5 = c5.addingProduct(s, w1)
            }
            w += 64
        }
        @inline(__always) func store(_ v: Int, _ a: SIMD8<Float>, _ c: SIMD8<Float>) {
            let o = UnsafeMutableRawPointer(out + v * outStride)
            o.storeBytes(of: a, as: SIMD8<Float>.self)
            o.storeBytes(of: c, toByteOffset: 32, as: SIMD8<Float>.self)
        }
        store(0, a0, c0)
        if V >= 2 { store(1, a1, c1) }
        if V >= 3 { store(2, a2, c2) }
        if V >= 4 { store(3, a3, c3) }
        if V >= 5 { store(4, a4, c4) }
        if V >= 6 { store(5, a5, c5) }
    }
}

/// Layer normalisation of `count` floats (a multiple of 8): (x − mean) / √(variance + ε) ·
/// weight + bias, the variance taken around the mean (two passes, as PyTorch does). `out`
/// may be `x`. The C kernel of `variant` computes these bits; nil runs this Swift code.
func layerNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
               count: Int, epsilon: Float, into out: UnsafeMutablePointer<Float>, variant: KernelVariant? = .current) {
    if let variant { return ck_layer_norm(variant.c, x, weight, bias, count, epsilon, out) }
    let xr = UnsafeRawPointer(x), wr = UnsafeRawPointer(weight), br = UnsafeRawPointer(bias)
    let o = UnsafeMutableRawPointer(out)
    var sum = SIMD8<Float>()
    var i = 0
    while i < count {
        sum += xr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
        i += 8
    }
    let mean = SIMD8<Float>(repeating: horizontalSum(sum) / Float(count))
    var squares = SIMD8<Float>()
    i = 0
    while i < count {
        let d = xr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) - mean
        squares = squares.addingProduct(d, d)
        i += 8
    }
    let scale = SIMD8<Float>(repeating: 1 / (horizontalSum(squares) / Float(count) + epsilon).squareRoot())
    i = 0
    while i < count {
        let d = xr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) - mean
        let w = wr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
        let b = br.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
        o.storeBytes(of: b.addingProduct(d * scale, w), toByteOffset: 4 * i, as: SIMD8<Float>.self)
        i += 8
    }
}

/// Reference layer normalisation in Double.
func referenceLayerNorm(_ x: [Float], weight: [Float], bias: [Float], epsilon: Float) -> [Float] {
    let n = Double(x.count)
    let mean = x.reduce(0.0) { $0 + Double($1) } / n
    let variance = x.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
    let scale = 1 / (variance + Double(epsilon)).squareRoot()
    return x.indices.map { Float((Double(x[$0]) - mean) * scale * Double(weight[$0]) + Double(bias[$0])) }
}

/// GELU in its exact form, x · Φ(x) = x/2 · (1 + erf(x/√2)), in place over `count` floats (a
/// multiple of 8). BERT was trained with this form, not the tanh approximation.
///
/// Φ comes from erfc(z), z = |x|/√2, by Abramowitz & Stegun 7.1.26 (a degree-5 polynomial in
/// t = 1/(1 + p·z) times e^(−z²); absolute error under 1.5e-7): Φ(x) = 1 − erfc(z)/2 for
/// x ≥ 0 and erfc(z)/2 below, so the small values of strongly negative inputs are computed
/// directly instead of as a difference of nearly equal numbers. The C activation of `variant`
/// computes these bits; nil runs this Swift code.
func gelu(_ x: UnsafeMutablePointer<Float>, count: Int, variant: KernelVariant? = .current) {
    if let variant { return ck_gelu(variant.c, x, count) }
    let raw = UnsafeMutableRawPointer(x)
    let one = SIMD8<Float>(repeating: 1)
    var i = 0
    while i < count {
        let v = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
        let magnitude = unsafeBitCast(unsafeBitCast(v, to: SIMD8<UInt32>.self) & SIMD8(repeating: 0x7FFF_FFFF),
                                      to: SIMD8<Float>.self)
        let z = magnitude * SIMD8(repeating: 0.707_106_781_186_547_5)
        let t = one / one.addingProduct(z, SIMD8(repeating: 0.327_591_1))
        var p = SIMD8<Float>(repeating: 1.061_405_429)
        p = SIMD8(repeating: -1.453_152_027).addingProduct(p, t)
        p = SIMD8(repeating: 1.421_413_741).addingProduct(p, t)
        p = SIMD8(repeating: -0.284_496_736).addingProduct(p, t)
        p = SIMD8(repeating: 0.254_829_592).addingProduct(p, t)
        let halfTail = p * t * exp(-(z * z)) * SIMD8(repeating: 0.5)
        let phi = (one - halfTail).replacing(with: halfTail, where: v .< 0)
        raw.storeBytes(of: v * phi, toByteOffset: 4 * i, as: SIMD8<Float>.self)
        i += 8
    }
}

/// Reference GELU: x/2 · (1 + erf(x/√2)) with the C library's erf in Double.
func referenceGELU(_ x: Float) -> Float {
    let v = Double(x)
    return Float(0.5 * v * (1 + erf(v / 2.0.squareRoot())))
}

/// Bidirectional attention of one head over one sequence of `count` tokens: for every query
/// i, out_i = Σ_j softmax_j(scale · q_i · k_j) · v_j. Row t of the queries, keys and values
/// starts at `q`, `k`, `v` + t · `stride`; `dimensions` is a multiple of 8.
///
/// The keys are first transposed into `scratch` so that a query meets eight keys per SIMD
/// step (a broadcast query element times eight keys' elements), two queries at a time to
/// share each load; the weighted sum likewise takes two queries per pass over the values.
/// Every score and output is one FMA chain in a fixed order, whichever pass computes it.
/// `scratch` holds `attentionScratch(count:dimensions:)` floats. The C kernel of `variant`
/// computes these bits; nil runs this Swift code.
func attendHead(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, stride: Int,
                count: Int, dimensions: Int, scale: Float,
                scratch: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>, outStride: Int,
                variant: KernelVariant? = .current) {
    if let variant {
        return ck_attend_head(variant.c, q, k, v, stride, count, dimensions, scale, scratch, out, outStride)
    }
    let padded = paddedKeys(count)
    let kt = scratch
    for d in 0..<dimensions {
        let row = kt + d * padded
        for j in 0..<count { row[j] = k[j * stride + d] }
        for j in count..<padded { row[j] = 0 }
    }
    let s0 = scratch + dimensions * padded, s1 = s0 + padded
    var i = 0
    while i < count {
        let pair = count - i >= 2
        var j = 0
        while j < padded {
            if pair {
                scoreGroup(queries: 2, q + i * stride, q + (i + 1) * stride, kt + j, padded, dimensions, scale, s0 + j, s1 + j)
            } else {
                scoreGroup(queries: 1, q + i * stride, q + i * stride, kt + j, padded, dimensions, scale, s0 + j, s1 + j)
            }
            j += 32
        }
        let inverse0 = 1 / softmaxNumerators(s0, count: count)
        let inverse1 = pair ? 1 / softmaxNumerators(s1, count: count) : 0
        var segment = 0
        while segment < dimensions {
            let o0 = out + i * outStride + segment, o1 = out + (pair ? i + 1 : i) * outStride + segment
            if pair {
                weightedGroup(queries: 2, v + segment, stride, count, min(32, dimensions - segment), s0, s1, inverse0, inverse1, o0, o1)
            } else {
                weightedGroup(queries: 1, v + segment, stride, count, min(32, dimensions - segment), s0, s0, inverse0, inverse0, o0, o0)
            }
            segment += 32
        }
        i += pair ? 2 : 1
    }
}

/// Keys rounded up to whole groups of 32 (the score kernel's width).
func paddedKeys(_ count: Int) -> Int { (count + 31) / 32 * 32 }

/// Floats of scratch `attendHead` needs: the transposed keys and two rows of scores.
func attentionScratch(count: Int, dimensions: Int) -> Int { (dimensions + 2) * paddedKeys(count) }

/// Scores of one or two queries against 32 keys: s[j] = scale · Σ_d q[d] · kt[d][j].
@inline(__always)
private func scoreGroup(queries Q: Int, _ q0: UnsafePointer<Float>, _ q1: UnsafePointer<Float>,
                        _ kt: UnsafePointer<Float>, _ ktStride: Int, _ dimensions: Int, _ scale: Float,
                        _ s0: UnsafeMutablePointer<Float>, _ s1: UnsafeMutablePointer<Float>) {
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
    var b0 = SIMD8<Float>(), b1 = SIMD8<Float>(), b2 = SIMD8<Float>(), b3 = SIMD8<Float>()
    var kp = UnsafeRawPointer(kt)
    for d in 0..<dimensions {
        let k0 = kp.loadUnaligned(as: SIMD8<Float>.self)
        let k1 = kp.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
        let k2 = kp.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self)
        let k3 = kp.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)
        let x = SIMD8<Float>(repeating: q0[d])
        a0 = a0.addingProduct(x, k0)
        a1 = a1.addingProduct(x, k1)
        a2 = a2.addingProduct(x, k2)
        a3 = a3.addingProduct(x, k3)
        if Q == 2 {
            let y = SIMD8<Float>(repeating: q1[d])
            b0 = b0.addingProduct(y, k0)
            b1 = b1.addingProduct(y, k1)
            b2 = b2.addingProduct(y, k2)
            b3 = b3.addingProduct(y, k3)
        }
        kp += 4 * ktStride
    }
    let sc = SIMD8<Float>(repeating: scale)
    let o0 = UnsafeMutableRawPointer(s0), o1 = UnsafeMutableRawPointer(s1)
    for (n, a) in [a0, a1, a2, a3].enumerated() { o0.storeBytes(of: a * sc, toByteOffset: 32 * n, as: SIMD8<Float>.self) }
    if Q == 2 {
        for (n, b) in [b0, b1, b2, b3].enumerated() { o1.storeBytes(of: b * sc, toByteOffset: 32 * n, as: SIMD8<Float>.self) }
    }
}

/// out = inverse · Σ_j p[j] · v_j over `width` (8...32) dimensions, for one or two rows of
/// weights.
@inline(__always)
private func weightedGroup(queries Q: Int, _ v: UnsafePointer<Float>, _ stride: Int, _ count: Int, _ width: Int,
                           _ p0: UnsafePointer<Float>, _ p1: UnsafePointer<Float>, _ inverse0: Float, _ inverse1: Float,
                           _ out0: UnsafeMutablePointer<Float>, _ out1: UnsafeMutablePointer<Float>) {
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
    var b0 = SIMD8<Float>(), b1 = SIMD8<Float>(), b2 = SIMD8<Float>(), b3 = SIMD8<Float>()
    var vp = UnsafeRawPointer(v)
    for j in 0..<count {
        let v0 = lane(vp, 0, width), v1 = lane(vp, 1, width), v2 = lane(vp, 2, width), v3 = lane(vp, 3, width)
        let x = SIMD8<Float>(repeating: p0[j])
        a0 = a0.addingProduct(x, v0)
        a1 = a1.addingProduct(x, v1)
        a2 = a2.addingProduct(x, v2)
        a3 = a3.addingProduct(x, v3)
        if Q == 2 {
            let y = SIMD8<Float>(repeating: p1[j])
            b0 = b0.addingProduct(y, v0)
            b1 = b1.addingProduct(y, v1)
            b2 = b2.addingProduct(y, v2)
            b3 = b3.addingProduct(y, v3)
        }
        vp += 4 * stride
    }
    let i0 = SIMD8<Float>(repeating: inverse0), i1 = SIMD8<Float>(repeating: inverse1)
    let o0 = UnsafeMutableRawPointer(out0), o1 = UnsafeMutableRawPointer(out1)
    for (n, a) in [a0, a1, a2, a3].enumerated() where n * 8 < width {
        o0.storeBytes(of: a * i0, toByteOffset: 32 * n, as: SIMD8<Float>.self)
    }
    if Q == 2 {
        for (n, b) in [b0, b1, b2, b3].enumerated() where n * 8 < width {
            o1.storeBytes(of: b * i1, toByteOffset: 32 * n, as: SIMD8<Float>.self)
        }
    }
}

/// Reference attention of one head in Double: plain dot products, softmax, weighted sum.
func referenceAttention(q: [[Float]], k: [[Float]], v: [[Float]], scale: Float) -> [[Float]] {
    q.map { query in
        let scores = k.map { key in Double(scale) * zip(query, key).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }
        let top = scores.max() ?? 0
        let weights = scores.map { exp($0 - top) }
        let total = weights.reduce(0, +)
        return (0..<(v.first?.count ?? 0)).map { d in Float(zip(weights, v).reduce(0.0) { $0 + $1.0 * Double($1.1[d]) } / total) }
    }
}
