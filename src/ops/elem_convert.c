/* ops/elem_convert.c - element conversion through double and 64-bit integers, shared by
 * Cast, the reductions and mixed-type Pow. Conversions never invoke undefined behaviour:
 * out-of-range floats become the x86 "integer indefinite" value, integers wrap. */
#include <math.h>
#include <string.h>

#include "ops/elem_util.h"

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* double -> float rounded to odd: the exact value if representable, else the neighbour with
 * an odd last bit. A second rounding to fewer than 22 mantissa bits is then correct. */
static float f64_to_f32_odd(double d) {
    float f = (float)d;
    if (isnan(d) || isinf(f) || (double)f == d) return f;
    uint32_t u = f32_bits(f);
    if (!(u & 1u)) {
        /* step one ulp toward d; the magnitude grows when |d| > |f| */
        if (fabs(d) > fabs((double)f)) u++;
        else u--;
    }
    return bits_f32(u);
}

uint16_t sqz_elem_f64_to_f16(double d) { return sqz_f32_to_f16(f64_to_f32_odd(d)); }
uint16_t sqz_elem_f64_to_bf16(double d) { return sqz_f32_to_bf16(f64_to_f32_odd(d)); }

void sqz_elem_load_f64(sqz_dtype dt, const void *src, int64_t off, int64_t n, double *dst) {
#define LOAD(T)                                                    \
    do {                                                           \
        const T *s = (const T *)src + off;                         \
        for (int64_t i = 0; i < n; i++) dst[i] = (double)s[i];     \
    } while (0)
    switch (dt) {
    case SQZ_DT_F32: LOAD(float); break;
    case SQZ_DT_F64: LOAD(double); break;
    case SQZ_DT_I8: LOAD(int8_t); break;
    case SQZ_DT_U8: LOAD(uint8_t); break;
    case SQZ_DT_I16: LOAD(int16_t); break;
    case SQZ_DT_U16: LOAD(uint16_t); break;
    case SQZ_DT_I32: LOAD(int32_t); break;
    case SQZ_DT_U32: LOAD(uint32_t); break;
    case SQZ_DT_I64: LOAD(int64_t); break;
    case SQZ_DT_U64: LOAD(uint64_t); break;
    case SQZ_DT_BOOL: {
        const uint8_t *s = (const uint8_t *)src + off;
        for (int64_t i = 0; i < n; i++) dst[i] = s[i] != 0;
        break;
    }
    case SQZ_DT_F16: {
        const uint16_t *s = (const uint16_t *)src + off;
        for (int64_t i = 0; i < n; i++) dst[i] = sqz_f16_to_f32(s[i]);
        break;
    }
    case SQZ_DT_BF16: {
        const uint16_t *s = (const uint16_t *)src + off;
        for (int64_t i = 0; i < n; i++) dst[i] = sqz_bf16_to_f32(s[i]);
        break;
    }
    default:
        for (int64_t i = 0; i < n; i++) dst[i] = 0;
        break;
    }
#undef LOAD
}

void sqz_elem_load_i64(sqz_dtype dt, const void *src, int64_t off, int64_t n, uint64_t *dst) {
#define LOAD(T)                                                                   \
    do {                                                                          \
        const T *s = (const T *)src + off;                                        \
        for (int64_t i = 0; i < n; i++) dst[i] = (uint64_t)(int64_t)s[i];         \
    } while (0)
    switch (dt) {
    case SQZ_DT_I8: LOAD(int8_t); break;
    case SQZ_DT_U8: LOAD(uint8_t); break;
    case SQZ_DT_I16: LOAD(int16_t); break;
    case SQZ_DT_U16: LOAD(uint16_t); break;
    case SQZ_DT_I32: LOAD(int32_t); break;
    case SQZ_DT_U32: LOAD(uint32_t); break;
    case SQZ_DT_I64: LOAD(int64_t); break;
    case SQZ_DT_U64: {
        const uint64_t *s = (const uint64_t *)src + off;
        memcpy(dst, s, (size_t)n * 8);
        break;
    }
    case SQZ_DT_BOOL: {
        const uint8_t *s = (const uint8_t *)src + off;
        for (int64_t i = 0; i < n; i++) dst[i] = s[i] != 0;
        break;
    }
    default:
        for (int64_t i = 0; i < n; i++) dst[i] = 0;
        break;
    }
#undef LOAD
}

