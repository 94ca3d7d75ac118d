/* train/schedule.c - constant, step, cosine and one-cycle learning rates with warmup. */
#include "train/schedule.h"

#include <math.h>
#include <string.h>

static const char *const names[] = {"constant", "step", "cosine", "onecycle"};

int sqz_sched_kind_parse(const char *s) {
    for (int i = 0; s && i < 4; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

const char *sqz_sched_kind_name(sqz_sched_kind k) { return (int)k >= 0 && (int)k < 4 ? names[k] : "?"; }

static double cos_interp(double from, double to, double frac) {
    if (frac < 0) frac = 0;
    if (frac > 1) frac = 1;
    return to + (from - to) * 0.5 * (1.0 + cos(M_PI * frac));
}

double sqz_schedule_lr(const sqz_schedule *s, int64_t step) {
    const double base = s->base_lr;
    if (step < 0) step = 0;
    if (s->kind == SQZ_SCHED_ONECYCLE) {
        int64_t total = s->total_steps > 1 ? s->total_steps : 2;
        double up = 0.3 * (double)(total - 1), lo = base / 25.0, end = lo / 1e4;
        if ((double)step <= up) return cos_interp(lo, base, up > 0 ? (double)step / up : 1.0);
        return cos_interp(base, end, ((double)step - up) / ((double)(total - 1) - up));
    }
    if (s->warmup_steps > 0 && step < s->warmup_steps) return base * (double)(step + 1) / (double)s->warmup_steps;
    switch (s->kind) {
    case SQZ_SCHED_STEP: {
        int64_t size = s->step_size > 0 ? s->step_size : 1;
        return base * pow(s->gamma, (double)(step / size));
    }
    case SQZ_SCHED_COSINE: {
        int64_t span = s->total_steps - s->warmup_steps;
        if (span <= 0) return base;
        return cos_interp(base, s->min_lr, (double)(step - s->warmup_steps) / (double)span);
    }
    default: return base;
    }
}
