// Q4_0, F16 and F32 products in portable and AVX2 variants (AVX-512 machines run the AVX2
// code), chosen at run time. One vector takes the rows four at a time (four independent
// accumulation chains). A batch, as the Swift panel tiles do, unpacks two rows at a time
// into a small F32 panel, once, and runs a register tile of 2 rows × up to 6 vectors over
// it; each output still has its own accumulator and the one-vector sequence of operations.

// No contraction of a*b+c beyond the explicit fused operations.
#pragma STDC FP_CONTRACT OFF

#include <math.h>
#include <stdlib.h>
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
    for (int i = 0; i < R; i++) out[i] = ck_horizontal_sum_avx2(acc[i]);
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

/// Row `row`'s weights as floats in kernel order (the same floats `quarter` gives); a Q4_0
/// block's nibbles and scale are read once for its four quarters.
CK_AVX2 static void unpack_avx2(ck_format format, const uint8_t *row, size_t blocks, float *panel) {
    size_t bytes = block_bytes(format);
    for (size_t b = 0; b < blocks; b++) {
        const uint8_t *block = row + bytes * b;
        if (format == CK_FORMAT_Q4_0) {
            __m128i w = _mm_loadu_si128((const __m128i *)(block + 2));
            __m256i words = _mm256_set_m128i(_mm_srli_epi32(w, 4), w);
            __m256 d = _mm256_set1_ps(_mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(ck_load_u16(block)))));
            const __m256i mask = _mm256_set1_epi32(0x0F);
            const __m256 eight = _mm256_set1_ps(8.0f);
            _mm256_storeu_ps(panel + 32 * b, _mm256_mul_ps(_mm256_sub_ps(_mm256_cvtepi32_ps(_mm256_and_si256(words, mask)), eight), d));
            _mm256_storeu_ps(panel + 32 * b + 8, _mm256_mul_ps(_mm256_sub_ps(_mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(words, 8), mask)), eight), d));
            _mm256_storeu_ps(panel + 32 * b + 16, _mm256_mul_ps(_mm256_sub_ps(_mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(words, 16), mask)), eight), d));
            _mm256_storeu_ps(panel + 32 * b + 24, _mm256_mul_ps(_mm256_sub_ps(_mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(words, 24), mask)), eight), d));
        } else {
            for (int t = 0; t < 4; t++) _mm256_storeu_ps(panel + 32 * b + 8 * t, quarter(format, block, t));
        }
    }
}

/// R (1 or 2) unpacked rows × V (1...6) vectors: up to 12 accumulators.
CK_AVX2 static CK_INLINE void panel_tile(int R, int V, const float *panel, size_t columns, const float *x,
                                          size_t x_stride, float *out, size_t out_stride) {
    __m256 acc[2][6];
    for (int i = 0; i < R; i++)
        for (int v = 0; v < V; v++) acc[i][v] = _mm256_setzero_ps();
    const float *w1 = panel + (R >= 2 ? columns : 0);
    for (size_t o = 0; o < columns; o += 8) {
        __m256 u0 = _mm256_loadu_ps(panel + o), u1 = _mm256_loadu_ps(w1 + o);
        for (int v = 0; v < V; v++) {
            __m256 y = _mm256_loadu_ps(x + v * x_stride + o);
            acc[0][v] = _mm256_fmadd_ps(u0, y, acc[0][v]);
            if (R >= 2) acc[1][v] = _mm256_fmadd_ps(u1, y, acc[1][v]);
        }
    }
    for (int v = 0; v < V; v++)
        for (int i = 0; i < R; i++) out[v * out_stride + i] = ck_horizontal_sum_avx2(acc[i][v]);
}

#define PANEL_TILE(R, V)                                                                             \
    CK_AVX2 static void panel_tile_##R##_##V(const float *panel, size_t columns, const float *x, size_t x_stride, \
                                              float *out, size_t out_stride) {                       \
        panel_tile(R, V, panel, columns, x, x_stride, out, out_stride);                              \
    }
#define PANEL_TILES(R) PANEL_TILE(R, 1) PANEL_TILE(R, 2) PANEL_TILE(R, 3) PANEL_TILE(R, 4) PANEL_TILE(R, 5) PANEL_TILE(R, 6)
PANEL_TILES(1)
PANEL_TILES(2)

typedef void (*panel_tile_fn)(const float *, size_t, const float *, size_t, float *, size_t);

static const panel_tile_fn panel_tiles[2][6] = {
    {panel_tile_1_1, panel_tile_1_2, panel_tile_1_3, panel_tile_1_4, panel_tile_1_5, panel_tile_1_6},
    {panel_tile_2_1, panel_tile_2_2, panel_tile_2_3, panel_tile_2_4, panel_tile_2_5, panel_tile_2_6},
};

/// Rows two at a time (then one), each pair unpacked once and run against the vectors six
/// at a time. Returns 0 when the panel cannot be allocated (the caller then goes vector by
/// vector, which computes the same bits).
static int batch_avx2(ck_format format, const uint8_t *data, size_t row_bytes, size_t columns, size_t row_begin,
                      size_t row_end, const float *x, size_t x_stride, size_t count, float *out, size_t out_stride) {
    float *panel = malloc(2 * columns * sizeof(float));
    if (!panel) return 0;
    size_t blocks = columns / 32;
    for (size_t r = row_begin; r < row_end;) {
        size_t rows = row_end - r >= 2 ? 2 : 1;
        // F32 rows already are such a panel (consecutive rows, natural order).
        const float *weights = (const float *)(data + r * row_bytes);
        if (format != CK_FORMAT_F32) {
            for (size_t i = 0; i < rows; i++) unpack_avx2(format, data + (r + i) * row_bytes, blocks, panel + i * columns);
            weights = panel;
        }
        for (size_t v = 0; v < count; v += 6) {
            size_t vectors = count - v < 6 ? count - v : 6;
            panel_tiles[rows - 1][vectors - 1](weights, columns, x + v * x_stride, x_stride,
                                               out + v * out_stride + r, out_stride);
        }
        r += rows;
    }
    free(panel);
    return 1;
}
#endif

void ck_matmul_format(ck_variant variant, ck_format format, const void *data, size_t row_bytes, size_t columns,
                      size_t row_begin, size_t row_end, const float *x, size_t x_stride, size_t count,
                      float *out, size_t out_stride) {
    ck_variant usable = ck_usable_variant(variant);
#if defined(__x86_64__) || defined(__i386__)
    if (usable != CK_VARIANT_PORTABLE && count > 1
        && batch_avx2(format, data, row_bytes, columns, row_begin, row_end, x, x_stride, count, out, out_stride))
        return;
#endif
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
