// The AVX2/FMA variant: eight lanes per ymm register, four rows at a time so that four
// independent accumulation chains hide the FMA latency. The Q8_0 kernel (the output layer,
// read from memory every token) fetches the next rows while it works on these.
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include "variants.h"


CK_AVX2 static inline float half(const uint8_t *p) {
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(ck_load_u16(p))));
}

/// 16 bytes of nibbles as eight words: the bytes, then the bytes shifted down by four.
CK_AVX2 static inline __m256i nibble_words(const uint8_t *p) {
    __m128i w = _mm_loadu_si128((const __m128i *)p);
    return _mm256_set_m128i(_mm_srli_epi32(w, 4), w);
}

#define Q4_1_ROWS(R)                                                                          \
    CK_AVX2 static void q4_1_rows##R(const uint8_t *row, size_t row_bytes, size_t blocks,    \
                                     const float *x, float *out) {                           \
        const __m256i mask = _mm256_set1_epi32(0x0F);                                         \
        __m256 acc[R];                                                                        \
        for (int i = 0; i < R; i++) acc[i] = _mm256_setzero_ps();                             \
        for (size_t b = 0; b < blocks; b++) {                                                 \
            const float *xb = x + 32 * b;                                                     \
            __m256i words[R];                                                                 \
            __m256 d[R], m[R];                                                                \
            for (int i = 0; i < R; i++) {                                                     \
                const uint8_t *block = row + i * row_bytes + 20 * b;                          \
                words[i] = nibble_words(block + 4);                                           \
                d[i] = _mm256_set1_ps(half(block));                                           \
                m[i] = _mm256_set1_ps(half(block + 2));                                       \
            }                                                                                 \
            for (int t = 0; t < 4; t++) {                                                     \
                __m256 xq = _mm256_loadu_ps(xb + 8 * t);                                      \
                for (int i = 0; i < R; i++) {                                                 \
                    __m256i q = _mm256_and_si256(_mm256_srli_epi32(words[i], 8 * t), mask);   \
                    __m256 w = _mm256_fmadd_ps(_mm256_cvtepi32_ps(q), d[i], m[i]);            \
                    acc[i] = _mm256_fmadd_ps(w, xq, acc[i]);                                  \
                }                                                                             \
            }                                                                                 \
        }                                                                                     \
        for (int i = 0; i < R; i++) out[i] = ck_horizontal_sum_avx2(acc[i]);                  \
    }

Q4_1_ROWS(4)
Q4_1_ROWS(1)

CK_ROW_KERNEL(ck_q4_1_avx2) {
    size_t blocks = columns / 32, r = row_begin;
    for (; r + 4 <= row_end; r += 4) q4_1_rows4(data + r * row_bytes, row_bytes, blocks, x, out + r);
    for (; r < row_end; r++) q4_1_rows1(data + r * row_bytes, row_bytes, blocks, x, out + r);
}

/// Byte t of each word, sign-extended: brought to the top of its lane and shifted back.
CK_AVX2 static inline __m256i signed_byte(__m256i words, int t) {
    switch (t) {
    case 0: return _mm256_srai_epi32(_mm256_slli_epi32(words, 24), 24);
    case 1: return _mm256_srai_epi32(_mm256_slli_epi32(words, 16), 24);
    case 2: return _mm256_srai_epi32(_mm256_slli_epi32(words, 8), 24);
    default: return _mm256_srai_epi32(words, 24);
    }
}

