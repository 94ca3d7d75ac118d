/* kernels/elem_f32.h - vectorized fp32 elementwise kernels for equal shapes, dispatched by ISA
 * level (SQZ_ISA_REF: the scalar loops, the oracle). Used by Add (with an optional fused
 * Relu/Clip) and by Relu. NaN passes through the clamp; the sign of a zero result may differ
 * from the scalar Relu (max(0, -0) keeps -0). x may equal y (in place). */
#ifndef SQZ_KERNELS_ELEM_F32_H
#define SQZ_KERNELS_ELEM_F32_H

#include <stdint.h>

#include "core/cpu.h"

/* y[i] = min(max(x[i], lo), hi) */
void sqz_clamp_f32(sqz_isa isa, int64_t n, const float *x, float *y, float lo, float hi);
/* y[i] = a[i] + b[i], then clamped to [lo, hi] when clamp */
void sqz_add_f32(sqz_isa isa, int64_t n, const float *a, const float *b, float *y, int clamp, float lo, float hi);

#endif
