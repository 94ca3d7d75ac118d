#!/usr/bin/python3
"""Exports the models of bench/models/run.sh with PyTorch (seeded random weights).

usage: make_models.py OUTDIR

OUTDIR/NAME.onnx for lenet5, mlp, resnet18, mobilenet_v2: opset 13, input "input" with a
dynamic batch axis, eval mode (PyTorch folds BatchNorm into the convolutions on export).
Existing files are kept.
"""
import os
import sys

import torch
import torch.nn as nn
import torchvision

OPSET = 13


class LeNet5(nn.Module):
    """LeNet-5 for 28x28 Fashion-MNIST: conv 6 5x5 pad 2, pool, conv 16 5x5, pool, 120, 84, 10."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


def mlp():
    """LeNet-300-100 on flattened 28x28 images."""
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100), nn.ReLU(),
                         nn.Linear(100, 10))


MODELS = {
    "lenet5": (LeNet5, (1, 28, 28)),
    "mlp": (mlp, (1, 28, 28)),
    "resnet18": (lambda: torchvision.models.resnet18(weights=None), (3, 224, 224)),
    "mobilenet_v2": (lambda: torchvision.models.mobilenet_v2(weights=None), (3, 224, 224)),
}


def export(name, outdir):
    path = os.path.join(outdir, name + ".onnx")
    if os.path.exists(path):
        return
    make, shape = MODELS[name]
    torch.manual_seed(0)
    model = make().eval()
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():  # non-trivial BatchNorm statistics, so folding matters
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
    x = torch.rand(2, *shape)
    tmp = path + ".tmp"
    torch.onnx.export(model, x, tmp, opset_version=OPSET, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    os.replace(tmp, path)
    print("exported %s" % path)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_models.py OUTDIR")
    os.makedirs(sys.argv[1], exist_ok=True)
    for name in MODELS:
        export(name, sys.argv[1])


if __name__ == "__main__":
    main()
