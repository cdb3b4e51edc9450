// The llama attention kernels of ck_attention.h in three variants, chosen at run time.
//
// Portable: plain C, lane by lane, with fmaf where the vector variants fuse. AVX2: a query
// against eight keys at a time, one ymm chain pair (a, b) per key, then the eight horizontal
// sums done together as a transposed reduction that keeps each sum's tree. AVX-512: for a
// few queries (decoding), the same with lanes 0/1, 2/3, 4/5, 6/7 of a key in one zmm
// register (a in the low half, b in the high half); for many (prefill), blocks of 16 keys
// transposed once so that a query meets them with broadcast FMAs and its horizontal tree
// becomes vertical additions; and the weighted sums four queries at a time over zmm
// registers, which the 32 registers of AVX-512 hold.
//
// Several queries share each key and value load: a block of keys (2-4 KB for a 64-wide
// head) is read from memory once and then from L1 for every query of the call; a value row is
// read once per pass of two (AVX2) or four (AVX-512) queries. No query's arithmetic depends on
// the others, so grouping never changes a bit.
#include <math.h>
#include <string.h>
#include "CKernels.h"
#include "variants.h"
#include "exp8.h"

// No contraction of a*b+c beyond the explicit fused operations.
#pragma STDC FP_CONTRACT OFF

// Scores are computed over segments of up to 64 dimensions (eight lanes of eight).
#define SEGMENT 64

/// Lane l of 8-float group j of a segment `width` wide (zero past the width).
static inline float lane_value(const float *p, size_t j, size_t l, size_t width) {
    return 8 * j < width ? p[8 * j + l] : 0.0f;
}

// MARK: portable

static float score_portable(const float *q, const float *k, size_t dimensions, float scale) {
    float score = 0.0f;
    for (size_t s = 0; s < dimensions; s += SEGMENT) {
        size_t width = dimensions - s < SEGMENT ? dimensions - s : SEGMENT;
        const float *qs = q + s, *ks = k + s;
        float v[8];
        for (size_t l = 0; l < 8; l++) {
            float a = lane_value(qs, 0, l, width) * lane_value(ks, 0, l, width);
            float b = lane_value(qs, 1, l, width) * lane_value(ks, 1, l, width);
            for (size_t j = 2; j < 8; j += 2) {
                if (width <= 8 * j) break;
                a = fmaf(lane_value(qs, j, l, width), lane_value(ks, j, l, width), a);
                b = fmaf(lane_value(qs, j + 1, l, width), lane_value(ks, j + 1, l, width), b);
            }
            v[l] = a + b;
        }
        score += ck_horizontal_sum(v);
    }
    return score * scale;
}

static void scores_portable(const float *q, size_t q_stride, size_t queries, const float *keys, size_t key_stride,
                            size_t count, size_t dimensions, float scale, float *scores, size_t score_stride) {
    for (size_t t0 = 0; t0 < count; t0 += 8) {
        size_t end = t0 + 8 < count ? t0 + 8 : count;
        for (size_t i = 0; i < queries; i++)
            for (size_t t = t0; t < end; t++)
                scores[i * score_stride + t] = score_portable(q + i * q_stride, keys + t * key_stride, dimensions, scale);
    }
}

