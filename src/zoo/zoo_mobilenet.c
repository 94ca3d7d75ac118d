/* zoo/zoo_mobilenet.c - MobileNetV2 (Sandler et al. 2018) in a small CIFAR-style
 * configuration for 28x28 / 32x32 inputs: stride-1 stem, three stride-2 stages
 * (28 -> 14 -> 7 -> 4), inverted residuals with expansion 6, depthwise 3x3, ReLU6 and
 * linear bottlenecks; channels rounded to multiples of 8 as torchvision does. */
#include <stdio.h>

#include "zoo/zoo_builder.h"
#include "zoo/zoo_nets.h"

/* expansion t, output channels c, repeats n, first stride s */
static const int config[][4] = {
    {1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 3, 2}, {6, 96, 2, 1},
};

static zb_feat inverted_residual(zoo_builder *b, const char *p, zb_feat x, int64_t out, int stride, int t) {
    char n1[64], n2[64];
    zb_feat y = x;
    int64_t hidden = x.c * t;
    int i = 0;
    if (t != 1) {
        snprintf(n1, sizeof n1, "%s.conv.%d.0", p, i);
        snprintf(n2, sizeof n2, "%s.conv.%d.1", p, i++);
        y = zb_relu6(b, zb_bn(b, n2, zb_conv(b, n1, y, hidden, 1, 1, 0, 1, 0, 1)));
    }
    snprintf(n1, sizeof n1, "%s.conv.%d.0", p, i);
    snprintf(n2, sizeof n2, "%s.conv.%d.1", p, i++);
    y = zb_relu6(b, zb_bn(b, n2, zb_conv(b, n1, y, hidden, 3, stride, 1, hidden, 0, 1)));
    snprintf(n1, sizeof n1, "%s.conv.%d", p, i);
    snprintf(n2, sizeof n2, "%s.conv.%d", p, i + 1);
    y = zb_bn(b, n2, zb_conv(b, n1, y, out, 1, 1, 0, 1, 0, 0));
    if (stride == 1 && x.c == out) y = zb_add(b, y, x);
    return y;
}

zb_feat zoo_mobilenetv2(zoo_builder *b, zb_feat x, float m) {
    x = zb_relu6(b, zb_bn(b, "features.0.1", zb_conv(b, "features.0.0", x, zb_scale(32, m, 8), 3, 1, 1, 1, 0, 1)));
    int idx = 1;
    for (size_t s = 0; s < sizeof config / sizeof config[0]; s++) {
        int64_t out = zb_scale(config[s][1], m, 8);
        for (int k = 0; k < config[s][2]; k++) {
            char p[32];
            snprintf(p, sizeof p, "features.%d", idx++);
            x = inverted_residual(b, p, x, out, k == 0 ? config[s][3] : 1, config[s][0]);
        }
    }
    char c0[32], c1[32];
    snprintf(c0, sizeof c0, "features.%d.0", idx);
    snprintf(c1, sizeof c1, "features.%d.1", idx);
    int64_t last = zb_scale(512, m > 1 ? m : 1, 8);
    x = zb_relu6(b, zb_bn(b, c1, zb_conv(b, c0, x, last, 1, 1, 0, 1, 0, 1)));
    x = zb_flatten(b, zb_gap(b, x));
    return zb_gemm(b, "classifier", x, b->classes, 0);
}
