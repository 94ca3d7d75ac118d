/* ops/nn_conv_transpose.c - ConvTranspose (ONNX opset 1-17): N-D, group, strides, pads,
 * dilations, output_padding, output_shape, auto_pad; kernel_shape taken from W.
 * X (N, C, D1...), W (C, M/group, k1...), B (M) -> Y (N, M, O1...). f32 and f64.
 *
 * Output extent: stride*(in-1) + output_padding + (k-1)*dilation + 1 - pad_begin - pad_end.
 * With output_shape (or auto_pad SAME_*, which asks for in*stride) the pads are derived from
 * the total padding: SAME_UPPER puts the odd one at the end, otherwise at the beginning. */
#include <string.h>

#include "kernels/ref/kernels_ref.h"
#include "ops/nn_util.h"

static sqz_status read_ints_n(const sqz_opctx *c, const char *name, int n, int64_t *v, int *present) {
    const int64_t *vals;
    const int64_t cnt = sqz_node_attr_ints(c->node, name, &vals);
    *present = cnt >= 0;
    for (int i = 0; i < n; i++) v[i] = 0;
    if (cnt < 0) return SQZ_OK;
    if (cnt == n + 2) vals += 2; /* some exporters give output_shape with N and C */
    else if (cnt != n)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "attribute %s has %lld values, expected %d", name, (long long)cnt,
                           n);
    for (int i = 0; i < n; i++) v[i] = vals[i];
    return SQZ_OK;
}

static sqz_status convt_geometry(const sqz_opctx *c, sqz_conv_params *p, int *yndim, int64_t *ydims) {
    const sqz_tensor *X = c->in[0], *W = c->in[1], *B = sqz_nn_in(c, 2);
    sqz_status st;
    if ((st = sqz_nn_check_float("ConvTranspose", "input", X, c->err))) return st;
    if ((st = sqz_nn_check_same_dtype("W", W, X->dtype, c->err))) return st;
    if (B && (st = sqz_nn_check_same_dtype("B", B, X->dtype, c->err))) return st;
    memset(p, 0, sizeof *p);
    const int r = X->ndim >= 0 ? X->ndim : W->ndim;
    if (r < 0) {
        *yndim = -1;
        return SQZ_OK;
    }
    if (r < 3 || r > SQZ_MAX_DIMS)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "input has rank %d; ConvTranspose needs rank 3 to %d", r,
                           SQZ_MAX_DIMS);
    if (W->ndim >= 0 && W->ndim != r)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "W has rank %d but X has rank %d", W->ndim, r);
    const int nsp = r - 2;
    const int64_t group = sqz_node_attr_int(c->node, "group", 1);
    if (group < 1) return sqz_err_set(c->err, SQZ_ERR_DATA, "group must be >= 1, not %lld", (long long)group);
    const int64_t N = X->ndim >= 0 ? X->dims[0] : -1, C = X->ndim >= 0 ? X->dims[1] : -1;
    const int64_t CW = W->ndim >= 0 ? W->dims[0] : -1, MG = W->ndim >= 0 ? W->dims[1] : -1;
    const int64_t M = MG >= 0 ? MG * group : -1;
    if (C >= 0 && CW >= 0 && C != CW)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "X has %lld channels but W.shape[0] is %lld", (long long)C,
                           (long long)CW);
    if (C >= 0 && C % group)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "X has %lld channels, not a multiple of group %lld",
                           (long long)C, (long long)group);
    if (B && B->ndim >= 0 && (B->ndim != 1 || (M >= 0 && B->dims[0] >= 0 && B->dims[0] != M)))
        return sqz_err_set(c->err, SQZ_ERR_DATA, "B must have shape [%lld]", (long long)M);
    int64_t kernel[SQZ_MAX_DIMS], opad[SQZ_MAX_DIMS], oshape[SQZ_MAX_DIMS];
    for (int d = 0; d < nsp; d++) kernel[d] = W->ndim >= 0 ? W->dims[2 + d] : -1;
    sqz_nn_window w;
    int has_opad, has_oshape;
    if ((st = sqz_nn_window_read(c->node, nsp, kernel, &w, c->err))) return st;
    if ((st = read_ints_n(c, "output_padding", nsp, opad, &has_opad))) return st;
    if ((st = read_ints_n(c, "output_shape", nsp, oshape, &has_oshape))) return st;
    p->nsp = nsp;
    p->batch = N;
    p->c_in = C;
    p->c_out = M;
    p->group = group;
    ydims[0] = N;
    ydims[1] = M;
    for (int d = 0; d < nsp; d++) {
        const int64_t in = X->ndim >= 0 ? X->dims[2 + d] : -1, k = w.kernel[d], s = w.stride[d];
        if (opad[d] < 0 || (opad[d] >= s && opad[d] >= w.dilation[d]))
            return sqz_err_set(c->err, SQZ_ERR_DATA, "output_padding[%d] = %lld must be below stride or dilation",
                               d, (long long)opad[d]);
        p->in[d] = in;
        p->kernel[d] = k;
        p->stride[d] = s;
        p->dilation[d] = w.dilation[d];
        int64_t out = -1;
        if (in >= 0 && k >= 0) {
            const int64_t full = s * (in - 1) + opad[d] + (k - 1) * w.dilation[d] + 1;
            int64_t want = -1;
            if (has_oshape) want = oshape[d];
            else if (w.auto_pad == SQZ_NN_SAME_UPPER || w.auto_pad == SQZ_NN_SAME_LOWER) want = in * s;
            if (want >= 0) {
                int64_t total = full - want;
                if (total < 0) total = 0; /* the extra output positions hold only the bias */
                const int64_t small = total / 2, big = total - small;
                p->pad_begin[d] = w.auto_pad == SQZ_NN_SAME_UPPER ? small : big;
                out = want;
            } else {
                p->pad_begin[d] = w.pad_begin[d];
                out = full - w.pad_begin[d] - w.pad_end[d];
            }
            if (out <= 0)
                return sqz_err_set(c->err, SQZ_ERR_DATA, "output spatial dimension %d would be %lld", d,
                                   (long long)out);
        } else if (has_oshape) {
            out = oshape[d];
        }
        p->out[d] = out;
        ydims[2 + d] = out;
    }
    *yndim = r;
    return SQZ_OK;
}