static float softmax_portable(float *values, size_t count) {
    float top = -INFINITY;
    for (size_t i = 0; i < count; i++) top = values[i] > top ? values[i] : top;
    float sum[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (size_t i = 0; i < count; i++) {
        values[i] = ck_exp_lane(values[i] - top);
        sum[i % 8] += values[i];
    }
    return ck_horizontal_sum(sum);
}

static void weighted_sum_portable(const float *values, size_t value_stride, const float *weights, size_t weight_stride,
                                  const size_t *counts, const float *scales, size_t queries, size_t dimensions,
                                  float *out, size_t out_stride) {
    for (size_t i = 0; i < queries; i++) {
        const float *w = weights + i * weight_stride;
        for (size_t s = 0; s < dimensions; s += SEGMENT) {
            size_t width = dimensions - s < SEGMENT ? dimensions - s : SEGMENT;
            float acc[SEGMENT];
            for (size_t d = 0; d < width; d++) acc[d] = 0.0f;
            for (size_t t = 0; t < counts[i]; t++) {
                const float *v = values + t * value_stride + s;
                for (size_t d = 0; d < width; d++) acc[d] = fmaf(w[t], v[d], acc[d]);
            }
            for (size_t d = 0; d < width; d++) out[i * out_stride + s + d] = acc[d] * scales[i];
        }
    }
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>


// MARK: AVX2 (and the parts the AVX-512 variant shares: functions marked CK_AVX2 and
// inlined into a CK_AVX512 one are compiled with its instruction set)

CK_AVX2 static CK_INLINE __m256 lane256(const float *p, size_t j, size_t width) {
    return 8 * j < width ? _mm256_loadu_ps(p + 8 * j) : _mm256_setzero_ps();
}

/// a + b for one query and one key over a segment `width` wide.
CK_AVX2 static CK_INLINE __m256 key_lanes_avx2(const float *q, const float *k, size_t width) {
    __m256 a = _mm256_mul_ps(lane256(q, 0, width), lane256(k, 0, width));
    __m256 b = _mm256_mul_ps(lane256(q, 1, width), lane256(k, 1, width));
    for (size_t j = 2; j < 8; j += 2) {
        if (width <= 8 * j) break;
        a = _mm256_fmadd_ps(lane256(q, j, width), lane256(k, j, width), a);
        b = _mm256_fmadd_ps(lane256(q, j + 1, width), lane256(k, j + 1, width), b);
    }
    return _mm256_add_ps(a, b);
}

/// The horizontal sums of eight vectors at once, each by the tree
/// ((l0+l4)+(l2+l6))+((l1+l5)+(l3+l7)): halves added (two vectors per register), then the
/// pairs two apart, then neighbours.
CK_AVX2 static CK_INLINE __m256 horizontal_sums8(const __m256 v[8]) {
    __m256 c[4];
    for (int i = 0; i < 4; i++)
        c[i] = _mm256_add_ps(_mm256_permute2f128_ps(v[2 * i], v[2 * i + 1], 0x20),
                             _mm256_permute2f128_ps(v[2 * i], v[2 * i + 1], 0x31));
    __m256 d0 = _mm256_add_ps(_mm256_shuffle_ps(c[0], c[1], 0x44), _mm256_shuffle_ps(c[0], c[1], 0xEE));
    __m256 d1 = _mm256_add_ps(_mm256_shuffle_ps(c[2], c[3], 0x44), _mm256_shuffle_ps(c[2], c[3], 0xEE));
    // Lanes now hold the sums of vectors 0 2 4 6 | 1 3 5 7.
    __m256 h = _mm256_hadd_ps(d0, d1);
    return _mm256_permutevar8x32_ps(h, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/// Stores the first `n` (1...8) lanes of `v`.
CK_AVX2 static CK_INLINE void store_first(float *out, __m256 v, size_t n) {
    if (n == 8) {
        _mm256_storeu_ps(out, v);
    } else {
        float tmp[8];
        _mm256_storeu_ps(tmp, v);
        memcpy(out, tmp, n * sizeof(float));
    }
}

/// Scores of every query against keys [t0, t0 + n), n ≤ 8: one block of keys, read from
/// memory by the first query and from L1 by the others.
#define SCORES_BODY(key_lanes)                                                                          \
    for (size_t t0 = 0; t0 < count; t0 += 8) {                                                          \
        size_t n = count - t0 < 8 ? count - t0 : 8;                                                     \
        const float *block = keys + t0 * key_stride;                                                    \
        for (size_t i = 0; i < queries; i++) {                                                          \
            const float *qi = q + i * q_stride;                                                         \
            __m256 acc = _mm256_setzero_ps();                                                           \
            for (size_t s = 0; s < dimensions; s += SEGMENT) {                                          \
                size_t width = dimensions - s < SEGMENT ? dimensions - s : SEGMENT;                     \
                __m256 v[8];                                                                            \
                for (size_t j = 0; j < 8; j++)                                                          \
                    v[j] = j < n ? key_lanes(qi + s, block + j * key_stride + s, width) : _mm256_setzero_ps(); \
                acc = _mm256_add_ps(acc, horizontal_sums8(v));                                          \
            }                                                                                           \
            store_first(scores + i * score_stride + t0, _mm256_mul_ps(acc, _mm256_set1_ps(scale)), n);  \
        }                                                                                               \
    }

CK_AVX2 static CK_INLINE void scores_avx2_body(const float *q, size_t q_stride, size_t queries, const float *keys,
                                                size_t key_stride, size_t count, size_t dimensions, float scale,
                                                float *scores, size_t score_stride) {
    SCORES_BODY(key_lanes_avx2)
}

CK_AVX2 static void scores_avx2(const float *q, size_t q_stride, size_t queries, const float *keys, size_t key_stride,
                                size_t count, size_t dimensions, float scale, float *scores, size_t score_stride) {
    // The model's head width as a constant: the lane conditions fold away.
    if (dimensions == 64)
        scores_avx2_body(q, q_stride, queries, keys, key_stride, count, 64, scale, scores, score_stride);
    else
        scores_avx2_body(q, q_stride, queries, keys, key_stride, count, dimensions, scale, scores, score_stride);
}

CK_AVX2 static CK_INLINE float softmax_avx2_body(float *values, size_t count) {
    __m256 maximum = _mm256_set1_ps(-INFINITY);
    size_t i = 0;
    for (; i + 8 <= count; i += 8) maximum = _mm256_max_ps(maximum, _mm256_loadu_ps(values + i));
    float lanes[8];
    _mm256_storeu_ps(lanes, maximum);
    float top = lanes[0];
    for (int l = 1; l < 8; l++) top = lanes[l] > top ? lanes[l] : top;
    for (size_t j = i; j < count; j++) top = values[j] > top ? values[j] : top;
    const __m256 m = _mm256_set1_ps(top);
    __m256 sum = _mm256_setzero_ps();
    for (i = 0; i + 8 <= count; i += 8) {
        __m256 e = ck_exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(values + i), m));
        _mm256_storeu_ps(values + i, e);
        sum = _mm256_add_ps(sum, e);
    }
    if (i < count) {
        // Padding lanes hold the maximum (e^0): computed, but neither stored nor summed.
        size_t rest = count - i;
        float tail[8];
        _mm256_storeu_ps(tail, m);
        memcpy(tail, values + i, rest * sizeof(float));
        _mm256_storeu_ps(tail, ck_exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(tail), m)));
        for (size_t l = rest; l < 8; l++) tail[l] = 0.0f;
        memcpy(values + i, tail, rest * sizeof(float));
        sum = _mm256_add_ps(sum, _mm256_loadu_ps(tail));
    }
    float s[8];
    _mm256_storeu_ps(s, sum);
    return ck_horizontal_sum(s);
}

