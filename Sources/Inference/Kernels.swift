// Kernels: weight matrix × activation vectors for the ggml block formats this engine reads.
//
// Weights stay in their quantised blocks in the mapped file; each block of 32 weights is
// unpacked into two SIMD16<Float> registers once and then applied to every activation
// vector of the batch. Activations and sums are F32: this is the model's exact arithmetic
// (the Q4_1 weights dequantised to F32), not llama.cpp's 8-bit-activation fast path.
//
// Determinism: the value of one output (one row · one vector) is computed by the same
// sequence of operations whatever the batch size, the tile it falls in and the thread that
// computes it: one SIMD16 accumulator, two FMAs per block in block order, then one fixed
// horizontal sum. Batching and threading therefore never change a token.

/// Reads a little-endian IEEE half at `offset`.
@inline(__always)
func loadHalf(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}

/// A ggml block format: 32 weights in `blockBytes` bytes, unpacked into two halves
/// (weights 0..<16 and 16..<32).
protocol BlockFormat {
    static var blockBytes: Int { get }
    static func unpack(_ block: UnsafeRawPointer) -> (SIMD16<Float>, SIMD16<Float>)
}

/// Q4_1: f16 scale d, f16 minimum m, 16 bytes of nibbles; weight j is d·q + m, the low
/// nibbles holding weights 0..<16 and the high nibbles 16..<32.
enum Q4_1Format: BlockFormat {
    static let blockBytes = 20
    @inline(__always)
    static func unpack(_ p: UnsafeRawPointer) -> (SIMD16<Float>, SIMD16<Float>) {
        let d = SIMD16<Float>(repeating: loadHalf(p, 0))
        let m = SIMD16<Float>(repeating: loadHalf(p, 2))
        let q = p.loadUnaligned(fromByteOffset: 4, as: SIMD16<UInt8>.self)
        let low = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q & 0x0F))
        let high = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q &>> 4))
        return (m.addingProduct(low, d), m.addingProduct(high, d))
    }
}

/// Q4_0: f16 scale d, 16 bytes of nibbles; weight j is d·(q − 8).
enum Q4_0Format: BlockFormat {
    static let blockBytes = 18
    @inline(__always)
    static func unpack(_ p: UnsafeRawPointer) -> (SIMD16<Float>, SIMD16<Float>) {
        let d = SIMD16<Float>(repeating: loadHalf(p, 0))
        let q = p.loadUnaligned(fromByteOffset: 2, as: SIMD16<UInt8>.self)
        let eight = SIMD16<Int32>(repeating: 8)
        let low = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q & 0x0F) &- eight)
        let high = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q &>> 4) &- eight)
        return (low * d, high * d)
    }
}

/// Q8_0: f16 scale d, 32 signed bytes; weight j is d·q.
enum Q8_0Format: BlockFormat {
    static let blockBytes = 34
    @inline(__always)
    static func unpack(_ p: UnsafeRawPointer) -> (SIMD16<Float>, SIMD16<Float>) {
        let d = SIMD16<Float>(repeating: loadHalf(p, 0))
        let q0 = p.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int8>.self)
        let q1 = p.loadUnaligned(fromByteOffset: 18, as: SIMD16<Int8>.self)
        return (SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q0)) * d,
                SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q1)) * d)
    }
}

/// F16 weights, taken 32 at a time.
enum F16Format: BlockFormat {
    static let blockBytes = 64
    @inline(__always)
    static func unpack(_ p: UnsafeRawPointer) -> (SIMD16<Float>, SIMD16<Float>) {
        (SIMD16<Float>(p.loadUnaligned(fromByteOffset: 0, as: SIMD16<Float16>.self)),
         SIMD16<Float>(p.loadUnaligned(fromByteOffset: 32, as: SIMD16<Float16>.self)))
    }
}

/// F32 weights, taken 32 at a time.
enum F32Format: BlockFormat {
    static let blockBytes = 128
    @inline(__always)
    static func unpack(_ p: UnsafeRawPointer) -> (SIMD16<Float>, SIMD16<Float>) {
        (p.loadUnaligned(fromByteOffset: 0, as: SIMD16<Float>.self),
         p.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self))
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

    /// Fast product for rows `rowRange` and `count` vectors: vector v starts at
    /// `x + v * xStride`, its result for row r goes to `out[v * outStride + r]`.
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

