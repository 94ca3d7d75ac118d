#include <string.h>

#include "ops/op.h"

static int domain_ok(const char *d) { return !d || !d[0] || !strcmp(d, "ai.onnx"); }

const sqz_op *sqz_op_find(const char *domain, const char *op_type) {
    if (!op_type) return NULL;
    for (int i = 0; i < sqz_op_count(); i++) {
        const sqz_op *op = sqz_op_at(i);
        if (strcmp(op->name, op_type)) continue;
        if (op->domain ? domain && !strcmp(domain, op->domain) : domain_ok(domain)) return op;
    }
    return NULL;
}

int sqz_op_count(void) {
    return sqz_ops_nn_count + sqz_ops_elementwise_count + sqz_ops_shape_count + sqz_ops_quant_count;
}

const sqz_op *sqz_op_at(int i) {
    if (i < 0) return NULL;
    if (i < sqz_ops_nn_count) return sqz_ops_nn[i];
    i -= sqz_ops_nn_count;
    if (i < sqz_ops_elementwise_count) return sqz_ops_elementwise[i];
    i -= sqz_ops_elementwise_count;
    if (i < sqz_ops_shape_count) return sqz_ops_shape[i];
    i -= sqz_ops_shape_count;
    if (i < sqz_ops_quant_count) return sqz_ops_quant[i];
    return NULL;
}