CK_AVX2 static float softmax_avx2(float *values, size_t count) { return softmax_avx2_body(values, count); }

/// `P` (1...2) queries over dimensions [s, s + width) of the values, width ≤ 32: four
/// accumulators per query, each value load shared by the queries. Past the shortest
/// query's count the others go on alone, so each chain runs over its own t ascending.
CK_AVX2 static CK_INLINE void weighted_pass_avx2(int P, const float *values, size_t value_stride, const float *const *w,
                                                  const size_t *counts, const float *scales, size_t width,
                                                  float *const *out) {
    __m256 acc[2][4];
    int lanes = (int)(width / 8);
    for (int p = 0; p < P; p++)
        for (int j = 0; j < 4; j++) acc[p][j] = _mm256_setzero_ps();
    size_t common = counts[0];
    for (int p = 1; p < P; p++) common = counts[p] < common ? counts[p] : common;
    for (size_t t = 0; t < common; t++) {
        const float *v = values + t * value_stride;
        __m256 x[4];
        for (int j = 0; j < lanes; j++) x[j] = _mm256_loadu_ps(v + 8 * j);
        for (int p = 0; p < P; p++) {
            __m256 weight = _mm256_broadcast_ss(w[p] + t);
            for (int j = 0; j < lanes; j++) acc[p][j] = _mm256_fmadd_ps(weight, x[j], acc[p][j]);
        }
    }
    for (int p = 0; p < P; p++) {
        for (size_t t = common; t < counts[p]; t++) {
            const float *v = values + t * value_stride;
            __m256 weight = _mm256_broadcast_ss(w[p] + t);
            for (int j = 0; j < lanes; j++) acc[p][j] = _mm256_fmadd_ps(weight, _mm256_loadu_ps(v + 8 * j), acc[p][j]);
        }
        __m256 scale = _mm256_set1_ps(scales[p]);
        for (int j = 0; j < lanes; j++) _mm256_storeu_ps(out[p] + 8 * j, _mm256_mul_ps(acc[p][j], scale));
    }
}

