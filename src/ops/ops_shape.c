/* ops/ops_shape.c - the shape / data-movement operator family list. */
#include "ops/op.h"

extern const sqz_op sqz_op_reshape, sqz_op_flatten, sqz_op_squeeze, sqz_op_unsqueeze, sqz_op_identity,
    sqz_op_dropout, sqz_op_transpose, sqz_op_concat, sqz_op_split, sqz_op_slice, sqz_op_gather,
    sqz_op_gather_elements, sqz_op_scatter_elements, sqz_op_scatter, sqz_op_constant, sqz_op_constant_of_shape,
    sqz_op_shape, sqz_op_size, sqz_op_range, sqz_op_eyelike, sqz_op_pad, sqz_op_expand, sqz_op_tile,
    sqz_op_depth_to_space, sqz_op_space_to_depth, sqz_op_gather_nd, sqz_op_onehot, sqz_op_trilu, sqz_op_resize,
    sqz_op_upsample, sqz_op_scatter_nd, sqz_op_compress, sqz_op_reverse_sequence;

const sqz_op *const sqz_ops_shape[] = {
    &sqz_op_reshape,   &sqz_op_flatten,          &sqz_op_squeeze,         &sqz_op_unsqueeze,
    &sqz_op_identity,  &sqz_op_dropout,          &sqz_op_transpose,       &sqz_op_concat,
    &sqz_op_split,     &sqz_op_slice,            &sqz_op_gather,          &sqz_op_gather_elements,
    &sqz_op_scatter_elements, &sqz_op_scatter,   &sqz_op_constant,        &sqz_op_constant_of_shape,
    &sqz_op_shape,     &sqz_op_size,             &sqz_op_range,           &sqz_op_eyelike,
    &sqz_op_pad,       &sqz_op_expand,           &sqz_op_tile,            &sqz_op_depth_to_space,
    &sqz_op_space_to_depth, &sqz_op_gather_nd,       &sqz_op_onehot,          &sqz_op_trilu,
    &sqz_op_resize,    &sqz_op_upsample,         &sqz_op_scatter_nd,      &sqz_op_compress,
    &sqz_op_reverse_sequence,
};
const int sqz_ops_shape_count = (int)(sizeof sqz_ops_shape / sizeof sqz_ops_shape[0]);
