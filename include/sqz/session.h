/* sqz/session.h - running a graph.
 *
 * A session verifies the graph, resolves operators, orders nodes and plans
 * activation memory once; sqz_session_run may then be called many times with
 * inputs of varying (dynamic) dimensions. Output tensors belong to the session
 * and stay valid until the next run or sqz_session_free.
 */
#ifndef SQZ_SESSION_H
#define SQZ_SESSION_H

#include <stddef.h>

#include "sqz/graph.h"
#include "sqz/status.h"
#include "sqz/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sqz_session sqz_session;

typedef struct sqz_session_opts {
    int threads;        /* 0 = default (1) */
    int no_reuse;       /* 1: every activation gets its own buffer (planner off) */
    int keep_all;       /* 1: keep every intermediate value readable after run (no fusion) */
    int no_fuse;        /* 1: run Relu/Clip as their own nodes (no activation fusion) */
    int profile;        /* 1: time every node (see sqz_session_profile) */
    int microbatch;     /* 0: run a large batch in slices of a few samples when the graph allows it
                         * (every node per-sample) and the batch's activations outgrow the cache;
                         * -1: never; k > 0: slices of k samples whenever the graph allows it */
} sqz_session_opts;

/* Does not take ownership of g; g must outlive the session and not change. */
sqz_status sqz_session_new(const sqz_graph *g, const sqz_session_opts *opts, sqz_session **out,
                           sqz_err *err);
/* inputs[i] feeds the graph input whose name equals inputs[i]->name, or, when the
 * name is NULL or empty, graph input i. Checks dtype, rank and known dims. */
sqz_status sqz_session_run(sqz_session *s, int n_inputs, const sqz_tensor *const *inputs,
                           sqz_err *err);
int sqz_session_n_outputs(const sqz_session *s);
const sqz_tensor *sqz_session_output(const sqz_session *s, int i);
/* Value of any tensor by name after a run (requires keep_all for intermediates). */
const sqz_tensor *sqz_session_value(const sqz_session *s, const char *name);
/* Bytes of activation memory held by the planner's buffers, and the peak of live bytes
 * during the last run. */
size_t sqz_session_arena_bytes(const sqz_session *s);
size_t sqz_session_peak_bytes(const sqz_session *s);
/* With opts.profile: mean time in ms (shape inference + allocation + forward) of graph node
 * `node` (index into g->nodes) over the runs so far (0 before any run; a fused activation's
 * time counts in its producer).
 * SQZ_ERR_ARG when profiling is off or node is out of range. */
sqz_status sqz_session_profile(const sqz_session *s, int node, double *ms);
/* Runs summed into the profile (0 when profiling is off). */
int sqz_session_profile_runs(const sqz_session *s);
/* Forgets the runs profiled so far (e.g. after warm-up runs). */
void sqz_session_profile_reset(sqz_session *s);
/* Activation fusion of graph node `node`: 0 none, 1 runs a fused Relu/Clip as its epilogue,
 * 2 is a Relu/Clip fused into its producer (a no-op). */
int sqz_session_fused(const sqz_session *s, int node);
/* Samples per slice a run with this batch size takes (0: the batch runs whole). */
int sqz_session_sliced(const sqz_session *s, int64_t batch);
/* Steps at the end of the graph that such a sliced run then runs once on the whole batch (the
 * tail after a small tensor, whose weights each slice would otherwise read again); 0: none. */
int sqz_session_slice_tail(const sqz_session *s, int64_t batch);
/* Chains of convolutions run as one (expand 1x1 -> depthwise -> project 1x1, by bands of rows):
 * 0 node `node` is in none; 1 it is computed at a later node's step (its time counts there);
 * 2 it is a chain's last node, which runs the chain: *expand (-1 when the chain has none) and
 * *depthwise get the chain's other nodes (either pointer may be NULL). */
int sqz_session_chain(const sqz_session *s, int node, int *expand, int *depthwise);
/* The kernel path graph node `node` took in the last run ("implicit", "im2col", ... for Conv;
 * "chain" for a chain's last node), or NULL when its operator does not say or the session has
 * not run. */
const char *sqz_session_kernel(const sqz_session *s, int node);
void sqz_session_free(sqz_session *s);

#ifdef __cplusplus
}
#endif
#endif
