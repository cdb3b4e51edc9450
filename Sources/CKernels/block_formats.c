// Q4_0, F16 and F32 products in portable and AVX2 variants (AVX-512 machines run the AVX2
// code), chosen at run time. Rows are taken four at a time (four independent accumulation
// chains); a batch runs each vector through the rows in turn, so every output is computed
// as for one vector alone.

// No contraction of a*b+c beyond the explicit fused operations.
#pragma STDC FP_CONTRACT OFF

#include <math.h>
#include "CKernels.h"
#include "variants.h"

/// Bytes of one 32-weight block of `format`.
static size_t block_bytes(ck_format format) {
    switch (format) {
    case CK_FORMAT_Q4_0: return 18;
    case CK_FORMAT_F16: return 64;
    default: return 128;
    }
}

/// Weight 8t + l of the kernel order of a block (see `InputOrder` in Kernels.swift).
static inline float portable_weight(ck_format format, const uint8_t *block, int t, int l) {
    switch (format) {
    case CK_FORMAT_Q4_0: {
        uint8_t byte = block[2 + 4 * (l & 3) + t];
        float q = (float)(l < 4 ? byte & 0x0F : byte >> 4);
        return (q - 8.0f) * ck_half_to_float(ck_load_u16(block));
    }
    case CK_FORMAT_F16: return ck_half_to_float(ck_load_u16(block + 2 * (8 * t + l)));
    default: {
        float w;
        memcpy(&w, block + 4 * (8 * t + l), 4);
        return w;
    }
    }
}

static void rows_portable(ck_format format, const uint8_t *data, size_t row_bytes, size_t columns, size_t row_begin,
                          size_t row_end, const float *x, float *out) {
    size_t blocks = columns / 32, bytes = block_bytes(format);
    for (size_t r = row_begin; r < row_end; r++) {
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (size_t b = 0; b < blocks; b++) {
            const uint8_t *block = data + r * row_bytes + bytes * b;
            for (int t = 0; t < 4; t++)
                for (int l = 0; l < 8; l++) acc[l] = fmaf(portable_weight(format, block, t, l), x[32 * b + 8 * t + l], acc[l]);
        }
        out[r] = ck_horizontal_sum(acc);
    }
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define CK_AVX2 __attribute__((target("avx2,fma,f16c")))
#define CK_INLINE __attribute__((always_inline)) inline

CK_AVX2 static inline float horizontal_sum(__m256 v) {
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    __m128 b = _mm_add_ps(a, _mm_movehl_ps(a, a));
    return _mm_cvtss_f32(_mm_add_ss(b, _mm_shuffle_ps(b, b, 1)));
}

/// Weights 8t..<8t+8 of a block, as the Swift `quarter(_:_:)` of its format.
CK_AVX2 static CK_INLINE __m256 quarter(ck_format format, const uint8_t *block, int t) {
    switch (format) {
    case CK_FORMAT_Q4_0: {
        __m128i w = _mm_loadu_si128((const __m128i *)(block + 2));
        __m256i words = _mm256_set_m128i(_mm_srli_epi32(w, 4), w);
        __m256i q = _mm256_and_si256(_mm256_srli_epi32(words, 8 * t), _mm256_set1_epi32(0x0F));
        __m256 d = _mm256_set1_ps(_mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(ck_load_u16(block)))));
        return _mm256_mul_ps(_mm256_sub_ps(_mm256_cvtepi32_ps(q), _mm256_set1_ps(8.0f)), d);
    }
    case CK_FORMAT_F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(block + 16 * t)));
    default: return _mm256_loadu_ps((const float *)(block + 32 * t));
    }
}

CK_AVX2 static CK_INLINE void rows_avx2(ck_format format, int R, const uint8_t *row, size_t row_bytes, size_t blocks,
                                         const float *x, float *out) {
    size_t bytes = block_bytes(format);
    __m256 acc[4];
    for (int i = 0; i < R; i++) acc[i] = _mm256_setzero_ps();
    for (size_t b = 0; b < blocks; b++) {
        for (int t = 0; t < 4; t++) {
            __m256 xq = _mm256_loadu_ps(x + 32 * b + 8 * t);
            for (int i = 0; i < R; i++) acc[i] = _mm256_fmadd_ps(quarter(format, row + i * row_bytes + bytes * b, t), xq, acc[i]);
        }
    }
    for (int i = 0; i < R; i++) out[i] = horizontal_sum(acc[i]);
}

#define ROWS_AVX2(name, format, R)                                                                    \
    CK_AVX2 static void name##_rows##R(const uint8_t *row, size_t row_bytes, size_t blocks, const float *x, float *out) { \
        rows_avx2(format, R, row, row_bytes, blocks, x, out);                                          \
    }
ROWS_AVX2(q4_0, CK_FORMAT_Q4_0, 4) ROWS_AVX2(q4_0, CK_FORMAT_Q4_0, 1)
ROWS_AVX2(f16, CK_FORMAT_F16, 4) ROWS_AVX2(f16, CK_FORMAT_F16, 1)
ROWS_AVX2(f32, CK_FORMAT_F32, 4) ROWS_AVX2(f32, CK_FORMAT_F32, 1)

typedef void (*rows_fn)(const uint8_t *, size_t, size_t, const float *, float *);

static void vector_avx2(ck_format format, const uint8_t *data, size_t row_bytes, size_t columns, size_t row_begin,
                        size_t row_end, const float *x, float *out) {
    rows_fn four = format == CK_FORMAT_Q4_0 ? q4_0_rows4 : format == CK_FORMAT_F16 ? f16_rows4 : f32_rows4;
    rows_fn one = format == CK_FORMAT_Q4_0 ? q4_0_rows1 : format == CK_FORMAT_F16 ? f16_rows1 : f32_rows1;
    size_t blocks = columns / 32, r = row_begin;
    for (; r + 4 <= row_end; r += 4) four(data + r * row_bytes, row_bytes, blocks, x, out + r);
    for (; r < row_end; r++) one(data + r * row_bytes, row_bytes, blocks, x, out + r);
}
#endif

void ck_matmul_format(ck_variant variant, ck_format format, const void *data, size_t row_bytes, size_t columns,
                      size_t row_begin, size_t row_end, const float *x, size_t x_stride, size_t count,
                      float *out, size_t out_stride) {
    ck_variant usable = ck_usable_variant(variant);
    for (size_t v = 0; v < count; v++) {
#if defined(__x86_64__) || defined(__i386__)
        if (usable != CK_VARIANT_PORTABLE) {
            vector_avx2(format, data, row_bytes, columns, row_begin, row_end, x + v * x_stride, out + v * out_stride);
            continue;
        }
#endif
        rows_portable(format, data, row_bytes, columns, row_begin, row_end, x + v * x_stride, out + v * out_stride);
    }
}
