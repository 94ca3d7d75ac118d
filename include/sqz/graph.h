/* sqz/graph.h - the graph IR: named tensors and nodes.
 *
 * A graph owns one arena: every string, attribute, node and tensor descriptor
 * and all initializer data live in it (or in a memory map the graph owns), so
 * sqz_graph_free releases everything at once. Nodes refer to tensors by index
 * into g->tensors; an omitted optional input is -1. Tensor descriptors never
 * move (g->tensors is an array of pointers).
 */
#ifndef SQZ_GRAPH_H
#define SQZ_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "sqz/status.h"
#include "sqz/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sqz_arena sqz_arena;

/* Numbers match ONNX AttributeProto.AttributeType. */
typedef enum sqz_attr_type {
    SQZ_ATTR_UNDEF = 0,
    SQZ_ATTR_FLOAT = 1,
    SQZ_ATTR_INT = 2,
    SQZ_ATTR_STRING = 3,
    SQZ_ATTR_TENSOR = 4,
    SQZ_ATTR_GRAPH = 5, /* not supported: rejected on import */
    SQZ_ATTR_FLOATS = 6,
    SQZ_ATTR_INTS = 7,
    SQZ_ATTR_STRINGS = 8
} sqz_attr_type;

typedef struct sqz_attr {
    char *name;
    sqz_attr_type type;
    float f;          /* FLOAT */
    int64_t i;        /* INT */
    char *s;          /* STRING (NUL-terminated copy; s_len bytes of payload) */
    size_t s_len;
    int64_t n;        /* element count for FLOATS / INTS / STRINGS */
    float *floats;    /* (n) */
    int64_t *ints;    /* (n) */
    char **strings;   /* (n) */
    sqz_tensor *t;    /* TENSOR (arena-owned, not in g->tensors) */
} sqz_attr;

struct sqz_op;

typedef struct sqz_node {
    char *name;
    char *op_type;    /* ONNX op type, e.g. "Conv" */
    char *domain;     /* "" for the default ONNX domain */
    int n_in;
    int *in;          /* (n_in) tensor indices, -1 = omitted optional input */
    int n_out;
    int *out;         /* (n_out) tensor indices, -1 = omitted optional output */
    int n_attrs;
    sqz_attr *attrs;  /* (n_attrs) */
    const struct sqz_op *op; /* resolved operator, NULL until sqz_graph_resolve_ops */
} sqz_node;

typedef struct sqz_graph {
    sqz_arena *arena;
    char *name;
    char *producer;       /* producer_name from ONNX, or "sqz" */
    char *doc;            /* may be NULL */
    int64_t ir_version;   /* ONNX IR version */
    int64_t opset;        /* default-domain opset version */

    sqz_tensor **tensors; /* (n_tensors) */
    int n_tensors, cap_tensors;
    sqz_node **nodes;     /* (n_nodes) in file order; see sqz_graph_topo_order */
    int n_nodes, cap_nodes;
    int *inputs;          /* (n_inputs) graph inputs (non-initializer), tensor indices */
    int n_inputs, cap_inputs;
    int *outputs;         /* (n_outputs) graph outputs, tensor indices */
    int n_outputs, cap_outputs;

    char *base_dir;       /* folder of the file loaded from (external data); may be NULL */
    void *map_base;       /* owned memory map (native .sqz), unmapped on free */
    size_t map_len;

    /* name -> tensor index hash (open addressing), maintained by add/rename */
    int *name_index;
    int name_index_cap;
} sqz_graph;

/* ---- arena ---- */
sqz_arena *sqz_arena_new(size_t block_size);      /* 0 = default (1 MiB) */
void *sqz_arena_alloc(sqz_arena *a, size_t n, size_t align); /* zeroed; NULL on OOM */
char *sqz_arena_strdup(sqz_arena *a, const char *s);
char *sqz_arena_strndup(sqz_arena *a, const char *s, size_t n);
size_t sqz_arena_bytes(const sqz_arena *a);       /* bytes reserved */
void sqz_arena_free(sqz_arena *a);

/* ---- graph ---- */
sqz_graph *sqz_graph_new(void);                    /* NULL on OOM */
void sqz_graph_free(sqz_graph *g);

/* Adds a tensor; returns its index, or -1 (err set: duplicate name, OOM, bad rank).
 * dims may be NULL when ndim <= 0. data is not allocated. */
int sqz_graph_add_tensor(sqz_graph *g, const char *name, sqz_dtype dt, int ndim,
                         const int64_t *dims, sqz_err *err);
int sqz_graph_find_tensor(const sqz_graph *g, const char *name); /* index or -1 */
/* Rebuilds the name -> index table from g->tensors (after tensors were removed or
 * reordered, see sqz_graph_compact); -1 on OOM, leaving the old table in place. */
int sqz_graph_reindex(sqz_graph *g);
/* Allocates zeroed data in the arena for t's (fully known) shape. */
sqz_status sqz_graph_alloc_data(sqz_graph *g, sqz_tensor *t, sqz_err *err);
/* Makes t an initializer holding a copy of bytes (nbytes must match shape). */
sqz_status sqz_graph_set_data(sqz_graph *g, sqz_tensor *t, const void *bytes, size_t nbytes,
                              sqz_err *err);
/* Returns a fresh unique tensor name "<base>", "<base>_1", ... (arena string). */
char *sqz_graph_unique_name(sqz_graph *g, const char *base);

/* Adds a node; in/out are copied. Returns index or -1. Sets producer of outputs. */
int sqz_graph_add_node(sqz_graph *g, const char *op_type, const char *name, int n_in,
                       const int *in, int n_out, const int *out, sqz_err *err);
/* Appends an attribute of the given type to node; fields are then filled by the caller
 * (arrays via sqz_arena_alloc(g->arena, ...)). NULL on OOM. */
sqz_attr *sqz_node_add_attr(sqz_graph *g, sqz_node *n, const char *name, sqz_attr_type type);
/* Removes nodes whose flag in dead[] is nonzero, compacting g->nodes; fixes producers. */
void sqz_graph_remove_nodes(sqz_graph *g, const uint8_t *dead);
/* Recomputes tensor->producer from nodes. */
void sqz_graph_update_producers(sqz_graph *g);

sqz_status sqz_graph_add_input(sqz_graph *g, int tensor, sqz_err *err);
sqz_status sqz_graph_add_output(sqz_graph *g, int tensor, sqz_err *err);

const sqz_attr *sqz_node_attr(const sqz_node *n, const char *name);
int64_t sqz_node_attr_int(const sqz_node *n, const char *name, int64_t def);
float sqz_node_attr_float(const sqz_node *n, const char *name, float def);
const char *sqz_node_attr_str(const sqz_node *n, const char *name, const char *def);
/* Number of ints in an INTS attribute, -1 if absent; *vals points at them. */
int64_t sqz_node_attr_ints(const sqz_node *n, const char *name, const int64_t **vals);
int64_t sqz_node_attr_floats(const sqz_node *n, const char *name, const float **vals);

/* Fills order[n_nodes] with a topological order; SQZ_ERR_DATA naming a node on a cycle
 * or a tensor used but never produced (and not an input or initializer). */
sqz_status sqz_graph_topo_order(const sqz_graph *g, int *order, sqz_err *err);

#ifdef __cplusplus
}
#endif
#endif
