// The BERT encoder's kernels in three variants (portable, AVX2, AVX-512), chosen at run
// time. Every output of the matrix product and of attention lives in one lane of one
// accumulator, so the variants may tile the work differently (the AVX-512 product holds a
// whole 16-row panel in one register) and still compute the same bits; layer norm's and
// softmax's sums keep the Swift code's eight lanes and horizontal-sum tree in every variant
// (AVX-512 machines run the AVX2 code for those).

// No contraction of a*b+c beyond the explicit fused operations: the Swift code fuses
// exactly those.
#pragma STDC FP_CONTRACT OFF

#include <math.h>
#include "CKernels.h"
#include "variants.h"
#include "exp8.h"

/// Rows of activations per cache block, as `PackedMatrix.blockRows`.
#define BLOCK_ROWS 96

static size_t padded_keys(size_t count) { return (count + 31) / 32 * 32; }

/// Keys transposed into `kt` (dimensions rows of `padded` floats, zero past `count`).
static void transpose_keys(const float *k, size_t stride, size_t count, size_t dimensions, size_t padded, float *kt) {
    for (size_t d = 0; d < dimensions; d++) {
        float *row = kt + d * padded;
        for (size_t j = 0; j < count; j++) row[j] = k[j * stride + d];
        for (size_t j = count; j < padded; j++) row[j] = 0;
    }
}

/// Swift's `max(x, y)`: y when y ≥ x, else x (so a NaN y is passed over).
static inline float swift_max(float x, float y) { return y >= x ? y : x; }

// MARK: portable

static void packed_portable(const float *panels, const float *bias, size_t columns, size_t row_begin, size_t row_end,
                            const float *x, size_t x_stride, size_t count, float *out, size_t out_stride) {
    for (size_t r = row_begin; r < row_end; r += 16) {
        const float *panel = panels + (r / 16) * columns * 16;
        for (size_t v = 0; v < count; v++) {
            const float *xv = x + v * x_stride;
            float acc[16];
            for (int l = 0; l < 16; l++) acc[l] = bias[r + l];
            for (size_t k = 0; k < columns; k++) {
                const float *w = panel + 16 * k;
                for (int l = 0; l < 16; l++) acc[l] = fmaf(xv[k], w[l], acc[l]);
            }
            for (int l = 0; l < 16; l++) out[v * out_stride + r + l] = acc[l];
        }
    }
}

