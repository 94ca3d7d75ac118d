/* zoo/zoo_nets.c - the classic small networks: LeNet-300-100, LeNet-5, Caffe's LeNet
 * (Deep Compression's "LeNet-5") and CIFAR-style ResNets. */
#include <stdio.h>

#include "zoo/zoo_builder.h"
#include "zoo/zoo_nets.h"

/* LeNet-300-100: 784-300-100-10 fully connected with ReLU. */
zb_feat zoo_mlp300(zoo_builder *b, zb_feat x, float m) {
    x = zb_flatten(b, x);
    x = zb_relu(b, zb_gemm(b, "fc1", x, zb_scale(300, m, 1), 1));
    x = zb_relu(b, zb_gemm(b, "fc2", x, zb_scale(100, m, 1), 1));
    return zb_gemm(b, "fc3", x, b->classes, 0);
}

/* LeNet-5 (ReLU and max pooling): conv 6@5x5, pool, conv 16@5x5, pool, fc 120, 84.
 * Inputs smaller than 32x32 get padding 2 on the first conv, as the classic's 28x28 use. */
zb_feat zoo_lenet5(zoo_builder *b, zb_feat x, float m) {
    int pad = (x.h < 32 || x.w < 32) ? 2 : 0;
    x = zb_maxpool(b, zb_relu(b, zb_conv(b, "conv1", x, zb_scale(6, m, 1), 5, 1, pad, 1, 1, 1)), 2, 2);
    x = zb_maxpool(b, zb_relu(b, zb_conv(b, "conv2", x, zb_scale(16, m, 1), 5, 1, 0, 1, 1, 1)), 2, 2);
    x = zb_flatten(b, x);
    x = zb_relu(b, zb_gemm(b, "fc1", x, zb_scale(120, m, 1), 1));
    x = zb_relu(b, zb_gemm(b, "fc2", x, zb_scale(84, m, 1), 1));
    return zb_gemm(b, "fc3", x, b->classes, 0);
}

/* Caffe's LeNet (lenet_train_test.prototxt): conv 20@5x5, pool, conv 50@5x5, pool, fc 500,
 * ReLU, classifier; no activation after the convolutions, as in Caffe. */
zb_feat zoo_lenet5_caffe(zoo_builder *b, zb_feat x, float m) {
    x = zb_maxpool(b, zb_conv(b, "conv1", x, zb_scale(20, m, 1), 5, 1, 0, 1, 1, 0), 2, 2);
    x = zb_maxpool(b, zb_conv(b, "conv2", x, zb_scale(50, m, 1), 5, 1, 0, 1, 1, 0), 2, 2);
    x = zb_flatten(b, x);
    x = zb_relu(b, zb_gemm(b, "fc1", x, zb_scale(500, m, 1), 1));
    return zb_gemm(b, "fc2", x, b->classes, 0);
}

/* conv3x3 - BN - ReLU - conv3x3 - BN, plus the shortcut (identity, or a strided 1x1 conv
 * and BN when the shape changes: option B), then ReLU. */
static zb_feat basic_block(zoo_builder *b, const char *p, zb_feat x, int64_t planes, int stride) {
    char n1[64], n2[64];
    snprintf(n1, sizeof n1, "%s.conv1", p);
    snprintf(n2, sizeof n2, "%s.bn1", p);
    zb_feat y = zb_relu(b, zb_bn(b, n2, zb_conv(b, n1, x, planes, 3, stride, 1, 1, 0, 1)));
    snprintf(n1, sizeof n1, "%s.conv2", p);
    snprintf(n2, sizeof n2, "%s.bn2", p);
    y = zb_bn(b, n2, zb_conv(b, n1, y, planes, 3, 1, 1, 1, 0, 1));
    zb_feat sc = x;
    if (stride != 1 || x.c != planes) {
        snprintf(n1, sizeof n1, "%s.downsample.0", p);
        snprintf(n2, sizeof n2, "%s.downsample.1", p);
        sc = zb_bn(b, n2, zb_conv(b, n1, x, planes, 1, stride, 0, 1, 0, 0));
    }
    return zb_relu(b, zb_add(b, y, sc));
}

/* ResNet for CIFAR (He et al. 2016, section 4.2): 6n+2 layers, stages of 16/32/64 channels. */
zb_feat zoo_resnet(zoo_builder *b, zb_feat x, float m, int blocks) {
    x = zb_relu(b, zb_bn(b, "bn1", zb_conv(b, "conv1", x, zb_scale(16, m, 1), 3, 1, 1, 1, 0, 1)));
    for (int s = 0; s < 3; s++) {
        int64_t planes = zb_scale(16 << s, m, 1);
        for (int k = 0; k < blocks; k++) {
            char p[32];
            snprintf(p, sizeof p, "layer%d.%d", s + 1, k);
            x = basic_block(b, p, x, planes, (s > 0 && k == 0) ? 2 : 1);
        }
    }
    x = zb_flatten(b, zb_gap(b, x));
    return zb_gemm(b, "fc", x, b->classes, 0);
}
