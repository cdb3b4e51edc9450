// The AVX-512 variant: one zmm register holds the eight lanes of two rows (row A in lanes
// 0-7, row B in 8-15), each half computing exactly what an AVX2 ymm computes for its row;
// several pairs at a time keep independent accumulation chains in flight.
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include "variants.h"


/// Row pairs per pass (2 rows each).
#define PAIRS 2

/// Rows are read in groups of 2 × PAIRS; the rows of a later group are fetched meanwhile
/// (the hardware prefetcher alone leaves the Q8_0 output layer waiting on memory).
#define PREFETCH(p) _mm_prefetch((const char *)(p), _MM_HINT_T0)

CK_AVX512 static inline void store_pair(__m512 acc, float *out) {
    out[0] = ck_horizontal_sum_avx2(_mm512_castps512_ps256(acc));
    out[1] = ck_horizontal_sum_avx2(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc), 1)));
}

/// Two scales (the f16 at `a` and the one at `b`) as [a × 8, b × 8].
CK_AVX512 static inline __m512 pair_scale(const uint8_t *a, const uint8_t *b) {
    __m128 f = _mm_cvtph_ps(_mm_cvtsi32_si128((int)(ck_load_u16(a) | ((uint32_t)ck_load_u16(b) << 16))));
    const __m512i index = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    return _mm512_permutexvar_ps(index, _mm512_castps128_ps512(f));
}

/// Block b of the PAIRS row pairs starting at `row`, unpacked for both the row and the batch
/// kernels: each pair's nibble words (row A's in lanes 0-7, row B's in 8-15) and its scales
/// and minimums; the rows of the next group are fetched meanwhile.
CK_AVX512 static CK_INLINE void q4_1_pair_blocks(const uint8_t *row, size_t row_bytes, size_t b, __m512i words[PAIRS],
                                                  __m512 d[PAIRS], __m512 m[PAIRS]) {
    for (int i = 0; i < PAIRS; i++) {
        const uint8_t *ba = row + (2 * i) * row_bytes + 20 * b, *bb = ba + row_bytes;
        PREFETCH(ba + 2 * PAIRS * row_bytes);
        PREFETCH(bb + 2 * PAIRS * row_bytes);
        __m512i z = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(ba + 4)));
        z = _mm512_mask_broadcast_i32x4(z, 0xFF00, _mm_loadu_si128((const __m128i *)(bb + 4)));
        words[i] = _mm512_mask_srli_epi32(z, 0xF0F0, z, 4);
        d[i] = pair_scale(ba, bb);
        m[i] = pair_scale(ba + 2, bb + 2);
    }
}

/// The same for Q8_0: each pair's 32 signed bytes per row and its scales.
CK_AVX512 static CK_INLINE void q8_0_pair_blocks(const uint8_t *row, size_t row_bytes, size_t b, __m512i words[PAIRS],
                                                  __m512 d[PAIRS]) {
    for (int i = 0; i < PAIRS; i++) {
        const uint8_t *ba = row + (2 * i) * row_bytes + 34 * b, *bb = ba + row_bytes;
        PREFETCH(ba + 2 * PAIRS * row_bytes);
        PREFETCH(bb + 2 * PAIRS * row_bytes);
        words[i] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(ba + 2))),
                                      _mm256_loadu_si256((const __m256i *)(bb + 2)), 1);
        d[i] = pair_scale(ba, bb);
    }
}

CK_AVX512 static void q4_1_pairs(const uint8_t *row, size_t row_bytes, size_t blocks, const float *x, float *out) {
    const __m512i mask = _mm512_set1_epi32(0x0F);
    __m512 acc[PAIRS];
    for (int i = 0; i < PAIRS; i++) acc[i] = _mm512_setzero_ps();
    for (size_t b = 0; b < blocks; b++) {
        const float *xb = x + 32 * b;
        __m512i words[PAIRS];
        __m512 d[PAIRS], m[PAIRS];
        q4_1_pair_blocks(row, row_bytes, b, words, d, m);
        for (int t = 0; t < 4; t++) {
            __m512 xq = _mm512_broadcast_f32x8(_mm256_loadu_ps(xb + 8 * t));
            for (int i = 0; i < PAIRS; i++) {
                __m512i q = _mm512_and_si512(_mm512_srli_epi32(words[i], 8 * t), mask);
                __m512 w = _mm512_fmadd_ps(_mm512_cvtepi32_ps(q), d[i], m[i]);
                acc[i] = _mm512_fmadd_ps(w, xq, acc[i]);
            }
        }
    }
    for (int i = 0; i < PAIRS; i++) store_pair(acc[i], out + 2 * i);
}

