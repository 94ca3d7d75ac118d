#!/usr/bin/python3
"""Static QDQ int8 quantization of the fp32 models of bench/models (for run_int8.sh), with the
python onnx module and numpy only, and the small checks run_int8.sh needs.

usage: quantize_qdq.py quantize FP32.onnx OUT.onnx [--calib N] [--chunk C]
       quantize_qdq.py input MODEL.onnx N SEED OUT.npy
       quantize_qdq.py compare GOT.npy REF.npy [STEP]
       quantize_qdq.py step MODEL.onnx
       quantize_qdq.py sqz-ops BENCH.json
       quantize_qdq.py ort-ops OPTIMIZED.onnx

quantize writes OUT.onnx, the QDQ form of FP32.onnx as ONNX Runtime's quantizer writes it
(quantize_static, QuantFormat.QDQ, per_channel=True, u8 activations, s8 weights), and OUT.json
(what was quantized, what stays fp32 and why, the calibration used):
  - weights of Conv / Gemm / MatMul: s8, symmetric (zero point 0), per output channel
    (Conv: axis 0; Gemm transB=1: axis 0; Gemm transB=0 and MatMul: axis 1), scale max|w| / 127;
  - their biases: i32 with zero point 0 and scale x_scale * w_scale[c], through a
    DequantizeLinear (the form both sqz's rewrite and ONNX Runtime's QDQ fusion take as is);
  - activations, u8 per tensor, asymmetric (0 always representable): the input and output of
    each Conv / Gemm / MatMul / Add / GlobalAveragePool; where such a node's output only feeds a
    Relu or a Clip with constant bounds, the Relu / Clip stays in the graph and its output is
    the one quantized (sqz and ONNX Runtime absorb it into the integer operator; its range is
    clamped to the bounds, and a Clip's upper bound is never below the top of the Q range, so
    ONNX Runtime's ClipQuantFusion can drop it). MaxPool / Flatten / Reshape / Transpose /
    Squeeze / Unsqueeze get a Q / DQ pair on both sides with the same parameters (they then run
    on the int8 tensor). Scales and zero points come from min / max over a calibration set:
    N images of Fashion-MNIST's training set (/255) for 1x28x28 models when the data set is
    there (SQZ_DATA_DIR or /usr/share/datasets/fashion-mnist), else N seeded uniform [0,1)
    inputs; intermediate tensors are taken from the fp32 model run in ONNX Runtime (node,
    ort_calib.js minmax, graph optimizations disabled) with those tensors added as outputs.
  - everything else stays fp32 and is listed in OUT.json.

input writes N samples for MODEL's input to OUT.npy (float32) and prints what they are: seeded
Fashion-MNIST test images (/255) for 1x28x28 models when the data set is there (the models
were calibrated on training images), else seeded uniform [0,1) inputs.
compare prints "MAXDIFF TOP1 [STEPS]": the max abs difference of the outputs, the fraction of
samples whose argmax over the last axis agrees, and MAXDIFF / STEP. step prints the scale of
the DequantizeLinear writing a QDQ model's output. sqz-ops and ort-ops count the node types of
`sqz bench --per-op --json` and of the graph ONNX Runtime optimized (ort_calib.js ops) and print
one JSON line: {"qlinear": N, "fp": N, "dq": N, "q": N, "types": {...}} where fp counts the
remaining Conv / MatMul / Gemm and dq / q the remaining DequantizeLinear / QuantizeLinear.
Needs /usr/bin/python3 with onnx and numpy; quantize also needs node with onnxruntime-node
(ORT_DIR, default bench/out/ort).
"""
import gzip
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
COMPUTE = ("Conv", "Gemm", "MatMul")
PASSTHROUGH = ("MaxPool", "Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze")
FASHION = os.environ.get("SQZ_DATA_DIR") or "/usr/share/datasets/fashion-mnist"


def attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


