/* tests/unit/test_loss.c - the three losses: values against direct formulas, gradients against
 * central differences, label smoothing, T^2 scaling, stability on huge logits. */
#include <math.h>
#include <stdint.h>

#include "core/rng.h"
#include "test.h"
#include "train/loss.h"

enum { B = 3, C = 5 };
static sqz_rng R;
static int64_t labels[B] = {1, 4, 0};
static float teacher[B * C];
static float ls_eps = 0.1f, temp = 3.0f;

typedef float (*lossfn)(const float *z, float *d);
static float f_xent(const float *z, float *d) { return sqz_loss_softmax_xent(z, labels, B, C, ls_eps, d, NULL); }
static float f_kl(const float *z, float *d) { return sqz_loss_kl_soft(z, teacher, B, C, temp, d); }
static float f_mse(const float *z, float *d) { return sqz_loss_mse(z, teacher, B * C, d); }

static double fd_error(lossfn f, float *z) {
    float d[B * C];
    f(z, d);
    double num2 = 0, diff2 = 0;
    const float eps = 1e-3f;
    for (int i = 0; i < B * C; i++) {
        const float keep = z[i];
        z[i] = keep + eps;
        const double lp = f(z, NULL);
        z[i] = keep - eps;
        const double lm = f(z, NULL);
        z[i] = keep;
        const double num = (lp - lm) / (2.0 * eps);
        num2 += num * num;
        diff2 += (num - d[i]) * (num - d[i]);
    }
    return sqrt(diff2 / (num2 > 1e-12 ? num2 : 1e-12));
}

/* -sum t log softmax(z) per row, t = (1-eps) onehot + eps/C, mean over rows, in double */
static double xent_ref(const float *z, const int64_t *y, double eps) {
    double total = 0;
    for (int r = 0; r < B; r++) {
        double m = -INFINITY, s = 0;
        for (int j = 0; j < C; j++) m = fmax(m, z[r * C + j]);
        for (int j = 0; j < C; j++) s += exp(z[r * C + j] - m);
        for (int j = 0; j < C; j++) {
            const double t = eps / C + (j == y[r] ? 1.0 - eps : 0.0);
            total -= t * (z[r * C + j] - m - log(s));
        }
    }
    return total / B;
}

static void test_xent(void) {
    float z[B * C];
    for (int i = 0; i < B * C; i++) z[i] = 4.0f * sqz_rng_uniform(&R) - 2.0f;
    for (int k = 0; k < 2; k++) {
        ls_eps = k ? 0.1f : 0.0f;
        CHECK_NEAR(f_xent(z, NULL), xent_ref(z, labels, ls_eps), 1e-5);
        CHECK_MSG(fd_error(f_xent, z) < 1e-2, "xent eps=%g gradient", ls_eps);
    }
    /* each gradient row sums to zero; accuracy count */
    float d[B * C];
    int64_t nc = -1;
    z[0 * C + 1] = 9.0f; /* row 0 predicts its label 1 */
    z[1 * C + 2] = 9.0f; /* row 1 predicts 2, label 4 */
    z[2 * C + 0] = 9.0f; /* row 2 predicts its label 0 */
    sqz_loss_softmax_xent(z, labels, B, C, 0.1f, d, &nc);
    CHECK(nc == 2);
    for (int r = 0; r < B; r++) {
        double s = 0;
        for (int j = 0; j < C; j++) s += d[r * C + j];
        CHECK_NEAR(s, 0.0, 1e-6);
    }
    /* uniform logits: loss = log C whatever the smoothing */
    float u[B * C] = {0};
    CHECK_NEAR(sqz_loss_softmax_xent(u, labels, B, C, 0.3f, NULL, NULL), log((double)C), 1e-6);
    /* huge logits stay finite */
    float h[B * C];
    for (int i = 0; i < B * C; i++) h[i] = (i % 2 ? 1e30f : -1e30f) * 0.5f + (float)i * 1e28f;
    float l = sqz_loss_softmax_xent(h, labels, B, C, 0.1f, d, NULL);
    int fin = isfinite(l);
    for (int i = 0; i < B * C; i++) fin &= isfinite(d[i]) != 0;
    CHECK_MSG(fin, "huge logits: loss %g", l);
    /* an out-of-range label is ignored */
    int64_t bad[B] = {1, 7, 0};
    float d2[B * C];
    sqz_loss_softmax_xent(z, bad, B, C, 0.0f, d2, NULL);
    CHECK(d2[1 * C + 0] == 0.0f && d2[1 * C + 4] == 0.0f);
}

