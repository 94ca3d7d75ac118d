/* formats/onnx/onnx_tensor.c - ONNX TensorProto <-> sqz_tensor.
 *
 * Shared by the model loader (initializers, Constant attributes), the saver and
 * sqz_onnx_load_tensor (the input_N.pb / output_N.pb files of ONNX test data).
 * Every count found in the file is compared with the shape before any memory
 * for the payload is allocated.
 */
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "formats/onnx/onnx_internal.h"
#include "sqz/io.h"

sqz_status sqz_onnx_dtype_from(int32_t onnx_type, const char *what, sqz_dtype *out, sqz_err *err) {
    switch (onnx_type) {
    case SQZ_DT_F32: case SQZ_DT_U8: case SQZ_DT_I8: case SQZ_DT_U16: case SQZ_DT_I16:
    case SQZ_DT_I32: case SQZ_DT_I64: case SQZ_DT_BOOL: case SQZ_DT_F16: case SQZ_DT_F64:
    case SQZ_DT_U32: case SQZ_DT_U64: case SQZ_DT_BF16: case SQZ_DT_U4: case SQZ_DT_I4:
        *out = (sqz_dtype)onnx_type;
        return SQZ_OK;
    case 0:
        *out = SQZ_DT_UNDEF;
        return SQZ_OK;
    case 8:
        return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "tensor '%s' holds strings, which sqz does not support", what);
    case 14: case 15:
        return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "tensor '%s' holds complex numbers, which sqz does not support",
                           what);
    case 17: case 18: case 19: case 20: case 23:
        return sqz_err_set(err, SQZ_ERR_UNSUPPORTED,
                           "tensor '%s' has ONNX data type %d (8-bit or 4-bit float), which sqz does not support",
                           what, (int)onnx_type);
    default:
        return sqz_err_set(err, SQZ_ERR_DATA, "tensor '%s' has unknown ONNX data type %d", what, (int)onnx_type);
    }
}

sqz_status sqz_onnx_size_mismatch(sqz_err *err, const sqz_tensor *t, const char *name, size_t need,
                                  uint64_t have, const char *unit) {
    char shape[160];
    sqz_shape_str(t, shape, sizeof shape);
    return sqz_err_set(err, SQZ_ERR_DATA, "tensor '%s': shape %s needs %zu %s but the file holds %llu", name, shape,
                       need, unit, (unsigned long long)have);
}

sqz_status sqz_onnx_tensor_header(const Onnx__TensorProto *tp, const char *name, sqz_tensor *t,
                                  size_t *nbytes, sqz_err *err) {
    sqz_status st;
    if (!tp->has_data_type)
        return sqz_err_set(err, SQZ_ERR_DATA, "tensor '%s' has no data type", name);
    if ((st = sqz_onnx_dtype_from(tp->data_type, name, &t->dtype, err))) return st;
    if (t->dtype == SQZ_DT_UNDEF)
        return sqz_err_set(err, SQZ_ERR_DATA, "tensor '%s' has data type UNDEFINED", name);
    if (tp->segment)
        return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "tensor '%s' is split into segments, which sqz does not support",
                           name);
    if (tp->n_dims > SQZ_MAX_DIMS)
        return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "tensor '%s' has rank %zu (sqz supports up to %d)", name,
                           tp->n_dims, SQZ_MAX_DIMS);
    t->ndim = (int)tp->n_dims;
    for (int i = 0; i < t->ndim; i++) {
        if (tp->dims[i] < 0)
            return sqz_err_set(err, SQZ_ERR_DATA, "tensor '%s': dimension %d is negative (%lld)", name, i,
                               (long long)tp->dims[i]);
        t->dims[i] = tp->dims[i];
        t->dim_names[i] = NULL;
    }
    int64_t numel;
    if ((st = sqz_shape_numel(t->dims, t->ndim, &numel, err)) ||
        (st = sqz_dtype_nbytes(t->dtype, numel, nbytes, err))) {
        sqz_err_prefix(err, "tensor '%s'", name);
        return st;
    }
    return SQZ_OK;
}

