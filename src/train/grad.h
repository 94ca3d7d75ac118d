/* train/grad.h - the per-operator gradient interface of the tape (private).
 *
 * One table (grad_table.c) maps an ONNX op type to a sqz_grad_op. The tape runs every node
 * through the inference operator (op->infer + op->forward) unless the entry has its own
 * `forward`, which then computes the outputs (already allocated to the inferred shapes) and
 * saves what backward needs (MaxPool argmax, BatchNorm batch statistics, Dropout mask) in the
 * node's state slots. `forward` sees c->training: BatchNormalization uses batch statistics and
 * updates the running ones only then, Dropout drops only then. `infer` (optional) replaces
 * op->infer where the inference op rejects a training-mode node (BatchNormalization with
 * training_mode = 1, Dropout with training_mode = true).
 *
 * backward(c) ACCUMULATES (+=) into c->din[i] for every input i whose gradient is wanted
 * (din[i] != NULL; always f32 of the input's numel), except where bit i of c->fresh is set: that
 * buffer was just taken for this pass, its contents are undefined, and the backward must write
 * (=) every element of it (or call sqz_grad_din_zero first and accumulate). Only ops whose entry
 * sets `stores` are ever handed fresh buffers; for the others the tape zeroes them. This saves
 * a zeroing pass and a read per activation gradient. c->dout[k] holds the gradient of float
 * output k (never NULL for a float output the tape differentiates; zeros when nothing flowed
 * back into it). Inputs are the forward values: in[i]->data holds what the node read (for a
 * fake-quantized parameter, the fake-quantized weights).
 *
 * Memory: sqz_grad_state() gives per-node buffers that live as long as the tape and are reused
 * across steps; sqz_grad_scratch() gives tape-wide temporaries (slot SQZ_GS_GEMM is reserved
 * for sqz_grad_gemm). Neither allocates once capacities have grown to the steady state. */
#ifndef SQZ_TRAIN_GRAD_H
#define SQZ_TRAIN_GRAD_H

#include <stddef.h>
#include <stdint.h>

#include "ops/op.h"
#include "sqz/graph.h"
#include "sqz/status.h"
#include "sqz/tensor.h"

#define SQZ_GRAD_STATE_SLOTS 4
#define SQZ_GRAD_SCRATCH_SLOTS 4
enum { SQZ_GS_A = 0, SQZ_GS_B = 1, SQZ_GS_C = 2, SQZ_GS_GEMM = 3 };

typedef struct sqz_grad_buf {
    void *p;
    size_t cap; /* bytes at p */
} sqz_grad_buf;

typedef struct sqz_gctx {
    const sqz_node *node;
    sqz_tensor *const *in;  /* (n_in) forward values, NULL where omitted */
    int n_in;
    sqz_tensor *const *out; /* (n_out) forward values, NULL where omitted */
    int n_out;
    float *const *din;      /* (n_in) accumulate input gradients here; NULL: not wanted */
    uint32_t fresh;         /* bit i: din[i] has undefined contents and must be written whole */
    float *const *dout;     /* (n_out) output gradients; NULL for non-float outputs */
    int64_t opset;
    int threads;
    int training;
    uint64_t seed;          /* per node and step (Dropout) */
    sqz_grad_buf *state;    /* (SQZ_GRAD_STATE_SLOTS) this node's saved state */
    sqz_grad_buf *scratch;  /* (SQZ_GRAD_SCRATCH_SLOTS) tape-wide temporaries */
    sqz_err *err;
    /* BatchNormalization or a same-shape Add fused with the Relu (act 1) or Clip to [act_lo,
     * act_hi] (act 2) that alone reads its output (set by the tape, autograd.c). Forward also
     * writes act_out and keeps the activation's gradient mask; backward reads the activation's
     * output gradient act_dout (NULL: none flowed back) and dout[0] is NULL unless a gradient
     * reached the producer's output itself. */
    int act;
    float act_lo, act_hi;
    sqz_tensor *act_out;
    const float *act_dout;
    /* Fused producers: out[0]->data is NULL when the tape defers that output (nothing reads it);
     * recompute 1 asks the forward for out[0] alone, from what the last forward kept (no batch
     * statistics recomputed or running statistics updated; the activation's output and mask come
     * out the same again). */
    int recompute;
    /* A fused same-shape Add (act set) whose operand i is the deferred output of a
     * BatchNormalization that only it reads (the tape's BN -> Add fusion): in[i]->data is NULL,
     * operand i is bn_x[i] * a + b per channel (dim 1) with a = bn_ab[i][ch], b = bn_ab[i][C + ch]
     * (what the BN forward kept). NULL for a plain operand. The forward sets *bn_live to 1 when it
     * read them so, 0 when the operands broadcast at run time (then it computed them as a separate
     * pass and the BN's backward runs unfused). */
    const sqz_tensor *bn_x[2];
    const float *bn_ab[2];
    int *bn_live;
    /* BatchNormalization backward under that fusion: the Add's activation mask (act set, act_dout
     * the activation's output gradient), in place of its own */
    const uint8_t *act_mask;
} sqz_gctx;