CK_AVX2 static void weighted_sum_avx2(const float *values, size_t value_stride, const float *weights,
                                      size_t weight_stride, const size_t *counts, const float *scales, size_t queries,
                                      size_t dimensions, float *out, size_t out_stride) {
    for (size_t i = 0; i < queries; i += 2) {
        int P = queries - i >= 2 ? 2 : 1;
        for (size_t s = 0; s < dimensions; s += 32) {
            size_t width = dimensions - s < 32 ? dimensions - s : 32;
            const float *w[2] = {weights + i * weight_stride, weights + (i + P - 1) * weight_stride};
            float *o[2] = {out + i * out_stride + s, out + (i + P - 1) * out_stride + s};
            if (P == 2 && width == 32)
                weighted_pass_avx2(2, values + s, value_stride, w, counts + i, scales + i, 32, o);
            else if (P == 2)
                weighted_pass_avx2(2, values + s, value_stride, w, counts + i, scales + i, width, o);
            else
                weighted_pass_avx2(1, values + s, value_stride, w, counts + i, scales + i, width, o);
        }
    }
}

// MARK: AVX-512

/// Floats [16m, 16m + 16) of a segment `width` wide, zero past the width.
CK_AVX512 static CK_INLINE __m512 pair512(const float *p, size_t m, size_t width) {
    if (16 * m + 16 <= width) return _mm512_loadu_ps(p + 16 * m);
    return _mm512_maskz_loadu_ps((__mmask16)0x00FF, p + 16 * m);
}

/// a + b as in `key_lanes_avx2`, with lanes 2m (a) and 2m + 1 (b) in one zmm register.
CK_AVX512 static CK_INLINE __m256 key_lanes_avx512(const float *q, const float *k, size_t width) {
    __m512 ab = _mm512_mul_ps(pair512(q, 0, width), pair512(k, 0, width));
    for (size_t m = 1; m < 4; m++) {
        if (width <= 16 * m) break;
        ab = _mm512_fmadd_ps(pair512(q, m, width), pair512(k, m, width), ab);
    }
    return _mm256_add_ps(_mm512_castps512_ps256(ab), _mm512_extractf32x8_ps(ab, 1));
}

CK_AVX512 static CK_INLINE void scores_avx512_body(const float *q, size_t q_stride, size_t queries, const float *keys,
                                                    size_t key_stride, size_t count, size_t dimensions, float scale,
                                                    float *scores, size_t score_stride) {
    SCORES_BODY(key_lanes_avx512)
}

// With many queries (a run of prompt tokens × the heads of a KV head), blocks of 16 keys are
// transposed once into `kt` (row d: element d of the 16 keys) and every query then meets
// them with broadcast FMAs: zmm lane j of the chains holds key j's lane l of a or b, so the
// eight lanes' sums and the horizontal tree are plain vertical additions, and no shuffles
// are spent per query. Each key's operations are the ones above.

/// Queries per pass over a transposed block (8 key rows + 4 registers per query stay in
/// the 32 zmm registers).
#define TRANSPOSED_PASS 3
/// Queries from which a call transposes its key blocks (fewer leave the transposition
/// unpaid for).
#define TRANSPOSED_QUERIES 6
/// The widest head the transposed block buffer holds.
#define TRANSPOSED_DIMENSIONS 256

/// Rows 0..<8 of an 8 × 8 block (rows `stride` apart, missing rows zero) transposed into
/// out[r * out_stride], r < 8.
CK_AVX2 static CK_INLINE void transpose8(const float *p, size_t stride, size_t rows, float *out, size_t out_stride) {
    __m256 r[8];
    for (size_t i = 0; i < 8; i++) r[i] = i < rows ? _mm256_loadu_ps(p + i * stride) : _mm256_setzero_ps();
    __m256 t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int h = 0; h < 2; h++) {
        u[4 * h + 0] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0x44);
        u[4 * h + 1] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0xEE);
        u[4 * h + 2] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0x44);
        u[4 * h + 3] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        _mm256_storeu_ps(out + i * out_stride, _mm256_permute2f128_ps(u[i], u[4 + i], 0x20));
        _mm256_storeu_ps(out + (4 + i) * out_stride, _mm256_permute2f128_ps(u[i], u[4 + i], 0x31));
    }
}

