/* ops/ops_shape.c - the shape operator family list. */
#include "ops/op.h"

const sqz_op *const sqz_ops_shape[] = {NULL};
const int sqz_ops_shape_count = 0;