/* double -> int64 truncating toward zero; NaN and out of range give INT64_MIN. */
static int64_t f64_to_i64(double v) {
    if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0)) return INT64_MIN;
    return (int64_t)v;
}

/* double -> int32 the same way (x86 cvttsd2si for 32-bit targets). */
static int32_t f64_to_i32(double v) {
    if (!(v > -2147483649.0 && v < 2147483648.0)) return INT32_MIN;
    return (int32_t)v;
}

static uint64_t f64_to_u64(double v) {
    if (v >= 9223372036854775808.0 && v < 18446744073709551616.0) return (uint64_t)v;
    return (uint64_t)f64_to_i64(v);
}

void sqz_elem_store_f64(sqz_dtype dt, void *dst, int64_t off, int64_t n, const double *src) {
#define STORE(T, EXPR)                                              \
    do {                                                            \
        T *d = (T *)dst + off;                                      \
        for (int64_t i = 0; i < n; i++) {                           \
            double v = src[i];                                      \
            d[i] = (T)(EXPR);                                       \
        }                                                           \
    } while (0)
    switch (dt) {
    case SQZ_DT_F32: STORE(float, v); break;
    case SQZ_DT_F64: STORE(double, v); break;
    case SQZ_DT_F16: STORE(uint16_t, sqz_elem_f64_to_f16(v)); break;
    case SQZ_DT_BF16: STORE(uint16_t, sqz_elem_f64_to_bf16(v)); break;
    case SQZ_DT_BOOL: STORE(uint8_t, v != 0.0); break;
    case SQZ_DT_I8: STORE(int8_t, (uint32_t)f64_to_i32(v)); break;
    case SQZ_DT_U8: STORE(uint8_t, (uint32_t)f64_to_i32(v)); break;
    case SQZ_DT_I16: STORE(int16_t, (uint32_t)f64_to_i32(v)); break;
    case SQZ_DT_U16: STORE(uint16_t, (uint32_t)f64_to_i32(v)); break;
    case SQZ_DT_I32: STORE(int32_t, f64_to_i32(v)); break;
    case SQZ_DT_U32: STORE(uint32_t, (uint64_t)f64_to_i64(v)); break;
    case SQZ_DT_I64: STORE(int64_t, f64_to_i64(v)); break;
    case SQZ_DT_U64: STORE(uint64_t, f64_to_u64(v)); break;
    default: break;
    }
#undef STORE
}

void sqz_elem_store_i64(sqz_dtype dt, void *dst, int64_t off, int64_t n, const uint64_t *src,
                        int src_unsigned) {
#define STORE(T, EXPR)                                              \
    do {                                                            \
        T *d = (T *)dst + off;                                      \
        for (int64_t i = 0; i < n; i++) {                           \
            uint64_t u = src[i];                                    \
            d[i] = (T)(EXPR);                                       \
        }                                                           \
    } while (0)
#define AS_F64 (src_unsigned ? (double)u : (double)(int64_t)u)
    switch (dt) {
    case SQZ_DT_F32:
        if (src_unsigned) STORE(float, (float)u);
        else STORE(float, (float)(int64_t)u);
        break;
    case SQZ_DT_F64: STORE(double, AS_F64); break;
    case SQZ_DT_F16: STORE(uint16_t, sqz_elem_f64_to_f16(AS_F64)); break;
    case SQZ_DT_BF16: STORE(uint16_t, sqz_elem_f64_to_bf16(AS_F64)); break;
    case SQZ_DT_BOOL: STORE(uint8_t, u != 0); break;
    case SQZ_DT_I8: STORE(int8_t, u); break;
    case SQZ_DT_U8: STORE(uint8_t, u); break;
    case SQZ_DT_I16: STORE(int16_t, u); break;
    case SQZ_DT_U16: STORE(uint16_t, u); break;
    case SQZ_DT_I32: STORE(int32_t, u); break;
    case SQZ_DT_U32: STORE(uint32_t, u); break;
    case SQZ_DT_I64: STORE(int64_t, u); break;
    case SQZ_DT_U64: STORE(uint64_t, u); break;
    default: break;
    }
#undef AS_F64
#undef STORE
}
