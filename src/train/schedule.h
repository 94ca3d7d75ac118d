/* train/schedule.h - learning-rate schedules as pure functions of the global step, so a
 * resumed run needs only the step count.
 *
 * Warmup (any kind): lr rises linearly over the first warmup steps, lr(s) = base*(s+1)/warmup.
 * After it, with p = s - warmup and P = total - warmup:
 *   constant  base
 *   step      base * gamma^floor(s / step_size)        (s counted from the start, like StepLR)
 *   cosine    min + (base - min) * (1 + cos(pi * p / P)) / 2
 *   onecycle  cosine up from base/25 to base over the first 30% of total steps, then cosine
 *             down to base/(25*1e4) (PyTorch's OneCycleLR defaults; warmup is ignored). */
#ifndef SQZ_TRAIN_SCHEDULE_H
#define SQZ_TRAIN_SCHEDULE_H

#include <stdint.h>

typedef enum sqz_sched_kind {
    SQZ_SCHED_CONSTANT = 0,
    SQZ_SCHED_STEP = 1,
    SQZ_SCHED_COSINE = 2,
    SQZ_SCHED_ONECYCLE = 3
} sqz_sched_kind;

typedef struct sqz_schedule {
    sqz_sched_kind kind;
    double base_lr;
    double min_lr;        /* cosine floor */
    int64_t total_steps;  /* cosine / onecycle length */
    int64_t warmup_steps;
    int64_t step_size;    /* step: steps between decays (>= 1) */
    double gamma;         /* step: factor per decay */
} sqz_schedule;

int sqz_sched_kind_parse(const char *s); /* "constant" ... "onecycle"; -1 if unknown */
const char *sqz_sched_kind_name(sqz_sched_kind k);
double sqz_schedule_lr(const sqz_schedule *s, int64_t step);

#endif
