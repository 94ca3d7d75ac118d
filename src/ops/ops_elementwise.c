/* ops/ops_elementwise.c - the elementwise operator family list: binary arithmetic,
 * comparisons and logic, unary math, activations, Clip, Where, Cast, variadic Max/Min/Sum/
 * Mean, reductions and ArgMax/ArgMin. Each op is defined in its elem_*.c file. */
#include "ops/op.h"

#define SQZ_ELEM_OPS(X)                                                                          \
    /* elem_arith.c */ X(add) X(sub) X(mul) X(div) X(mod) X(prelu) X(bitshift)                  \
    /* elem_pow.c */ X(pow)                                                                      \
    /* elem_compare.c */ X(equal) X(less) X(less_equal) X(greater) X(greater_equal) X(and) X(or) \
    X(xor)                                                                                       \
    /* elem_variadic.c */ X(max) X(min) X(sum) X(mean)                                           \
    /* elem_unary.c */ X(sqrt) X(exp) X(log) X(neg) X(abs) X(reciprocal) X(floor) X(ceil)       \
    X(round) X(sign) X(sin) X(cos) X(tan) X(asin) X(acos) X(atan) X(sinh) X(cosh) X(asinh)       \
    X(acosh) X(atanh) X(erf) X(not) X(isnan) X(isinf)                                            \
    /* elem_activation.c */ X(relu) X(leakyrelu) X(elu) X(selu) X(celu) X(sigmoid) X(tanh)      \
    X(hardsigmoid) X(hardswish) X(softplus) X(softsign) X(thresholdedrelu) X(mish) X(shrink)     \
    /* elem_clip.c, elem_where.c, elem_cast.c */ X(clip) X(where) X(cast) X(castlike)           \
    /* elem_reduce.c */ X(reduce_sum) X(reduce_mean) X(reduce_max) X(reduce_min) X(reduce_prod) \
    X(reduce_l1) X(reduce_l2) X(reduce_sum_square) X(reduce_log_sum) X(reduce_log_sum_exp)       \
    /* elem_argmax.c */ X(argmax) X(argmin)

#define DECLARE(sym) extern const sqz_op sqz_op_##sym;
SQZ_ELEM_OPS(DECLARE)
#undef DECLARE

#define ENTRY(sym) &sqz_op_##sym,
const sqz_op *const sqz_ops_elementwise[] = {SQZ_ELEM_OPS(ENTRY)};
#undef ENTRY
const int sqz_ops_elementwise_count = (int)(sizeof sqz_ops_elementwise / sizeof sqz_ops_elementwise[0]);
