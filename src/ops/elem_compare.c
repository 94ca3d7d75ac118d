/* ops/elem_compare.c - comparisons (Equal, Less, LessOrEqual, Greater, GreaterOrEqual) and
 * logical ops (And, Or, Xor) with numpy broadcasting; all produce bool. */
#include "ops/elem_util.h"

#define CMP_KERNEL(sym, OPEXPR)                                                                   \
    static void k_##sym(sqz_dtype dt, void *o, const void *a, const void *b, int64_t n, int sa,   \
                        int sb, const void *param) {                                              \
        switch (dt) {                                                                             \
        case SQZ_DT_BOOL: SQZ_BIN_LOOP(uint8_t, uint8_t, OPEXPR); break;                          \
        case SQZ_DT_I8: SQZ_BIN_LOOP(int8_t, uint8_t, OPEXPR); break;                             \
        case SQZ_DT_U8: SQZ_BIN_LOOP(uint8_t, uint8_t, OPEXPR); break;                            \
        case SQZ_DT_I16: SQZ_BIN_LOOP(int16_t, uint8_t, OPEXPR); break;                           \
        case SQZ_DT_U16: SQZ_BIN_LOOP(uint16_t, uint8_t, OPEXPR); break;                          \
        case SQZ_DT_I32: SQZ_BIN_LOOP(int32_t, uint8_t, OPEXPR); break;                           \
        case SQZ_DT_U32: SQZ_BIN_LOOP(uint32_t, uint8_t, OPEXPR); break;                          \
        case SQZ_DT_I64: SQZ_BIN_LOOP(int64_t, uint8_t, OPEXPR); break;                           \
        case SQZ_DT_U64: SQZ_BIN_LOOP(uint64_t, uint8_t, OPEXPR); break;                          \
        case SQZ_DT_F32: SQZ_BIN_LOOP(float, uint8_t, OPEXPR); break;                             \
        case SQZ_DT_F64: SQZ_BIN_LOOP(double, uint8_t, OPEXPR); break;                            \
        default: break;                                                                           \
        }                                                                                         \
    }

CMP_KERNEL(equal, x == y)
CMP_KERNEL(less, x < y)
CMP_KERNEL(less_equal, x <= y)
CMP_KERNEL(greater, x > y)
CMP_KERNEL(greater_equal, x >= y)

static void k_and(sqz_dtype dt, void *o, const void *a, const void *b, int64_t n, int sa, int sb,
                  const void *param) {
    SQZ_BIN_LOOP(uint8_t, uint8_t, (x != 0) & (y != 0));
}

static void k_or(sqz_dtype dt, void *o, const void *a, const void *b, int64_t n, int sa, int sb,
                 const void *param) {
    SQZ_BIN_LOOP(uint8_t, uint8_t, (x != 0) | (y != 0));
}

static void k_xor(sqz_dtype dt, void *o, const void *a, const void *b, int64_t n, int sa, int sb,
                  const void *param) {
    SQZ_BIN_LOOP(uint8_t, uint8_t, (x != 0) ^ (y != 0));
}

#define CMP_OP(sym, NAME, MASK)                                                                   \
    static sqz_status sym##_infer(sqz_opctx *c) { return sqz_elem_binary_infer(c, MASK, SQZ_DT_BOOL); } \
    static sqz_status sym##_forward(sqz_opctx *c) { return sqz_elem_binary_forward(c, k_##sym, NULL); } \
    const sqz_op sqz_op_##sym = {.name = NAME, .n_in_min = 2, .n_in_max = 2, .n_out_min = 1,      \
                                 .n_out_max = 1, .infer = sym##_infer, .forward = sym##_forward};

CMP_OP(equal, "Equal", SQZ_EM_NUM | SQZ_EM_BOOL)
CMP_OP(less, "Less", SQZ_EM_NUM)
CMP_OP(less_equal, "LessOrEqual", SQZ_EM_NUM)
CMP_OP(greater, "Greater", SQZ_EM_NUM)
CMP_OP(greater_equal, "GreaterOrEqual", SQZ_EM_NUM)
CMP_OP(and, "And", SQZ_EM_BOOL)
CMP_OP(or, "Or", SQZ_EM_BOOL)
CMP_OP(xor, "Xor", SQZ_EM_BOOL)
