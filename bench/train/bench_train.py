#!/usr/bin/python3
"""bench/train/bench_train.py - PyTorch training throughput of the sqz zoo architectures.

Each model here replicates src/zoo/ layer for layer (1x28x28 input, 10 classes):
  lenet5       conv 6@5x5 pad 2, ReLU, maxpool 2, conv 16@5x5, ReLU, maxpool 2, fc 120, 84, 10
  resnet8      conv 16@3x3 + BN + ReLU, one basic block per stage (16, 32/2, 64/2; 1x1 conv + BN
               shortcut when the shape changes), global average pool, fc 10
  mobilenetv2  stem 32@3x3 + BN + ReLU6, inverted residuals (t, c, n, s) = (1,16,1,1) (6,24,2,2)
               (6,32,3,2) (6,64,3,2) (6,96,2,1), 1x1 conv 512 + BN + ReLU6, GAP, fc 10
BatchNorm momentum 0.1 (ONNX 0.9), eps 1e-5; convs followed by BN have no bias, as in sqz.

It trains on Fashion-MNIST (pixels / 255, shuffled once) with softmax cross-entropy and SGD
(momentum 0.9, lr 0.05), batch 128: `warmup` steps, then timed steps until `steps` are done or
`seconds` have passed. Prints one JSON line: images_per_sec (steady state) and peak_rss_kb
(ru_maxrss of this process, which includes the Python interpreter and torch itself).

usage: OPENBLAS_NUM_THREADS=1 bench_train.py --arch lenet5 --threads 1 [--steps N] [--seconds S]
"""
import argparse
import gzip
import json
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2, 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2, 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class BasicBlock(nn.Module):
    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or cin != planes:
            self.downsample = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, 0, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        sc = x if self.downsample is None else self.downsample(x)
        return F.relu(y + sc)


class ResNet(nn.Module):
    def __init__(self, blocks=1):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers, cin = [], 16
        for s in range(3):
            planes = 16 << s
            for k in range(blocks):
                layers.append(BasicBlock(cin, planes, 2 if (s > 0 and k == 0) else 1))
                cin = planes
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layers(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


def conv_bn(cin, cout, k, s, groups=1, act=True):
    layers = [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.ReLU6())
    return layers


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hidden = cin * t
        layers = []
        if t != 1:
            layers += conv_bn(cin, hidden, 1, 1)
        layers += conv_bn(hidden, hidden, 3, stride, groups=hidden)
        layers += conv_bn(hidden, cout, 1, 1, act=False)
        self.conv = nn.Sequential(*layers)
        self.res = stride == 1 and cin == cout

    def forward(self, x):
        y = self.conv(x)
        return y + x if self.res else y


class MobileNetV2(nn.Module):
    CONFIG = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 3, 2), (6, 96, 2, 1)]

    def __init__(self):
        super().__init__()
        layers = conv_bn(1, 32, 3, 1)
        cin = 32
        for t, c, n, s in self.CONFIG:
            for k in range(n):
                layers.append(InvertedResidual(cin, c, s if k == 0 else 1, t))
                cin = c
        layers += conv_bn(cin, 512, 1, 1)
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(512, 10)

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.classifier(x)


MODELS = {"lenet5": LeNet5, "resnet8": lambda: ResNet(1), "resnet20": lambda: ResNet(3),
          "mobilenetv2": MobileNetV2}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", required=True, choices=sorted(MODELS))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--seconds", type=float, default=25.0)
    ap.add_argument("--limit", type=int, default=60000, help="training images to draw batches from")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    images = read_idx(os.path.join(DATA, "train-images-idx3-ubyte.gz"))[:a.limit]
    labels = read_idx(os.path.join(DATA, "train-labels-idx1-ubyte.gz"))[:a.limit]
    x_all = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    y_all = torch.from_numpy(labels.astype(np.int64))
    n = x_all.shape[0]
    gen = torch.Generator().manual_seed(a.seed)
    order = torch.randperm(n, generator=gen)

    model = MODELS[a.arch]()
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    nb = n // a.batch

    def step(i):
        idx = order[(i % nb) * a.batch:(i % nb + 1) * a.batch]
        x, y = x_all[idx], y_all[idx]
        opt.zero_grad(set_to_none=False)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    for i in range(a.warmup):
        step(i)
    t0 = time.perf_counter()
    done = 0
    loss = None
    while done < a.steps and time.perf_counter() - t0 < a.seconds:
        loss = step(a.warmup + done)
        done += 1
    el = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"impl": "torch", "arch": a.arch, "threads": a.threads, "batch": a.batch, "steps": done,
                      "seconds": round(el, 3), "images_per_sec": round(done * a.batch / el, 1),
                      "peak_rss_kb": rss, "last_loss": round(float(loss), 4) if loss is not None else None,
                      "torch": torch.__version__}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
