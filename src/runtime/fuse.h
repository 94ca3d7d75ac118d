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

/* Chains run as one (ops/nn_conv.h): a Conv 1x1 "project" node C whose input comes (through at
 * most a fused activation) from a depthwise Conv B, itself fed (likewise) by a Conv 1x1 "expand"
 * A or by any tensor, every intermediate read only inside the chain and not a graph output, all
 * weights constant f32, and the depthwise conv's input at least 512 KiB per image by the graph's
 * static shapes (smaller tensors stay in cache anyway). For each tail C: chain_d[C] = B and
 * chain_e[C] = A or -1; in_chain[] marks A, B and their activation nodes (computed by C's step).
 * kind[] is the activation plan above. Returns the number of chains. */
int sqz_chain_plan(const sqz_graph *g, const uint8_t *kind, int *chain_e, int *chain_d, uint8_t *in_chain);

/* Gemm pairs (ops/op.h, SQZ_XL_*): a Gemm P (transA 0, transB 1, constant 2-D f32 weights, no C
 * or a constant bias row with beta 1) whose output, through at most its fused activation, is
 * read only by a Gemm Q (transA 0) as its input 0, and is not a graph output. P may store that
 * output transposed (Y^T = W A^T: the weights become the packed operand, the batch the columns),
 * and Q then reads it so (its A packed from K x M rows, or as a row-major B when Q is itself a
 * P). Sets xl[P] = SQZ_XL_OUT_T; returns the number of pairs. */
int sqz_gemm_pair_plan(const sqz_graph *g, const uint8_t *kind, uint8_t *xl);

#endif
