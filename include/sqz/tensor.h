/* sqz/tensor.h - dtypes, quantization parameters and the tensor descriptor.
 *
 * Dtype numbers match ONNX TensorProto.DataType where ONNX has the type, so
 * import and export need no table; sub-byte types sqz adds use numbers >= 100.
 * Tensors are row-major and contiguous. Packed sub-byte and sparse encodings
 * are described by `encoding` and filled by later passes (see docs/format.md).
 */
#ifndef SQZ_TENSOR_H
#define SQZ_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "sqz/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sqz_dtype {
    SQZ_DT_UNDEF = 0,
    SQZ_DT_F32 = 1,
    SQZ_DT_U8 = 2,
    SQZ_DT_I8 = 3,
    SQZ_DT_U16 = 4,
    SQZ_DT_I16 = 5,
    SQZ_DT_I32 = 6,
    SQZ_DT_I64 = 7,
    SQZ_DT_STRING = 8, /* recognised so it can be rejected clearly; no data support */
    SQZ_DT_BOOL = 9,   /* one byte per element, 0 or 1 */
    SQZ_DT_F16 = 10,
    SQZ_DT_F64 = 11,
    SQZ_DT_U32 = 12,
    SQZ_DT_U64 = 13,
    SQZ_DT_BF16 = 16,
    SQZ_DT_U4 = 21, /* packed, two per byte, low nibble first */
    SQZ_DT_I4 = 22, /* packed, two per byte, low nibble first */
    SQZ_DT_I2 = 100, /* packed, four per byte, lowest bits first (sqz extension) */
    SQZ_DT_B1 = 101  /* packed, eight per byte, bit 0 first; bit 1 = +1, 0 = -1 (sqz extension) */
} sqz_dtype;

/* Bits per element (0 for UNDEF/STRING/unknown). */
int sqz_dtype_bits(sqz_dtype dt);
/* Bytes per element for byte-addressable types; 0 for packed or unknown types. */
size_t sqz_dtype_size(sqz_dtype dt);
const char *sqz_dtype_name(sqz_dtype dt);          /* "f32", "i64", ... */
sqz_dtype sqz_dtype_from_name(const char *name);   /* SQZ_DT_UNDEF if unknown */
int sqz_dtype_is_valid(int dt);                     /* a known sqz_dtype value */
/* Bytes needed for numel elements (packed types round up); SQZ_ERR_DATA on overflow. */
sqz_status sqz_dtype_nbytes(sqz_dtype dt, int64_t numel, size_t *out, sqz_err *err);

float sqz_f16_to_f32(uint16_t h);
uint16_t sqz_f32_to_f16(float f);   /* round to nearest even */
float sqz_bf16_to_f32(uint16_t b);
uint16_t sqz_f32_to_bf16(float f);  /* round to nearest even */

#define SQZ_MAX_DIMS 8

/* Quantization parameters: real = scale * (q - zero_point).
 * axis = -1: per-tensor (count == 1). axis >= 0: per-channel along axis
 * (count == dims[axis]) or, with group_size > 0, per group of group_size
 * consecutive elements along axis (count == numel / group_size). */
typedef struct sqz_qparams {
    int axis;
    int group_size;
    int64_t count;
    float *scale;       /* (count) */
    int32_t *zero_point; /* (count), NULL means all zero */
} sqz_qparams;

typedef enum sqz_encoding {
    SQZ_ENC_DENSE = 0,    /* data holds numel elements of dtype, row-major */
    SQZ_ENC_SPARSE = 1,   /* reserved: enc_data holds a sparse encoding */
    SQZ_ENC_CODEBOOK = 2  /* reserved: enc_data holds codebook + (Huffman) indices */
} sqz_encoding;

enum {
    SQZ_TF_INIT = 1u << 0,     /* initializer / constant: data is the value */
    SQZ_TF_INPUT = 1u << 1,    /* graph input */
    SQZ_TF_OUTPUT = 1u << 2,   /* graph output */
    SQZ_TF_OWNED = 1u << 3,    /* standalone tensor: name and data are malloc'd (sqz_tensor_release) */
    SQZ_TF_EXTERNAL = 1u << 4  /* data points into memory the graph does not own (mmap) */
};

typedef struct sqz_tensor {
    char *name;
    sqz_dtype dtype;
    int ndim;                       /* -1: rank unknown */
    int64_t dims[SQZ_MAX_DIMS];     /* -1: dimension unknown (dynamic) */
    char *dim_names[SQZ_MAX_DIMS];  /* symbolic dimension names (e.g. "batch") or NULL */
    void *data;                     /* NULL until known (activations: set by the runtime) */
    size_t nbytes;                  /* bytes at data */
    uint32_t flags;                 /* SQZ_TF_* */
    sqz_qparams *quant;             /* NULL: not quantized */
    uint8_t *mask;                  /* NULL or numel bytes, 1 = keep, 0 = pruned */
    sqz_encoding encoding;
    void *enc_data;
    size_t enc_nbytes;
    int producer;                   /* index of producing node in the graph, -1 if none */
} sqz_tensor;

/* Product of dims; -1 if rank or any dim is unknown. */
int64_t sqz_tensor_numel(const sqz_tensor *t);
/* Overflow-checked product of dims (all must be >= 0); SQZ_ERR_DATA on negative or overflow. */
sqz_status sqz_shape_numel(const int64_t *dims, int ndim, int64_t *out, sqz_err *err);
/* Writes "[1,3,224,224]" (unknown dims as "?" or their name) into buf. */
void sqz_shape_str(const sqz_tensor *t, char *buf, size_t n);

/* Standalone tensors (outside any graph): name and data malloc'd, flag SQZ_TF_OWNED.
 * sqz_tensor_init_owned sets shape/dtype, duplicates name and allocates zeroed data. */
sqz_status sqz_tensor_init_owned(sqz_tensor *t, const char *name, sqz_dtype dt, int ndim,
                                 const int64_t *dims, sqz_err *err);
/* Frees what an SQZ_TF_OWNED tensor owns (name, data, quant, mask) and zeroes it. */
void sqz_tensor_release(sqz_tensor *t);

/* Checks that t holds data of exactly the bytes its dtype and shape need (writers call it
 * before writing anything); *nbytes receives that size. Messages start with label. */
sqz_status sqz_tensor_check_data(const sqz_tensor *t, const char *label, size_t *nbytes, sqz_err *err);

/* Element i of a byte-addressable numeric tensor as double / from double (for tests, casts). */
double sqz_tensor_get_f64(const sqz_tensor *t, int64_t i);
void sqz_tensor_set_f64(sqz_tensor *t, int64_t i, double v);

#ifdef __cplusplus
}
#endif
#endif
