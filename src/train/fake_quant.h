/* train/fake_quant.h - fake quantization of parameters for quantization-aware training
 * (private; the rule is documented in autograd.h). */
#ifndef SQZ_TRAIN_FAKE_QUANT_H
#define SQZ_TRAIN_FAKE_QUANT_H

#include "sqz/status.h"
#include "sqz/tensor.h"

/* Checks t->quant against t's shape (count, axis, group layout, positive scales). */
sqz_status sqz_fq_check(const sqz_tensor *t, sqz_err *err);
/* out = dequantize(quantize(w)) over t's numel elements (out may be NULL); when ste is not
 * NULL, ste[i] *= 0 for every element whose quantized value was clamped. */
void sqz_fq_apply(const sqz_tensor *t, const float *w, float *out, float *ste);

#endif