static void layer_norm_portable(const float *x, const float *weight, const float *bias, size_t count, float epsilon,
                                float *out) {
    float sum[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (size_t i = 0; i < count; i += 8)
        for (int l = 0; l < 8; l++) sum[l] += x[i + l];
    float mean = ck_horizontal_sum(sum) / (float)count;
    float squares[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (size_t i = 0; i < count; i += 8)
        for (int l = 0; l < 8; l++) {
            float d = x[i + l] - mean;
            squares[l] = fmaf(d, d, squares[l]);
        }
    float scale = 1.0f / sqrtf(ck_horizontal_sum(squares) / (float)count + epsilon);
    for (size_t i = 0; i < count; i++) {
        float d = x[i] - mean;
        out[i] = fmaf(d * scale, weight[i], bias[i]);
    }
}

/// Replaces values[0..<count] by e^(value − max) and returns their sum, as the Swift
/// `softmaxNumerators`: the maximum over whole groups of eight (NaNs passed over), then
/// the rest one by one; the sum in eight lanes.
static float softmax_portable(float *values, size_t count) {
    float maximum[8];
    for (int l = 0; l < 8; l++) maximum[l] = -INFINITY;
    size_t i = 0;
    for (; i + 8 <= count; i += 8)
        for (int l = 0; l < 8; l++) maximum[l] = fmaxf(maximum[l], values[i + l]);
    float top = maximum[0];
    for (int l = 1; l < 8; l++) top = fmaxf(top, maximum[l]);
    for (size_t j = i; j < count; j++) top = swift_max(top, values[j]);
    float sum[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (i = 0; i + 8 <= count; i += 8)
        for (int l = 0; l < 8; l++) {
            float e = ck_exp_lane(values[i + l] - top);
            values[i + l] = e;
            sum[l] += e;
        }
    if (i < count) {
        for (int l = 0; l < 8; l++) {
            float kept = 0;
            if (i + l < count) {
                kept = ck_exp_lane(values[i + l] - top);
                values[i + l] = kept;
            }
            sum[l] += kept;
        }
    }
    return ck_horizontal_sum(sum);
}

static void attend_head_portable(const float *q, const float *k, const float *v, size_t stride, size_t count,
                                 size_t dimensions, float scale, float *scratch, float *out, size_t out_stride) {
    size_t padded = padded_keys(count);
    float *kt = scratch, *scores = scratch + dimensions * padded;
    transpose_keys(k, stride, count, dimensions, padded, kt);
    for (size_t i = 0; i < count; i++) {
        const float *qi = q + i * stride;
        for (size_t j = 0; j < padded; j++) {
            float a = 0;
            for (size_t d = 0; d < dimensions; d++) a = fmaf(qi[d], kt[d * padded + j], a);
            scores[j] = a * scale;
        }
        float inverse = 1.0f / softmax_portable(scores, count);
        for (size_t d = 0; d < dimensions; d++) {
            float a = 0;
            for (size_t j = 0; j < count; j++) a = fmaf(scores[j], v[j * stride + d], a);
            out[i * out_stride + d] = a * inverse;
        }
    }
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>


// MARK: AVX2

/// 16 outputs (one panel) for V (1...6) activation rows: 12 accumulators, two weight
/// registers, one broadcast.
CK_AVX2 static CK_INLINE void packed_tile_avx2(int V, const float *panel, const float *bias, size_t columns,
                                                const float *x, size_t x_stride, float *out, size_t out_stride) {
    __m256 a[6], c[6];
    for (int v = 0; v < V; v++) {
        a[v] = _mm256_loadu_ps(bias);
        c[v] = _mm256_loadu_ps(bias + 8);
    }
    for (size_t k = 0; k < columns; k++) {
        __m256 w0 = _mm256_loadu_ps(panel + 16 * k), w1 = _mm256_loadu_ps(panel + 16 * k + 8);
        for (int v = 0; v < V; v++) {
            __m256 s = _mm256_set1_ps(x[v * x_stride + k]);
            a[v] = _mm256_fmadd_ps(s, w0, a[v]);
            c[v] = _mm256_fmadd_ps(s, w1, c[v]);
        }
    }
    for (int v = 0; v < V; v++) {
        _mm256_storeu_ps(out + v * out_stride, a[v]);
        _mm256_storeu_ps(out + v * out_stride + 8, c[v]);
    }
}

#define PACKED_TILE_AVX2(V)                                                                         \
    CK_AVX2 static void packed_tile_avx2_##V(const float *panel, const float *bias, size_t columns, \
                                              const float *x, size_t x_stride, float *out, size_t out_stride) { \
        packed_tile_avx2(V, panel, bias, columns, x, x_stride, out, out_stride);                    \
    }
PACKED_TILE_AVX2(1) PACKED_TILE_AVX2(2) PACKED_TILE_AVX2(3) PACKED_TILE_AVX2(4) PACKED_TILE_AVX2(5) PACKED_TILE_AVX2(6)

typedef void (*packed_tile_fn)(const float *, const float *, size_t, const float *, size_t, float *, size_t);

/// Blocks of activation rows; in each, every panel against the rows `width` at a time.
static void packed_blocks(const packed_tile_fn *tiles, size_t width, const float *panels, const float *bias,
                          size_t columns, size_t row_begin, size_t row_end, const float *x, size_t x_stride,
                          size_t count, float *out, size_t out_stride) {
    for (size_t block = 0; block < count; block += BLOCK_ROWS) {
        size_t block_end = count - block < BLOCK_ROWS ? count : block + BLOCK_ROWS;
        for (size_t r = row_begin; r < row_end; r += 16) {
            const float *panel = panels + (r / 16) * columns * 16;
            for (size_t v = block; v < block_end; v += width) {
                size_t vectors = block_end - v < width ? block_end - v : width;
                tiles[vectors - 1](panel, bias + r, columns, x + v * x_stride, x_stride, out + v * out_stride + r,
                                   out_stride);
            }
        }
    }
}

static const packed_tile_fn packed_tiles_avx2[6] = {
    packed_tile_avx2_1, packed_tile_avx2_2, packed_tile_avx2_3, packed_tile_avx2_4, packed_tile_avx2_5, packed_tile_avx2_6,
};

CK_AVX2 static void layer_norm_avx2(const float *x, const float *weight, const float *bias, size_t count,
                                    float epsilon, float *out) {
    __m256 sum = _mm256_setzero_ps();
    for (size_t i = 0; i < count; i += 8) sum = _mm256_add_ps(sum, _mm256_loadu_ps(x + i));
    __m256 mean = _mm256_set1_ps(ck_horizontal_sum_avx2(sum) / (float)count);
    __m256 squares = _mm256_setzero_ps();
    for (size_t i = 0; i < count; i += 8) {
        __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), mean);
        squares = _mm256_fmadd_ps(d, d, squares);
    }
    __m256 scale = _mm256_set1_ps(1.0f / sqrtf(ck_horizontal_sum_avx2(squares) / (float)count + epsilon));
    for (size_t i = 0; i < count; i += 8) {
        __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), mean);
        __m256 o = _mm256_fmadd_ps(_mm256_mul_ps(d, scale), _mm256_loadu_ps(weight + i), _mm256_loadu_ps(bias + i));
        _mm256_storeu_ps(out + i, o);
    }
}

