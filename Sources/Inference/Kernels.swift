// Kernels: weight matrix × activation vectors for the ggml block formats this engine reads.
//
// Weights stay in their quantised blocks in the mapped file; each block of 32 weights is
// unpacked into SIMD8<Float> registers once (a quarter at a time) and then applied to every activation
// vector of the batch. Activations and sums are F32: this is the model's exact arithmetic
// (the Q4_1 weights dequantised to F32), not llama.cpp's 8-bit-activation fast path.
//
// Determinism: the value of one output (one row · one vector) is computed by the same
// sequence of operations whatever the batch size, the tile it falls in and the thread that
// computes it (`accumulate` and `finish` below): two SIMD8 accumulators, four FMAs per
// block in block order, then one fixed horizontal sum. Batching and threading therefore
// never change a token.

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

/// Small non-negative integers become exact floats by or-ing them into the mantissa of 2²³
/// and subtracting 2²³ (no int→float conversion, which Swift's generic SIMD initialisers
/// would do lane by lane).
@inline(__always)
func exactFloat(_ q: SIMD8<UInt32>, minus offset: Float = 8_388_608) -> SIMD8<Float> {
    unsafeBitCast(q | SIMD8<UInt32>(repeating: 0x4B00_0000), to: SIMD8<Float>.self) - SIMD8<Float>(repeating: offset)
}

/// Byte t of each of the eight words.
@inline(__always)
func byteLane(_ words: SIMD8<UInt32>, _ t: Int, mask: UInt32) -> SIMD8<UInt32> {
    switch t {
    case 0: words & SIMD8<UInt32>(repeating: mask)
    case 1: (words &>> 8) & SIMD8<UInt32>(repeating: mask)
    case 2: (words &>> 16) & SIMD8<UInt32>(repeating: mask)
    default: (words &>> 24) & SIMD8<UInt32>(repeating: mask)
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
        SIMD8<Float>(repeating: b.2).addingProduct(exactFloat(byteLane(b.0, t, mask: 0x0F)), SIMD8<Float>(repeating: b.1))
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
        exactFloat(byteLane(b.0, t, mask: 0x0F), minus: 8_388_616) * SIMD8<Float>(repeating: b.1)
    }
}

