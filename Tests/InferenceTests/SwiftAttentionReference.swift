// The attention kernels as they were written in Swift before they moved to C
// (`Sources/CKernels/attention.c`), kept verbatim as the reference the C variants must equal
// bit for bit. (The softmax's Swift version is still in the product, for BERT.)
@testable import Inference

enum SwiftAttention {
    @inline(__always)
    static func lane(_ p: UnsafeRawPointer, _ i: Int, _ width: Int) -> SIMD8<Float> {
        i * 8 < width ? p.loadUnaligned(fromByteOffset: 32 * i, as: SIMD8<Float>.self) : SIMD8<Float>()
    }

    /// scores[t] = scale · (q · key t) for t in 0..<count; key t starts at `keys + t * stride`.
    /// `dimensions` is a multiple of 8.
    static func attentionScores(_ q: UnsafePointer<Float>, keys: UnsafePointer<Float>, stride: Int, count: Int,
                                dimensions: Int, scale: Float, into scores: UnsafeMutablePointer<Float>) {
        scores.initialize(repeating: 0, count: count)
        var s = 0
        while s < dimensions {
            let width = min(64, dimensions - s)
            let qp = UnsafeRawPointer(q + s)
            let q0 = lane(qp, 0, width), q1 = lane(qp, 1, width), q2 = lane(qp, 2, width), q3 = lane(qp, 3, width)
            let q4 = lane(qp, 4, width), q5 = lane(qp, 5, width), q6 = lane(qp, 6, width), q7 = lane(qp, 7, width)
            var kp = UnsafeRawPointer(keys + s)
            for t in 0..<count {
                var a = q0 * lane(kp, 0, width)
                var b = q1 * lane(kp, 1, width)
                if width > 16 {
                    a = a.addingProduct(q2, lane(kp, 2, width))
                    b = b.addingProduct(q3, lane(kp, 3, width))
                }
                if width > 32 {
                    a = a.addingProduct(q4, lane(kp, 4, width))
                    b = b.addingProduct(q5, lane(kp, 5, width))
                }
                if width > 48 {
                    a = a.addingProduct(q6, lane(kp, 6, width))
                    b = b.addingProduct(q7, lane(kp, 7, width))
                }
                scores[t] += horizontalSum(a + b)
                kp += 4 * stride
            }
            s += 64
        }
        for t in 0..<count { scores[t] *= scale }
    }

    /// out = scale · Σ_t weights[t] · value t; value t starts at `values + t * stride`.
    /// `dimensions` is a multiple of 8.
    static func weightedSum(_ values: UnsafePointer<Float>, stride: Int, weights: UnsafePointer<Float>, count: Int,
                            dimensions: Int, scale: Float, into out: UnsafeMutablePointer<Float>) {
        var s = 0
        while s < dimensions {
            let width = min(64, dimensions - s)
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            var a4 = SIMD8<Float>(), a5 = SIMD8<Float>(), a6 = SIMD8<Float>(), a7 = SIMD8<Float>()
            var vp = UnsafeRawPointer(values + s)
            for t in 0..<count {
                let p = SIMD8<Float>(repeating: weights[t])
                a0 = a0.addingProduct(p, lane(vp, 0, width))
                a1 = a1.addingProduct(p, lane(vp, 1, width))
                if width > 16 {
                    a2 = a2.addingProduct(p, lane(vp, 2, width))
                    a3 = a3.addingProduct(p, lane(vp, 3, width))
                }
                if width > 32 {
                    a4 = a4.addingProduct(p, lane(vp, 4, width))
                    a5 = a5.addingProduct(p, lane(vp, 5, width))
                }
                if width > 48 {
                    a6 = a6.addingProduct(p, lane(vp, 6, width))
                    a7 = a7.addingProduct(p, lane(vp, 7, width))
                }
                vp += 4 * stride
            }
            let sc = SIMD8<Float>(repeating: scale)
            let o = UnsafeMutableRawPointer(out + s)
            for (i, a) in [a0, a1, a2, a3, a4, a5, a6, a7].enumerated() where i * 8 < width {
                o.storeBytes(of: a * sc, toByteOffset: 32 * i, as: SIMD8<Float>.self)
            }
            s += 64
        }
    }
}