class Graph:
    """Lookups over an fp32 graph."""

    def __init__(self, model):
        self.model = model
        g = model.graph
        self.inits = {t.name: t for t in g.initializer}
        self.consts = {}  # Constant node outputs
        for n in g.node:
            if n.op_type == "Constant" and len(n.output) == 1:
                v = attr(n, "value", None)
                if v is not None:
                    self.consts[n.output[0]] = numpy_helper.to_array(v)
        self.producer = {o: n for n in g.node for o in n.output if o}
        self.consumers = {}
        for n in g.node:
            for i in n.input:
                if i:
                    self.consumers.setdefault(i, []).append(n)
        self.outputs = {o.name for o in g.output}
        self.inputs = [i.name for i in g.input if i.name not in self.inits]

    def const(self, name):
        if name in self.inits:
            return numpy_helper.to_array(self.inits[name])
        return self.consts.get(name)

    def is_activation(self, name):
        return bool(name) and name not in self.inits and name not in self.consts

    def act_bounds(self, n):
        """(lo, hi) of a Relu, or of a Clip with constant bounds; None otherwise."""
        if n.op_type == "Relu":
            return (0.0, float("inf"))
        if n.op_type != "Clip":
            return None
        lo, hi = float("-inf"), float("inf")
        for k, name in enumerate(n.input[1:3]):
            if not name:
                continue
            v = self.const(name)
            if v is None or v.size != 1:
                return None
            if k == 0:
                lo = float(v.reshape(()))
            else:
                hi = float(v.reshape(()))
        return (lo, hi) if lo <= hi else None

    def group_output(self, n):
        """The tensor a compute node's Q goes on: the output of a Relu / Clip that is the sole
        reader of n's output, else n's output. (tensor, bounds or None, the Relu / Clip or None)."""
        y = n.output[0]
        readers = self.consumers.get(y, [])
        if len(readers) == 1 and y not in self.outputs:
            r = readers[0]
            b = self.act_bounds(r)
            if b is not None and r.input[0] == y and list(r.input).count(y) == 1:
                return r.output[0], b, r
        return y, None, None


def check_compute(G, n):
    """None when node n (Conv / Gemm / MatMul) can be quantized, else why not."""
    if not G.is_activation(n.input[0]):
        return "first input is a constant"
    if len(n.input) < 2 or n.input[1] not in G.inits:
        return "weight is not an initializer"
    w = G.const(n.input[1])
    if n.op_type == "Conv":
        if w.ndim not in (3, 4):
            return "%d-D convolution (QLinearConv is 1-D and 2-D)" % (w.ndim - 2)
    else:
        if w.ndim != 2:
            return "weight of rank %d" % w.ndim
        if n.op_type == "Gemm" and (attr(n, "transA", 0) != 0 or attr(n, "alpha", 1.0) != 1.0 or
                                    attr(n, "beta", 1.0) != 1.0):
            return "Gemm with transA, alpha or beta"
    if len(n.input) > 2 and n.input[2]:
        if n.input[2] not in G.inits:
            return "bias is not an initializer"
        nout = w.shape[0] if n.op_type == "Conv" or attr(n, "transB", 0) else w.shape[1]
        nb = G.const(n.input[2]).size
        if nb != nout and not (n.op_type == "Gemm" and nb == 1):
            return "bias of %d values for %d outputs" % (nb, nout)
    return None


def plan(G):
    """Decides what gets quantized. Returns (acts, clamp, compute, fused, fp32, other):
    acts: tensor -> "calib" or ("share", tensor), in graph order; clamp: tensor -> (lo, hi) of the
    Relu / Clip writing it; compute: the Conv / Gemm / MatMul nodes whose weights get quantized;
    fused: Relu / Clip nodes that end up inside an integer operator; fp32: [(node, op, why)];
    other: the Add / GlobalAveragePool / MaxPool / ... nodes between Q / DQ pairs."""
    acts, clamp, compute, fused, fp32, other = {}, {}, [], set(), [], []

    def quant(t, how="calib"):
        if t not in acts:
            acts[t] = how

    for n in G.model.graph.node:
        op = n.op_type
        if op == "Constant":
            continue
        if op in COMPUTE:
            why = check_compute(G, n)
            if why:
                fp32.append((n.name, op, why))
                continue
            compute.append(n)
            quant(n.input[0])
            y, b, r = G.group_output(n)
            if r is not None:
                fused.add(r.name)
                clamp[y] = b
            quant(y)
        elif op == "Add":
            if len(n.input) != 2 or not all(G.is_activation(i) for i in n.input):
                fp32.append((n.name, op, "an input is a constant"))
                continue
            other.append(n)
            for i in n.input:
                quant(i)
            y, b, r = G.group_output(n)
            if r is not None:
                fused.add(r.name)
                clamp[y] = b
            quant(y)
        elif op == "GlobalAveragePool":
            other.append(n)
            quant(n.input[0])
            quant(n.output[0])
        elif op in PASSTHROUGH:
            if not G.is_activation(n.input[0]) or (len(n.output) > 1 and n.output[1]):
                fp32.append((n.name, op, "constant input or second output"))
                continue
            other.append(n)
            quant(n.input[0])
            acts[n.output[0]] = ("share", n.input[0])
        elif n.name in fused:
            continue
        else:
            fp32.append((n.name, op, "no integer operator for it in the QDQ rewrite"))
    # fused Relu / Clip nodes are seen after their producer: drop them from fp32 if listed
    fp32 = [f for f in fp32 if f[0] not in fused]
    return acts, clamp, compute, fused, fp32, other


