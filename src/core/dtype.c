#include <stdint.h>
#include <string.h>

#include "sqz/tensor.h"

static const struct {
    sqz_dtype dt;
    const char *name;
    int bits;
} dtype_table[] = {
    {SQZ_DT_F32, "f32", 32},  {SQZ_DT_U8, "u8", 8},     {SQZ_DT_I8, "i8", 8},
    {SQZ_DT_U16, "u16", 16},  {SQZ_DT_I16, "i16", 16},  {SQZ_DT_I32, "i32", 32},
    {SQZ_DT_I64, "i64", 64},  {SQZ_DT_STRING, "string", 0}, {SQZ_DT_BOOL, "bool", 8},
    {SQZ_DT_F16, "f16", 16},  {SQZ_DT_F64, "f64", 64},  {SQZ_DT_U32, "u32", 32},
    {SQZ_DT_U64, "u64", 64},  {SQZ_DT_BF16, "bf16", 16}, {SQZ_DT_U4, "u4", 4},
    {SQZ_DT_I4, "i4", 4},     {SQZ_DT_I2, "i2", 2},     {SQZ_DT_B1, "b1", 1},
};

#define N_DTYPES ((int)(sizeof dtype_table / sizeof dtype_table[0]))

int sqz_dtype_is_valid(int dt) {
    for (int i = 0; i < N_DTYPES; i++)
        if ((int)dtype_table[i].dt == dt) return 1;
    return 0;
}

int sqz_dtype_bits(sqz_dtype dt) {
    for (int i = 0; i < N_DTYPES; i++)
        if (dtype_table[i].dt == dt) return dtype_table[i].bits;
    return 0;
}

size_t sqz_dtype_size(sqz_dtype dt) {
    int b = sqz_dtype_bits(dt);
    return (b >= 8 && b % 8 == 0) ? (size_t)(b / 8) : 0;
}

const char *sqz_dtype_name(sqz_dtype dt) {
    for (int i = 0; i < N_DTYPES; i++)
        if (dtype_table[i].dt == dt) return dtype_table[i].name;
    return "undef";
}

sqz_dtype sqz_dtype_from_name(const char *name) {
    if (!name) return SQZ_DT_UNDEF;
    for (int i = 0; i < N_DTYPES; i++)
        if (!strcmp(dtype_table[i].name, name)) return dtype_table[i].dt;
    return SQZ_DT_UNDEF;
}

sqz_status sqz_dtype_nbytes(sqz_dtype dt, int64_t numel, size_t *out, sqz_err *err) {
    int bits = sqz_dtype_bits(dt);
    if (bits <= 0) return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "dtype %s has no fixed size", sqz_dtype_name(dt));
    if (numel < 0) return sqz_err_set(err, SQZ_ERR_DATA, "negative element count %lld", (long long)numel);
    uint64_t n = (uint64_t)numel;
    if (n > (UINT64_MAX - 7) / (uint64_t)bits || (n * (uint64_t)bits + 7) / 8 > (uint64_t)SIZE_MAX / 2)
        return sqz_err_set(err, SQZ_ERR_DATA, "tensor of %lld %s elements is too large", (long long)numel,
                           sqz_dtype_name(dt));
    *out = (size_t)((n * (uint64_t)bits + 7) / 8);
    return SQZ_OK;
}

float sqz_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalize */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400u));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t sqz_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t exp = (x >> 23) & 0xffu;
    uint32_t man = x & 0x7fffffu;
    if (exp == 0xff) return (uint16_t)(sign | 0x7c00u | (man ? 0x200u : 0));
    int e = (int)exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00u);
    if (e <= 0) {
        if (e < -10) return (uint16_t)sign;
        man |= 0x800000u;
        int shift = 14 - e;
        uint32_t half = man >> shift;
        uint32_t rem = man & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t h = sign | ((uint32_t)e << 10) | (man >> 13);
    uint32_t rem = man & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++; /* may carry into exponent: correct */
    return (uint16_t)h;
}

float sqz_bf16_to_f32(uint16_t b) {
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t sqz_f32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7f800000u) == 0x7f800000u && (x & 0x7fffffu)) return (uint16_t)((x >> 16) | 0x40u);
    uint32_t lsb = (x >> 16) & 1u;
    x += 0x7fffu + lsb;
    return (uint16_t)(x >> 16);
}
