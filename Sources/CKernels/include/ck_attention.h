// The llama attention kernels: scores of several queries against one head's keys, the
// softmax numerators of a row of scores, and the weighted sums of values, each in the
// portable/AVX2/AVX-512 variants of `ck_variant`, chosen at run time.
//
// Every variant computes the same bits as the others, and the same bits for a query whether
// it is computed alone or with others (the queries of a batch only share loads):
// - a score is scale · ((0 + Σ_segments hsum(a + b))), per 64-dimension segment a and b
//   being eight lanes that start with q·k of lanes 0 and 1 and take fma(q, k, ·) of lanes
//   2/3, 4/5, 6/7 in turn, hsum the fixed tree ((l0+l4)+(l2+l6))+((l1+l5)+(l3+l7));
// - a softmax numerator is e^(x − max) by one polynomial (Cephes, inputs clamped to
//   [-87, 88]), the sum taken over eight lanes (value t in lane t mod 8) then the same tree;
// - an output element is scale · the chain acc = fma(w_t, v_t, acc) over t ascending from 0.
#ifndef CK_ATTENTION_H
#define CK_ATTENTION_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// scores[i * score_stride + t] = scale · q_i · k_t for `queries` queries (query i at
/// `q + i * q_stride`) and keys t < `count` (key t at `keys + t * key_stride`), each
/// `dimensions` floats (a multiple of 8). Each key block is read once for all queries.
void ck_attention_scores(ck_variant variant, const float *q, size_t q_stride, size_t queries,
                         const float *keys, size_t key_stride, size_t count, size_t dimensions,
                         float scale, float *scores, size_t score_stride);

/// Replaces values[0..<count] by e^(value − max) and returns their sum: the unnormalised
/// softmax.
float ck_softmax_numerators(ck_variant variant, float *values, size_t count);

/// out[i * out_stride + d] = scales[i] · Σ_{t < counts[i]} weights[i * weight_stride + t] · v_t[d]
/// for `queries` rows of weights (value t at `values + t * value_stride`, `dimensions`
/// floats, a multiple of 8). Each value row is read once for several queries.
void ck_attention_weighted_sum(ck_variant variant, const float *values, size_t value_stride,
                               const float *weights, size_t weight_stride, const size_t *counts,
                               const float *scales, size_t queries, size_t dimensions,
                               float *out, size_t out_stride);

#ifdef __cplusplus
}
#endif

#endif