static void test_kl(void) {
    float z[B * C];
    for (int i = 0; i < B * C; i++) {
        z[i] = 4.0f * sqz_rng_uniform(&R) - 2.0f;
        teacher[i] = 6.0f * sqz_rng_uniform(&R) - 3.0f;
    }
    for (int k = 0; k < 3; k++) {
        temp = k == 0 ? 1.0f : k == 1 ? 2.0f : 4.0f;
        CHECK_MSG(fd_error(f_kl, z) < 1e-2, "kl T=%g gradient", temp);
        /* value: T^2 * mean_rows sum p_t (log p_t - log p_s) at temperature T */
        double ref = 0;
        for (int r = 0; r < B; r++) {
            double ms = -INFINITY, mt = -INFINITY, ss = 0, st = 0;
            for (int j = 0; j < C; j++) {
                ms = fmax(ms, z[r * C + j] / temp);
                mt = fmax(mt, teacher[r * C + j] / temp);
            }
            for (int j = 0; j < C; j++) {
                ss += exp(z[r * C + j] / temp - ms);
                st += exp(teacher[r * C + j] / temp - mt);
            }
            for (int j = 0; j < C; j++) {
                const double lpt = teacher[r * C + j] / temp - mt - log(st), lps = z[r * C + j] / temp - ms - log(ss);
                ref += exp(lpt) * (lpt - lps);
            }
        }
        ref = ref * temp * temp / B;
        CHECK_NEAR(f_kl(z, NULL), ref, 1e-5 * (1 + fabs(ref)));
    }
    /* identical logits: zero loss and zero gradient */
    float d[B * C];
    CHECK_NEAR(sqz_loss_kl_soft(teacher, teacher, B, C, 2.0f, d), 0.0, 1e-6);
    double s = 0;
    for (int i = 0; i < B * C; i++) s += fabs(d[i]);
    CHECK_NEAR(s, 0.0, 1e-6);
    /* T^2 scaling keeps gradient magnitudes comparable: dL/dz = T * (p_s - p_t) / B */
    float zs[C] = {1, 0, 0, 0, 0}, zt[C] = {0, 0, 0, 0, 0}, g1[C], g4[C];
    sqz_loss_kl_soft(zs, zt, 1, C, 1.0f, g1);
    sqz_loss_kl_soft(zs, zt, 1, C, 4.0f, g4);
    const double p1 = exp(1.0) / (exp(1.0) + 4), p4 = exp(0.25) / (exp(0.25) + 4);
    CHECK_NEAR(g1[0], p1 - 0.2, 1e-6);
    CHECK_NEAR(g4[0], 4.0 * (p4 - 0.2), 1e-6);
}

static void test_mse(void) {
    float z[B * C];
    for (int i = 0; i < B * C; i++) {
        z[i] = 2.0f * sqz_rng_uniform(&R) - 1.0f;
        teacher[i] = 2.0f * sqz_rng_uniform(&R) - 1.0f;
    }
    double ref = 0;
    for (int i = 0; i < B * C; i++) ref += (double)(z[i] - teacher[i]) * (z[i] - teacher[i]);
    CHECK_NEAR(f_mse(z, NULL), ref / (B * C), 1e-6);
    CHECK(fd_error(f_mse, z) < 1e-2);
    CHECK(sqz_loss_mse(z, teacher, 0, NULL) == 0.0f);
}

int main(void) {
    sqz_rng_seed(&R, 7);
    test_xent();
    test_kl();
    test_mse();
    TEST_MAIN_END();
}