/* Copies n typed values into dst as dtype dt (n == numel was checked). */
static void from_int32(sqz_dtype dt, const int32_t *v, size_t n, void *dst) {
    size_t es = sqz_dtype_size(dt);
    for (size_t i = 0; i < n; i++) {
        if (dt == SQZ_DT_BOOL) {
            ((uint8_t *)dst)[i] = v[i] != 0;
        } else if (es == 1) {
            ((uint8_t *)dst)[i] = (uint8_t)v[i];
        } else if (es == 2) {
            ((uint16_t *)dst)[i] = (uint16_t)v[i];
        } else {
            ((int32_t *)dst)[i] = v[i];
        }
    }
}

sqz_status sqz_onnx_tensor_data(const Onnx__TensorProto *tp, const sqz_tensor *t, size_t nbytes,
                                const char *base_dir, sqz_onnx_alloc_fn alloc, void *ctx,
                                sqz_err *err) {
    const char *name = t->name ? t->name : (tp->name ? tp->name : "");
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return sqz_onnx_external_read(tp, t, nbytes, base_dir, alloc, ctx, err);
    if (tp->has_data_location && tp->data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT)
        return sqz_err_set(err, SQZ_ERR_DATA, "tensor '%s' has unknown data_location %d", name,
                           (int)tp->data_location);
    if (tp->n_external_data)
        return sqz_err_set(err, SQZ_ERR_DATA, "tensor '%s' lists external data but its data_location is not EXTERNAL",
                           name);

    if (tp->has_raw_data) {
        if (tp->raw_data.len != nbytes) return sqz_onnx_size_mismatch(err, t, name, nbytes, tp->raw_data.len, "bytes");
        void *dst = alloc(ctx, nbytes);
        if (!dst) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory for %zu bytes of tensor '%s'", nbytes, name);
        if (nbytes) memcpy(dst, tp->raw_data.data, nbytes);
        return SQZ_OK;
    }

    /* Typed fields: exactly numel values in the field the dtype uses. */
    int64_t numel = sqz_tensor_numel(t);
    size_t have = 0;
    switch (t->dtype) {
    case SQZ_DT_F32: have = tp->n_float_data; break;
    case SQZ_DT_I32: case SQZ_DT_I8: case SQZ_DT_U8: case SQZ_DT_I16: case SQZ_DT_U16:
    case SQZ_DT_BOOL: case SQZ_DT_F16: case SQZ_DT_BF16:
        have = tp->n_int32_data; break;
    case SQZ_DT_I64: have = tp->n_int64_data; break;
    case SQZ_DT_F64: have = tp->n_double_data; break;
    case SQZ_DT_U32: case SQZ_DT_U64: have = tp->n_uint64_data; break;
    default:
        if (numel == 0) break;
        return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "tensor '%s': %s data outside raw_data is not supported", name,
                           sqz_dtype_name(t->dtype));
    }
    if (numel < 0 || (uint64_t)have != (uint64_t)numel)
        return sqz_onnx_size_mismatch(err, t, name, (size_t)(numel < 0 ? 0 : numel), have, "values");
    void *dst = alloc(ctx, nbytes);
    if (!dst) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory for %zu bytes of tensor '%s'", nbytes, name);
    if (!have) return SQZ_OK;
    switch (t->dtype) {
    case SQZ_DT_F32: memcpy(dst, tp->float_data, nbytes); break;
    case SQZ_DT_I64: memcpy(dst, tp->int64_data, nbytes); break;
    case SQZ_DT_F64: memcpy(dst, tp->double_data, nbytes); break;
    case SQZ_DT_U64: memcpy(dst, tp->uint64_data, nbytes); break;
    case SQZ_DT_U32:
        for (size_t i = 0; i < have; i++) ((uint32_t *)dst)[i] = (uint32_t)tp->uint64_data[i];
        break;
    default: from_int32(t->dtype, tp->int32_data, have, dst); break;
    }
    return SQZ_OK;
}

/* ---- export ---- */

const char *sqz_onnx_export_blocker(const sqz_tensor *t) {
    if (t->encoding != SQZ_ENC_DENSE) return "stored in a sparse or codebook encoding";
    if (t->quant) return "quantized (it carries quantization parameters)";
    if (t->dtype == SQZ_DT_STRING) return "a string tensor";
    if (t->dtype != SQZ_DT_UNDEF && sqz_dtype_size(t->dtype) == 0) return "packed into a sub-byte data type";
    return NULL;
}

