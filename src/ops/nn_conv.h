/* ops/nn_conv.h - the Conv operator's entry for chains the session runs as one (private).
 *
 * A session (runtime/fuse.h) may run a 1x1 expand Conv, a depthwise Conv and a 1x1 project Conv
 * as one chain by bands of rows (kernels/conv_f32.h, sqz_conv_chain_f32). ce (NULL without
 * expand), cd and cp are the three nodes' contexts: inputs bound (the intermediate tensors as
 * descriptors only, without data), activation fields as each node fuses them, node states for
 * the packed weights, cp's output allocated. */
#ifndef SQZ_OPS_NN_CONV_H
#define SQZ_OPS_NN_CONV_H

#include "ops/op.h"

/* Scratch bytes of the chain; 0 when these nodes do not make one (then the forward fails). */
size_t sqz_conv_chain_scratch(const sqz_opctx *ce, const sqz_opctx *cd, const sqz_opctx *cp);
/* cp->out[0] from (ce ? ce : cd)->in[0]; the 1x1 weights are packed once into ce's and cp's state. */
sqz_status sqz_conv_chain_forward(sqz_opctx *ce, sqz_opctx *cd, sqz_opctx *cp);

#endif
