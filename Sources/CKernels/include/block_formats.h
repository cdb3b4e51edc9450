// Products of the ggml weight formats the default model does not use (Q4_0, F16, F32),
// for other GGUF files. Each variant computes what the Swift `BlockFormat` tiles of
// Kernels.swift compute and what the Q4_1 and Q8_0 kernels do for their formats: per
// output, eight lanes, lane l accumulating fma(w, x, acc) over the row's 8-weight steps in
// kernel order, then the fixed pairwise horizontal sum.
#ifndef CKERNELS_BLOCK_FORMATS_H
#define CKERNELS_BLOCK_FORMATS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The format of a `ck_matmul_format` matrix.
typedef enum {
    CK_FORMAT_Q4_0 = 0,
    CK_FORMAT_F16 = 1,
    CK_FORMAT_F32 = 2,
} ck_format;

/// Rows [row_begin, row_end) of a `format` matrix times `count` vectors (Q4_0 reads them in
/// the interleaved kernel order, F16 and F32 in natural order): vector v starts at
/// `x + v * x_stride`, and out[v * out_stride + r] = row r · vector v, computed for each
/// vector exactly as for that vector alone.
void ck_matmul_format(ck_variant variant, ck_format format, const void *data, size_t row_bytes, size_t columns,
                      size_t row_begin, size_t row_end, const float *x, size_t x_stride, size_t count,
                      float *out, size_t out_stride);

#ifdef __cplusplus
}
#endif

#endif
