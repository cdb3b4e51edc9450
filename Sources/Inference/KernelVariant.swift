import CKernels
import Foundation

/// The instruction-set variant of the C kernels (`Sources/CKernels`: the weight-matrix
/// products, the sentence encoder's kernels, the activations) this process runs. Every variant computes the same bits (same lanes, same fused operations in
/// the same order, same horizontal sum), so the variant is a speed figure, not part of a
/// generation's identity; the tests hold each one to the Swift kernels bit for bit.
public enum KernelVariant: String, Sendable, CaseIterable {
    case portable, avx2, avx512

    /// The fastest variant the CPU runs, or the one `PLURALISM_KERNELS` names
    /// (portable, avx2, avx512) when it is set, to compare variants on one machine. A named
    /// variant the CPU lacks falls back to the best one it has.
    public static let current: KernelVariant = {
        let best = KernelVariant(ck_best_variant())
        guard let name = ProcessInfo.processInfo.environment["PLURALISM_KERNELS"],
              let requested = KernelVariant(rawValue: name) else { return best }
        return requested.level <= best.level ? requested : best
    }()

    /// The fastest variant this CPU runs.
    public static var best: KernelVariant { KernelVariant(ck_best_variant()) }

    init(_ variant: ck_variant) {
        switch variant {
        case CK_VARIANT_AVX512: self = .avx512
        case CK_VARIANT_AVX2: self = .avx2
        default: self = .portable
        }
    }

    var level: Int {
        switch self {
        case .portable: 0
        case .avx2: 1
        case .avx512: 2
        }
    }

    var c: ck_variant {
        switch self {
        case .portable: CK_VARIANT_PORTABLE
        case .avx2: CK_VARIANT_AVX2
        case .avx512: CK_VARIANT_AVX512
        }
    }
}
