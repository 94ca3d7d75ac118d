/* train/grad_table.c - the table of operators the tape can differentiate. */
#include <string.h>

#include "train/grad.h"

static const sqz_grad_op *const table[] = {
    &sqz_grad_conv,       &sqz_grad_gemm_op,    &sqz_grad_matmul,     &sqz_grad_maxpool,
    &sqz_grad_avgpool,    &sqz_grad_gavgpool,   &sqz_grad_batchnorm,  &sqz_grad_layernorm,
    &sqz_grad_relu,       &sqz_grad_clip,       &sqz_grad_leakyrelu,  &sqz_grad_sigmoid,
    &sqz_grad_tanh,       &sqz_grad_hardsigmoid, &sqz_grad_hardswish, &sqz_grad_softmax,
    &sqz_grad_logsoftmax, &sqz_grad_add,        &sqz_grad_sub,        &sqz_grad_mul,
    &sqz_grad_div,        &sqz_grad_prelu,      &sqz_grad_concat,     &sqz_grad_split,
    &sqz_grad_slice,      &sqz_grad_reshape,    &sqz_grad_flatten,    &sqz_grad_transpose,
    &sqz_grad_squeeze,    &sqz_grad_unsqueeze,  &sqz_grad_identity,   &sqz_grad_dropout,
    &sqz_grad_reducemean,
};

const sqz_grad_op *sqz_grad_find(const char *op_type) {
    if (!op_type) return NULL;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (!strcmp(table[i]->op, op_type)) return table[i];
    return NULL;
}