    /// Walks the rows in tiles: up to four vectors share each unpacked block; a single
    /// vector takes two rows at a time so that two accumulator chains run side by side.
    @inline(__always)
    private func multiplyRows<F: BlockFormat>(_ format: F.Type, _ rowRange: Range<Int>,
                                              _ x: UnsafePointer<Float>, _ xStride: Int, _ count: Int,
                                              _ out: UnsafeMutablePointer<Float>, _ outStride: Int) {
        let blocks = columns / 32
        var r = rowRange.lowerBound
        if count == 1 {
            while r + 2 <= rowRange.upperBound {
                tile(F.self, rows: 2, vectors: 1, r, blocks, x, xStride, out, outStride)
                r += 2
            }
            if r < rowRange.upperBound {
                tile(F.self, rows: 1, vectors: 1, r, blocks, x, xStride, out, outStride)
            }
            return
        }
        while r < rowRange.upperBound {
            var v = 0
            while v < count {
                let xv = x + v * xStride
                let ov = out + v * outStride
                switch count - v {
                case 1: tile(F.self, rows: 1, vectors: 1, r, blocks, xv, xStride, ov, outStride)
                case 2: tile(F.self, rows: 1, vectors: 2, r, blocks, xv, xStride, ov, outStride)
                case 3: tile(F.self, rows: 1, vectors: 3, r, blocks, xv, xStride, ov, outStride)
                default: tile(F.self, rows: 1, vectors: 4, r, blocks, xv, xStride, ov, outStride)
                }
                v += 4
            }
            r += 1
        }
    }

    @inline(__always)
    private func tile<F: BlockFormat>(_ format: F.Type, rows: Int, vectors: Int, _ r: Int, _ blocks: Int,
                                      _ x: UnsafePointer<Float>, _ xStride: Int,
                                      _ out: UnsafeMutablePointer<Float>, _ outStride: Int) {
        switch (rows, vectors) {
        case (2, 1): dotTile(F.self, rows: 2, vectors: 1, r, blocks, x, xStride, out, outStride)
        case (1, 1): dotTile(F.self, rows: 1, vectors: 1, r, blocks, x, xStride, out, outStride)
        case (1, 2): dotTile(F.self, rows: 1, vectors: 2, r, blocks, x, xStride, out, outStride)
        case (1, 3): dotTile(F.self, rows: 1, vectors: 3, r, blocks, x, xStride, out, outStride)
        default: dotTile(F.self, rows: 1, vectors: 4, r, blocks, x, xStride, out, outStride)
        }
    }

    /// The inner kernel: `rows` × `vectors` accumulators, each one SIMD16 chain.
    @inline(__always)
    private func dotTile<F: BlockFormat>(_ format: F.Type, rows R: Int, vectors V: Int, _ r: Int, _ blocks: Int,
                                         _ x: UnsafePointer<Float>, _ xStride: Int,
                                         _ out: UnsafeMutablePointer<Float>, _ outStride: Int) {
        var a00 = SIMD16<Float>(), a01 = SIMD16<Float>(), a02 = SIMD16<Float>(), a03 = SIMD16<Float>()
        var a10 = SIMD16<Float>()
        let row0 = data + r * rowBytes
        let row1 = row0 + rowBytes
        let x0 = UnsafeRawPointer(x)
        let x1 = x0 + 4 * xStride
        let x2 = x1 + 4 * xStride
        let x3 = x2 + 4 * xStride
        for b in 0..<blocks {
            let (w0, w1) = F.unpack(row0 + b * F.blockBytes)
            let o = 128 * b
            a00 = a00.addingProduct(w0, x0.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self))
            a00 = a00.addingProduct(w1, x0.loadUnaligned(fromByteOffset: o + 64, as: SIMD16<Float>.self))
            if R == 2 {
                let (u0, u1) = F.unpack(row1 + b * F.blockBytes)
                a10 = a10.addingProduct(u0, x0.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self))
                a10 = a10.addingProduct(u1, x0.loadUnaligned(fromByteOffset: o + 64, as: SIMD16<Float>.self))
            }
            if V >= 2 {
                a01 = a01.addingProduct(w0, x1.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self))
                a01 = a01.addingProduct(w1, x1.loadUnaligned(fromByteOffset: o + 64, as: SIMD16<Float>.self))
            }
            if V >= 3 {
                a02 = a02.addingProduct(w0, x2.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self))
                a02 = a02.addingProduct(w1, x2.loadUnaligned(fromByteOffset: o + 64, as: SIMD16<Float>.self))
            }
            if V >= 4 {
                a03 = a03.addingProduct(w0, x3.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self))
                a03 = a03.addingProduct(w1, x3.loadUnaligned(fromByteOffset: o + 64, as: SIMD16<Float>.self))
            }
        }
        out[r] = horizontalSum(a00)
        if R == 2 { out[r + 1] = horizontalSum(a10) }
        if V >= 2 { out[outStride + r] = horizontalSum(a01) }
        if V >= 3 { out[2 * outStride + r] = horizontalSum(a02) }
        if V >= 4 { out[3 * outStride + r] = horizontalSum(a03) }
    }
}

/// The one horizontal sum every kernel uses (a fixed pairwise tree), so that a value never
/// depends on which code path produced it.
@inline(__always)
func horizontalSum(_ v: SIMD16<Float>) -> Float {
    let a = v.lowHalf + v.highHalf
    let b = a.lowHalf + a.highHalf
    let c = b.lowHalf + b.highHalf
    return c[0] + c[1]
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
    var sum = horizontalSum(acc0 + acc1)
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
