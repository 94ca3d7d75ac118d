/* runtime/fuse.h - choosing activations to fuse into their producer (private).
 *
 * A node whose operator sets fuse_act (see ops/op.h) and whose first output is read by
 * exactly one node, a Relu or a Clip with constant bounds, and is not a graph output,
 * runs with c->act = 1 and the bounds; the Relu/Clip then becomes a no-op whose output
 * aliases the producer's buffer. Only f32 outputs are fused. */
#ifndef SQZ_RUNTIME_FUSE_H
#define SQZ_RUNTIME_FUSE_H

#include <stdint.h>

#include "ops/op.h"
#include "sqz/graph.h"

enum { SQZ_FUSE_NONE = 0, SQZ_FUSE_PRODUCER = 1, SQZ_FUSE_NOOP = 2 };

/* ops[k] is node k's operator. Fills kind[n_nodes] (SQZ_FUSE_*), and lo/hi[n_nodes] for
 * producers. Returns the number of fused pairs. */
int sqz_fuse_plan(const sqz_graph *g, const sqz_op *const *ops, uint8_t *kind, float *lo, float *hi);

#endif
