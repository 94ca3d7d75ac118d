/* sqz/analysis.h - graph checks and transforms the runtime and CLI rely on.
 * (implemented in src/graph/ and src/runtime/) */
#ifndef SQZ_ANALYSIS_H
#define SQZ_ANALYSIS_H

#include <stdint.h>

#include "sqz/graph.h"
#include "sqz/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sets node->op for every node; SQZ_ERR_UNSUPPORTED "node 'n' uses unsupported operator 'X'"
 * (domain included when not the default). Checks input/output counts against the op. */
sqz_status sqz_graph_resolve_ops(sqz_graph *g, sqz_err *err);

/* Structural checks, each a clear SQZ_ERR_DATA message: tensor produced twice or also an
 * initializer/input, tensor used but never defined (missing initializer), cycles, graph
 * output never produced, initializer data size not matching its shape, inputs without
 * a dtype, negative static dims. Does not need ops resolved. */
sqz_status sqz_graph_verify(const sqz_graph *g, sqz_err *err);

/* Static shape inference in topological order using each op's infer(): fills dtype/ndim/dims
 * of every intermediate and output tensor (-1 where dynamic). Declared output shapes that
 * conflict with inferred ones are an SQZ_ERR_DATA error naming the tensor. */
sqz_status sqz_graph_infer_shapes(sqz_graph *g, sqz_err *err);

/* Constant folding: evaluates every node whose inputs are all constant (initializers), and
 * Shape of tensors with static shape (or Shape->Gather/Slice of the static part), as PyTorch
 * exports produce; replaces them by initializers and removes dead nodes and tensors that are
 * no longer used. *n_folded (may be NULL) receives the number of nodes removed. */
sqz_status sqz_graph_fold_constants(sqz_graph *g, int *n_folded, sqz_err *err);

/* Drops tensors that are neither a graph input or output nor used or produced by any node
 * (e.g. initializers left over after folding), renumbering tensor indices everywhere
 * (nodes, inputs, outputs, name index, producers). Their arena memory is kept until the
 * graph is freed. *n_removed (may be NULL) receives the number of tensors dropped. */
sqz_status sqz_graph_compact(sqz_graph *g, int *n_removed, sqz_err *err);

/* Inference-time simplifications that keep inference results up to float rounding: removes
 * Identity and inference Dropout nodes, folds an inference BatchNormalization into the Conv /
 * ConvTranspose / Gemm right before it (new weight and bias initializers), and rewrites QDQ int8
 * patterns (DequantizeLinear -> Conv/MatMul/Gemm/Add/pool [-> Relu/Clip] -> QuantizeLinear with
 * constant quantization parameters) to QLinearConv, QLinearMatMul, QLinearAdd, ... (quantized
 * outputs may then differ by one step where the fp32 result lies on a rounding boundary; see
 * docs/onnx-support.md). The QDQ rewrite needs the weights' DequantizeLinear nodes, which
 * sqz_graph_fold_constants folds away: sqz_graph_prepare_inference keeps them for it. Graph
 * output names are kept. Not for graphs that will be trained (BatchNorm batch statistics, Dropout
 * masks) or analysed node by node (BN-scale pruning): see sqz_graph_prepare_inference. */
sqz_status sqz_graph_optimize(sqz_graph *g, sqz_err *err);

/* resolve_ops + verify + fold_constants + infer_shapes: what a user calls after loading.
 * Keeps every node that is not constant (BatchNorm, Dropout, Identity stay). */
sqz_status sqz_graph_prepare(sqz_graph *g, sqz_err *err);

/* resolve_ops + verify + fold_constants + optimize + infer_shapes: for a graph that will only
 * be run for inference (sqz run / eval / bench load models this way). */
sqz_status sqz_graph_prepare_inference(sqz_graph *g, sqz_err *err);

/* Multiply-accumulates of node k for its inferred shapes; -1 when unknown or not defined. */
int64_t sqz_node_macs(const sqz_graph *g, int node);
/* The same with a symbolic first dimension of the node's tensors taken as `batch`. */
int64_t sqz_node_macs_batch(const sqz_graph *g, int node, int64_t batch);

#ifdef __cplusplus
}
#endif
#endif
