/* ops/ops_elementwise.c - the elementwise operator family list. */
#include "ops/op.h"

const sqz_op *const sqz_ops_elementwise[] = {NULL};
const int sqz_ops_elementwise_count = 0;
