/* kernels/ref/pool_ref.c - reference max/average pooling (N-D, strides, pads, dilations)
 * and global pools; max pooling also for u8/i8 (bodies in pool_ref.inc). */
#include <math.h>
#include <stdint.h>

#include "kernels/ref/kernels_ref.h"

#define POOL_AVG
#define T float
#define T_LOWEST (-INFINITY)
#define FN(name) name##_f32_ref
#define LOCAL(name) name##_f32
#include "kernels/ref/pool_ref.inc"
#undef T
#undef T_LOWEST
#undef FN
#undef LOCAL

#define T double
#define T_LOWEST (-(double)INFINITY)
#define FN(name) name##_f64_ref
#define LOCAL(name) name##_f64
#include "kernels/ref/pool_ref.inc"
#undef T
#undef T_LOWEST
#undef FN
#undef LOCAL
#undef POOL_AVG

#define T uint8_t
#define T_LOWEST 0
#define FN(name) name##_u8_ref
#define LOCAL(name) name##_u8
#include "kernels/ref/pool_ref.inc"
#undef T
#undef T_LOWEST
#undef FN
#undef LOCAL

#define T int8_t
#define T_LOWEST INT8_MIN
#define FN(name) name##_i8_ref
#define LOCAL(name) name##_i8
#include "kernels/ref/pool_ref.inc"
