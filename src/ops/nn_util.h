/* ops/nn_util.h - helpers shared by the nn operators (private): dtype checks, the sliding
 * window geometry of conv and pooling (kernel, strides, pads, dilations, auto_pad, ceil_mode)
 * and temporary scratch when the runtime gives none. */
#ifndef SQZ_OPS_NN_UTIL_H
#define SQZ_OPS_NN_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "ops/op.h"

typedef enum sqz_nn_autopad {
    SQZ_NN_NOTSET = 0,
    SQZ_NN_SAME_UPPER,
    SQZ_NN_SAME_LOWER,
    SQZ_NN_VALID
} sqz_nn_autopad;

typedef struct sqz_nn_window {
    int nsp;                          /* spatial rank */
    sqz_nn_autopad auto_pad;
    int ceil_mode;
    int64_t kernel[SQZ_MAX_DIMS];     /* -1: unknown */
    int64_t stride[SQZ_MAX_DIMS];
    int64_t dilation[SQZ_MAX_DIMS];
    int64_t pad_begin[SQZ_MAX_DIMS];  /* resolved by sqz_nn_window_out for SAME_* */
    int64_t pad_end[SQZ_MAX_DIMS];
} sqz_nn_window;

/* Ok for f32 and f64; SQZ_ERR_UNSUPPORTED "<op>: <what> dtype f16 is not supported" otherwise. */
sqz_status sqz_nn_check_float(const char *op, const char *what, const sqz_tensor *t, sqz_err *err);
/* SQZ_ERR_DATA unless t has dtype dt. */
sqz_status sqz_nn_check_same_dtype(const char *what, const sqz_tensor *t, sqz_dtype dt, sqz_err *err);

/* Reads auto_pad, kernel_shape, strides, pads, dilations and ceil_mode of node n for nsp spatial
 * dims. kernel (nsp values, -1 unknown) comes from the weights when not NULL; kernel_shape then
 * must agree when present. With kernel NULL, kernel_shape is required. */
sqz_status sqz_nn_window_read(const sqz_node *n, int nsp, const int64_t *kernel, sqz_nn_window *w,
                              sqz_err *err);
/* Output extent along spatial dim d for input extent in (-1: unknown gives -1); resolves the
 * pads of SAME_* and VALID into w. SQZ_ERR_DATA if the window does not fit. */
sqz_status sqz_nn_window_out(sqz_nn_window *w, int d, int64_t in, int64_t *out, sqz_err *err);

/* Scratch for forward: c->scratch when the runtime gave one, else a malloc'd block freed by
 * sqz_nn_scratch_release. NULL (and err set) on out of memory. */
void *sqz_nn_scratch_get(sqz_opctx *c, size_t bytes, void **owned);
void sqz_nn_scratch_release(void *owned);
/* Applies the activation the session fused into this node (c->act) to y in place,
 * for kernels that did not apply it in their own epilogue (f32 and f64). */
void sqz_nn_post_act(const sqz_opctx *c, sqz_tensor *y);

/* Optional input / output i, or NULL when omitted. */
static inline sqz_tensor *sqz_nn_in(const sqz_opctx *c, int i) { return i < c->n_in ? c->in[i] : NULL; }
static inline sqz_tensor *sqz_nn_out(const sqz_opctx *c, int i) { return i < c->n_out ? c->out[i] : NULL; }

#endif