/// Lane l of a + b (as `key_lanes_avx2`) for 16 keys at once, for `P` queries (each at its
/// segment), from the transposed segment `kt` (row d: 16 floats).
CK_AVX512 static CK_INLINE void transposed_lanes(int P, const float *const *q, const float *kt, size_t width, int l,
                                                  __m512 *v) {
    __m512 k[8];
    for (int j = 0; j < 8; j++) k[j] = 8 * (size_t)j < width ? _mm512_loadu_ps(kt + (8 * j + l) * 16) : _mm512_setzero_ps();
    for (int p = 0; p < P; p++) {
        __m512 a = _mm512_mul_ps(_mm512_set1_ps(q[p][l]), k[0]);
        // Past the width both factors are zero, as in the Swift lanes: 0·0, then + 0.
        __m512 b = 8 < width ? _mm512_mul_ps(_mm512_set1_ps(q[p][8 + l]), k[1]) : _mm512_setzero_ps();
        for (int j = 2; j < 8; j += 2) {
            if (width <= 8 * (size_t)j) break;
            a = _mm512_fmadd_ps(_mm512_set1_ps(q[p][8 * j + l]), k[j], a);
            b = 8 * (size_t)(j + 1) < width ? _mm512_fmadd_ps(_mm512_set1_ps(q[p][8 * (j + 1) + l]), k[j + 1], b)
                                             : _mm512_add_ps(b, _mm512_setzero_ps());
        }
        v[p] = _mm512_add_ps(a, b);
    }
}

/// The segment's sums for 16 keys and `P` queries, by the tree
/// ((l0+l4)+(l2+l6))+((l1+l5)+(l3+l7)) over the lanes.
CK_AVX512 static CK_INLINE void transposed_sums(int P, const float *const *q, const float *kt, size_t width,
                                                 __m512 *sums) {
    __m512 x[TRANSPOSED_PASS], y[TRANSPOSED_PASS], low[TRANSPOSED_PASS];
    transposed_lanes(P, q, kt, width, 0, x);
    transposed_lanes(P, q, kt, width, 4, y);
    for (int p = 0; p < P; p++) low[p] = _mm512_add_ps(x[p], y[p]);
    transposed_lanes(P, q, kt, width, 2, x);
    transposed_lanes(P, q, kt, width, 6, y);
    for (int p = 0; p < P; p++) low[p] = _mm512_add_ps(low[p], _mm512_add_ps(x[p], y[p]));
    transposed_lanes(P, q, kt, width, 1, x);
    transposed_lanes(P, q, kt, width, 5, y);
    for (int p = 0; p < P; p++) sums[p] = _mm512_add_ps(x[p], y[p]);
    transposed_lanes(P, q, kt, width, 3, x);
    transposed_lanes(P, q, kt, width, 7, y);
    for (int p = 0; p < P; p++) sums[p] = _mm512_add_ps(low[p], _mm512_add_ps(sums[p], _mm512_add_ps(x[p], y[p])));
}

/// Scores of `P` queries (from query `i`) against the transposed block of `n` keys at `t0`.
CK_AVX512 static CK_INLINE void transposed_pass(int P, const float *q, size_t q_stride, size_t i, const float *kt,
                                                 size_t n, size_t t0, size_t dimensions, float scale, float *scores,
                                                 size_t score_stride) {
    __m512 acc[TRANSPOSED_PASS];
    for (int p = 0; p < P; p++) acc[p] = _mm512_setzero_ps();
    for (size_t s = 0; s < dimensions; s += SEGMENT) {
        size_t width = dimensions - s < SEGMENT ? dimensions - s : SEGMENT;
        const float *qs[TRANSPOSED_PASS];
        for (int p = 0; p < P; p++) qs[p] = q + (i + p) * q_stride + s;
        __m512 sums[TRANSPOSED_PASS];
        transposed_sums(P, qs, kt + s * 16, width, sums);
        for (int p = 0; p < P; p++) acc[p] = _mm512_add_ps(acc[p], sums[p]);
    }
    __mmask16 mask = n == 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
    for (int p = 0; p < P; p++)
        _mm512_mask_storeu_ps(scores + (i + p) * score_stride + t0, mask, _mm512_mul_ps(acc[p], _mm512_set1_ps(scale)));
}

