/* ops/ops_nn.c - the nn operator family list: conv, gemm, pooling, norms, softmax. */
#include "ops/op.h"

extern const sqz_op sqz_op_conv, sqz_op_conv_transpose, sqz_op_gemm, sqz_op_matmul;
extern const sqz_op sqz_op_maxpool, sqz_op_averagepool, sqz_op_global_averagepool, sqz_op_global_maxpool;
extern const sqz_op sqz_op_batchnorm, sqz_op_instancenorm, sqz_op_layernorm, sqz_op_lrn;
extern const sqz_op sqz_op_softmax, sqz_op_logsoftmax, sqz_op_hardmax;

const sqz_op *const sqz_ops_nn[] = {
    &sqz_op_conv,       &sqz_op_conv_transpose,     &sqz_op_gemm,          &sqz_op_matmul,
    &sqz_op_maxpool,    &sqz_op_averagepool,        &sqz_op_global_averagepool, &sqz_op_global_maxpool,
    &sqz_op_batchnorm,  &sqz_op_instancenorm,       &sqz_op_layernorm,     &sqz_op_lrn,
    &sqz_op_softmax,    &sqz_op_logsoftmax,         &sqz_op_hardmax,
};
const int sqz_ops_nn_count = (int)(sizeof sqz_ops_nn / sizeof sqz_ops_nn[0]);
