/* train/loss.c - softmax cross-entropy (label smoothing), distillation KL on softened
 * logits (T^2 scaling) and mean squared error. Rows are normalized with the log-sum-exp
 * trick (the row maximum subtracted before exp), sums accumulate in double.
 * A label outside [0, classes) contributes neither loss nor gradient (an ignored row); the
 * mean still divides by batch. */
#include <math.h>
#include <stddef.h>

#include "train/loss.h"

/* log(sum(exp(x[j] * s))) over n values, stable. */
static double logsumexp(const float *x, int64_t n, double s) {
    double m = -INFINITY;
    for (int64_t j = 0; j < n; j++)
        if ((double)x[j] * s > m) m = (double)x[j] * s;
    if (!isfinite(m)) return m;
    double sum = 0;
    for (int64_t j = 0; j < n; j++) sum += exp((double)x[j] * s - m);
    return m + log(sum);
}

float sqz_loss_softmax_xent(const float *logits, const int64_t *labels, int64_t batch, int64_t classes,
                            float label_smoothing, float *dlogits, int64_t *n_correct) {
    if (n_correct) *n_correct = 0;
    if (batch <= 0 || classes <= 0) return 0.0f;
    const double eps = label_smoothing, off = eps / (double)classes, inv_b = 1.0 / (double)batch;
    double total = 0;
    for (int64_t r = 0; r < batch; r++) {
        const float *z = logits + r * classes;
        float *d = dlogits ? dlogits + r * classes : NULL;
        const int64_t y = labels[r];
        int64_t best = 0;
        for (int64_t j = 1; j < classes; j++)
            if (z[j] > z[best]) best = j;
        if (y < 0 || y >= classes) {
            if (d)
                for (int64_t j = 0; j < classes; j++) d[j] = 0.0f;
            continue;
        }
        if (n_correct && best == y) (*n_correct)++;
        const double lse = logsumexp(z, classes, 1.0);
        double sz = 0;
        for (int64_t j = 0; j < classes; j++) sz += z[j];
        /* -sum_j t_j log p_j with t = (1-eps) onehot + eps/C */
        total += lse - (1.0 - eps) * (double)z[y] - off * sz;
        if (d)
            for (int64_t j = 0; j < classes; j++) {
                const double t = off + (j == y ? 1.0 - eps : 0.0);
                d[j] = (float)((exp((double)z[j] - lse) - t) * inv_b);
            }
    }
    return (float)(total * inv_b);
}

float sqz_loss_kl_soft(const float *student, const float *teacher, int64_t batch, int64_t classes, float T,
                       float *dstudent) {
    if (batch <= 0 || classes <= 0) return 0.0f;
    const double s = 1.0 / (double)T, inv_b = 1.0 / (double)batch, T2 = (double)T * (double)T;
    double total = 0;
    for (int64_t r = 0; r < batch; r++) {
        const float *zs = student + r * classes, *zt = teacher + r * classes;
        const double ls = logsumexp(zs, classes, s), lt = logsumexp(zt, classes, s);
        double kl = 0;
        for (int64_t j = 0; j < classes; j++) {
            const double lpt = (double)zt[j] * s - lt, lps = (double)zs[j] * s - ls, pt = exp(lpt);
            kl += pt * (lpt - lps);
            if (dstudent) dstudent[r * classes + j] = (float)(T2 * s * (exp(lps) - pt) * inv_b);
        }
        total += kl;
    }
    return (float)(total * T2 * inv_b);
}

float sqz_loss_mse(const float *a, const float *b, int64_t n, float *da) {
    if (n <= 0) return 0.0f;
    double total = 0;
    const double inv = 1.0 / (double)n;
    for (int64_t i = 0; i < n; i++) {
        const double d = (double)a[i] - (double)b[i];
        total += d * d;
        if (da) da[i] = (float)(2.0 * d * inv);
    }
    return (float)(total * inv);
}
