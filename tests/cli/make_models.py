#!/usr/bin/python3
"""Small ONNX models for the CLI tests (written to OUTDIR, never committed).

usage: make_models.py OUTDIR

  two_outputs.onnx  x (2,3) f32 -> relu (2,3), neg (2,3)
  dyn_batch.onnx    x (batch,4) f32 -> x @ W + b (batch,3)   (dim_param "batch")
  cast_u8.onnx      x (2,2) u8 -> Cast to f32 (2,2)
  cast_i64.onnx     x (3,) i64 -> Cast to f32 (3,)
  relu.onnx         x (2,3) f32 -> relu
  weird_names.onnx  relu with tensor and node names that need escaping in JSON
  fm_flat.onnx      (N,784) nearest-centroid classifier from Fashion-MNIST train means
  fm_nchw.onnx      the same on (N,1,28,28) (Flatten first)
  fm_fixed1.onnx    the same on (1,784) (fixed batch 1)
  fm_softmax.onnx   fm_flat followed by Softmax (outputs are probabilities)
and inputs: x23.npy (f32 2x3), x_b1.npy, x_b3.npy (f32 batch 1 and 3 for dyn_batch),
u8.npy, i64.npy.
"""
import gzip
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)


def save(graph, name, opset=13):
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="sqz-tests")
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, name))


F = TensorProto.FLOAT
x23 = helper.make_tensor_value_info("x", F, [2, 3])
save(helper.make_graph([helper.make_node("Relu", ["x"], ["relu"], name="r"),
                        helper.make_node("Neg", ["x"], ["neg"], name="n")], "two",
                       [x23], [helper.make_tensor_value_info("relu", F, [2, 3]),
                               helper.make_tensor_value_info("neg", F, [2, 3])]), "two_outputs.onnx")
save(helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="r")], "relu", [x23],
                       [helper.make_tensor_value_info("y", F, [2, 3])]), "relu.onnx")
W = rng.standard_normal((4, 3)).astype(np.float32)
b = rng.standard_normal(3).astype(np.float32)
save(helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["xw"], name="mm"),
                        helper.make_node("Add", ["xw", "b"], ["y"], name="add")], "dyn",
                       [helper.make_tensor_value_info("x", F, ["batch", 4])],
                       [helper.make_tensor_value_info("y", F, ["batch", 3])],
                       [numpy_helper.from_array(W, "W"), numpy_helper.from_array(b, "b")]), "dyn_batch.onnx")
save(helper.make_graph([helper.make_node("Cast", ["x"], ["y"], to=F, name="c")], "cu8",
                       [helper.make_tensor_value_info("x", TensorProto.UINT8, [2, 2])],
                       [helper.make_tensor_value_info("y", F, [2, 2])]), "cast_u8.onnx")
save(helper.make_graph([helper.make_node("Cast", ["x"], ["y"], to=F, name="c")], "ci64",
                       [helper.make_tensor_value_info("x", TensorProto.INT64, [3])],
                       [helper.make_tensor_value_info("y", F, [3])]), "cast_i64.onnx")

# names that need escaping in JSON
wx = 'in "quoted" \\ back\tslash'
save(helper.make_graph([helper.make_node("Relu", [wx], ["out\u00e9\n"], name='node "n"\x01')], "weird",
                       [helper.make_tensor_value_info(wx, F, [2, 3])],
                       [helper.make_tensor_value_info("out\u00e9\n", F, [2, 3])]), "weird_names.onnx")

np.save(os.path.join(out, "x23.npy"), rng.standard_normal((2, 3)).astype(np.float32))
xb1 = rng.standard_normal((1, 4)).astype(np.float32)
xb3 = rng.standard_normal((3, 4)).astype(np.float32)
np.save(os.path.join(out, "x_b1.npy"), xb1)
np.save(os.path.join(out, "x_b3.npy"), xb3)
np.save(os.path.join(out, "y_b1.npy"), xb1 @ W + b)
np.save(os.path.join(out, "y_b3.npy"), xb3 @ W + b)
np.save(os.path.join(out, "u8.npy"), np.array([[0, 1], [200, 255]], dtype=np.uint8))
np.save(os.path.join(out, "i64.npy"), np.array([-5, 0, 1 << 40], dtype=np.int64))

# Nearest-centroid classifier: logits_k = x . mu_k - |mu_k|^2 / 2, x = pixels / 255.
fm = "/usr/share/datasets/fashion-mnist"
if os.path.exists(os.path.join(fm, "train-images-idx3-ubyte.gz")):
    with gzip.open(os.path.join(fm, "train-images-idx3-ubyte.gz")) as f:
        imgs = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:6000] / 255.0
    with gzip.open(os.path.join(fm, "train-labels-idx1-ubyte.gz")) as f:
        labs = np.frombuffer(f.read(), np.uint8, offset=8)[:6000]
    mu = np.stack([imgs[labs == k].mean(0) for k in range(10)]).astype(np.float32)
    Wc = mu.T.copy()
    bc = (-0.5 * (mu * mu).sum(1)).astype(np.float32)
    inits = [numpy_helper.from_array(Wc, "W"), numpy_helper.from_array(bc, "b")]
    gemm = helper.make_node("Gemm", ["x", "W", "b"], ["logits"], name="fc")
    out_vi = helper.make_tensor_value_info("logits", F, ["N", 10])
    save(helper.make_graph([gemm], "fm_flat", [helper.make_tensor_value_info("x", F, ["N", 784])], [out_vi], inits),
         "fm_flat.onnx")
    save(helper.make_graph([helper.make_node("Flatten", ["img"], ["x"], name="flat"), gemm], "fm_nchw",
                           [helper.make_tensor_value_info("img", F, ["N", 1, 28, 28])], [out_vi], inits),
         "fm_nchw.onnx")
    save(helper.make_graph([gemm], "fm_fixed1", [helper.make_tensor_value_info("x", F, [1, 784])],
                           [helper.make_tensor_value_info("logits", F, [1, 10])], inits), "fm_fixed1.onnx")
    save(helper.make_graph([helper.make_node("Gemm", ["x", "W", "b"], ["z"], name="fc", alpha=20.0, beta=20.0),
                            helper.make_node("Softmax", ["z"], ["p"], name="sm", axis=1)], "fm_softmax",
                           [helper.make_tensor_value_info("x", F, ["N", 784])],
                           [helper.make_tensor_value_info("p", F, ["N", 10])], inits), "fm_softmax.onnx")