def act_qparams(lo, hi, bounds=None):
    """u8 scale and zero point for the range [lo, hi] (widened to hold 0, narrowed to the
    Relu / Clip bounds); a Clip's upper bound stays at or above the top of the Q range."""
    if bounds is not None:
        lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    s = np.float32((hi - lo) / 255.0)
    if not (np.isfinite(s) and s >= np.float32(1e-30)):
        s = np.float32(1.0)  # a tensor that is always 0
    zp = int(np.clip(np.rint(-lo / np.float64(s)), 0, 255))
    if bounds is not None and np.isfinite(bounds[1]):
        while np.float32(255 - zp) * s > np.float32(bounds[1]):
            s = np.nextafter(s, np.float32(0))
    return s, np.uint8(zp)


def weight_axis(n):
    if n.op_type == "Conv":
        return 0
    if n.op_type == "Gemm" and attr(n, "transB", 0):
        return 0
    return 1


def quantize_weight(w, axis):
    """s8 symmetric per channel along axis: (q, scale[C])."""
    wm = np.moveaxis(w.astype(np.float64), axis, 0).reshape(w.shape[axis], -1)
    amax = np.abs(wm).max(axis=1)
    s = (amax / 127.0).astype(np.float32)
    s[~(s >= np.float32(1e-30))] = np.float32(1.0)
    shape = [1] * w.ndim
    shape[axis] = -1
    q = np.clip(np.rint(w / s.reshape(shape).astype(np.float64)), -127, 127).astype(np.int8)
    return q, s


def fashion_images(split, n, seed):
    """n seeded images of Fashion-MNIST's split ("train" or "t10k") as [n, 1, 28, 28] floats
    in [0, 1], or None when the data set is not there."""
    path = os.path.join(FASHION, "%s-images-idx3-ubyte.gz" % split)
    if not os.path.exists(path):
        return None
    with gzip.open(path, "rb") as f:
        magic, count, rows, cols = struct.unpack(">IIII", f.read(16))
        if magic != 2051 or rows != 28 or cols != 28:
            return None
        img = np.frombuffer(f.read(count * 784), np.uint8).reshape(count, 1, 28, 28)
    idx = np.sort(np.random.default_rng(seed).choice(count, size=min(n, count), replace=False))
    return img[idx].astype(np.float32) / np.float32(255.0)


def model_input_dims(model):
    return [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim][1:]


def sample_inputs(model, n, seed, split):
    """(samples, description): Fashion-MNIST images of split for 1x28x28 inputs when the data
    set is there, else seeded uniform [0,1) inputs."""
    dims = model_input_dims(model)
    if dims == [1, 28, 28]:
        x = fashion_images(split, n, seed)
        if x is not None:
            return x, "%d Fashion-MNIST %s images" % (len(x), "training" if split == "train" else "test")
    x = np.random.default_rng(seed).random([n] + dims, dtype=np.float32)
    return x, "%d uniform [0,1) random inputs" % n


def calibrate(G, tensors, x, chunk):
    """{tensor: (min, max)} of the fp32 model over the samples x (ONNX Runtime, node)."""
    model = onnx.ModelProto()
    model.CopyFrom(G.model)
    for t in tensors:
        if t not in G.outputs:
            model.graph.output.append(helper.make_tensor_value_info(t, TensorProto.FLOAT, None))
    with tempfile.TemporaryDirectory(prefix="sqz-calib-") as d:
        mpath, xpath, rpath = (os.path.join(d, f) for f in ("calib.onnx", "x.npy", "range.json"))
        onnx.save(model, mpath)
        np.save(xpath, np.ascontiguousarray(x, dtype=np.float32))
        subprocess.run(["node", os.path.join(HERE, "ort_calib.js"), "minmax", mpath, xpath, rpath,
                        "--chunk", str(chunk)], check=True)
        with open(rpath) as f:
            r = json.load(f)
    missing = [t for t in tensors if t not in r]
    if missing:
        sys.exit("quantize_qdq.py: calibration gave no range for %s" % ", ".join(missing[:5]))
    return {t: tuple(r[t]) for t in tensors}


