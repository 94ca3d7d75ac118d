/* ops/ops_quant.c - the quantized operator family list: QuantizeLinear, DequantizeLinear,
 * DynamicQuantizeLinear, QLinearConv, ConvInteger, QLinearMatMul, MatMulInteger, and from the
 * com.microsoft domain QLinearAdd and QLinearGlobalAveragePool. */
#include "ops/op.h"

extern const sqz_op sqz_op_quantize_linear, sqz_op_dequantize_linear, sqz_op_dynamic_quantize_linear;
extern const sqz_op sqz_op_qlinear_conv, sqz_op_conv_integer, sqz_op_qlinear_matmul, sqz_op_matmul_integer;
extern const sqz_op sqz_op_qlinear_add, sqz_op_qlinear_global_averagepool; /* com.microsoft */

const sqz_op *const sqz_ops_quant[] = {
    &sqz_op_quantize_linear, &sqz_op_dequantize_linear, &sqz_op_dynamic_quantize_linear,
    &sqz_op_qlinear_conv,    &sqz_op_conv_integer,      &sqz_op_qlinear_matmul,
    &sqz_op_matmul_integer,  &sqz_op_qlinear_add,       &sqz_op_qlinear_global_averagepool,
};
const int sqz_ops_quant_count = (int)(sizeof sqz_ops_quant / sizeof sqz_ops_quant[0]);