CK_AVX512 static CK_INLINE void scores_transposed_body(const float *q, size_t q_stride, size_t queries,
                                                        const float *keys, size_t key_stride, size_t count,
                                                        size_t dimensions, float scale, float *scores,
                                                        size_t score_stride) {
    _Alignas(64) float kt[TRANSPOSED_DIMENSIONS * 16];
    for (size_t t0 = 0; t0 < count; t0 += 16) {
        size_t n = count - t0 < 16 ? count - t0 : 16;
        const float *block = keys + t0 * key_stride;
        for (size_t d = 0; d < dimensions; d += 8) {
            transpose8(block + d, key_stride, n < 8 ? n : 8, kt + d * 16, 16);
            transpose8(block + 8 * key_stride + d, key_stride, n > 8 ? n - 8 : 0, kt + d * 16 + 8, 16);
        }
        size_t i = 0;
        for (; i + TRANSPOSED_PASS <= queries; i += TRANSPOSED_PASS)
            transposed_pass(TRANSPOSED_PASS, q, q_stride, i, kt, n, t0, dimensions, scale, scores, score_stride);
        if (queries - i == 2)
            transposed_pass(2, q, q_stride, i, kt, n, t0, dimensions, scale, scores, score_stride);
        else if (queries - i == 1)
            transposed_pass(1, q, q_stride, i, kt, n, t0, dimensions, scale, scores, score_stride);
    }
}

CK_AVX512 static void scores_avx512(const float *q, size_t q_stride, size_t queries, const float *keys,
                                    size_t key_stride, size_t count, size_t dimensions, float scale, float *scores,
                                    size_t score_stride) {
    if (queries >= TRANSPOSED_QUERIES && dimensions == 64)
        scores_transposed_body(q, q_stride, queries, keys, key_stride, count, 64, scale, scores, score_stride);
    else if (queries >= TRANSPOSED_QUERIES && dimensions <= TRANSPOSED_DIMENSIONS)
        scores_transposed_body(q, q_stride, queries, keys, key_stride, count, dimensions, scale, scores, score_stride);
    else if (dimensions == 64)
        scores_avx512_body(q, q_stride, queries, keys, key_stride, count, 64, scale, scores, score_stride);
    else
        scores_avx512_body(q, q_stride, queries, keys, key_stride, count, dimensions, scale, scores, score_stride);
}

CK_AVX512 static float softmax_avx512(float *values, size_t count) { return softmax_avx2_body(values, count); }

/// Lanes of zmm register j of a slice `width` wide (8 or 16 floats).
CK_AVX512 static CK_INLINE __mmask16 slice_mask(size_t j, size_t width) {
    return width >= 16 * j + 16 ? (__mmask16)0xFFFF : (__mmask16)0x00FF;
}

/// `P` (1...4) queries over dimensions [s, s + width) of the values, width ≤ 64: four zmm
/// accumulators per query, each value load shared by the queries.
CK_AVX512 static CK_INLINE void weighted_pass_avx512(int P, const float *values, size_t value_stride,
                                                      const float *const *w, const size_t *counts,
                                                      const float *scales, size_t width, float *const *out) {
    __m512 acc[4][4];
    int regs = (int)((width + 15) / 16);
    for (int p = 0; p < P; p++)
        for (int j = 0; j < 4; j++) acc[p][j] = _mm512_setzero_ps();
    size_t common = counts[0];
    for (int p = 1; p < P; p++) common = counts[p] < common ? counts[p] : common;
    for (size_t t = 0; t < common; t++) {
        const float *v = values + t * value_stride;
        __m512 x[4];
        for (int j = 0; j < regs; j++) x[j] = _mm512_maskz_loadu_ps(slice_mask(j, width), v + 16 * j);
        for (int p = 0; p < P; p++) {
            __m512 weight = _mm512_set1_ps(w[p][t]);
            for (int j = 0; j < regs; j++) acc[p][j] = _mm512_fmadd_ps(weight, x[j], acc[p][j]);
        }
    }
    for (int p = 0; p < P; p++) {
        for (size_t t = common; t < counts[p]; t++) {
            const float *v = values + t * value_stride;
            __m512 weight = _mm512_set1_ps(w[p][t]);
            for (int j = 0; j < regs; j++)
                acc[p][j] = _mm512_fmadd_ps(weight, _mm512_maskz_loadu_ps(slice_mask(j, width), v + 16 * j), acc[p][j]);
        }
        __m512 scale = _mm512_set1_ps(scales[p]);
        for (int j = 0; j < regs; j++)
            _mm512_mask_storeu_ps(out[p] + 16 * j, slice_mask(j, width), _mm512_mul_ps(acc[p][j], scale));
    }
}