/// Q8_0: f16 scale d, 32 signed bytes; weight = d·q. Flipping a byte's sign bit gives
/// q + 128, a small non-negative integer.
enum Q8_0Format: BlockFormat {
    static let blockBytes = 34
    @inline(__always)
    static func load(_ p: UnsafeRawPointer) -> (SIMD8<UInt32>, Float) {
        (p.loadUnaligned(fromByteOffset: 2, as: SIMD8<UInt32>.self) ^ SIMD8<UInt32>(repeating: 0x8080_8080), loadHalf(p, 0))
    }
    @inline(__always)
    static func quarter(_ b: (SIMD8<UInt32>, Float), _ t: Int) -> SIMD8<Float> {
        exactFloat(byteLane(b.0, t, mask: 0xFF), minus: 8_388_736) * SIMD8<Float>(repeating: b.1)
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
    /// `out[v * outStride + r]`.
    func multiply(rows rowRange: Range<Int>, x: UnsafePointer<Float>, xStride: Int, count: Int,
                  out: UnsafeMutablePointer<Float>, outStride: Int) {
        switch type {
        case .q4_1: multiplyRows(Q4_1Format.self, rowRange, x, xStride, count, out, outStride)
        case .q8_0: multiplyRows(Q8_0Format.self, rowRange, x, xStride, count, out, outStride)
        case .q4_0: multiplyRows(Q4_0Format.self, rowRange, x, xStride, count, out, outStride)
        case .f16: multiplyRows(F16Format.self, rowRange, x, xStride, count, out, outStride)
        case .f32: multiplyRows(F32Format.self, rowRange, x, xStride, count, out, outStride)
        default: fatalError("unsupported type \(type.name) passed the WeightMatrix check")
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

    /// Walks the rows in tiles: a single vector takes four rows at a time (four
    /// independent accumulator pairs); a batch takes up to four vectors per unpacked block.
    @inline(__always)
    private func multiplyRows<F: BlockFormat>(_ format: F.Type, _ rowRange: Range<Int>,
                                              _ x: UnsafePointer<Float>, _ xStride: Int, _ count: Int,
                                              _ out: UnsafeMutablePointer<Float>, _ outStride: Int) {
        let blocks = columns / 32
        var r = rowRange.lowerBound
        if count == 1 {
            while r + 4 <= rowRange.upperBound {
                rowsTile(F.self, rows: 4, r, blocks, x, out)
                r += 4
            }
            while r < rowRange.upperBound {
                rowsTile(F.self, rows: 1, r, blocks, x, out)
                r += 1
            }
            return
        }
        while r < rowRange.upperBound {
            var v = 0
            while v < count {
                let xv = x + v * xStride, ov = out + v * outStride
                switch count - v {
                case 1: rowsTile(F.self, rows: 1, r, blocks, xv, ov)
                case 2: vectorsTile(F.self, vectors: 2, r, blocks, xv, xStride, ov, outStride)
                case 3: vectorsTile(F.self, vectors: 3, r, blocks, xv, xStride, ov, outStride)
                default: vectorsTile(F.self, vectors: 4, r, blocks, xv, xStride, ov, outStride)
                }
                v += 4
            }
            r += 1
        }
    }

    /// One output's arithmetic, shared by every tile: two accumulators, quarters 0 and 2
    /// into the first, 1 and 3 into the second, block after block, then `finish`.
    @inline(__always)
    private static func accumulate(_ a: inout SIMD8<Float>, _ b: inout SIMD8<Float>, _ t: Int,
                                   _ w: SIMD8<Float>, _ x: UnsafeRawPointer) {
        let xq = x.loadUnaligned(fromByteOffset: 32 * t, as: SIMD8<Float>.self)
        if t % 2 == 0 { a = a.addingProduct(w, xq) } else { b = b.addingProduct(w, xq) }
    }

    @inline(__always)
    private static func finish(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> Float {
        horizontalSum(a + b)
    }

    /// `rows` consecutive rows (1...4) times one vector.
    @inline(__always)
    private func rowsTile<F: BlockFormat>(_ format: F.Type, rows R: Int, _ r: Int, _ blocks: Int,
                                          _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
        var a0 = SIMD8<Float>(), b0 = SIMD8<Float>(), a1 = SIMD8<Float>(), b1 = SIMD8<Float>()
        var a2 = SIMD8<Float>(), b2 = SIMD8<Float>(), a3 = SIMD8<Float>(), b3 = SIMD8<Float>()
        var row = data + r * rowBytes
        var xp = UnsafeRawPointer(x)
        let stride = rowBytes
        for _ in 0..<blocks {
            let k0 = F.load(row)
            let k1 = F.load(row + (R >= 2 ? stride : 0))
            let k2 = F.load(row + (R >= 3 ? 2 * stride : 0))
            let k3 = F.load(row + (R >= 4 ? 3 * stride : 0))
            for t in 0..<4 {
                Self.accumulate(&a0, &b0, t, F.quarter(k0, t), xp)
                if R >= 2 { Self.accumulate(&a1, &b1, t, F.quarter(k1, t), xp) }
                if R >= 3 { Self.accumulate(&a2, &b2, t, F.quarter(k2, t), xp) }
                if R >= 4 { Self.accumulate(&a3, &b3, t, F.quarter(k3, t), xp) }
            }
            row += F.blockBytes
            xp += 128
        }
        out[r] = Self.finish(a0, b0)
        if R >= 2 { out[r + 1] = Self.finish(a1, b1) }
        if R >= 3 { out[r + 2] = Self.finish(a2, b2) }
        if R >= 4 { out[r + 3] = Self.finish(a3, b3) }
    }

    /// One row times `vectors` vectors (2...4), each quarter unpacked once for all of them.
    @inline(__always)
    private func vectorsTile<F: BlockFormat>(_ format: F.Type, vectors V: Int, _ r: Int, _ blocks: Int,
                                             _ x: UnsafePointer<Float>, _ xStride: Int,
                                             _ out: UnsafeMutablePointer<Float>, _ outStride: Int) {
        var a0 = SIMD8<Float>(), b0 = SIMD8<Float>(), a1 = SIMD8<Float>(), b1 = SIMD8<Float>()
        var a2 = SIMD8<Float>(), b2 = SIMD8<Float>(), a3 = SIMD8<Float>(), b3 = SIMD8<Float>()
        var row = data + r * rowBytes
        var xp = UnsafeRawPointer(x)
        let stride = 4 * xStride
        for _ in 0..<blocks {
            let k = F.load(row)
            for t in 0..<4 {
                let w = F.quarter(k, t)
                Self.accumulate(&a0, &b0, t, w, xp)
                Self.accumulate(&a1, &b1, t, w, xp + stride)
                if V >= 3 { Self.accumulate(&a2, &b2, t, w, xp + 2 * stride) }
                if V >= 4 { Self.accumulate(&a3, &b3, t, w, xp + 3 * stride) }
            }
            row += F.blockBytes
            xp += 128
        }
        out[r] = Self.finish(a0, b0)
        out[outStride + r] = Self.finish(a1, b1)
        if V >= 3 { out[2 * outStride + r] = Self.finish(a2, b2) }
        if V >= 4 { out[3 * outStride + r] = Self.finish(a3, b3) }
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

/// Dot product of two F32 vectors whose length is a multiple of 16 (attention scores).
@inline(__always)
func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
    let pa = UnsafeRawPointer(a), pb = UnsafeRawPointer(b)
    var i = 0
    while i + 32 <= count {
        acc0 = acc0.addingProduct(pa.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self),
                                  pb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self))
        acc1 = acc1.addingProduct(pa.loadUnaligned(fromByteOffset: 4 * i + 64, as: SIMD16<Float>.self),
                                  pb.loadUnaligned(fromByteOffset: 4 * i + 64, as: SIMD16<Float>.self))
        i += 32
    }
    while i + 16 <= count {
        acc0 = acc0.addingProduct(pa.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self),
                                  pb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self))
        i += 16
    }
    let total = acc0 + acc1
    var sum = horizontalSum(total.lowHalf + total.highHalf)
    while i < count {
        sum += a[i] * b[i]
        i += 1
    }
    return sum
}

/// `y += a * x` over `count` floats.
@inline(__always)
func addScaled(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ a: Float, count: Int) {
    let py = UnsafeMutableRawPointer(y), px = UnsafeRawPointer(x)
    let s = SIMD16<Float>(repeating: a)
    var i = 0
    while i + 16 <= count {
        let v = py.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
            .addingProduct(px.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self), s)
        py.storeBytes(of: v, toByteOffset: 4 * i, as: SIMD16<Float>.self)
        i += 16
    }
    while i < count {
        y[i] += a * x[i]
        i += 1
    }
}
