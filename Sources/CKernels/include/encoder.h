// The BERT sentence encoder's kernels: the packed F32 matrix product, layer normalisation
// and one head of bidirectional attention. Each variant computes exactly what the Swift
// `PackedMatrix.multiply`, `layerNorm` and `attendHead` of Kernels.swift compute (the same
// fused steps in the same order, the same 8-lane sums and horizontal-sum tree), so an
// embedding is the same bits on every machine.
#ifndef CKERNELS_ENCODER_H
#define CKERNELS_ENCODER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// out[v · out_stride + r] = bias[r] + Σ_k x[v][k] · w[r][k] for rows [row_begin, row_end)
/// (multiples of 16) and `count` activation rows (x[v] at `x + v · x_stride`); `panels`
/// holds the weights as PackedMatrix lays them out: panels of 16 rows, the 16 weights of
/// each column together. Every output is one chain of fused multiply-adds in column order,
/// starting from its bias.
void ck_packed_matmul(ck_variant variant, const float *panels, const float *bias, size_t columns,
                      size_t row_begin, size_t row_end, const float *x, size_t x_stride, size_t count,
                      float *out, size_t out_stride);

/// out = (x − mean) / √(variance + ε) · weight + bias over `count` floats (a multiple of 8);
/// `out` may be `x`.
void ck_layer_norm(ck_variant variant, const float *x, const float *weight, const float *bias, size_t count,
                   float epsilon, float *out);

/// One head of attention over `count` tokens: out_i = Σ_j softmax_j(scale · q_i · k_j) · v_j,
/// rows `stride` floats apart, `dimensions` a multiple of 8, out rows `out_stride` apart.
/// `scratch` holds (dimensions + 2) · (count rounded up to 32) floats.
void ck_attend_head(ck_variant variant, const float *q, const float *k, const float *v, size_t stride,
                    size_t count, size_t dimensions, float scale, float *scratch, float *out, size_t out_stride);

#ifdef __cplusplus
}
#endif

#endif