#define Q8_0_ROWS(R)                                                                          \
    CK_AVX2 static void q8_0_rows##R(const uint8_t *row, size_t row_bytes, size_t blocks,    \
                                     const float *x, float *out) {                           \
        __m256 acc[R];                                                                        \
        for (int i = 0; i < R; i++) acc[i] = _mm256_setzero_ps();                             \
        for (size_t b = 0; b < blocks; b++) {                                                 \
            const float *xb = x + 32 * b;                                                     \
            __m256i words[R];                                                                 \
            __m256 d[R];                                                                      \
            for (int i = 0; i < R; i++) {                                                     \
                const uint8_t *block = row + i * row_bytes + 34 * b;                          \
                _mm_prefetch((const char *)(block + R * row_bytes), _MM_HINT_T0);              \
                words[i] = _mm256_loadu_si256((const __m256i *)(block + 2));                  \
                d[i] = _mm256_set1_ps(half(block));                                           \
            }                                                                                 \
            for (int t = 0; t < 4; t++) {                                                     \
                __m256 xq = _mm256_loadu_ps(xb + 8 * t);                                      \
                for (int i = 0; i < R; i++) {                                                 \
                    __m256 w = _mm256_mul_ps(_mm256_cvtepi32_ps(signed_byte(words[i], t)), d[i]); \
                    acc[i] = _mm256_fmadd_ps(w, xq, acc[i]);                                  \
                }                                                                             \
            }                                                                                 \
        }                                                                                     \
        for (int i = 0; i < R; i++) out[i] = ck_horizontal_sum_avx2(acc[i]);                  \
    }

Q8_0_ROWS(4)
Q8_0_ROWS(1)

CK_ROW_KERNEL(ck_q8_0_avx2) {
    size_t blocks = columns / 32, r = row_begin;
    for (; r + 4 <= row_end; r += 4) q8_0_rows4(data + r * row_bytes, row_bytes, blocks, x, out + r);
    for (; r < row_end; r++) q8_0_rows1(data + r * row_bytes, row_bytes, blocks, x, out + r);
}

// Batch kernels: a tile of R rows (1 or 2) × V vectors (1...6), each block's weights
// unpacked once per quarter and used for all V vectors: up to 12 accumulators, 2 weight
// registers and 1 activation register. Each output still has its own accumulator and the
// row kernels' sequence of operations.

CK_AVX2 static CK_INLINE void q4_1_tile(const uint8_t *row, size_t row_bytes, size_t blocks, int R, int V,
                                         const float *x, size_t x_stride, float *out, size_t out_stride) {
    const __m256i mask = _mm256_set1_epi32(0x0F);
    __m256 acc[2][CK_TILE_VECTORS];
    for (int i = 0; i < R; i++)
        for (int v = 0; v < V; v++) acc[i][v] = _mm256_setzero_ps();
    for (size_t b = 0; b < blocks; b++) {
        __m256i words[2];
        __m256 d[2], m[2];
        for (int i = 0; i < R; i++) {
            const uint8_t *block = row + i * row_bytes + 20 * b;
            _mm_prefetch((const char *)(block + R * row_bytes), _MM_HINT_T0);
            words[i] = nibble_words(block + 4);
            d[i] = _mm256_set1_ps(half(block));
            m[i] = _mm256_set1_ps(half(block + 2));
        }
        for (int t = 0; t < 4; t++) {
            __m256 w[2];
            for (int i = 0; i < R; i++) {
                __m256i q = _mm256_and_si256(_mm256_srli_epi32(words[i], 8 * t), mask);
                w[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(q), d[i], m[i]);
            }
            for (int v = 0; v < V; v++) {
                __m256 xq = _mm256_loadu_ps(x + v * x_stride + 32 * b + 8 * t);
                for (int i = 0; i < R; i++) acc[i][v] = _mm256_fmadd_ps(w[i], xq, acc[i][v]);
            }
        }
    }
    for (int v = 0; v < V; v++)
        for (int i = 0; i < R; i++) out[v * out_stride + i] = ck_horizontal_sum_avx2(acc[i][v]);
}

CK_AVX2 static CK_INLINE void q8_0_tile(const uint8_t *row, size_t row_bytes, size_t blocks, int R, int V,
                                         const float *x, size_t x_stride, float *out, size_t out_stride) {
    __m256 acc[2][CK_TILE_VECTORS];
    for (int i = 0; i < R; i++)
        for (int v = 0; v < V; v++) acc[i][v] = _mm256_setzero_ps();
    for (size_t b = 0; b < blocks; b++) {
        __m256i words[2];
        __m256 d[2];
        for (int i = 0; i < R; i++) {
            const uint8_t *block = row + i * row_bytes + 34 * b;
            _mm_prefetch((const char *)(block + R * row_bytes), _MM_HINT_T0);
            words[i] = _mm256_loadu_si256((const __m256i *)(block + 2));
            d[i] = _mm256_set1_ps(half(block));
        }
        for (int t = 0; t < 4; t++) {
            __m256 w[2];
            for (int i = 0; i < R; i++) w[i] = _mm256_mul_ps(_mm256_cvtepi32_ps(signed_byte(words[i], t)), d[i]);
            for (int v = 0; v < V; v++) {
                __m256 xq = _mm256_loadu_ps(x + v * x_stride + 32 * b + 8 * t);
                for (int i = 0; i < R; i++) acc[i][v] = _mm256_fmadd_ps(w[i], xq, acc[i][v]);
            }
        }
    }
    for (int v = 0; v < V; v++)
        for (int i = 0; i < R; i++) out[v * out_stride + i] = ck_horizontal_sum_avx2(acc[i][v]);
}

