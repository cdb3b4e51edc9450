// Elementwise activations: the BERT encoder's GELU and the Llama feed-forward's SwiGLU.
// Each variant computes, lane for lane, what the Swift `gelu` and `swiGLU` of Kernels.swift
// compute (same constants, same fused steps, the same `exp`), so the results are the same
// bits on every machine.
#ifndef CKERNELS_ACTIVATION_H
#define CKERNELS_ACTIVATION_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// x ← x·Φ(x) over `count` floats (a multiple of 8), the exact (erf) form by Abramowitz &
/// Stegun 7.1.26, as Kernels.swift's `gelu` documents.
void ck_gelu(ck_variant variant, float *x, size_t count);

/// gate ← gate / (1 + e^(−gate)) · up over `count` floats (a multiple of 8).
void ck_swiglu(ck_variant variant, float *gate, const float *up, size_t count);

#ifdef __cplusplus
}
#endif

#endif
