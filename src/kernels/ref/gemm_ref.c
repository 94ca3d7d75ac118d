/* kernels/ref/gemm_ref.c - reference GEMM for f32 and f64 (body in gemm_ref.inc). */
#include "kernels/ref/kernels_ref.h"

#define GEMM_MR 4   /* rows of op(A) per register tile */
#define GEMM_KC 256 /* depth of one K block */
#define GEMM_LANES 8

#define GEMM_NR 8
#define T float
#define FN(name) name##_f32_ref
#define LOCAL(name) name##_f32
#include "kernels/ref/gemm_ref.inc"
#undef T
#undef FN
#undef LOCAL
#undef GEMM_NR

#define GEMM_NR 4
#define T double
#define FN(name) name##_f64_ref
#define LOCAL(name) name##_f64
#include "kernels/ref/gemm_ref.inc"