/// One non-inlined function per (format, R, V), so that every tile's loops are unrolled
/// with constant bounds and its accumulators live in registers.
#define TILE_INSTANCE(format, R, V)                                                           \
    CK_AVX2 static void format##_tile_##R##_##V(const uint8_t *row, size_t row_bytes, size_t blocks, \
                                                 const float *x, size_t x_stride, float *out, size_t out_stride) { \
        format##_tile(row, row_bytes, blocks, R, V, x, x_stride, out, out_stride);           \
    }
#define TILE_INSTANCES(format, R) \
    TILE_INSTANCE(format, R, 1) TILE_INSTANCE(format, R, 2) TILE_INSTANCE(format, R, 3) \
    TILE_INSTANCE(format, R, 4) TILE_INSTANCE(format, R, 5) TILE_INSTANCE(format, R, 6)
TILE_INSTANCES(q4_1, 1)
TILE_INSTANCES(q4_1, 2)
TILE_INSTANCES(q8_0, 1)
TILE_INSTANCES(q8_0, 2)

typedef void (*tile_fn)(const uint8_t *, size_t, size_t, const float *, size_t, float *, size_t);

static const tile_fn q4_1_tiles[2][CK_TILE_VECTORS] = {
    {q4_1_tile_1_1, q4_1_tile_1_2, q4_1_tile_1_3, q4_1_tile_1_4, q4_1_tile_1_5, q4_1_tile_1_6},
    {q4_1_tile_2_1, q4_1_tile_2_2, q4_1_tile_2_3, q4_1_tile_2_4, q4_1_tile_2_5, q4_1_tile_2_6},
};
static const tile_fn q8_0_tiles[2][CK_TILE_VECTORS] = {
    {q8_0_tile_1_1, q8_0_tile_1_2, q8_0_tile_1_3, q8_0_tile_1_4, q8_0_tile_1_5, q8_0_tile_1_6},
    {q8_0_tile_2_1, q8_0_tile_2_2, q8_0_tile_2_3, q8_0_tile_2_4, q8_0_tile_2_5, q8_0_tile_2_6},
};

/// Rows two at a time (then one), each pair against the vectors six at a time.
static void batch(const tile_fn tiles[2][CK_TILE_VECTORS], const uint8_t *data, size_t row_bytes, size_t columns,
                  size_t row_begin, size_t row_end, const float *x, size_t x_stride, size_t count,
                  float *out, size_t out_stride) {
    size_t blocks = columns / 32;
    for (size_t r = row_begin; r < row_end;) {
        size_t rows = row_end - r >= 2 ? 2 : 1;
        for (size_t v = 0; v < count; v += CK_TILE_VECTORS) {
            size_t vectors = count - v < CK_TILE_VECTORS ? count - v : CK_TILE_VECTORS;
            tiles[rows - 1][vectors - 1](data + r * row_bytes, row_bytes, blocks, x + v * x_stride, x_stride,
                                         out + v * out_stride + r, out_stride);
        }
        r += rows;
    }
}

CK_BATCH_KERNEL(ck_q4_1_batch_avx2) {
    batch(q4_1_tiles, data, row_bytes, columns, row_begin, row_end, x, x_stride, count, out, out_stride);
}

CK_BATCH_KERNEL(ck_q8_0_batch_avx2) {
    batch(q8_0_tiles, data, row_bytes, columns, row_begin, row_end, x, x_stride, count, out, out_stride);
}
#endif
