/* ops/ops_nn.c - the nn operator family list. */
#include "ops/op.h"

const sqz_op *const sqz_ops_nn[] = {NULL};
const int sqz_ops_nn_count = 0;