/// IEEE maxNum, as Swift's `pointwiseMax`: a NaN lane of either side yields the other.
CK_AVX2 static inline __m256 max_number(__m256 a, __m256 b) {
    __m256 m = _mm256_max_ps(a, b);
    return _mm256_blendv_ps(m, a, _mm256_cmp_ps(b, b, _CMP_UNORD_Q));
}

CK_AVX2 static float softmax_avx2(float *values, size_t count) {
    __m256 maximum = _mm256_set1_ps(-INFINITY);
    size_t i = 0;
    for (; i + 8 <= count; i += 8) maximum = max_number(maximum, _mm256_loadu_ps(values + i));
    float lanes[8];
    _mm256_storeu_ps(lanes, maximum);
    float top = lanes[0];
    for (int l = 1; l < 8; l++) top = fmaxf(top, lanes[l]);
    for (size_t j = i; j < count; j++) top = swift_max(top, values[j]);
    __m256 m = _mm256_set1_ps(top), sum = _mm256_setzero_ps();
    for (i = 0; i + 8 <= count; i += 8) {
        __m256 e = ck_exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(values + i), m));
        _mm256_storeu_ps(values + i, e);
        sum = _mm256_add_ps(sum, e);
    }
    if (i < count) {
        float tail[8], e[8];
        for (int l = 0; l < 8; l++) tail[l] = i + l < count ? values[i + l] : top;
        _mm256_storeu_ps(e, ck_exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(tail), m)));
        for (int l = 0; l < 8; l++) {
            if (i + l < count) values[i + l] = e[l];
            else e[l] = 0;
        }
        sum = _mm256_add_ps(sum, _mm256_loadu_ps(e));
    }
    return ck_horizontal_sum_avx2(sum);
}

