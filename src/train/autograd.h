/* train/autograd.h - a tape over a graph: training forward that keeps activations,
 * and reverse-mode backward with one gradient function per operator.
 *
 * Parameters are the float32 initializers that feed a trainable input slot of a node
 * (Conv W and B, Gemm B and C, MatMul's constant operand, BatchNormalization scale and
 * B, LayerNormalization scale and B, the constant operand of Add/Sub/Mul/Div/PRelu).
 * BatchNormalization running mean/var are state, updated by the training forward.
 *
 * A constant operand of Add/Sub/Mul/Div with a single element (x / 255, x * 0.5) is not a
 * parameter. Graphs for training are readied with sqz_tape_prepare_graph, not
 * sqz_graph_prepare (which folds BatchNorm into Conv and drops Dropout).
 *
 * Masks (pruning): a parameter with t->mask has its gradient multiplied by the mask in
 * backward (the trainer keeps the masked weights zero after each step).
 * Fake quantization (QAT): a parameter with t->quant != NULL is used in the forward as
 *     q = clamp(round_half_even(w / scale) + zero_point, qmin, qmax),  w_fq = (q - zero_point) * scale
 * with [qmin, qmax] = [-127, 127] (symmetric int8) when quant->zero_point == NULL, else
 * [0, 255] (u8). scale / zero_point are per tensor (axis -1 or count 1), per channel along
 * quant->axis (count == dims[axis]), or per group of group_size consecutive elements along the
 * last axis. Backward is the straight-through estimator: the gradient w.r.t. w_fq is the
 * gradient w.r.t. w, zeroed where q was clamped. Scales must be finite and > 0
 * (SQZ_ERR_DATA from sqz_tape_new otherwise).
 *
 * Dropout is active when the tape is in training mode (the node's training_mode input is
 * ignored); its mask comes from the tape seed, the forward step count and the node, so two
 * tapes with the same seed and the same calls give bit-identical results. Training-mode
 * BatchNormalization uses batch statistics (biased variance) and updates the running ones in
 * the graph: running = momentum * running + (1 - momentum) * batch (unbiased variance). */
#ifndef SQZ_TRAIN_AUTOGRAD_H
#define SQZ_TRAIN_AUTOGRAD_H

#include <stdint.h>

#include "sqz/graph.h"
#include "sqz/status.h"
#include "sqz/tensor.h"

typedef struct sqz_tape sqz_tape;

typedef struct sqz_tape_opts {
    int threads;     /* >= 1 */
    int training;    /* 1: BatchNorm uses batch statistics and updates running ones; Dropout active */
    uint64_t seed;   /* Dropout masks */
    int poison;      /* tests: fill gradient buffers handed to a backward as fresh (unzeroed) with
                      * NaN, so an op that fails to write one whole is caught */
    int no_fuse;     /* 1: run each BatchNormalization (or same-shape Add) -> Relu/Clip pair as two
                      * ops (tests and A/B; env SQZ_TRAIN_FUSE=0 does the same) */
} sqz_tape_opts;

/* Readies a loaded graph for training: resolve ops, verify, fold constants, infer shapes -
 * sqz_graph_prepare without sqz_graph_optimize, which would fold BatchNormalization into the
 * preceding Conv/Gemm and drop Dropout (right for inference, wrong for training). */
sqz_status sqz_tape_prepare_graph(sqz_graph *g, sqz_err *err);

/* g must have ops resolved (sqz_tape_prepare_graph) and must outlive the tape. Parameters are
 * updated in place in g (their data must be writable: arena or private map). */
sqz_status sqz_tape_new(sqz_graph *g, const sqz_tape_opts *opts, sqz_tape **out, sqz_err *err);
void sqz_tape_free(sqz_tape *t);
void sqz_tape_set_training(sqz_tape *t, int training);

int sqz_tape_n_params(const sqz_tape *t);
sqz_tensor *sqz_tape_param(const sqz_tape *t, int i);   /* the graph tensor (data = weights) */
float *sqz_tape_grad(const sqz_tape *t, int i);         /* numel floats */
void sqz_tape_zero_grad(sqz_tape *t);

/* Runs the graph keeping every activation; inputs as in sqz_session_run. */
sqz_status sqz_tape_forward(sqz_tape *t, int n_inputs, const sqz_tensor *const *inputs, sqz_err *err);
int sqz_tape_n_outputs(const sqz_tape *t);
const sqz_tensor *sqz_tape_output(const sqz_tape *t, int i);
/* Value of any tensor by name after forward (for feature/hint matching). The output of a
 * BatchNormalization or Add fused with its activation is not stored by the forward; it is
 * recomputed here on the first request after each forward (from the forward's own coefficients
 * and operands, so a parameter update in between does not change it). */
const sqz_tensor *sqz_tape_value(const sqz_tape *t, const char *name);

/* Backpropagates: dout[i] is the gradient w.r.t. graph output i (same shape, f32) or NULL.
 * Extra seeds for intermediate tensors (feature matching) via sqz_tape_backward_seeds.
 * Gradients ACCUMULATE into the parameter gradients (call sqz_tape_zero_grad first). */
sqz_status sqz_tape_backward(sqz_tape *t, const float *const *dout, sqz_err *err);
sqz_status sqz_tape_backward_seeds(sqz_tape *t, int n, const char *const *names, const float *const *grads,
                                   sqz_err *err);
/* Gradient w.r.t. graph input i after backward (NULL unless requested before forward). */
void sqz_tape_want_input_grad(sqz_tape *t, int input, int want);
const float *sqz_tape_input_grad(const sqz_tape *t, int input);

#endif
