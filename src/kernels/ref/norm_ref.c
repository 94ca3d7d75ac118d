/* kernels/ref/norm_ref.c - reference batch, instance and layer normalization and local
 * response normalization for f32 and f64 (bodies in norm_ref.inc). */
#include <math.h>

#include "kernels/ref/kernels_ref.h"

#define SQRT sqrt
#define POW pow

#define T float
#define FN(name) name##_f32_ref
#define LOCAL(name) name##_f32
#include "kernels/ref/norm_ref.inc"
#undef T
#undef FN
#undef LOCAL

#define T double
#define FN(name) name##_f64_ref
#define LOCAL(name) name##_f64
#include "kernels/ref/norm_ref.inc"
