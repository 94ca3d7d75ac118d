/* train/optim.h - optimizers over a fixed list of float parameters, with PyTorch's
 * update rules (torch.optim.SGD / Adam / AdamW, no amsgrad, dampening 0).
 *
 *   SGD:   g += wd*w; buf = g (first step) or momentum*buf + g; g = nesterov ? g + momentum*buf : buf;
 *          w -= lr*g
 *   Adam:  g += wd*w (L2); m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
 *          w -= lr * (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps)
 *   AdamW: w *= 1 - lr*wd (decoupled), then Adam without the L2 term.
 * Weight decay applies only to parameters whose decay flag is set (the trainer clears it
 * for biases and BatchNorm parameters). */
#ifndef SQZ_TRAIN_OPTIM_H
#define SQZ_TRAIN_OPTIM_H

#include <stdint.h>

#include "sqz/status.h"

typedef enum sqz_optim_kind { SQZ_OPTIM_SGD = 0, SQZ_OPTIM_ADAM = 1, SQZ_OPTIM_ADAMW = 2 } sqz_optim_kind;

typedef struct sqz_optim_cfg {
    sqz_optim_kind kind;
    float momentum;      /* SGD */
    int nesterov;        /* SGD (needs momentum > 0) */
    float weight_decay;
    float beta1, beta2;  /* Adam/AdamW (0 and 0 mean 0.9, 0.999) */
    float eps;           /* Adam/AdamW (0 means 1e-8) */
} sqz_optim_cfg;

typedef struct sqz_optim {
    sqz_optim_cfg cfg;
    int n;               /* parameters */
    int64_t *numel;      /* (n) */
    uint8_t *decay;      /* (n) 1 = weight decay applies */
    int n_slots;         /* state buffers per parameter: SGD 1 (momentum; 0 without), Adam 2 */
    float **slot;        /* (n * n_slots) each numel floats, zero at start */
    int64_t t;           /* steps taken */
} sqz_optim;

/* "sgd", "adam", "adamw" -> kind; -1 if unknown. */
int sqz_optim_kind_parse(const char *s);
const char *sqz_optim_kind_name(sqz_optim_kind k);
/* decay may be NULL (all parameters decay). SQZ_ERR_ARG for impossible settings. */
sqz_status sqz_optim_new(const sqz_optim_cfg *cfg, int n, const int64_t *numel, const uint8_t *decay,
                         sqz_optim **out, sqz_err *err);
void sqz_optim_free(sqz_optim *o);
/* One step over every parameter: w[i] -= update(g[i]) with learning rate lr. */
void sqz_optim_step(sqz_optim *o, float *const *w, const float *const *g, float lr);

#endif
