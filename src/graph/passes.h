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

/* 1 if every dim of t is known (rank known, dims >= 0). */
int sqz_tensor_static(const sqz_tensor *t);

#endif
