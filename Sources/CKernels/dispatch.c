// Run-time choice of a kernel variant by CPU features.
#include "CKernels.h"
#include "variants.h"

ck_variant ck_best_variant(void) {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__clang__) || defined(__GNUC__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma")) {
        return CK_VARIANT_AVX512;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) {
        return CK_VARIANT_AVX2;
    }
#endif
    return CK_VARIANT_PORTABLE;
}

const char *ck_variant_name(ck_variant variant) {
    switch (variant) {
    case CK_VARIANT_AVX512: return "avx512";
    case CK_VARIANT_AVX2: return "avx2";
    default: return "portable";
    }
}

/// `requested`, or the best variant below it when the CPU lacks it.
static ck_variant usable(ck_variant requested) {
    static ck_variant best = (ck_variant)-1;
    if ((int)best < 0) best = ck_best_variant();
    return requested > best ? best : requested;
}

void ck_matvec_q4_1(ck_variant variant, const void *data, size_t row_bytes, size_t columns,
                    size_t row_begin, size_t row_end, const float *x, float *out) {
    switch (usable(variant)) {
#if defined(__x86_64__) || defined(__i386__)
    case CK_VARIANT_AVX512: ck_q4_1_avx512(data, row_bytes, columns, row_begin, row_end, x, out); return;
    case CK_VARIANT_AVX2: ck_q4_1_avx2(data, row_bytes, columns, row_begin, row_end, x, out); return;
#endif
    default: ck_q4_1_portable(data, row_bytes, columns, row_begin, row_end, x, out); return;
    }
}

void ck_matvec_q8_0(ck_variant variant, const void *data, size_t row_bytes, size_t columns,
                    size_t row_begin, size_t row_end, const float *x, float *out) {
    switch (usable(variant)) {
#if defined(__x86_64__) || defined(__i386__)
    case CK_VARIANT_AVX512: ck_q8_0_avx512(data, row_bytes, columns, row_begin, row_end, x, out); return;
    case CK_VARIANT_AVX2: ck_q8_0_avx2(data, row_bytes, columns, row_begin, row_end, x, out); return;
#endif
    default: ck_q8_0_portable(data, row_bytes, columns, row_begin, row_end, x, out); return;
    }
}

void ck_matmul_q4_1(ck_variant variant, const void *data, size_t row_bytes, size_t columns,
                    size_t row_begin, size_t row_end, const float *x, size_t x_stride, size_t count,
                    float *out, size_t out_stride) {
    switch (usable(variant)) {
#if defined(__x86_64__) || defined(__i386__)
    case CK_VARIANT_AVX512:
        ck_q4_1_batch_avx512(data, row_bytes, columns, row_begin, row_end, x, x_stride, count, out, out_stride);
        return;
    case CK_VARIANT_AVX2:
        ck_q4_1_batch_avx2(data, row_bytes, columns, row_begin, row_end, x, x_stride, count, out, out_stride);
        return;
#endif
    default:
        ck_q4_1_batch_portable(data, row_bytes, columns, row_begin, row_end, x, x_stride, count, out, out_stride);
        return;
    }
}

void ck_matmul_q8_0(ck_variant variant, const void *data, size_t row_bytes, size_t columns,
                    size_t row_begin, size_t row_end, const float *x, size_t x_stride, size_t count,
                    float *out, size_t out_stride) {
    switch (usable(variant)) {
#if defined(__x86_64__) || defined(__i386__)
    case CK_VARIANT_AVX512:
        ck_q8_0_batch_avx512(data, row_bytes, columns, row_begin, row_end, x, x_stride, count, out, out_stride);
        return;
    case CK_VARIANT_AVX2:
        ck_q8_0_batch_avx2(data, row_bytes, columns, row_begin, row_end, x, x_stride, count, out, out_stride);
        return;
#endif
    default:
        ck_q8_0_batch_portable(data, row_bytes, columns, row_begin, row_end, x, x_stride, count, out, out_stride);
        return;
    }
}

ck_variant ck_usable_variant(ck_variant requested) {
    return usable(requested);
}