/// Scores of Q (1 or 2) queries against 32 keys: s[j] = scale · Σ_d q[d] · kt[d][j].
CK_AVX2 static CK_INLINE void score_group_avx2(int Q, const float *q0, const float *q1, const float *kt, size_t kt_stride,
                                                size_t dimensions, float scale, float *s0, float *s1) {
    __m256 a[4], b[4];
    for (int n = 0; n < 4; n++) a[n] = b[n] = _mm256_setzero_ps();
    for (size_t d = 0; d < dimensions; d++) {
        const float *kp = kt + d * kt_stride;
        __m256 x = _mm256_set1_ps(q0[d]);
        __m256 y = Q == 2 ? _mm256_set1_ps(q1[d]) : x;
        for (int n = 0; n < 4; n++) {
            __m256 key = _mm256_loadu_ps(kp + 8 * n);
            a[n] = _mm256_fmadd_ps(x, key, a[n]);
            if (Q == 2) b[n] = _mm256_fmadd_ps(y, key, b[n]);
        }
    }
    __m256 sc = _mm256_set1_ps(scale);
    for (int n = 0; n < 4; n++) _mm256_storeu_ps(s0 + 8 * n, _mm256_mul_ps(a[n], sc));
    if (Q == 2)
        for (int n = 0; n < 4; n++) _mm256_storeu_ps(s1 + 8 * n, _mm256_mul_ps(b[n], sc));
}

/// out = inverse · Σ_j p[j] · v_j over `width` (8...32) dimensions, for Q (1 or 2) rows of
/// weights.
CK_AVX2 static CK_INLINE void weighted_group_avx2(int Q, const float *v, size_t stride, size_t count, size_t width,
                                                   const float *p0, const float *p1, float inverse0, float inverse1,
                                                   float *out0, float *out1) {
    __m256 a[4], b[4];
    int lanes = (int)(width / 8);
    for (int n = 0; n < 4; n++) a[n] = b[n] = _mm256_setzero_ps();
    for (size_t j = 0; j < count; j++) {
        const float *vp = v + j * stride;
        __m256 x = _mm256_set1_ps(p0[j]);
        __m256 y = Q == 2 ? _mm256_set1_ps(p1[j]) : x;
        for (int n = 0; n < 4; n++) {
            if (n >= lanes) break;
            __m256 value = _mm256_loadu_ps(vp + 8 * n);
            a[n] = _mm256_fmadd_ps(x, value, a[n]);
            if (Q == 2) b[n] = _mm256_fmadd_ps(y, value, b[n]);
        }
    }
    for (int n = 0; n < lanes; n++) _mm256_storeu_ps(out0 + 8 * n, _mm256_mul_ps(a[n], _mm256_set1_ps(inverse0)));
    if (Q == 2)
        for (int n = 0; n < lanes; n++) _mm256_storeu_ps(out1 + 8 * n, _mm256_mul_ps(b[n], _mm256_set1_ps(inverse1)));
}

CK_AVX2 static void attend_head_avx2(const float *q, const float *k, const float *v, size_t stride, size_t count,
                                     size_t dimensions, float scale, float *scratch, float *out, size_t out_stride) {
    size_t padded = padded_keys(count);
    float *kt = scratch;
    transpose_keys(k, stride, count, dimensions, padded, kt);
    float *s0 = scratch + dimensions * padded, *s1 = s0 + padded;
    for (size_t i = 0; i < count;) {
        int pair = count - i >= 2;
        const float *q0 = q + i * stride;
        for (size_t j = 0; j < padded; j += 32) {
            if (pair) score_group_avx2(2, q0, q0 + stride, kt + j, padded, dimensions, scale, s0 + j, s1 + j);
            else score_group_avx2(1, q0, q0, kt + j, padded, dimensions, scale, s0 + j, s1 + j);
        }
        float inverse0 = 1.0f / softmax_avx2(s0, count);
        float inverse1 = pair ? 1.0f / softmax_avx2(s1, count) : 0;
        for (size_t segment = 0; segment < dimensions; segment += 32) {
            size_t width = dimensions - segment < 32 ? dimensions - segment : 32;
            float *o0 = out + i * out_stride + segment;
            if (pair)
                weighted_group_avx2(2, v + segment, stride, count, width, s0, s1, inverse0, inverse1, o0, o0 + out_stride);
            else
                weighted_group_avx2(1, v + segment, stride, count, width, s0, s0, inverse0, inverse0, o0, o0);
        }
        i += pair ? 2 : 1;
    }
}

// MARK: AVX-512

