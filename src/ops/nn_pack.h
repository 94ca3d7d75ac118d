/* ops/nn_pack.h - fp32 weights packed once per session for the fast GEMM (private).
 *
 * Gemm, MatMul and Conv keep the packed form of a CONSTANT weight operand in their node state
 * (c->state, see ops/op.h) so that each run skips the packing; a state made for another ISA
 * level, another shape or another tensor is packed again. Without a session (c->state NULL),
 * for a non-constant operand or an ISA level without packed path they return NULL and the
 * caller runs the unpacked GEMM, which gives the same bits. */
#ifndef SQZ_OPS_NN_PACK_H
#define SQZ_OPS_NN_PACK_H

#include <stdint.h>

#include "core/cpu.h"
#include "kernels/ref/kernels_ref.h"
#include "ops/op.h"

/* 1 when t is an initializer the caller did not override (its values never change). */
int sqz_nn_is_const(const sqz_tensor *t);

/* op(B) (K x N, row stride ldb) of constant tensor B packed for isa; NULL when not applicable or
 * out of memory (then the caller packs per call). */
const float *sqz_nn_packed_b(sqz_opctx *c, sqz_isa isa, const sqz_tensor *B, int trans_b, int64_t K, int64_t N,
                             int64_t ldb);
/* groups blocks of A (M x K each, row-major, consecutive in W) packed for isa; block g starts at
 * the returned pointer + g * (*stride) floats. NULL when not applicable. */
const float *sqz_nn_packed_a(sqz_opctx *c, sqz_isa isa, const sqz_tensor *W, int64_t groups, int64_t M, int64_t K,
                             int64_t *stride);
/* The 3x3 conv weights W (c_out, c_in, 3, 3) transformed for the Winograd path
 * (sqz_conv_f32_pack_winograd); NULL when not applicable. */
const float *sqz_nn_packed_winograd(sqz_opctx *c, sqz_isa isa, const sqz_tensor *W, const sqz_conv_params *p);
/* release_state for ops that use the two above. */
void sqz_nn_packed_free(void *state);

#endif