sqz_status sqz_onnx_tensor_to_proto(const sqz_tensor *t, Onnx__TensorProto *tp, sqz_arena *a,
                                    sqz_err *err) {
    const char *why = sqz_onnx_export_blocker(t);
    if (why)
        return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "tensor '%s' is %s, which cannot be expressed in ONNX yet",
                           t->name, why);
    if (t->ndim < 0 || t->dtype == SQZ_DT_UNDEF)
        return sqz_err_set(err, SQZ_ERR_DATA, "tensor '%s' has a value but no known dtype or shape", t->name);
    size_t nbytes;
    int64_t numel;
    sqz_status st;
    if ((st = sqz_shape_numel(t->dims, t->ndim, &numel, err)) ||
        (st = sqz_dtype_nbytes(t->dtype, numel, &nbytes, err))) {
        sqz_err_prefix(err, "tensor '%s'", t->name);
        return st;
    }
    if (t->nbytes != nbytes || (nbytes && !t->data))
        return sqz_err_set(err, SQZ_ERR_DATA, "tensor '%s' holds %zu bytes of data but its shape needs %zu", t->name,
                           t->data ? t->nbytes : 0, nbytes);
    tp->name = t->name;
    tp->has_data_type = 1;
    tp->data_type = (int32_t)t->dtype;
    tp->n_dims = (size_t)t->ndim;
    tp->dims = sqz_arena_alloc(a, sizeof(int64_t) * (size_t)(t->ndim ? t->ndim : 1), 8);
    if (!tp->dims) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory exporting tensor '%s'", t->name);
    for (int i = 0; i < t->ndim; i++) tp->dims[i] = t->dims[i];
    tp->has_raw_data = 1;
    tp->raw_data.len = nbytes;
    tp->raw_data.data = (uint8_t *)t->data;
    return SQZ_OK;
}

/* ---- sqz_onnx_load_tensor ---- */

typedef struct owned_ctx {
    sqz_tensor *out;
    const sqz_tensor *hdr;
    const char *name;
    sqz_err *err;
} owned_ctx;

static void *owned_alloc(void *vctx, size_t nbytes) {
    owned_ctx *c = vctx;
    if (sqz_tensor_init_owned(c->out, c->name, c->hdr->dtype, c->hdr->ndim, c->hdr->dims, c->err)) return NULL;
    if (c->out->nbytes != nbytes) {
        sqz_tensor_release(c->out);
        return NULL;
    }
    return c->out->data;
}

sqz_status sqz_onnx_load_tensor(const char *path, sqz_tensor *out, sqz_err *err) {
    memset(out, 0, sizeof *out);
    out->producer = -1;
    void *buf = NULL;
    size_t len = 0;
    sqz_status st = sqz_file_read_all(path, SQZ_ONNX_MAX_FILE, &buf, &len, err);
    if (st) return st;
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, len, buf);
    free(buf);
    if (!tp)
        return sqz_err_set(err, SQZ_ERR_DATA, "%s: not a valid ONNX tensor (truncated or corrupt protobuf)", path);
    const char *name = tp->name ? tp->name : "";
    sqz_tensor hdr;
    memset(&hdr, 0, sizeof hdr);
    hdr.name = (char *)name;
    size_t nbytes = 0;
    char *dir = NULL;
    st = sqz_onnx_tensor_header(tp, name, &hdr, &nbytes, err);
    if (!st) {
        dir = sqz_path_dirname(path);
        if (!dir) st = sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory");
    }
    if (!st) {
        owned_ctx c = {out, &hdr, name, err};
        st = sqz_onnx_tensor_data(tp, &hdr, nbytes, dir, owned_alloc, &c, err);
    }
    if (st) {
        sqz_tensor_release(out);
        memset(out, 0, sizeof *out);
        out->producer = -1;
        sqz_err_prefix(err, "%s", path);
    }
    free(dir);
    onnx__tensor_proto__free_unpacked(tp, NULL);
    return st;
}
