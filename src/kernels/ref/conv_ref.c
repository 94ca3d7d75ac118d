/* kernels/ref/conv_ref.c - reference N-D convolution and transposed convolution for f32 and
 * f64 (bodies in conv_ref.inc), and the scratch they need. */
#include <stdint.h>

#include "kernels/ref/kernels_ref.h"

/* a * b * ... with SIZE_MAX on overflow */
static size_t mul_sat(size_t a, int64_t b) {
    if (a == SIZE_MAX || b < 0) return SIZE_MAX;
    if (b != 0 && a > SIZE_MAX / (size_t)b) return SIZE_MAX;
    return a * (size_t)b;
}

size_t sqz_conv_scratch_bytes(const sqz_conv_params *p, size_t elem_size) {
    if (p->group <= 0) return 0;
    const int64_t cg = p->c_in / p->group;
    int pointwise = 1;
    for (int d = 0; d < p->nsp; d++)
        if (p->kernel[d] != 1 || p->stride[d] != 1 || p->pad_begin[d] != 0 || p->in[d] != p->out[d])
            pointwise = 0;
    if (pointwise || (cg == 1 && p->nsp <= 2)) return 0;
    size_t n = mul_sat(elem_size, cg);
    for (int d = 0; d < p->nsp; d++) n = mul_sat(mul_sat(n, p->kernel[d]), p->out[d]);
    return n;
}

size_t sqz_conv_transpose_scratch_bytes(const sqz_conv_params *p, size_t elem_size) {
    if (p->group <= 0) return 0;
    size_t n = mul_sat(elem_size, p->c_out / p->group);
    for (int d = 0; d < p->nsp; d++) n = mul_sat(mul_sat(n, p->kernel[d]), p->in[d]);
    return n;
}

#define T float
#define FN(name) name##_f32_ref
#define LOCAL(name) name##_f32
#define GEMM(name) name##_f32_ref
#include "kernels/ref/conv_ref.inc"
#undef T
#undef FN
#undef LOCAL
#undef GEMM

#define T double
#define FN(name) name##_f64_ref
#define LOCAL(name) name##_f64
#define GEMM(name) name##_f64_ref
#include "kernels/ref/conv_ref.inc"