static sqz_status convt_infer(sqz_opctx *c) {
    sqz_conv_params p;
    int yndim;
    int64_t ydims[SQZ_MAX_DIMS];
    sqz_status st = convt_geometry(c, &p, &yndim, ydims);
    if (st) return st;
    sqz_op_set_shape(c->out[0], c->in[0]->dtype, yndim, ydims);
    return SQZ_OK;
}

static size_t convt_scratch(const sqz_opctx *c) {
    sqz_conv_params p;
    int yndim;
    int64_t ydims[SQZ_MAX_DIMS];
    if (convt_geometry(c, &p, &yndim, ydims) || yndim < 0) return 0;
    return sqz_conv_transpose_scratch_bytes(&p, sqz_dtype_size(c->in[0]->dtype));
}

static sqz_status convt_forward(sqz_opctx *c) {
    sqz_conv_params p;
    int yndim;
    int64_t ydims[SQZ_MAX_DIMS];
    sqz_status st = convt_geometry(c, &p, &yndim, ydims);
    if (st) return st;
    const sqz_tensor *X = c->in[0], *W = c->in[1], *B = sqz_nn_in(c, 2);
    void *owned;
    const size_t need = sqz_conv_transpose_scratch_bytes(&p, sqz_dtype_size(X->dtype));
    void *scratch = sqz_nn_scratch_get(c, need, &owned);
    if (need && !scratch) return SQZ_ERR_NOMEM;
    if (X->dtype == SQZ_DT_F32)
        sqz_conv_transpose_f32_ref(&p, X->data, W->data, B ? B->data : NULL, c->out[0]->data, scratch);
    else
        sqz_conv_transpose_f64_ref(&p, X->data, W->data, B ? B->data : NULL, c->out[0]->data, scratch);
    sqz_nn_scratch_release(owned);
    return SQZ_OK;
}

static int64_t convt_macs(const sqz_opctx *c) {
    sqz_conv_params p;
    int yndim;
    int64_t ydims[SQZ_MAX_DIMS];
    if (convt_geometry(c, &p, &yndim, ydims) || yndim < 0) return 0;
    int64_t m = p.batch * p.c_in * (p.c_out / p.group);
    for (int d = 0; d < p.nsp; d++) m *= p.in[d] * p.kernel[d];
    return m < 0 ? 0 : m;
}

const sqz_op sqz_op_conv_transpose = {
    .name = "ConvTranspose",
    .n_in_min = 2,
    .n_in_max = 3,
    .n_out_min = 1,
    .n_out_max = 1,
    .infer = convt_infer,
    .forward = convt_forward,
    .scratch_bytes = convt_scratch,
    .macs = convt_macs,
};
