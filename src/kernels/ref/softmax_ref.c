/* kernels/ref/softmax_ref.c - reference softmax, log-softmax and hardmax for f32 and f64
 * (body in softmax_ref.inc). */
#include <math.h>

#include "kernels/ref/kernels_ref.h"

#define T float
#define FN(name) name##_f32_ref
#define EXP expf
#include "kernels/ref/softmax_ref.inc"
#undef T
#undef FN
#undef EXP

#define T double
#define FN(name) name##_f64_ref
#define EXP exp
#include "kernels/ref/softmax_ref.inc"
