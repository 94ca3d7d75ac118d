/* ops/elem_where.c - Where(cond, X, Y): X where cond else Y, numpy broadcasting of all
 * three. X and Y may have any byte-addressable dtype (they must match). */
#include <string.h>

#include "ops/elem_util.h"

#define WHERE_MASK (SQZ_EM_NUM | SQZ_EM_BOOL)

static sqz_status where_infer(sqz_opctx *c) {
    sqz_status st;
    if ((st = sqz_elem_check_input(c, 0, SQZ_EM_BOOL)) || (st = sqz_elem_check_input(c, 1, WHERE_MASK)) ||
        (st = sqz_elem_check_input(c, 2, WHERE_MASK)) || (st = sqz_elem_check_output(c)))
        return st;
    if (c->in[1]->dtype != c->in[2]->dtype)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "X has dtype %s, Y has %s", sqz_dtype_name(c->in[1]->dtype),
                           sqz_dtype_name(c->in[2]->dtype));
    sqz_tensor t = {0};
    int nd;
    if ((st = sqz_broadcast_shape(c->in[0], c->in[1], &nd, t.dims, c->err))) return st;
    t.ndim = nd;
    int64_t dims[SQZ_MAX_DIMS];
    if ((st = sqz_broadcast_shape(&t, c->in[2], &nd, dims, c->err))) return st;
    sqz_op_set_shape(c->out[0], c->in[1]->dtype, nd, dims);
    return SQZ_OK;
}

/* memcpy of a constant size compiles to one move and keeps the copy free of type punning */
#define WHERE_ROW(ES)                                                                       \
    do {                                                                                    \
        const char *xs = (const char *)x->data + (size_t)it.off[1] * ES;                    \
        const char *ys = (const char *)y->data + (size_t)it.off[2] * ES;                    \
        char *o = (char *)out->data + (size_t)(r * it.inner) * ES;                          \
        for (int64_t i = 0; i < it.inner; i++)                                              \
            memcpy(o + i * ES, cs[i * sc] ? xs + i * sx * ES : ys + i * sy * ES, ES);       \
    } while (0)

static sqz_status where_forward(sqz_opctx *c) {
    const sqz_tensor *x = c->in[1], *y = c->in[2];
    sqz_tensor *out = c->out[0];
    const sqz_tensor *in[3] = {c->in[0], x, y};
    sqz_bcast it;
    sqz_status st = sqz_bcast_init(&it, out, in, 3, c->err);
    if (st) return st;
    size_t es = sqz_dtype_size(out->dtype);
    int sc = it.istr[0], sx = it.istr[1], sy = it.istr[2];
    for (int64_t r = 0; r < it.rows; r++) {
        const uint8_t *cs = (const uint8_t *)c->in[0]->data + it.off[0];
        switch (es) {
        case 1: WHERE_ROW(1); break;
        case 2: WHERE_ROW(2); break;
        case 4: WHERE_ROW(4); break;
        default: WHERE_ROW(8); break;
        }
        sqz_bcast_next(&it);
    }
    return SQZ_OK;
}

const sqz_op sqz_op_where = {.name = "Where", .n_in_min = 3, .n_in_max = 3, .n_out_min = 1, .n_out_max = 1,
                             .infer = where_infer, .forward = where_forward};
