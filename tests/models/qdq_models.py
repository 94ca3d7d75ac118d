#!/usr/bin/python3
"""Small QDQ-format int8 ONNX models for tests/models/run_qdq.sh and check_qdq_ort.sh.

usage: qdq_models.py build OUTDIR
       qdq_models.py compare GOT.npy EXPECTED.npy STEP MAX_STEPS MAX_FRACTION
       qdq_models.py ops BENCH.json NAME.ops

build writes, for each model NAME: OUTDIR/NAME.onnx (opset 13, f32 in and out: the input is
quantized by a QuantizeLinear and the result dequantized by a DequantizeLinear, everything in
between is QDQ int8 as ONNX Runtime's quantizer writes it), a seeded input NAME_in.npy (batch 2),
NAME_out.npy (the model run literally by the small numpy interpreter below: dequantize, fp32
compute, quantize, with ONNX's rounding), NAME.check ("STEP MAX_STEPS MAX_FRACTION" for compare:
the output's quantization step and the bounds) and NAME.ops (the operators sqz must have
rewritten the model to, one per line).

compare checks GOT against EXPECTED in units of STEP: at most MAX_STEPS apart anywhere and at
most MAX_FRACTION of the elements different at all. Integer operators round once where the QDQ
graph rounds an fp32 result, so one pattern's output may differ by one step where that result
lies on a rounding boundary; in a chain, such a step inside can move a later output by another
one, so models of several layers allow two.

ops reads `sqz bench --per-op --json` of the model and checks that its nodes are the input's
QuantizeLinear, the output's DequantizeLinear and exactly the operators NAME.ops lists.
Needs python3-onnx and python3-numpy.
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

OPSET = 13


class Model:
    """A graph under construction plus what the reference interpreter needs."""

    def __init__(self, name, rng):
        self.name = name
        self.rng = rng
        self.nodes = []
        self.inits = {}
        self.count = 0

    def tmp(self, base):
        self.count += 1
        return "%s_%d" % (base, self.count)

    def const(self, base, value):
        name = self.tmp(base)
        self.inits[name] = np.asarray(value)
        return name

    def node(self, op, inputs, base=None, **attrs):
        out = self.tmp(base or op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def q(self, x, scale, zp):
        return self.node("QuantizeLinear", [x, self.const("s", np.float32(scale)), self.const("z", zp)], "q")

    def dq(self, x, scale, zp, axis=None):
        kw = {} if axis is None else {"axis": axis}
        return self.node("DequantizeLinear", [x, self.const("s", scale), self.const("z", zp)], "dq", **kw)

    def qdq(self, x, scale, zp):
        """Quantize an fp32 tensor and dequantize it again (an activation edge)."""
        return self.dq(self.q(x, scale, zp), np.float32(scale), zp)

    def weight(self, shape, dtype, per_axis=None):
        """DQ(int8 initializer): symmetric s8 or u8 with zero points, per tensor or per axis."""
        if dtype == np.int8:
            w = self.rng.integers(-127, 128, size=shape).astype(np.int8)
        else:
            w = self.rng.integers(0, 256, size=shape).astype(np.uint8)
        if per_axis is None:
            s = np.float32(0.004)
            z = dtype(0 if dtype == np.int8 else 128)
        else:
            n = shape[per_axis]
            s = (0.002 + 0.003 * self.rng.random(n)).astype(np.float32)
            z = (np.zeros(n) if dtype == np.int8 else 120 + self.rng.integers(0, 16, n)).astype(dtype)
        return self.dq(self.const("w", w), s, z, per_axis), s

    def bias_i32(self, n, x_scale, w_scale):
        """DQ(i32) with scale x_scale * w_scale, as ONNX Runtime's quantizer writes biases."""
        ws = np.broadcast_to(np.asarray(w_scale, np.float32), (n,))
        bs = (np.float32(x_scale) * ws).astype(np.float32)
        b = self.rng.integers(-4000, 4000, size=n).astype(np.int32)
        return self.dq(self.const("b", b), bs, np.zeros(n, np.int32), 0)

    def save(self, outdir, x_shape, out, step, ops):
        inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))]
        nodes = [n for n in self.nodes]
        nodes.append(helper.make_node("Identity", [out], ["y"], name="y"))
        outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]
        inits = [numpy_helper.from_array(v, k) for k, v in self.inits.items()]
        graph = helper.make_graph(nodes, self.name, inputs, outputs, inits)
        model = helper.make_model(graph, producer_name="sqz-tests",
                                  opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = 7
        with open(os.path.join(outdir, self.name + ".onnx"), "wb") as f:
            f.write(model.SerializeToString())
        x = (self.rng.random(x_shape) * 4.0 - 1.0).astype(np.float32)
        y = run_reference(model, x)
        np.save(os.path.join(outdir, self.name + "_in.npy"), x)
        np.save(os.path.join(outdir, self.name + "_out.npy"), y)
        with open(os.path.join(outdir, self.name + ".check"), "w") as f:
            f.write("%r %d 0.02\n" % (float(step), 1 if len(ops) == 1 else 2))
        with open(os.path.join(outdir, self.name + ".ops"), "w") as f:
            f.write("".join(o + "\n" for o in ops))


# ---- the models ----

def conv_relu_u8(outdir, rng):
    """u8 activations, s8 weights per channel, i32 bias, pads, Relu before a nonzero zero point."""
    m = Model("qdq_conv_relu_u8", rng)
    xs = 4.0 / 255
    x = m.qdq("x", xs, np.uint8(64))
    w, ws = m.weight((8, 3, 3, 3), np.int8, 0)
    c = m.node("Conv", [x, w, m.bias_i32(8, xs, ws)], pads=[1, 1, 1, 1])
    r = m.node("Relu", [c])
    ys = 0.02
    y = m.dq(m.q(r, ys, np.uint8(10)), np.float32(ys), np.uint8(10))
    m.save(outdir, (2, 3, 12, 12), y, ys, ["QLinearConv"])


def dwconv_clip_s8(outdir, rng):
    """s8 activations, depthwise stride 2, f32 bias, Clip(0, 6) (ReLU6)."""
    m = Model("qdq_dwconv_clip_s8", rng)
    xs = 4.0 / 255
    x = m.qdq("x", xs, np.int8(-64))
    w, ws = m.weight((6, 1, 3, 3), np.int8, 0)
    x1 = m.qdq(m.node("Conv", [x, m.weight((6, 3, 1, 1), np.int8)[0]]), 0.03, np.int8(0))  # 1x1, per tensor
    b = m.const("b", rng.uniform(-0.3, 0.3, 6).astype(np.float32))
    x6 = m.node("Conv", [x1, w, b], group=6, strides=[2, 2], pads=[1, 1, 1, 1])
    r = m.node("Clip", [x6, m.const("lo", np.float32(0)), m.const("hi", np.float32(6))])
    ys = 6.0 / 255
    y = m.dq(m.q(r, ys, np.int8(-128)), np.float32(ys), np.int8(-128))
    m.save(outdir, (2, 3, 11, 11), y, ys, ["QLinearConv", "QLinearConv"])


def mlp(outdir, rng):
    """Gemm (transB, per channel, f32 bias) + Relu, then MatMul (u8 weights, per tensor)."""
    m = Model("qdq_mlp", rng)
    xs = 4.0 / 255
    x = m.qdq("x", xs, np.uint8(64))
    w, ws = m.weight((24, 40), np.int8, 0)
    h = m.node("Gemm", [x, w, m.const("b", rng.uniform(-0.5, 0.5, 24).astype(np.float32))], transB=1)
    h = m.qdq(m.node("Relu", [h]), 0.05, np.uint8(0))
    w2, _ = m.weight((24, 10), np.uint8)
    ys = 0.05
    y = m.dq(m.q(m.node("MatMul", [h, w2]), ys, np.uint8(128)), np.float32(ys), np.uint8(128))
    m.save(outdir, (2, 40), y, ys, ["QLinearMatMul", "QLinearMatMul"])


def small_cnn(outdir, rng):
    """conv-relu, maxpool, conv + residual add + relu, global average pool, flatten, gemm."""
    m = Model("qdq_small_cnn", rng)
    xs = 4.0 / 255
    x = m.qdq("x", xs, np.uint8(64))
    w1, ws1 = m.weight((8, 3, 3, 3), np.int8, 0)
    a_s = 0.03
    a = m.qdq(m.node("Relu", [m.node("Conv", [x, w1, m.bias_i32(8, xs, ws1)], pads=[1, 1, 1, 1])]), a_s,
              np.uint8(0))
    p = m.qdq(m.node("MaxPool", [a], kernel_shape=[2, 2], strides=[2, 2]), a_s, np.uint8(0))
    w2, ws2 = m.weight((8, 8, 3, 3), np.int8, 0)
    c2 = m.qdq(m.node("Conv", [p, w2, m.bias_i32(8, a_s, ws2)], pads=[1, 1, 1, 1]), 0.04, np.uint8(128))
    s = m.qdq(m.node("Relu", [m.node("Add", [c2, p])]), 0.04, np.uint8(0))
    g = m.qdq(m.node("GlobalAveragePool", [s]), 0.01, np.uint8(0))
    f = m.qdq(m.node("Flatten", [g]), 0.01, np.uint8(0))
    w3, ws3 = m.weight((10, 8), np.int8, 0)
    ys = 0.02
    y = m.dq(m.q(m.node("Gemm", [f, w3, m.bias_i32(10, 0.01, ws3)], transB=1), ys, np.uint8(128)),
             np.float32(ys), np.uint8(128))
    m.save(outdir, (2, 3, 16, 16), y, ys,
           ["QLinearConv", "MaxPool", "QLinearConv", "QLinearAdd", "QLinearGlobalAveragePool", "Flatten",
            "QLinearMatMul"])


MODELS = [conv_relu_u8, dwconv_clip_s8, mlp, small_cnn]


# ---- a small numpy interpreter: the QDQ graph run literally (ONNX semantics) ----

def _attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _per_axis(v, axis, ndim):
    v = np.asarray(v)
    if v.size == 1:
        return v.reshape(())
    shape = [1] * ndim
    shape[axis] = v.size
    return v.reshape(shape)


def _quantize(x, s, z):
    info = np.iinfo(z.dtype)
    q = np.rint(x.astype(np.float32) / np.float32(s)).astype(np.float64) + z.astype(np.float64)
    return np.clip(q, info.min, info.max).astype(z.dtype)


def _conv(x, w, b, node):
    g = _attr(node, "group", 1)
    pads = list(_attr(node, "pads", [0] * 4))
    st = list(_attr(node, "strides", [1, 1]))
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    oh = (xp.shape[2] - kh) // st[0] + 1
    ow = (xp.shape[3] - kw) // st[1] + 1
    y = np.zeros((n, m, oh, ow))
    mg = m // g
    for gi in range(g):
        xg = xp[:, gi * cg:(gi + 1) * cg]
        wg = w[gi * mg:(gi + 1) * mg]
        for ky in range(kh):
            for kx in range(kw):
                win = xg[:, :, ky:ky + st[0] * oh:st[0], kx:kx + st[1] * ow:st[1]]
                y[:, gi * mg:(gi + 1) * mg] += np.einsum("nchw,mc->nmhw", win, wg[:, :, ky, kx])
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y.astype(np.float32)


def _maxpool(x, node):
    k = _attr(node, "kernel_shape", None)
    st = _attr(node, "strides", [1, 1])
    oh = (x.shape[2] - k[0]) // st[0] + 1
    ow = (x.shape[3] - k[1]) // st[1] + 1
    y = np.full(x.shape[:2] + (oh, ow), -np.inf, np.float32)
    for ky in range(k[0]):
        for kx in range(k[1]):
            y = np.maximum(y, x[:, :, ky:ky + st[0] * oh:st[0], kx:kx + st[1] * ow:st[1]])
    return y


def run_reference(model, x):
    env = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    env["x"] = x
    for node in model.graph.node:
        a = [env[i] for i in node.input]
        op = node.op_type
        if op == "QuantizeLinear":
            y = _quantize(a[0], a[1], a[2])
        elif op == "DequantizeLinear":
            axis = _attr(node, "axis", 1)
            s = _per_axis(a[1], axis, a[0].ndim)
            z = _per_axis(a[2], axis, a[0].ndim)
            y = ((a[0].astype(np.int64) - z.astype(np.int64)).astype(np.float32) * s.astype(np.float32))
            y = y.astype(np.float32)
        elif op == "Conv":
            y = _conv(a[0].astype(np.float64), a[1].astype(np.float64),
                      a[2].astype(np.float64) if len(a) > 2 else None, node)
        elif op == "Relu":
            y = np.maximum(a[0], np.float32(0))
        elif op == "Clip":
            y = np.minimum(np.maximum(a[0], a[1]), a[2])
        elif op == "MaxPool":
            y = _maxpool(a[0], node)
        elif op == "Add":
            y = (a[0] + a[1]).astype(np.float32)
        elif op == "GlobalAveragePool":
            y = a[0].astype(np.float64).mean(axis=(2, 3), keepdims=True).astype(np.float32)
        elif op == "Flatten":
            y = a[0].reshape(a[0].shape[0], -1)
        elif op == "Gemm":
            wt = a[1].T if _attr(node, "transB", 0) else a[1]
            y = a[0].astype(np.float64) @ wt.astype(np.float64)
            if len(a) > 2:
                y = y + a[2]
            y = y.astype(np.float32)
        elif op == "MatMul":
            y = (a[0].astype(np.float64) @ a[1].astype(np.float64)).astype(np.float32)
        elif op == "Identity":
            y = a[0]
        else:
            raise ValueError("reference interpreter: no %s" % op)
        env[node.output[0]] = y
    return env["y"]


def compare(got_path, want_path, step, max_steps, max_frac):
    try:
        got = np.load(got_path, allow_pickle=False)
    except Exception as e:  # unreadable output is a failure, not a crash
        print("cannot read %s: %s" % (got_path, e))
        return 1
    want = np.load(want_path, allow_pickle=False)
    if got.shape != want.shape or got.dtype != want.dtype:
        print("got %s %s, expected %s %s" % (got.dtype, got.shape, want.dtype, want.shape))
        return 1
    steps = np.abs(got.astype(np.float64) - want.astype(np.float64)) / step
    steps = np.where(np.isnan(steps), np.inf, steps)
    worst = float(steps.max()) if steps.size else 0.0
    off = int(np.count_nonzero(steps > 0.5))
    distinct = len(np.unique(want))
    print("max %.3g steps, %d of %d elements differ, %d distinct values" % (worst, off, steps.size, distinct))
    ok = worst <= max_steps + 1e-3 and off <= max_frac * steps.size and distinct >= min(8, steps.size)
    return 0 if ok else 1


def check_ops(bench_json, ops_path):
    import json
    with open(bench_json) as f:
        got = sorted(n["op"] for n in json.load(f)["per_op"])
    with open(ops_path) as f:
        want = sorted([line.strip() for line in f if line.strip()] + ["DequantizeLinear", "QuantizeLinear"])
    print("nodes: " + ", ".join(got))
    if got != want:
        print("expected: " + ", ".join(want))
        return 1
    return 0


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "build":
        os.makedirs(sys.argv[2], exist_ok=True)
        rng = np.random.default_rng(20240611)
        for build in MODELS:
            build(sys.argv[2], rng)
        return 0
    if len(sys.argv) == 7 and sys.argv[1] == "compare":
        return compare(sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]))
    if len(sys.argv) == 4 and sys.argv[1] == "ops":
        return check_ops(sys.argv[2], sys.argv[3])
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
