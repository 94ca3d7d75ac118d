/* graph/act.c - the constant bounds of a Relu / Clip node (graph/passes.h), for passes that fold
 * the activation into its producer (runtime activation fusion, the QDQ rewrite). */
#include <math.h>
#include <string.h>

#include "graph/passes.h"

/* A scalar f32 initializer the caller cannot override, stored densely and unquantized. */
static int const_scalar(const sqz_graph *g, int t, float *v) {
    const sqz_tensor *x = g->tensors[t];
    if (!(x->flags & SQZ_TF_INIT) || (x->flags & SQZ_TF_INPUT) || x->dtype != SQZ_DT_F32 || x->quant || x->mask ||
        x->encoding != SQZ_ENC_DENSE || sqz_tensor_numel(x) != 1 || !x->data || x->nbytes < sizeof(float))
        return 0;
    *v = *(const float *)x->data;
    return 1;
}

int sqz_node_act_bounds(const sqz_graph *g, const sqz_node *n, int input, float *lo, float *hi) {
    if ((n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx")) || n->n_in < 1 || n->in[0] != input ||
        n->n_out != 1 || n->out[0] < 0)
        return 0;
    if (!strcmp(n->op_type, "Relu")) {
        if (n->n_in != 1) return 0;
        *lo = 0.0f;
        *hi = INFINITY;
        return 1;
    }
    if (strcmp(n->op_type, "Clip")) return 0;
    *lo = -INFINITY;
    *hi = INFINITY;
    if (g->opset < 11) {
        if (n->n_in != 1) return 0;
        const sqz_attr *a = sqz_node_attr(n, "min"), *b = sqz_node_attr(n, "max");
        if ((a && a->type != SQZ_ATTR_FLOAT) || (b && b->type != SQZ_ATTR_FLOAT)) return 0;
        if (a) *lo = a->f;
        if (b) *hi = b->f;
    } else {
        if (n->n_in > 3) return 0;
        for (int i = 1; i < n->n_in; i++)
            if (n->in[i] >= 0 && (n->in[i] == input || !const_scalar(g, n->in[i], i == 1 ? lo : hi))) return 0;
    }
    return !isnan(*lo) && !isnan(*hi);
}
