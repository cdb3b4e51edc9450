// The per-variant kernels behind CKernels.h's dispatching entry points.
#ifndef CKERNELS_VARIANTS_H
#define CKERNELS_VARIANTS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CK_ROW_KERNEL(name) \
    void name(const uint8_t *data, size_t row_bytes, size_t columns, size_t row_begin, size_t row_end, \
              const float *x, float *out)

#define CK_BATCH_KERNEL(name) \
    void name(const uint8_t *data, size_t row_bytes, size_t columns, size_t row_begin, size_t row_end, \
              const float *x, size_t x_stride, size_t count, float *out, size_t out_stride)

/// Vectors a batch kernel's register tile holds at once.
#define CK_TILE_VECTORS 6

CK_ROW_KERNEL(ck_q4_1_portable);
CK_ROW_KERNEL(ck_q8_0_portable);
CK_BATCH_KERNEL(ck_q4_1_batch_portable);
CK_BATCH_KERNEL(ck_q8_0_batch_portable);
#if defined(__x86_64__) || defined(__i386__)
CK_ROW_KERNEL(ck_q4_1_avx2);
CK_ROW_KERNEL(ck_q8_0_avx2);
CK_ROW_KERNEL(ck_q4_1_avx512);
CK_ROW_KERNEL(ck_q8_0_avx512);
CK_BATCH_KERNEL(ck_q4_1_batch_avx2);
CK_BATCH_KERNEL(ck_q8_0_batch_avx2);
CK_BATCH_KERNEL(ck_q4_1_batch_avx512);
CK_BATCH_KERNEL(ck_q8_0_batch_avx512);
#endif

/// The fixed horizontal sum every kernel ends an output with.
static inline float ck_horizontal_sum(const float v[8]) {
    float a0 = v[0] + v[4], a1 = v[1] + v[5], a2 = v[2] + v[6], a3 = v[3] + v[7];
    float b0 = a0 + a2, b1 = a1 + a3;
    return b0 + b1;
}

static inline uint32_t ck_load_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint16_t ck_load_u16(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

/// IEEE half to float (exact, subnormals and infinities included).
static inline float ck_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
    uint32_t bits;
    if (exponent == 0x1F) {
        bits = sign | 0x7F800000u | (mantissa << 13);
    } else if (exponent != 0) {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
        bits = sign;
    } else {
        // Subnormal half: normalise into a float.
        int shift = 0;
        while ((mantissa & 0x400) == 0) { mantissa <<= 1; shift++; }
        mantissa &= 0x3FF;
        bits = sign | ((uint32_t)(113 - shift) << 23) | (mantissa << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/// The targets of every AVX2 and AVX-512 kernel: the features `ck_best_variant` requires
/// before it picks that variant.
#define CK_AVX2 __attribute__((target("avx2,fma,f16c")))
#define CK_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c")))
#define CK_INLINE __attribute__((always_inline)) inline

/// `ck_horizontal_sum`'s tree on a ymm register.
CK_AVX2 static inline float ck_horizontal_sum_avx2(__m256 v) {
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    __m128 b = _mm_add_ps(a, _mm_movehl_ps(a, a));
    return _mm_cvtss_f32(_mm_add_ss(b, _mm_shuffle_ps(b, b, 1)));
}
#endif

#include "CKernels.h"

/// `requested`, or the best variant below it when the CPU lacks it (the dispatching entry
/// points of every kernel file use it).
ck_variant ck_usable_variant(ck_variant requested);

#endif