def quantize(src, dst, n_calib, chunk):
    model = onnx.load(src)
    G = Graph(model)
    if len(G.inputs) != 1:
        sys.exit("quantize_qdq.py: %s: want one graph input" % src)
    acts, clamp, compute, fused, fp32, other = plan(G)
    x, calib_desc = sample_inputs(model, n_calib, 1234, "train")
    to_calib = [t for t, how in acts.items() if how == "calib" and t not in G.inputs]
    ranges = calibrate(G, to_calib, x, chunk)
    for t in G.inputs:
        if t in acts:
            ranges[t] = (float(x.min()), float(x.max()))
    params = {}
    for t, how in acts.items():  # graph order: a shared tensor's source comes first
        params[t] = params[how[1]] if isinstance(how, tuple) else act_qparams(*ranges[t], clamp.get(t))

    g = model.graph
    new_inits, head, after = [], [], {}  # after: producer node name -> Q/DQ nodes

    def init(name, value):
        new_inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    # activations: Q -> DQ after the producer; readers take the DQ output
    rename = {}  # tensor -> the name its readers now use
    x_of = {id(n): n.input[0] for n in compute}  # the activation each compute node reads
    for t, (s, zp) in params.items():
        sn, zn = init(t + "_scale", np.float32(s)), init(t + "_zero_point", zp)
        if t in G.outputs:  # the graph output keeps its name: the producer writes t_f32
            src_t, dq_out = t + "_f32", t
            G.producer[t].output[list(G.producer[t].output).index(t)] = src_t
        else:
            src_t, dq_out = t, t + "_dequantized"
            rename[t] = dq_out
        nodes = [helper.make_node("QuantizeLinear", [src_t, sn, zn], [t + "_quantized"], name=t + "_QuantizeLinear"),
                 helper.make_node("DequantizeLinear", [t + "_quantized", sn, zn], [dq_out],
                                  name=t + "_DequantizeLinear")]
        p = G.producer.get(t)
        if p is None:
            head += nodes
        else:
            after.setdefault(id(p), []).extend(nodes)
    for n in g.node:
        for k, i in enumerate(n.input):
            if i in rename:
                n.input[k] = rename[i]

    # weights and biases of the compute nodes
    drop = set()
    for n in compute:
        axis = weight_axis(n)
        wname = n.input[1]
        q, ws = quantize_weight(G.const(wname), axis)
        base = n.name or wname
        qn, sn, zn = (init(base + "_w_quantized", q), init(base + "_w_scale", ws),
                      init(base + "_w_zero_point", np.zeros(ws.size, np.int8)))
        head.append(helper.make_node("DequantizeLinear", [qn, sn, zn], [base + "_w_dequantized"],
                                     name=base + "_w_DequantizeLinear", axis=axis))
        n.input[1] = base + "_w_dequantized"
        drop.add(wname)
        if len(n.input) > 2 and n.input[2]:
            bname = n.input[2]
            b = G.const(bname).astype(np.float64).reshape(-1)
            xs = params[x_of[id(n)]][0]
            bs = (np.float64(xs) * ws.astype(np.float64)).astype(np.float32)
            if b.size == 1 and ws.size > 1:
                b = np.repeat(b, ws.size)
            bq = np.clip(np.rint(b / bs.astype(np.float64)), -2 ** 31, 2 ** 31 - 1).astype(np.int32)
            qn, sn, zn = (init(base + "_b_quantized", bq), init(base + "_b_scale", bs),
                          init(base + "_b_zero_point", np.zeros(bs.size, np.int32)))
            head.append(helper.make_node("DequantizeLinear", [qn, sn, zn], [base + "_b_dequantized"],
                                         name=base + "_b_DequantizeLinear", axis=0))
            n.input[2] = base + "_b_dequantized"
            drop.add(bname)
    still_read = {i for n in g.node for i in n.input}
    keep = [t for t in g.initializer if t.name not in drop or t.name in still_read]

    nodes = list(head)
    for n in g.node:
        nodes.append(n)
        nodes += after.get(id(n), [])
    del g.node[:]
    g.node.extend(nodes)
    del g.initializer[:]
    g.initializer.extend(keep + new_inits)
    model.producer_name = "sqz bench/models/quantize_qdq.py"
    onnx.checker.check_model(model)
    tmp = dst + ".tmp"
    onnx.save(model, tmp)
    os.replace(tmp, dst)

    counts = {}
    for n in compute + other:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    for n in G.model.graph.node:
        if n.name in fused:
            counts[n.op_type + " (fused)"] = counts.get(n.op_type + " (fused)", 0) + 1
    report = {"model": os.path.basename(src), "calibration": calib_desc, "quantized": counts,
              "activation_tensors": len(acts), "fp32": fp32}
    with open(os.path.splitext(dst)[0] + ".json", "w") as f:
        json.dump(report, f, indent=1)
    print("quantized %s -> %s (%s; %s)" % (src, dst, calib_desc,
                                           ", ".join("%d %s" % (v, k) for k, v in sorted(counts.items()))))


