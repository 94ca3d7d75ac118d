/* sqz/io.h - model and data file formats.
 *
 * Loaders validate every size against the bytes present before allocating and
 * return SQZ_ERR_DATA with "<file>: <what is wrong>" for malformed input.
 * Writers are atomic: temporary file in the same folder, fsync, rename.
 */
#ifndef SQZ_IO_H
#define SQZ_IO_H

#include "sqz/graph.h"
#include "sqz/status.h"
#include "sqz/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ONNX (formats/onnx) */
sqz_status sqz_onnx_load(const char *path, sqz_graph **out, sqz_err *err);
sqz_status sqz_onnx_load_buffer(const void *buf, size_t len, const char *base_dir,
                                const char *label, sqz_graph **out, sqz_err *err);
sqz_status sqz_onnx_save(const sqz_graph *g, const char *path, sqz_err *err);
/* A serialized TensorProto file (ONNX test data input_0.pb ...) -> owned tensor. */
sqz_status sqz_onnx_load_tensor(const char *path, sqz_tensor *out, sqz_err *err);

/* Native container (formats/sqz), spec in docs/format.md. */
sqz_status sqz_native_load(const char *path, sqz_graph **out, sqz_err *err);
sqz_status sqz_native_save(const sqz_graph *g, const char *path, sqz_err *err);

/* By extension (.onnx / .sqz), falling back to the file's magic. */
sqz_status sqz_model_load(const char *path, sqz_graph **out, sqz_err *err);
sqz_status sqz_model_save(const sqz_graph *g, const char *path, sqz_err *err);

/* NPY (formats/npy): versions 1.0-3.0, little-endian, C order; dtypes f32, f64, f16,
 * u8, i8, i16, u16, i32, i64, bool. Result is an owned tensor (SQZ_TF_OWNED). */
sqz_status sqz_npy_read(const char *path, sqz_tensor *out, sqz_err *err);
sqz_status sqz_npy_write(const char *path, const sqz_tensor *t, sqz_err *err);

/* IDX (formats/idx): gz-compressed or raw, all IDX element types. Owned tensor. */
sqz_status sqz_idx_read(const char *path, sqz_tensor *out, sqz_err *err);
/* Writes raw IDX, or gzip when path ends in ".gz". u8, i8, i16, i32, f32, f64. */
sqz_status sqz_idx_write(const char *path, const sqz_tensor *t, sqz_err *err);

#ifdef __cplusplus
}
#endif
#endif