CK_ROW_KERNEL(ck_q4_1_avx512) {
    size_t blocks = columns / 32, r = row_begin;
    for (; r + 2 * PAIRS <= row_end; r += 2 * PAIRS) q4_1_pairs(data + r * row_bytes, row_bytes, blocks, x, out + r);
    if (r < row_end) ck_q4_1_avx2(data, row_bytes, columns, r, row_end, x, out);
}

CK_AVX512 static inline __m512i signed_byte(__m512i words, int t) {
    switch (t) {
    case 0: return _mm512_srai_epi32(_mm512_slli_epi32(words, 24), 24);
    case 1: return _mm512_srai_epi32(_mm512_slli_epi32(words, 16), 24);
    case 2: return _mm512_srai_epi32(_mm512_slli_epi32(words, 8), 24);
    default: return _mm512_srai_epi32(words, 24);
    }
}

CK_AVX512 static void q8_0_pairs(const uint8_t *row, size_t row_bytes, size_t blocks, const float *x, float *out) {
    __m512 acc[PAIRS];
    for (int i = 0; i < PAIRS; i++) acc[i] = _mm512_setzero_ps();
    for (size_t b = 0; b < blocks; b++) {
        const float *xb = x + 32 * b;
        __m512i words[PAIRS];
        __m512 d[PAIRS];
        q8_0_pair_blocks(row, row_bytes, b, words, d);
        for (int t = 0; t < 4; t++) {
            __m512 xq = _mm512_broadcast_f32x8(_mm256_loadu_ps(xb + 8 * t));
            for (int i = 0; i < PAIRS; i++) {
                __m512 w = _mm512_mul_ps(_mm512_cvtepi32_ps(signed_byte(words[i], t)), d[i]);
                acc[i] = _mm512_fmadd_ps(w, xq, acc[i]);
            }
        }
    }
    for (int i = 0; i < PAIRS; i++) store_pair(acc[i], out + 2 * i);
}

CK_ROW_KERNEL(ck_q8_0_avx512) {
    size_t blocks = columns / 32, r = row_begin;
    for (; r + 2 * PAIRS <= row_end; r += 2 * PAIRS) q8_0_pairs(data + r * row_bytes, row_bytes, blocks, x, out + r);
    if (r < row_end) ck_q8_0_avx2(data, row_bytes, columns, r, row_end, x, out);
}

// Batch kernels: a tile of PAIRS row pairs × V vectors (1...6), each vector's quarter
// broadcast to both halves of a zmm so that one FMA advances two rows' accumulators; the
// pairs' weights are unpacked once per quarter for all V vectors. Up to 12 accumulators.

CK_AVX512 static CK_INLINE void q4_1_tile(const uint8_t *row, size_t row_bytes, size_t blocks, int V,
                                           const float *x, size_t x_stride, float *out, size_t out_stride) {
    const __m512i mask = _mm512_set1_epi32(0x0F);
    __m512 acc[PAIRS][CK_TILE_VECTORS];
    for (int i = 0; i < PAIRS; i++)
        for (int v = 0; v < V; v++) acc[i][v] = _mm512_setzero_ps();
    for (size_t b = 0; b < blocks; b++) {
        __m512i words[PAIRS];
        __m512 d[PAIRS], m[PAIRS];
        q4_1_pair_blocks(row, row_bytes, b, words, d, m);
        for (int t = 0; t < 4; t++) {
            __m512 w[PAIRS];
            for (int i = 0; i < PAIRS; i++) {
                __m512i q = _mm512_and_si512(_mm512_srli_epi32(words[i], 8 * t), mask);
                w[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(q), d[i], m[i]);
            }
            for (int v = 0; v < V; v++) {
                __m512 xq = _mm512_broadcast_f32x8(_mm256_loadu_ps(x + v * x_stride + 32 * b + 8 * t));
                for (int i = 0; i < PAIRS; i++) acc[i][v] = _mm512_fmadd_ps(w[i], xq, acc[i][v]);
            }
        }
    }
    for (int v = 0; v < V; v++)
        for (int i = 0; i < PAIRS; i++) store_pair(acc[i][v], out + v * out_stride + 2 * i);
}

