/* formats/onnx/onnx_internal.h - pieces shared by the ONNX loader, saver and
 * tensor reader. Nothing outside src/formats/onnx includes this header.
 *
 * Error messages set here never start with the file name; the public entry
 * points (sqz_onnx_load_buffer, sqz_onnx_load_tensor, sqz_onnx_save) prefix it.
 */
#ifndef SQZ_ONNX_INTERNAL_H
#define SQZ_ONNX_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "onnx.pb-c.h"
#include "sqz/graph.h"
#include "sqz/status.h"
#include "sqz/tensor.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "sqz's ONNX raw_data handling assumes a little-endian host"
#endif

/* Largest model or tensor file read into memory. */
#define SQZ_ONNX_MAX_FILE ((size_t)2 << 30)

/* Where decoded tensor data goes: returns nbytes of writable memory and records it
 * in the destination tensor, or NULL when out of memory. */
typedef void *(*sqz_onnx_alloc_fn)(void *ctx, size_t nbytes);

/* ONNX TensorProto.DataType / elem_type -> sqz dtype. `what` names the tensor in
 * messages. SQZ_ERR_UNSUPPORTED for ONNX types sqz lacks (string, complex, float8),
 * SQZ_ERR_DATA for numbers ONNX does not define. */
sqz_status sqz_onnx_dtype_from(int32_t onnx_type, const char *what, sqz_dtype *out, sqz_err *err);

/* Reads dtype and dims of tp into t (t->name is not touched; name is for messages),
 * rejects segments and over-rank shapes, and computes the byte size (overflow-checked). */
sqz_status sqz_onnx_tensor_header(const Onnx__TensorProto *tp, const char *name, sqz_tensor *t,
                                  size_t *nbytes, sqz_err *err);

/* Decodes tp's payload (raw_data, typed fields or external data) for the dtype and
 * shape in t: checks that exactly nbytes (or numel values) are present, then calls
 * alloc(ctx, nbytes) and fills the memory it returns. base_dir: folder for external
 * data, NULL when there is none (external data is then rejected). */
sqz_status sqz_onnx_tensor_data(const Onnx__TensorProto *tp, const sqz_tensor *t, size_t nbytes,
                                const char *base_dir, sqz_onnx_alloc_fn alloc, void *ctx,
                                sqz_err *err);

/* External data of tp (data_location EXTERNAL), read safely from inside base_dir. */
sqz_status sqz_onnx_external_read(const Onnx__TensorProto *tp, const sqz_tensor *t, size_t nbytes,
                                  const char *base_dir, sqz_onnx_alloc_fn alloc, void *ctx,
                                  sqz_err *err);

/* Formats "tensor 'w': shape [2,3] needs 24 bytes but the file holds 20". */
sqz_status sqz_onnx_size_mismatch(sqz_err *err, const sqz_tensor *t, const char *name, size_t need,
                                  uint64_t have, const char *unit);

/* Why t cannot be written to ONNX (a short phrase), or NULL when it can. */
const char *sqz_onnx_export_blocker(const sqz_tensor *t);

/* Fills an initialised TensorProto from t (name, dims, data_type, raw_data). Arrays
 * are taken from arena a; raw_data points at t->data (no copy). */
sqz_status sqz_onnx_tensor_to_proto(const sqz_tensor *t, Onnx__TensorProto *tp, sqz_arena *a,
                                    sqz_err *err);

#endif
