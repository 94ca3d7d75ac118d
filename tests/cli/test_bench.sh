#!/bin/bash
# CLI: sqz bench - text and JSON reports, --per-op profile, dynamic batch, usage errors.
# No timing assertions: only that numbers are present and consistent.
. "$(dirname "$0")/lib.sh"

if ! have_py; then
    skip "python3 with numpy and onnx missing (python3-numpy python3-onnx)"
    finish; exit $?
fi

# x[N,1,8,8] -> Conv(4, 3x3, pad 1) -> BatchNorm -> Relu -> Identity -> Flatten -> Gemm(10) -> Dropout -> y
"$PY" - "$T/cnn.onnx" "$T/fixed.onnx" <<'EOF' || bad "making test models"
import sys
import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

rng = np.random.default_rng(3)
def init(name, *shape, lo=-0.5, hi=0.5):
    return numpy_helper.from_array(rng.uniform(lo, hi, shape).astype(np.float32), name)

def model(path, batch):
    inits = [init("w", 4, 1, 3, 3), init("b", 4), init("g", 4, lo=0.5, hi=1.5), init("beta", 4),
             init("mean", 4), init("var", 4, lo=0.5, hi=1.5), init("fw", 10, 256), init("fb", 10)]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "g", "beta", "mean", "var"], ["n"], name="bn"),
        helper.make_node("Relu", ["n"], ["r"], name="relu"),
        helper.make_node("Identity", ["r"], ["i"], name="id"),
        helper.make_node("Flatten", ["i"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "fw", "fb"], ["z"], name="fc", transB=1),
        helper.make_node("Dropout", ["z"], ["y"], name="drop"),
    ]
    g = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 1, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 10])], inits)
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)

model(sys.argv[1], "N")
model(sys.argv[2], 2)
EOF

# text report
sq 0 bench "$T/cnn.onnx" --runs 3 --warmup 1 && {
    out_has "median [0-9.]+ ms"
    out_has "throughput +[0-9.]+ items/s"
    out_has "batch 1, threads 1, isa [a-z0-9]+"
    out_has "activation memory +peak"
}

# JSON: keys present and numbers consistent
jcheck() { # jcheck FILE BATCH RUNS THREADS
    "$PY" - "$@" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
batch, runs, threads = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for k in ("median_ms", "min_ms", "max_ms", "batch", "threads", "isa", "runs", "throughput", "peak_bytes"):
    assert k in d, "missing key " + k
assert d["batch"] == batch and d["runs"] == runs and d["threads"] == threads, d
assert 0 < d["min_ms"] <= d["median_ms"] <= d["max_ms"], d
assert isinstance(d["isa"], str) and d["isa"], d
assert abs(d["throughput"] - batch * 1000.0 / d["median_ms"]) <= 1e-6 * d["throughput"], d
assert d["peak_bytes"] > 0, d
EOF
}
sq 0 bench "$T/cnn.onnx" --json --batch 3 --runs 4 --warmup 0 && check "bench --json keys and numbers" jcheck "$T/out" 3 4 1
sq 0 bench "$T/cnn.onnx" --json --batch 5 --runs 3 --threads 2 --no-fuse &&
    check "bench --json --threads 2 --no-fuse" jcheck "$T/out" 5 3 2
sq 0 bench "$T/fixed.onnx" --json --runs 2 && check "fixed batch is reported" jcheck "$T/out" 2 2 1
sq 0 bench "$T/fixed.onnx" --json --runs 2 --batch 2 && check "matching --batch accepted" jcheck "$T/out" 2 2 1

# --per-op: every node that did work listed; BatchNorm, Identity and Dropout were optimized away
sq 0 bench "$T/cnn.onnx" --per-op --runs 2 --batch 2 && {
    out_has "per-node time"
    out_has "Conv.* conv .*\[2,4,8,8\]"
    out_has "Conv[+A-Za-z]* (implicit|implicit-t|im2col|pointwise|depthwise) " # the kernel path
    out_has "Gemm.* fc .*\[2,10\]"
    out_has "per op type"
    out_has "^  total "
    if grep -Eq "BatchNormalization|Identity|Dropout" "$T/out"; then bad "--per-op lists optimized-away nodes"; else ok; fi
}
pcheck() {
    "$PY" - "$1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
rows = d["per_op"]
ops = sorted(r["op"].split("+")[0] for r in rows)
assert ops == ["Conv", "Flatten", "Gemm"] or ops == ["Conv", "Flatten", "Gemm", "Relu"], ops
assert all(r["ms"] >= 0 and r["shape"] for r in rows), rows
assert [r["ms"] for r in rows] == sorted((r["ms"] for r in rows), reverse=True), "not sorted by time"
assert abs(sum(r["pct"] for r in rows) - 100) < 1e-6 or d["per_op_total_ms"] == 0, rows
assert sum(t["count"] for t in d["per_op_type"]) == len(rows), d["per_op_type"]
conv = [r for r in rows if r["op"].startswith("Conv")]
assert conv and all(r.get("kernel") in ("implicit", "implicit-t", "im2col", "pointwise", "depthwise") for r in conv), conv
assert all("kernel" not in r for r in rows if not r["op"].startswith("Conv")), rows
EOF
}
sq 0 bench "$T/cnn.onnx" --per-op --json --runs 2 && check "--per-op --json rows" pcheck "$T/out"

# errors
sq 2 bench && err_line
sq 2 bench "$T/cnn.onnx" --runs 0 && err_line
sq 2 bench "$T/cnn.onnx" --batch x && err_line
sq 2 bench "$T/cnn.onnx" "$T/cnn.onnx" && err_line
sq 66 bench "$T/none.onnx" && err_one_line
sq 65 bench "$T/fixed.onnx" --batch 3 && err_one_line && err_has "fixed batch of 2"
sq 0 bench --help && out_has "usage: sqz bench MODEL"

finish