CK_AVX512 static CK_INLINE void q8_0_tile(const uint8_t *row, size_t row_bytes, size_t blocks, int V,
                                           const float *x, size_t x_stride, float *out, size_t out_stride) {
    __m512 acc[PAIRS][CK_TILE_VECTORS];
    for (int i = 0; i < PAIRS; i++)
        for (int v = 0; v < V; v++) acc[i][v] = _mm512_setzero_ps();
    for (size_t b = 0; b < blocks; b++) {
        __m512i words[PAIRS];
        __m512 d[PAIRS];
        q8_0_pair_blocks(row, row_bytes, b, words, d);
        for (int t = 0; t < 4; t++) {
            __m512 w[PAIRS];
            for (int i = 0; i < PAIRS; i++) w[i] = _mm512_mul_ps(_mm512_cvtepi32_ps(signed_byte(words[i], t)), d[i]);
            for (int v = 0; v < V; v++) {
                __m512 xq = _mm512_broadcast_f32x8(_mm256_loadu_ps(x + v * x_stride + 32 * b + 8 * t));
                for (int i = 0; i < PAIRS; i++) acc[i][v] = _mm512_fmadd_ps(w[i], xq, acc[i][v]);
            }
        }
    }
    for (int v = 0; v < V; v++)
        for (int i = 0; i < PAIRS; i++) store_pair(acc[i][v], out + v * out_stride + 2 * i);
}

/// One non-inlined function per (format, V): constant loop bounds, accumulators in registers.
#define TILE_INSTANCE(format, V)                                                              \
    CK_AVX512 static void format##_tile_##V(const uint8_t *row, size_t row_bytes, size_t blocks, \
                                             const float *x, size_t x_stride, float *out, size_t out_stride) { \
        format##_tile(row, row_bytes, blocks, V, x, x_stride, out, out_stride);              \
    }
#define TILE_INSTANCES(format) \
    TILE_INSTANCE(format, 1) TILE_INSTANCE(format, 2) TILE_INSTANCE(format, 3) \
    TILE_INSTANCE(format, 4) TILE_INSTANCE(format, 5) TILE_INSTANCE(format, 6)
TILE_INSTANCES(q4_1)
TILE_INSTANCES(q8_0)

typedef void (*tile_fn)(const uint8_t *, size_t, size_t, const float *, size_t, float *, size_t);

static const tile_fn q4_1_tiles[CK_TILE_VECTORS] = {q4_1_tile_1, q4_1_tile_2, q4_1_tile_3,
                                                    q4_1_tile_4, q4_1_tile_5, q4_1_tile_6};
static const tile_fn q8_0_tiles[CK_TILE_VECTORS] = {q8_0_tile_1, q8_0_tile_2, q8_0_tile_3,
                                                    q8_0_tile_4, q8_0_tile_5, q8_0_tile_6};

/// Rows 2 × PAIRS at a time, each group against the vectors six at a time; the last rows
/// (fewer than a group) go to the AVX2 tiles, which compute the same bits.
static size_t batch(const tile_fn tiles[CK_TILE_VECTORS], const uint8_t *data, size_t row_bytes, size_t columns,
                    size_t row_begin, size_t row_end, const float *x, size_t x_stride, size_t count,
                    float *out, size_t out_stride) {
    size_t blocks = columns / 32, r = row_begin;
    for (; r + 2 * PAIRS <= row_end; r += 2 * PAIRS) {
        for (size_t v = 0; v < count; v += CK_TILE_VECTORS) {
            size_t vectors = count - v < CK_TILE_VECTORS ? count - v : CK_TILE_VECTORS;
            tiles[vectors - 1](data + r * row_bytes, row_bytes, blocks, x + v * x_stride, x_stride,
                               out + v * out_stride + r, out_stride);
        }
    }
    return r;
}

CK_BATCH_KERNEL(ck_q4_1_batch_avx512) {
    size_t r = batch(q4_1_tiles, data, row_bytes, columns, row_begin, row_end, x, x_stride, count, out, out_stride);
    if (r < row_end) ck_q4_1_batch_avx2(data, row_bytes, columns, r, row_end, x, x_stride, count, out, out_stride);
}

CK_BATCH_KERNEL(ck_q8_0_batch_avx512) {
    size_t r = batch(q8_0_tiles, data, row_bytes, columns, row_begin, row_end, x, x_stride, count, out, out_stride);
    if (r < row_end) ck_q8_0_batch_avx2(data, row_bytes, columns, r, row_end, x, x_stride, count, out, out_stride);
}
#endif
