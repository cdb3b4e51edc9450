// GELU and SwiGLU in three variants (portable, AVX2, AVX-512), chosen at run time. The
// operations are elementwise, so a 16-lane register computes exactly what two 8-lane ones
// (and the portable loop) compute.

// No contraction of a*b+c beyond the explicit fused operations: the Swift code fuses
// exactly those.
#pragma STDC FP_CONTRACT OFF

#include "CKernels.h"
#include "variants.h"
#include "exp8.h"

#define GELU_SQRT_HALF 0.7071067811865475f
#define GELU_P 0.3275911f
#define GELU_A5 1.061405429f
#define GELU_A4 (-1.453152027f)
#define GELU_A3 1.421413741f
#define GELU_A2 (-0.284496736f)
#define GELU_A1 0.254829592f

static inline float gelu_lane(float v) {
    float z = fabsf(v) * GELU_SQRT_HALF;
    float t = 1.0f / fmaf(z, GELU_P, 1.0f);
    float p = GELU_A5;
    p = fmaf(p, t, GELU_A4);
    p = fmaf(p, t, GELU_A3);
    p = fmaf(p, t, GELU_A2);
    p = fmaf(p, t, GELU_A1);
    float half_tail = p * t * ck_exp_lane(-(z * z)) * 0.5f;
    float phi = v < 0 ? half_tail : 1.0f - half_tail;
    return v * phi;
}

static void gelu_portable(float *x, size_t count) {
    for (size_t i = 0; i < count; i++) x[i] = gelu_lane(x[i]);
}

static void swiglu_portable(float *gate, const float *up, size_t count) {
    for (size_t i = 0; i < count; i++) {
        float x = gate[i];
        gate[i] = x / (1.0f + ck_exp_lane(-x)) * up[i];
    }
}

#if defined(__x86_64__) || defined(__i386__)

CK_AVX2 static inline __m256 gelu_avx2_lanes(__m256 v) {
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 magnitude = _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF)));
    __m256 z = _mm256_mul_ps(magnitude, _mm256_set1_ps(GELU_SQRT_HALF));
    __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(z, _mm256_set1_ps(GELU_P), one));
    __m256 p = _mm256_set1_ps(GELU_A5);
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(GELU_A4));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(GELU_A3));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(GELU_A2));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(GELU_A1));
    __m256 negated_square = _mm256_xor_ps(_mm256_mul_ps(z, z), _mm256_set1_ps(-0.0f));
    __m256 half_tail = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(p, t), ck_exp_avx2(negated_square)), _mm256_set1_ps(0.5f));
    __m256 negative = _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ);
    __m256 phi = _mm256_blendv_ps(_mm256_sub_ps(one, half_tail), half_tail, negative);
    return _mm256_mul_ps(v, phi);
}

CK_AVX2 static void gelu_avx2(float *x, size_t count) {
    for (size_t i = 0; i + 8 <= count; i += 8) _mm256_storeu_ps(x + i, gelu_avx2_lanes(_mm256_loadu_ps(x + i)));
}

CK_AVX2 static inline __m256 swiglu_avx2_lanes(__m256 x, __m256 y) {
    __m256 e = ck_exp_avx2(_mm256_xor_ps(x, _mm256_set1_ps(-0.0f)));
    return _mm256_mul_ps(_mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e)), y);
}

CK_AVX2 static void swiglu_avx2(float *gate, const float *up, size_t count) {
    for (size_t i = 0; i + 8 <= count; i += 8)
        _mm256_storeu_ps(gate + i, swiglu_avx2_lanes(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
}

CK_AVX512 static inline __m512 gelu_avx512_lanes(__m512 v) {
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 magnitude = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7FFFFFFF)));
    __m512 z = _mm512_mul_ps(magnitude, _mm512_set1_ps(GELU_SQRT_HALF));
    __m512 t = _mm512_div_ps(one, _mm512_fmadd_ps(z, _mm512_set1_ps(GELU_P), one));
    __m512 p = _mm512_set1_ps(GELU_A5);
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(GELU_A4));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(GELU_A3));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(GELU_A2));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(GELU_A1));
    __m512 negated_square = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(_mm512_mul_ps(z, z)),
                                                                 _mm512_set1_epi32((int)0x80000000u)));
    __m512 half_tail = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(p, t), ck_exp_avx512(negated_square)), _mm512_set1_ps(0.5f));
    __mmask16 negative = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
    __m512 phi = _mm512_mask_blend_ps(negative, _mm512_sub_ps(one, half_tail), half_tail);
    return _mm512_mul_ps(v, phi);
}

CK_AVX512 static void gelu_avx512(float *x, size_t count) {
    size_t i = 0;
    for (; i + 16 <= count; i += 16) _mm512_storeu_ps(x + i, gelu_avx512_lanes(_mm512_loadu_ps(x + i)));
    if (i < count) {
        __mmask16 rest = (__mmask16)((1u << (count - i)) - 1);
        _mm512_mask_storeu_ps(x + i, rest, gelu_avx512_lanes(_mm512_maskz_loadu_ps(rest, x + i)));
    }
}

CK_AVX512 static inline __m512 swiglu_avx512_lanes(__m512 x, __m512 y) {
    __m512 negated = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int)0x80000000u)));
    return _mm512_mul_ps(_mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), ck_exp_avx512(negated))), y);
}

CK_AVX512 static void swiglu_avx512(float *gate, const float *up, size_t count) {
    size_t i = 0;
    for (; i + 16 <= count; i += 16)
        _mm512_storeu_ps(gate + i, swiglu_avx512_lanes(_mm512_loadu_ps(gate + i), _mm512_loadu_ps(up + i)));
    if (i < count) {
        __mmask16 rest = (__mmask16)((1u << (count - i)) - 1);
        __m512 y = _mm512_maskz_loadu_ps(rest, up + i);
        _mm512_mask_storeu_ps(gate + i, rest, swiglu_avx512_lanes(_mm512_maskz_loadu_ps(rest, gate + i), y));
    }
}
#endif

void ck_gelu(ck_variant variant, float *x, size_t count) {
    switch (ck_usable_variant(variant)) {
#if defined(__x86_64__) || defined(__i386__)
    case CK_VARIANT_AVX512: gelu_avx512(x, count); return;
    case CK_VARIANT_AVX2: gelu_avx2(x, count); return;
#endif
    default: gelu_portable(x, count); return;
    }
}

void ck_swiglu(ck_variant variant, float *gate, const float *up, size_t count) {
    switch (ck_usable_variant(variant)) {
#if defined(__x86_64__) || defined(__i386__)
    case CK_VARIANT_AVX512: swiglu_avx512(gate, up, count); return;
    case CK_VARIANT_AVX2: swiglu_avx2(gate, up, count); return;
#endif
    default: swiglu_portable(gate, up, count); return;
    }
}