typedef struct sqz_grad_op {
    const char *op;                        /* ONNX op type */
    uint32_t param_slots;                  /* bit i: an f32 initializer at input i is a parameter */
    sqz_status (*infer)(sqz_opctx *c);     /* optional, see above */
    sqz_status (*forward)(sqz_gctx *c);    /* optional, see above */
    sqz_status (*backward)(sqz_gctx *c);
    int stores;                            /* backward honours c->fresh (see above) */
} sqz_grad_op;

/* Zeroes din[i] if it is fresh (then clears the bit): for paths that can only accumulate. */
void sqz_grad_din_zero(sqz_gctx *c, int i);

/* The table entry for op_type (default domain), or NULL. */
const sqz_grad_op *sqz_grad_find(const char *op_type);

/* Buffers of at least `bytes` (64-byte aligned, contents kept only when not grown); NULL and
 * c->err set on out of memory. */
void *sqz_grad_state(sqz_gctx *c, int slot, size_t bytes);
void *sqz_grad_scratch(sqz_gctx *c, int slot, size_t bytes);
/* Grows b to at least bytes; 0 on success, -1 on OOM (b unchanged). */
int sqz_grad_buf_reserve(sqz_grad_buf *b, size_t bytes);
void sqz_grad_buf_free(sqz_grad_buf *b);

/* C = alpha * op(A) * op(B) + beta * C through the fastest GEMM available (scratch slot
 * SQZ_GS_GEMM); falls back to the reference GEMM when no scratch can be had. */
void sqz_grad_gemm(sqz_gctx *c, int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                   int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);

/* Adds g (shaped like out, the broadcast result) into d (shaped like t), summing over the
 * dimensions t was broadcast along. tmp: scratch of numel(t) floats is not needed. */
void sqz_grad_reduce_bcast(const sqz_tensor *out, const sqz_tensor *t, const float *g, float *d);

/* y += x over n floats. */
static inline void sqz_grad_axpy1(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

/* Checks that tensor t is f32 (the tape differentiates f32 only). */
sqz_status sqz_grad_check_f32(const sqz_gctx *c, const sqz_tensor *t, const char *what);

/* Clip's bounds (attributes before opset 11, else inputs 1 and 2; absent: -inf / +inf). */
void sqz_grad_clip_bounds(const sqz_node *node, int64_t opset, sqz_tensor *const *in, int n_in, float *lo,
                          float *hi);

/* Family lists (each grad_<family>.c), collected by grad_table.c. */
extern const sqz_grad_op sqz_grad_conv, sqz_grad_gemm_op, sqz_grad_matmul;
extern const sqz_grad_op sqz_grad_maxpool, sqz_grad_avgpool, sqz_grad_gavgpool;
extern const sqz_grad_op sqz_grad_batchnorm, sqz_grad_layernorm;
extern const sqz_grad_op sqz_grad_relu, sqz_grad_clip, sqz_grad_leakyrelu, sqz_grad_sigmoid, sqz_grad_tanh,
    sqz_grad_hardsigmoid, sqz_grad_hardswish, sqz_grad_softmax, sqz_grad_logsoftmax;
extern const sqz_grad_op sqz_grad_add, sqz_grad_sub, sqz_grad_mul, sqz_grad_div, sqz_grad_prelu;
extern const sqz_grad_op sqz_grad_concat, sqz_grad_split, sqz_grad_slice, sqz_grad_reshape, sqz_grad_flatten,
    sqz_grad_transpose, sqz_grad_squeeze, sqz_grad_unsqueeze, sqz_grad_identity, sqz_grad_dropout,
    sqz_grad_reducemean;

#endif
