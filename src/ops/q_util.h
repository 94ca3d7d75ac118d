/* ops/q_util.h - helpers shared by the quantized operators (private): scale and zero-point
 * tensors (per tensor or per axis), the int8 kernel family, aligned scratch. */
#ifndef SQZ_OPS_Q_UTIL_H
#define SQZ_OPS_Q_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/int8.h"
#include "ops/op.h"

/* Optional input i, NULL when omitted. */
static inline const sqz_tensor *sqz_q_in(const sqz_opctx *c, int i) { return i < c->n_in ? c->in[i] : NULL; }
/* A constant (initializer) tensor with data: its values may be cached in the node state. */
static inline int sqz_q_is_const(const sqz_tensor *t) { return t && (t->flags & SQZ_TF_INIT) && t->data; }

/* per_axis value that accepts a 1-D tensor of any length (the axis length is not known yet). */
#define SQZ_Q_ANY INT64_MAX

/* Checks a scale tensor: f32, a scalar/one element or a 1-D tensor of per_axis elements
 * (per_axis < 0: per tensor only). Sets *count to 1 or per_axis. SQZ_ERR_DATA / UNSUPPORTED. */
sqz_status sqz_q_check_scale(const sqz_tensor *s, const char *what, int64_t per_axis, int64_t *count,
                             sqz_err *err);
/* Checks a zero-point tensor (may be NULL): dtype one of u8/i8 (i32 with allow_i32), same count
 * rules as the scale. want_dt (UNDEF: any allowed) must match when given. */
sqz_status sqz_q_check_zp(const sqz_tensor *z, const char *what, int64_t per_axis, sqz_dtype want_dt,
                          int allow_i32, int64_t *count, sqz_err *err);
/* Element i of a zero point (broadcast when it has one element); 0 when z is NULL. */
int32_t sqz_q_zp_at(const sqz_tensor *z, int64_t i);
/* out[0 .. n) = the zero point of each channel (z per channel, or one for all, or NULL: 0), read
 * once per tensor rather than per element; returns whether any is nonzero. */
int sqz_q_zp_fill(const sqz_tensor *z, int64_t n, int32_t *out);
/* Element i of a scale (broadcast when it has one element). */
float sqz_q_scale_at(const sqz_tensor *s, int64_t i);
/* Quantized range of dtype: u8 0..255, i8 -128..127. */
void sqz_q_range(sqz_dtype dt, int32_t *lo, int32_t *hi);

/* Internal INT attributes that the QDQ rewrite (graph/qdq.c) puts on QLinearConv, QLinearMatMul
 * and com.microsoft:QLinearAdd when it absorbs a Relu or a Clip with constant bounds: the
 * quantized output is clamped to [sqz_y_min, sqz_y_max] (each optional, in output units, within
 * the output dtype's range). Relu before QuantizeLinear is exactly a clamp at y_zero_point, and
 * Clip(a, b) one at [Q(a), Q(b)], since quantization is monotone. They appear only in graphs
 * prepared for inference, never in an ONNX file sqz converts. */
#define SQZ_Q_ATTR_Y_MIN "sqz_y_min"
#define SQZ_Q_ATTR_Y_MAX "sqz_y_max"
/* The output clamp of node n for output dtype dt: the dtype's range, narrowed by the attributes
 * above. SQZ_ERR_DATA when an attribute is not an INT or leaves an empty range. */
sqz_status sqz_q_out_range(const sqz_node *n, sqz_dtype dt, int32_t *lo, int32_t *hi, sqz_err *err);

/* The int8 kernel family for this run (SQZ_ISA honoured). */
sqz_qkind sqz_q_kind(void);
/* 64-byte aligned scratch: c->scratch when the runtime gave at least bytes, else allocated
 * (freed by sqz_q_scratch_release). NULL with err set on out of memory. */
void *sqz_q_scratch(sqz_opctx *c, size_t bytes, void **owned);
void sqz_q_scratch_release(void *owned);

#endif
