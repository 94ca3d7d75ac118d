/* graph/passes.h - helpers shared by the graph passes and the runtime (private). */
#ifndef SQZ_GRAPH_PASSES_H
#define SQZ_GRAPH_PASSES_H

#include "ops/op.h"
#include "sqz/graph.h"
#include "sqz/status.h"

/* Finds node n's operator (n->op when already set, else the registry) and checks
 * its input/output counts. SQZ_ERR_UNSUPPORTED / SQZ_ERR_DATA with the node named. */
sqz_status sqz_node_resolve(const sqz_node *n, const sqz_op **op, sqz_err *err);

/* Shape inference; with skip_unresolved, nodes without a known operator are skipped
 * (their outputs keep the declared shapes) instead of being an error. */
sqz_status sqz_graph_infer_shapes_ex(sqz_graph *g, int skip_unresolved, sqz_err *err);

/* sqz_graph_fold_constants, except that DequantizeLinear nodes are never folded (their int8
 * inputs stay visible to the QDQ rewrite). */
sqz_status sqz_graph_fold_constants_keep_dq(sqz_graph *g, sqz_err *err);

/* The QDQ rewrite (graph/qdq.c): DequantizeLinear -> Conv/MatMul/Gemm/Add/GlobalAveragePool
 * [-> Relu/Clip] -> QuantizeLinear chains whose quantization parameters are constants become
 * QLinearConv, QLinearMatMul, QLinearAdd or QLinearGlobalAveragePool reading the quantized input
 * directly; MaxPool, Reshape, Flatten, Squeeze, Unsqueeze and Transpose between a DQ and a Q of
 * the same parameters run on the int8 tensor. Dead DequantizeLinear nodes are removed and the tensor table
 * compacted. *n_rewritten (may be NULL) receives the number of rewritten patterns. */
sqz_status sqz_graph_rewrite_qdq(sqz_graph *g, int *n_rewritten, sqz_err *err);

/* 1 if every dim of t is known (rank known, dims >= 0). */
int sqz_tensor_static(const sqz_tensor *t);

/* The bounds of node n when it is a Relu (0, +inf) or a Clip with constant scalar bounds (absent:
 * -inf / +inf; opset < 11: attributes) reading tensor `input` as its first input and nothing else;
 * 0 when it is not, or a bound is NaN (graph/act.c). lo > hi is returned as given. */
int sqz_node_act_bounds(const sqz_graph *g, const sqz_node *n, int input, float *lo, float *hi);

#endif
