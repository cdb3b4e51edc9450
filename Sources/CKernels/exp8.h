// e^x as the Swift `exp(_: SIMD8<Float>)` of Kernels.swift computes it, for the attention, activation
// and encoder kernels: one function per instruction-set variant, each lane doing exactly
// the Swift lane's operations (clamp to [-87, 88], n = round(x·log2 e) by the 1.5·2²³
// shifter, r = x − n·ln2 in two fused steps, the Cephes polynomial by fused steps, 2^n in
// the exponent bits). The lanes are independent, so any width gives the same bits.
#ifndef CKERNELS_EXP8_H
#define CKERNELS_EXP8_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define CK_EXP_LOW (-87.0f)
#define CK_EXP_HIGH 88.0f
#define CK_EXP_SHIFTER 12582912.0f
#define CK_EXP_LOG2E 1.44269504f
#define CK_EXP_LN2_HIGH (-0.693359375f)
#define CK_EXP_LN2_LOW 2.1219444e-4f
#define CK_EXP_P0 1.98756915e-4f
#define CK_EXP_P1 1.3981999507e-3f
#define CK_EXP_P2 8.3334519073e-3f
#define CK_EXP_P3 4.1665795894e-2f
#define CK_EXP_P4 1.6666665459e-1f
#define CK_EXP_P5 5.0000001201e-1f

/// One lane, with `fmaf` for each of Swift's `addingProduct`s.
static inline float ck_exp_lane(float x) {
    if (x < CK_EXP_LOW) x = CK_EXP_LOW;
    if (x > CK_EXP_HIGH) x = CK_EXP_HIGH;
    float t = fmaf(x, CK_EXP_LOG2E, CK_EXP_SHIFTER);
    float n = t - CK_EXP_SHIFTER;
    float r = fmaf(n, CK_EXP_LN2_LOW, fmaf(n, CK_EXP_LN2_HIGH, x));
    float p = CK_EXP_P0;
    p = fmaf(p, r, CK_EXP_P1);
    p = fmaf(p, r, CK_EXP_P2);
    p = fmaf(p, r, CK_EXP_P3);
    p = fmaf(p, r, CK_EXP_P4);
    p = fmaf(p, r, CK_EXP_P5);
    float er = fmaf(p, r * r, r + 1.0f);
    uint32_t bits;
    memcpy(&bits, &t, 4);
    bits = (bits - 0x4B400000u + 127u) << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return er * scale;
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

__attribute__((target("avx2,fma"))) static inline __m256 ck_exp_avx2(__m256 x) {
    const __m256 low = _mm256_set1_ps(CK_EXP_LOW), high = _mm256_set1_ps(CK_EXP_HIGH);
    x = _mm256_blendv_ps(x, low, _mm256_cmp_ps(x, low, _CMP_LT_OQ));
    x = _mm256_blendv_ps(x, high, _mm256_cmp_ps(x, high, _CMP_GT_OQ));
    const __m256 shifter = _mm256_set1_ps(CK_EXP_SHIFTER);
    __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(CK_EXP_LOG2E), shifter);
    __m256 n = _mm256_sub_ps(t, shifter);
    __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(CK_EXP_LN2_HIGH), x);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(CK_EXP_LN2_LOW), r);
    __m256 p = _mm256_set1_ps(CK_EXP_P0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(CK_EXP_P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(CK_EXP_P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(CK_EXP_P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(CK_EXP_P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(CK_EXP_P5));
    __m256 er = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(0x4B400000));
    e = _mm256_slli_epi32(_mm256_add_epi32(e, _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(er, _mm256_castsi256_ps(e));
}

__attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma"))) static inline __m512 ck_exp_avx512(__m512 x) {
    const __m512 low = _mm512_set1_ps(CK_EXP_LOW), high = _mm512_set1_ps(CK_EXP_HIGH);
    x = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, low, _CMP_LT_OQ), x, low);
    x = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, high, _CMP_GT_OQ), x, high);
    const __m512 shifter = _mm512_set1_ps(CK_EXP_SHIFTER);
    __m512 t = _mm512_fmadd_ps(x, _mm512_set1_ps(CK_EXP_LOG2E), shifter);
    __m512 n = _mm512_sub_ps(t, shifter);
    __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(CK_EXP_LN2_HIGH), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(CK_EXP_LN2_LOW), r);
    __m512 p = _mm512_set1_ps(CK_EXP_P0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(CK_EXP_P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(CK_EXP_P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(CK_EXP_P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(CK_EXP_P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(CK_EXP_P5));
    __m512 er = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512i e = _mm512_sub_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(0x4B400000));
    e = _mm512_slli_epi32(_mm512_add_epi32(e, _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(er, _mm512_castsi512_ps(e));
}
#endif

#endif
