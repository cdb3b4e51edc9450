// The engine's hot quantised matrix products (one vector, or a batch of them), in C so that
// each instruction-set variant can be compiled with its own per-function target attribute
// and chosen at run time, on any x86-64 (or other) machine.
//
// Every variant computes the same bits as the others and as the Swift kernels: per output,
// eight lanes, lane l accumulating fma(w, x, acc) over the row's 8-weight steps in kernel
// order, the weight dequantised exactly as the Swift `BlockFormat`s do, then the fixed
// pairwise horizontal sum ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).
#ifndef CKERNELS_H
#define CKERNELS_H

#include <stddef.h>

#include "ck_pool.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction-set variants, slowest to fastest.
typedef enum {
    CK_VARIANT_PORTABLE = 0,
    CK_VARIANT_AVX2 = 1,
    CK_VARIANT_AVX512 = 2,
} ck_variant;

/// The fastest variant this CPU runs.
ck_variant ck_best_variant(void);

/// "portable", "avx2" or "avx512".
const char *ck_variant_name(ck_variant variant);

/// Q4_1 rows [row_begin, row_end) times one vector `x` (columns floats in the interleaved
/// kernel order): out[r] = row r · x. `data` is the matrix's first row; rows are
/// `row_bytes` apart. A variant the CPU lacks falls back to the best one it has.
void ck_matvec_q4_1(ck_variant variant, const void *data, size_t row_bytes, size_t columns,
                    size_t row_begin, size_t row_end, const float *x, float *out);

/// The same for Q8_0 rows.
void ck_matvec_q8_0(ck_variant variant, const void *data, size_t row_bytes, size_t columns,
                    size_t row_begin, size_t row_end, const float *x, float *out);

/// Q4_1 rows [row_begin, row_end) times `count` vectors (batched decode, prefill): vector v
/// starts at `x + v * x_stride`, and out[v * out_stride + r] = row r · vector v, computed
/// exactly as `ck_matvec_q4_1` computes it for that vector alone. Each row's weights are
/// unpacked once for up to six vectors.
void ck_matmul_q4_1(ck_variant variant, const void *data, size_t row_bytes, size_t columns,
                    size_t row_begin, size_t row_end, const float *x, size_t x_stride, size_t count,
                    float *out, size_t out_stride);

/// The same for Q8_0 rows.
void ck_matmul_q8_0(ck_variant variant, const void *data, size_t row_bytes, size_t columns,
                    size_t row_begin, size_t row_end, const float *x, size_t x_stride, size_t count,
                    float *out, size_t out_stride);

// The other weight formats, the BERT encoder's kernels and the elementwise activations, in
// their own headers.
#include "block_formats.h"
#include "encoder.h"
#include "activation.h"

#ifdef __cplusplus
}
#endif

// The attention kernels (scores, softmax numerators, weighted sums).
#include "ck_attention.h"

#endif