CK_AVX512 static void weighted_sum_avx512(const float *values, size_t value_stride, const float *weights,
                                          size_t weight_stride, const size_t *counts, const float *scales,
                                          size_t queries, size_t dimensions, float *out, size_t out_stride) {
    for (size_t i = 0; i < queries; i += 4) {
        int P = queries - i >= 4 ? 4 : (int)(queries - i);
        const float *w[4];
        for (int p = 0; p < 4; p++) w[p] = weights + (i + (p < P ? p : 0)) * weight_stride;
        for (size_t s = 0; s < dimensions; s += SEGMENT) {
            size_t width = dimensions - s < SEGMENT ? dimensions - s : SEGMENT;
            float *o[4];
            for (int p = 0; p < 4; p++) o[p] = out + (i + (p < P ? p : 0)) * out_stride + s;
            if (width == SEGMENT) {
                switch (P) {
                case 4: weighted_pass_avx512(4, values + s, value_stride, w, counts + i, scales + i, SEGMENT, o); break;
                case 3: weighted_pass_avx512(3, values + s, value_stride, w, counts + i, scales + i, SEGMENT, o); break;
                case 2: weighted_pass_avx512(2, values + s, value_stride, w, counts + i, scales + i, SEGMENT, o); break;
                default: weighted_pass_avx512(1, values + s, value_stride, w, counts + i, scales + i, SEGMENT, o); break;
                }
            } else {
                for (int p = 0; p < P; p++)
                    weighted_pass_avx512(1, values + s, value_stride, w + p, counts + i + p, scales + i + p, width, o + p);
            }
        }
    }
}
#endif

// MARK: dispatch

void ck_attention_scores(ck_variant variant, const float *q, size_t q_stride, size_t queries,
                         const float *keys, size_t key_stride, size_t count, size_t dimensions,
                         float scale, float *scores, size_t score_stride) {
    switch (ck_usable_variant(variant)) {
#if defined(__x86_64__) || defined(__i386__)
    case CK_VARIANT_AVX512:
        scores_avx512(q, q_stride, queries, keys, key_stride, count, dimensions, scale, scores, score_stride);
        return;
    case CK_VARIANT_AVX2:
        scores_avx2(q, q_stride, queries, keys, key_stride, count, dimensions, scale, scores, score_stride);
        return;
#endif
    default:
        scores_portable(q, q_stride, queries, keys, key_stride, count, dimensions, scale, scores, score_stride);
        return;
    }
}

float ck_softmax_numerators(ck_variant variant, float *values, size_t count) {
    switch (ck_usable_variant(variant)) {
#if defined(__x86_64__) || defined(__i386__)
    case CK_VARIANT_AVX512: return softmax_avx512(values, count);
    case CK_VARIANT_AVX2: return softmax_avx2(values, count);
#endif
    default: return softmax_portable(values, count);
    }
}

void ck_attention_weighted_sum(ck_variant variant, const float *values, size_t value_stride,
                               const float *weights, size_t weight_stride, const size_t *counts,
                               const float *scales, size_t queries, size_t dimensions,
                               float *out, size_t out_stride) {
    switch (ck_usable_variant(variant)) {
#if defined(__x86_64__) || defined(__i386__)
    case CK_VARIANT_AVX512:
        weighted_sum_avx512(values, value_stride, weights, weight_stride, counts, scales, queries, dimensions, out,
                            out_stride);
        return;
    case CK_VARIANT_AVX2:
        weighted_sum_avx2(values, value_stride, weights, weight_stride, counts, scales, queries, dimensions, out,
                          out_stride);
        return;
#endif
    default:
        weighted_sum_portable(values, value_stride, weights, weight_stride, counts, scales, queries, dimensions, out,
                              out_stride);
        return;
    }
}
