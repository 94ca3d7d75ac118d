/* ops/op.h - the operator interface (private).
 *
 * One file per operator under src/ops/ defines a `const sqz_op` and a list file
 * per family (ops_nn.c, ops_elementwise.c, ops_shape.c) collects them; the
 * registry (registry.c) searches those lists.
 *
 * Lifecycle per node and run: infer() computes output dtype and shape from the
 * input descriptors (and input *values* where the op's output shape depends on
 * them, e.g. Reshape's shape or Slice's starts); the runtime then allocates the
 * outputs (data, nbytes) and calls forward(). forward() never allocates output
 * buffers itself; it may use c->scratch when the op declares scratch_bytes.
 */
#ifndef SQZ_OPS_OP_H
#define SQZ_OPS_OP_H

#include <stdint.h>

#include "sqz/graph.h"
#include "sqz/status.h"
#include "sqz/tensor.h"

typedef struct sqz_opctx {
    const sqz_node *node;
    sqz_tensor *const *in;  /* (n_in) NULL where an optional input is omitted */
    int n_in;
    sqz_tensor *const *out; /* (n_out) NULL where an optional output is omitted */
    int n_out;
    int64_t opset;          /* the model's default-domain opset */
    int threads;            /* >= 1 */
    void *scratch;          /* scratch_bytes() bytes, 64-byte aligned, or NULL */
    sqz_err *err;
    /* Per-node, per-session slot (NULL outside a session, e.g. constant folding):
     * forward may cache data derived from CONSTANT inputs here (packed weights,
     * requantization tables) on first use; the session frees it with
     * op->release_state. Must not depend on non-constant input values. */
    void **state;
    /* Activation the session fused into this node (only for ops with fuse_act set):
     * when act != 0, forward must apply out = min(max(out, act_lo), act_hi) to its
     * first output (Relu: 0..+inf; Clip/ReLU6: min..max) as part of its epilogue. */
    int act;
    float act_lo, act_hi;
    /* Transposed layouts between the Gemm nodes of a pair the session planned (SQZ_XL_*; 0
     * everywhere else). In xlayout: OUT_T, this node may store its 2-D output transposed (the
     * pair's consumer is its only reader); IN_T, its input 0 IS stored transposed (K x M for a
     * logical M x K). forward sets xlayout_out to OUT_T when it did store its output so. */
    uint8_t xlayout, xlayout_out;
} sqz_opctx;

/* SQZ_XL_MIN_M: the fewest rows for which a Gemm stores its output transposed (the rows become
 * the columns of the transposed product: under 32 they would not fill its 32-wide panels). */
enum { SQZ_XL_OUT_T = 1, SQZ_XL_IN_T = 2, SQZ_XL_MIN_M = 32 };

typedef struct sqz_op {
    const char *name;       /* ONNX op type */
    int n_in_min, n_in_max;
    int n_out_min, n_out_max;
    /* Bit i set: the values of input i determine output shapes (infer reads
     * in[i]->data; when that data is not known yet, infer sets out ndim = -1). */
    uint32_t shape_inputs;
    /* Validate attributes and input dtypes/ranks, set out[k]->dtype/ndim/dims.
     * Unknown input dims (-1) propagate as -1. Errors: SQZ_ERR_DATA with a
     * message naming the problem (the caller prefixes node name and op). */
    sqz_status (*infer)(sqz_opctx *c);
    /* Compute outputs (already allocated to the inferred shapes). */
    sqz_status (*forward)(sqz_opctx *c);
    /* Optional: scratch bytes forward needs for these shapes (NULL = none). */
    size_t (*scratch_bytes)(const sqz_opctx *c);
    /* Optional: multiply-accumulates for these (fully known) shapes. */
    int64_t (*macs)(const sqz_opctx *c);
    /* Optional: frees what forward left in *c->state. */
    void (*release_state)(void *state);
    /* 1: forward honours c->act (a following Relu/Clip may be fused into it). */
    int fuse_act;
    /* NULL: the default ONNX domain ("" / "ai.onnx"); else the op's domain, e.g. "com.microsoft". */
    const char *domain;
    /* 1: output 0 holds input 0's bytes unchanged under another shape (Reshape, Flatten, ...): a
     * session may hand input 0's buffer to output 0 instead of calling forward when nothing
     * reads input 0 afterwards. */
    int view;
    /* Optional: the name of the kernel path forward takes for these input shapes and attributes
     * (profiles; reads shapes only, never data), or NULL. */
    const char *(*kernel)(const sqz_opctx *c);
} sqz_op;

/* Finds the operator for domain ("" or "ai.onnx" for ops with domain NULL, else the op's own
 * domain) and type; NULL if unsupported. */
const sqz_op *sqz_op_find(const char *domain, const char *op_type);
/* All registered ops (for docs and `sqz info --ops`). */
int sqz_op_count(void);
const sqz_op *sqz_op_at(int i);

/* Family lists, each defined in its own file. */
extern const sqz_op *const sqz_ops_nn[];          /* conv, gemm, pooling, norms, softmax */
extern const int sqz_ops_nn_count;
extern const sqz_op *const sqz_ops_elementwise[]; /* unary, binary, reductions, cast, where */
extern const int sqz_ops_elementwise_count;
extern const sqz_op *const sqz_ops_shape[];       /* reshape, transpose, concat, slice, ... */
extern const int sqz_ops_shape_count;
extern const sqz_op *const sqz_ops_quant[];       /* QuantizeLinear, QLinearConv, MatMulInteger, ... */
extern const int sqz_ops_quant_count;

/* ---- helpers shared by op implementations (ops/op_util.c) ---- */
/* Sets out shape; copies dims. */
void sqz_op_set_shape(sqz_tensor *t, sqz_dtype dt, int ndim, const int64_t *dims);
/* Numpy-style multidirectional broadcast of a and b shapes into out; SQZ_ERR_DATA if incompatible.
 * Unknown dims (-1) broadcast to -1 unless the other is a known value > 1. */
sqz_status sqz_broadcast_shape(const sqz_tensor *a, const sqz_tensor *b, int *ndim,
                               int64_t *dims, sqz_err *err);
/* Normalizes a possibly negative axis for rank r; SQZ_ERR_DATA if out of range. */
sqz_status sqz_norm_axis(int64_t axis, int r, int *out, sqz_err *err);
/* Reads an integer tensor's element i (i32 or i64) as int64. */
int64_t sqz_tensor_get_i64(const sqz_tensor *t, int64_t i);

#endif
