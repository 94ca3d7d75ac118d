#!/usr/bin/python3
"""Exports the models of tests/models/run_models.sh with PyTorch.

usage: export_models.py OUTDIR [NAME ...]

For each model: OUTDIR/NAME.onnx (opset 13, dynamic batch axis), and for batch
sizes 2 and 1 a seeded random input NAME_inB.npy with PyTorch's output
NAME_outB.npy. Weights are a seeded random init (weights=None); BatchNorm
running statistics are randomised too so that folding them is exercised.
Model files are written to the build folder only, never committed.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

OPSET = 13
IMAGE = (3, 224, 224)


class TinyTransformer(nn.Module):
    """One pre-norm transformer block: LayerNorm, multi-head attention built from
    MatMul/Softmax/Reshape/Transpose, an MLP with exact (Erf) GELU, residuals."""

    def __init__(self, dim=32, heads=4, hidden=64, tokens=16):
        super().__init__()
        self.heads = heads
        self.pos = nn.Parameter(torch.randn(tokens, dim) * 0.1)
        self.ln1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.ln2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.head = nn.Linear(dim, 10)

    def forward(self, x):  # (B, T, D)
        b, t, d = x.shape
        x = x + self.pos
        h = self.ln1(x)
        qkv = self.qkv(h).reshape(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = torch.softmax(q @ k.transpose(-2, -1) / (d // self.heads) ** 0.5, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(y)
        x = x + self.fc2(F.gelu(self.fc1(self.ln2(x))))
        return self.head(x.mean(dim=1))


class UpNet(nn.Module):
    """Encoder/decoder: Conv, ConvTranspose (stride 2, output_padding), Pad
    (constant and reflect), Concat skip connection, Sigmoid."""

    def __init__(self):
        super().__init__()
        self.enc1 = nn.Conv2d(3, 8, 3, padding=1)
        self.enc2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1)
        self.up2 = nn.ConvTranspose2d(16, 4, 2, stride=1, groups=2)
        self.dec = nn.Conv2d(4, 2, 3)

    def forward(self, x):  # (B, 3, 32, 32)
        a = F.relu(self.enc1(x))
        b = F.relu(self.enc2(a))
        u = self.up(b)
        c = torch.cat([u, a], dim=1)
        c = F.pad(c, (1, 0, 0, 1), mode="constant", value=0.5)
        d = F.leaky_relu(self.up2(c), 0.1)
        d = F.pad(d, (1, 1, 1, 1), mode="reflect")
        return torch.sigmoid(self.dec(d))


class FlatNet(nn.Module):
    """Conv/pool features flattened with view(batch, -1) (Shape/Gather/Reshape
    under a dynamic batch), then Linear layers with Tanh/Dropout, Softmax."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 6, 5)
        self.bn = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 12, 3, padding=1, bias=False)
        self.fc1 = nn.Linear(12 * 3 * 3, 32)
        self.drop = nn.Dropout(0.5)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):  # (B, 1, 28, 28)
        x = F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)
        x = F.avg_pool2d(torch.tanh(self.conv2(x)), 4)
        x = x.view(x.size(0), -1)
        x = self.drop(torch.tanh(self.fc1(x)))
        return F.log_softmax(self.fc2(x), dim=1)


def torchvision_model(name):
    return lambda: getattr(torchvision.models, name)(weights=None)


# name -> (constructor, per-sample input shape)
MODELS = {
    "resnet18": (torchvision_model("resnet18"), IMAGE),
    "mobilenet_v2": (torchvision_model("mobilenet_v2"), IMAGE),
    "mobilenet_v3_small": (torchvision_model("mobilenet_v3_small"), IMAGE),
    "efficientnet_b0": (torchvision_model("efficientnet_b0"), IMAGE),
    "squeezenet1_1": (torchvision_model("squeezenet1_1"), IMAGE),
    "shufflenet_v2_x0_5": (torchvision_model("shufflenet_v2_x0_5"), IMAGE),
    "tiny_transformer": (TinyTransformer, (16, 32)),
    "upnet": (UpNet, (3, 32, 32)),
    "flatnet": (FlatNet, (1, 28, 28)),
}


def randomise_norm_stats(model, gen):
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)


def export(name, outdir):
    ctor, shape = MODELS[name]
    torch.manual_seed(0)
    model = ctor()
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        randomise_norm_stats(model, gen)
    model.eval()
    x2 = torch.randn((2,) + tuple(shape), generator=torch.Generator().manual_seed(2))
    path = os.path.join(outdir, name + ".onnx")
    tmp = path + ".tmp"
    torch.onnx.export(model, x2, tmp, opset_version=OPSET, input_names=["input"],
                      output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                      do_constant_folding=True)
    os.replace(tmp, path)
    with torch.no_grad():
        for batch in (2, 1):
            x = x2[:batch].contiguous()
            y = model(x)
            np.save(os.path.join(outdir, "%s_in%d.npy" % (name, batch)), x.numpy())
            np.save(os.path.join(outdir, "%s_out%d.npy" % (name, batch)), y.numpy())
    print("exported %s (max |output| %.3g)" % (name, float(y.abs().max())))


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: export_models.py OUTDIR [NAME ...]")
    outdir = sys.argv[1]
    names = sys.argv[2:] or list(MODELS)
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(2)
    for name in names:
        if name not in MODELS:
            sys.exit("export_models.py: unknown model %s" % name)
        export(name, outdir)


if __name__ == "__main__":
    main()
