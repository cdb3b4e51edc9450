// The portable variant: plain C, one lane at a time, with the same fused multiply-adds
// (fmaf is correctly rounded, as the vector FMA instructions are) in the same order.
#include <math.h>
#include "variants.h"

// No contraction of a*b+c beyond the explicit fmaf calls: the other variants do exactly
// these operations, no more fused.
#pragma STDC FP_CONTRACT OFF

CK_ROW_KERNEL(ck_q4_1_portable) {
    size_t blocks = columns / 32;
    for (size_t r = row_begin; r < row_end; r++) {
        const uint8_t *row = data + r * row_bytes;
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (size_t b = 0; b < blocks; b++) {
            const uint8_t *block = row + 20 * b;
            float d = ck_half_to_float(ck_load_u16(block)), m = ck_half_to_float(ck_load_u16(block + 2));
            const uint8_t *q = block + 4;
            const float *xb = x + 32 * b;
            for (int t = 0; t < 4; t++) {
                for (int l = 0; l < 8; l++) {
                    uint8_t byte = q[4 * (l & 3) + t];
                    float nibble = (float)(l < 4 ? byte & 0x0F : byte >> 4);
                    acc[l] = fmaf(fmaf(nibble, d, m), xb[8 * t + l], acc[l]);
                }
            }
        }
        out[r] = ck_horizontal_sum(acc);
    }
}

CK_ROW_KERNEL(ck_q8_0_portable) {
    size_t blocks = columns / 32;
    for (size_t r = row_begin; r < row_end; r++) {
        const uint8_t *row = data + r * row_bytes;
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (size_t b = 0; b < blocks; b++) {
            const uint8_t *block = row + 34 * b;
            float d = ck_half_to_float(ck_load_u16(block));
            const int8_t *q = (const int8_t *)(block + 2);
            const float *xb = x + 32 * b;
            for (int t = 0; t < 4; t++) {
                for (int l = 0; l < 8; l++) {
                    float w = (float)q[4 * l + t] * d;
                    acc[l] = fmaf(w, xb[8 * t + l], acc[l]);
                }
            }
        }
        out[r] = ck_horizontal_sum(acc);
    }
}

// The batch kernels: each vector on its own through the row kernels above (one output is
// the same operations whichever way it is reached).
CK_BATCH_KERNEL(ck_q4_1_batch_portable) {
    for (size_t v = 0; v < count; v++)
        ck_q4_1_portable(data, row_bytes, columns, row_begin, row_end, x + v * x_stride, out + v * out_stride);
}

CK_BATCH_KERNEL(ck_q8_0_batch_portable) {
    for (size_t v = 0; v < count; v++)
        ck_q8_0_portable(data, row_bytes, columns, row_begin, row_end, x + v * x_stride, out + v * out_stride);
}
