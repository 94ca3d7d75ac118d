/* zoo/zoo_builder.h - layer helpers the zoo's networks are written with (private).
 *
 * A builder carries the graph, the init RNG and the first error: after a failure every
 * helper returns an invalid feature and does nothing, so a network is written as a plain
 * sequence of calls and checked once at the end. Shapes are tracked here (not inferred)
 * because initialization needs fan-in. */
#ifndef SQZ_ZOO_BUILDER_H
#define SQZ_ZOO_BUILDER_H

#include <stdint.h>

#include "core/rng.h"
#include "sqz/graph.h"
#include "sqz/status.h"

typedef struct zb_feat {
    int t;             /* tensor index, -1 after an error */
    int64_t c, h, w;   /* per-image shape; h = w = 0 once flattened (c = features) */
} zb_feat;

typedef struct zoo_builder {
    sqz_graph *g;
    sqz_rng rng;
    sqz_err *err;
    sqz_status st;
    int64_t classes;
    int n_tmp;         /* activation counter for unique names */
} zoo_builder;

/* Creates the graph with input "input" (N, c, h, w). */
sqz_status zb_begin(zoo_builder *b, const char *model_name, int64_t c, int64_t h, int64_t w, int64_t classes,
                    uint64_t seed, zb_feat *x, sqz_err *err);
/* Marks f as the output "logits" and returns the graph (freed on error). */
sqz_status zb_finish(zoo_builder *b, zb_feat f, sqz_graph **out);
void zb_fail(zoo_builder *b, sqz_status code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Conv k x k, stride s, symmetric padding p, groups; bias when `bias`; he: He init for
 * the weight (else PyTorch default). */
zb_feat zb_conv(zoo_builder *b, const char *name, zb_feat x, int64_t cout, int k, int s, int p, int64_t groups,
                int bias, int he);
zb_feat zb_bn(zoo_builder *b, const char *name, zb_feat x);
zb_feat zb_relu(zoo_builder *b, zb_feat x);
zb_feat zb_relu6(zoo_builder *b, zb_feat x);   /* Clip(0, 6) */
zb_feat zb_maxpool(zoo_builder *b, zb_feat x, int k, int s);
zb_feat zb_gap(zoo_builder *b, zb_feat x);     /* GlobalAveragePool -> (c, 1, 1) */
zb_feat zb_flatten(zoo_builder *b, zb_feat x); /* -> (c*h*w) */
zb_feat zb_gemm(zoo_builder *b, const char *name, zb_feat x, int64_t out, int he);
zb_feat zb_add(zoo_builder *b, zb_feat a, zb_feat y);

/* Scales a width by m, rounding to a multiple of `divisor` (>= divisor), as torchvision's
 * _make_divisible (never below 90% of the scaled value). */
int64_t zb_scale(int64_t ch, float m, int64_t divisor);

#endif