/// One panel (16 outputs in one zmm register) for V (1...12) activation rows, each row's
/// value broadcast from memory into its fused multiply-add.
CK_AVX512 static CK_INLINE void packed_tile_avx512(int V, const float *panel, const float *bias, size_t columns,
                                                    const float *x, size_t x_stride, float *out, size_t out_stride) {
    __m512 a[12];
    for (int v = 0; v < V; v++) a[v] = _mm512_loadu_ps(bias);
    for (size_t k = 0; k < columns; k++) {
        __m512 w = _mm512_loadu_ps(panel + 16 * k);
        for (int v = 0; v < V; v++) a[v] = _mm512_fmadd_ps(_mm512_set1_ps(x[v * x_stride + k]), w, a[v]);
    }
    for (int v = 0; v < V; v++) _mm512_storeu_ps(out + v * out_stride, a[v]);
}

#define PACKED_TILE_AVX512(V)                                                                         \
    CK_AVX512 static void packed_tile_avx512_##V(const float *panel, const float *bias, size_t columns, \
                                                  const float *x, size_t x_stride, float *out, size_t out_stride) { \
        packed_tile_avx512(V, panel, bias, columns, x, x_stride, out, out_stride);                    \
    }
PACKED_TILE_AVX512(1) PACKED_TILE_AVX512(2) PACKED_TILE_AVX512(3) PACKED_TILE_AVX512(4)
PACKED_TILE_AVX512(5) PACKED_TILE_AVX512(6) PACKED_TILE_AVX512(7) PACKED_TILE_AVX512(8)
PACKED_TILE_AVX512(9) PACKED_TILE_AVX512(10) PACKED_TILE_AVX512(11) PACKED_TILE_AVX512(12)

static const packed_tile_fn packed_tiles_avx512[12] = {
    packed_tile_avx512_1, packed_tile_avx512_2, packed_tile_avx512_3, packed_tile_avx512_4,
    packed_tile_avx512_5, packed_tile_avx512_6, packed_tile_avx512_7, packed_tile_avx512_8,
    packed_tile_avx512_9, packed_tile_avx512_10, packed_tile_avx512_11, packed_tile_avx512_12,
};
#endif

// MARK: dispatch

void ck_packed_matmul(ck_variant variant, const float *panels, const float *bias, size_t columns,
                      size_t row_begin, size_t row_end, const float *x, size_t x_stride, size_t count,
                      float *out, size_t out_stride) {
    switch (ck_usable_variant(variant)) {
#if defined(__x86_64__) || defined(__i386__)
    case CK_VARIANT_AVX512:
        packed_blocks(packed_tiles_avx512, 12, panels, bias, columns, row_begin, row_end, x, x_stride, count, out,
                      out_stride);
        return;
    case CK_VARIANT_AVX2:
        packed_blocks(packed_tiles_avx2, 6, panels, bias, columns, row_begin, row_end, x, x_stride, count, out,
                      out_stride);
        return;
#endif
    default:
        packed_portable(panels, bias, columns, row_begin, row_end, x, x_stride, count, out, out_stride);
        return;
    }
}

void ck_layer_norm(ck_variant variant, const float *x, const float *weight, const float *bias, size_t count,
                   float epsilon, float *out) {
    switch (ck_usable_variant(variant)) {
#if defined(__x86_64__) || defined(__i386__)
    case CK_VARIANT_AVX512:
    case CK_VARIANT_AVX2: layer_norm_avx2(x, weight, bias, count, epsilon, out); return;
#endif
    default: layer_norm_portable(x, weight, bias, count, epsilon, out); return;
    }
}

void ck_attend_head(ck_variant variant, const float *q, const float *k, const float *v, size_t stride,
                    size_t count, size_t dimensions, float scale, float *scratch, float *out, size_t out_stride) {
    switch (ck_usable_variant(variant)) {
#if defined(__x86_64__) || defined(__i386__)
    case CK_VARIANT_AVX512:
    case CK_VARIANT_AVX2:
        attend_head_avx2(q, k, v, stride, count, dimensions, scale, scratch, out, out_stride);
        return;
#endif
    default: attend_head_portable(q, k, v, stride, count, dimensions, scale, scratch, out, out_stride); return;
    }
}
