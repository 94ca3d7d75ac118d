/* zoo/zoo.h - ready-made architectures as sqz graphs, freshly initialized for training.
 *
 * Every graph takes "input" (N, C, H, W) float32 with a dynamic batch named "N" and gives
 * "logits" (N, classes). Weights use seeded He-uniform init (bound sqrt(6 / fan_in)) for
 * layers followed by a ReLU, PyTorch's default U(+-1/sqrt(fan_in)) for the classifier and
 * every bias; BatchNorm starts at scale 1, shift 0, mean 0, variance 1 (epsilon 1e-5,
 * ONNX momentum 0.9 = PyTorch's 0.1). Only opset-13 operators: Conv, BatchNormalization,
 * Relu, Clip, MaxPool, GlobalAveragePool, Flatten, Gemm, Add. */
#ifndef SQZ_ZOO_ZOO_H
#define SQZ_ZOO_ZOO_H

#include <stdint.h>

#include "sqz/graph.h"
#include "sqz/status.h"

typedef struct sqz_zoo_info {
    const char *name;  /* "lenet5" */
    const char *desc;  /* one line */
} sqz_zoo_info;

int sqz_zoo_count(void);
const sqz_zoo_info *sqz_zoo_at(int i);
const sqz_zoo_info *sqz_zoo_find(const char *name); /* NULL if unknown */

/* Builds architecture `name` for c x h x w inputs and `classes` outputs. width_mult scales
 * hidden widths (1 = the published network; 0 means 1). The same seed gives the same
 * weights. SQZ_ERR_ARG for an unknown name or an input too small for the network. */
sqz_status sqz_zoo_build(const char *name, int64_t c, int64_t h, int64_t w, int64_t classes, float width_mult,
                         uint64_t seed, sqz_graph **out, sqz_err *err);

/* Parameter count (all float initializers) and multiply-accumulates for one image. */
sqz_status sqz_zoo_stats(const char *name, int64_t c, int64_t h, int64_t w, int64_t classes, float width_mult,
                         int64_t *params, int64_t *macs, sqz_err *err);

#endif
