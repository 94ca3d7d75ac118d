/* ops/shape_util.h - helpers shared by the shape / data-movement operators.
 *
 * These ops move elements without looking at them, so they work for every
 * byte-addressable dtype (bool, f16, bf16, i64, ...) in units of
 * sqz_dtype_size bytes. Index-like inputs may be any integer dtype.
 */
#ifndef SQZ_OPS_SHAPE_UTIL_H
#define SQZ_OPS_SHAPE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "ops/op.h"

/* Most dimensions the strided copy iterates over (Tile uses 2 per input dim). */
#define SQZ_SHP_MAX_ITER (2 * SQZ_MAX_DIMS)

/* Input / output i, or NULL when omitted or beyond the context's count. */
static inline sqz_tensor *sqz_shp_in(const sqz_opctx *c, int i) {
    return (i >= 0 && i < c->n_in) ? c->in[i] : NULL;
}
static inline sqz_tensor *sqz_shp_out(const sqz_opctx *c, int i) {
    return (i >= 0 && i < c->n_out) ? c->out[i] : NULL;
}

/* SQZ_ERR_DATA unless inputs 0..n_in-1 (and output 0 when need_out0) are present. */
sqz_status sqz_shp_need(const sqz_opctx *c, int n_in, int need_out0);

/* 1 when t's values can be read: data present and shape fully known. */
int sqz_shp_known(const sqz_tensor *t);

/* Element size for moving t's elements; SQZ_ERR_UNSUPPORTED for packed, string or unknown dtypes. */
sqz_status sqz_shp_elem_size(const char *op, const sqz_tensor *t, size_t *esz, sqz_err *err);

/* 1 for integer dtypes (i8..u64); bool and floats excluded. */
int sqz_shp_is_int(sqz_dtype dt);

/* Reads the values of an integer scalar or 1-D tensor (its data must be known) into
 * vals[max]; *n = count. SQZ_ERR_DATA naming op and what when not integer, rank > 1,
 * more than max values or bytes missing. */
sqz_status sqz_shp_read_ints(const char *op, const char *what, const sqz_tensor *t, int64_t *vals,
                             int max, int *n, sqz_err *err);

/* Sets t's dtype and rank (ndim may be -1) with every dimension unknown. */
void sqz_shp_set_unknown(sqz_tensor *t, sqz_dtype dt, int ndim);

/* Product of dims[a..b), -1 if any is unknown (or the product overflows). */
int64_t sqz_shp_prod(const int64_t *dims, int a, int b);

/* Row-major element strides of dims. */
void sqz_shp_strides(int ndim, const int64_t *dims, int64_t *strides);

/* dst (contiguous, shape dims[ndim], ndim <= SQZ_SHP_MAX_ITER) receives
 * src[offset + sum_k i_k * strides[k]] (offset and strides in elements, strides may be 0 or negative). */
void sqz_shp_strided_copy(void *dst, const void *src, size_t esz, int ndim, const int64_t *dims,
                          const int64_t *strides, int64_t offset);

/* Checks before forward that t is allocated for its inferred shape (data present, nbytes enough). */
sqz_status sqz_shp_check_out(const char *op, const sqz_tensor *t, sqz_err *err);
/* Checks before forward that an input's data is present and covers its shape. */
sqz_status sqz_shp_check_in(const char *op, const sqz_tensor *t, sqz_err *err);

/* Stores v as one element of dtype dt at p (byte-addressable numeric dtypes). */
void sqz_shp_store_f64(sqz_dtype dt, void *p, double v);

/* Copies nbytes from src to dst unless they are the same buffer. */
void sqz_shp_copy_bytes(void *dst, const void *src, size_t nbytes);

#endif