# ---- checks for run_int8.sh ----

def cmd_input(model, n, seed, out):
    x, desc = sample_inputs(onnx.load(model, load_external_data=False), int(n), int(seed), "t10k")
    np.save(out, x)
    print(desc)


def cmd_compare(got, ref, step=None):
    a, b = np.load(got).astype(np.float64), np.load(ref).astype(np.float64)
    if a.shape != b.shape:
        sys.exit("quantize_qdq.py compare: shapes %s and %s differ" % (a.shape, b.shape))
    d = float(np.abs(a - b).max()) if a.size else 0.0
    top1 = float(np.mean(a.reshape(-1, a.shape[-1]).argmax(1) == b.reshape(-1, b.shape[-1]).argmax(1)))
    line = "%.3g %.4f" % (d, top1)
    if step is not None:
        line += " %.2f" % (d / float(step))
    print(line)


def cmd_step(model):
    m = onnx.load(model, load_external_data=False)
    out = m.graph.output[0].name
    inits = {t.name: t for t in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "DequantizeLinear" and n.output[0] == out:
            print(repr(float(numpy_helper.to_array(inits[n.input[1]]).reshape(-1)[0])))
            return
    sys.exit("quantize_qdq.py step: %s: no DequantizeLinear writes the output" % model)


def summarize(types):
    return {"qlinear": sum(v for k, v in types.items() if k.startswith("QLinear") or k == "QGemm"),
            "fp": sum(types.get(k, 0) for k in ("Conv", "MatMul", "Gemm", "FusedConv", "FusedGemm", "FusedMatMul")),
            "dq": types.get("DequantizeLinear", 0), "q": types.get("QuantizeLinear", 0),
            "types": dict(sorted(types.items()))}


def cmd_sqz_ops(path):
    """Node types in `sqz bench --per-op --json`. per_op leaves out fused Relu / Clip nodes and
    the first convolutions of a conv chain (their time shows on its last node, kernel 'chain'):
    those are counted back on the chain's op type."""
    with open(path) as f:
        j = json.load(f)
    types = {}
    chain_op = None
    for r in j["per_op"]:
        op = r["op"].split("+")[0]
        types[op] = types.get(op, 0) + 1
        if r.get("kernel") == "chain":
            chain_op = op
    hidden = j["nodes"] - len(j["per_op"]) - j.get("fused_activations", 0)
    if hidden > 0 and chain_op:
        types[chain_op] += hidden
    print(json.dumps(summarize(types)))


def cmd_ort_ops(path):
    m = onnx.load(path, load_external_data=False)
    types = {}
    for n in m.graph.node:
        types[n.op_type] = types.get(n.op_type, 0) + 1
    print(json.dumps(summarize(types)))


def main():
    a = sys.argv[1:]
    if a and a[0] == "quantize" and len(a) >= 3:
        opts = {"--calib": 256, "--chunk": 8}
        rest = a[3:]
        while rest:
            if rest[0] not in opts or len(rest) < 2:
                sys.exit(__doc__)
            opts[rest[0]] = int(rest[1])
            rest = rest[2:]
        quantize(a[1], a[2], opts["--calib"], opts["--chunk"])
    elif a and a[0] == "input" and len(a) == 5:
        cmd_input(*a[1:])
    elif a and a[0] == "compare" and len(a) in (3, 4):
        cmd_compare(*a[1:])
    elif a and a[0] == "step" and len(a) == 2:
        cmd_step(a[1])
    elif a and a[0] == "sqz-ops" and len(a) == 2:
        cmd_sqz_ops(a[1])
    elif a and a[0] == "ort-ops" and len(a) == 2:
        cmd_ort_ops(a[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
