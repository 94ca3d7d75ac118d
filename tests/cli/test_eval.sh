#!/bin/bash
# CLI: sqz eval on Fashion-MNIST with small nearest-centroid models built by make_models.py:
# flattened (N,784), NCHW (N,1,28,28), fixed batch 1, probability outputs, IMAGES,LABELS files.
. "$(dirname "$0")/lib.sh"

if ! have_py; then skip "python3 with numpy and onnx missing"; finish; exit $?; fi
if [ ! -f "$FMNIST/t10k-images-idx3-ubyte.gz" ]; then skip "dataset-fashion-mnist missing"; finish; exit $?; fi
"$PY" "$SRC/tests/cli/make_models.py" "$T/m" || bad "make_models.py"

# reference accuracy and loss of the centroid model on the first 500 test images, with numpy
"$PY" - "$T/m/fm_flat.onnx" "$FMNIST" >"$T/ref" <<'PYEOF' || bad "numpy reference"
import gzip, sys, numpy as np, onnx
from onnx import numpy_helper
m = onnx.load(sys.argv[1])
W, b = [numpy_helper.to_array(t) for t in m.graph.initializer]
x = np.frombuffer(gzip.open(sys.argv[2] + "/t10k-images-idx3-ubyte.gz").read(), np.uint8, offset=16)
x = x.reshape(-1, 784)[:500].astype(np.float32) / 255
y = np.frombuffer(gzip.open(sys.argv[2] + "/t10k-labels-idx1-ubyte.gz").read(), np.uint8, offset=8)[:500]
z = (x @ W + b).astype(np.float64)
zz = z - z.max(1, keepdims=True)
loss = (np.log(np.exp(zz).sum(1)) - zz[np.arange(500), y]).mean()
print((z.argmax(1) == y).mean(), loss)
PYEOF
read -r REF_ACC REF_LOSS <"$T/ref"

json_ok() { # json_ok FILE ACC_MIN ACC_MAX [REF_ACC REF_LOSS]
    "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
acc, loss = d["accuracy"], d["loss"]
assert d["images"] == 500, d
assert float(sys.argv[2]) <= acc <= float(sys.argv[3]), acc
assert loss == loss and loss >= 0, loss
assert d["images_per_sec"] > 0 and d["seconds"] >= 0, d
if len(sys.argv) > 5:
    assert abs(acc - float(sys.argv[4])) <= 0.004, (acc, sys.argv[4])
    assert abs(loss - float(sys.argv[5])) <= 1e-3 * max(1, abs(loss)), (loss, sys.argv[5])
' "$@"; }

sq 0 eval "$T/m/fm_flat.onnx" --data fashion-mnist --limit 500 --json
check "flat: accuracy and loss match numpy" json_ok "$T/out" 0 1 "$REF_ACC" "$REF_LOSS"
check "quiet stderr in a pipe" test ! -s "$T/err"
sq 0 eval "$T/m/fm_nchw.onnx" --data fashion-mnist:test --limit 500 --batch 100 --json --threads 2
check "nchw: same accuracy" json_ok "$T/out" 0 1 "$REF_ACC" "$REF_LOSS"
sq 0 eval "$T/m/fm_fixed1.onnx" --data fashion-mnist --limit 500 --json
check "fixed batch 1: same accuracy" json_ok "$T/out" 0 1 "$REF_ACC" "$REF_LOSS"
sq 0 eval "$T/m/fm_softmax.onnx" --data fashion-mnist --limit 500 --json
check "probability outputs: same accuracy, sane loss" json_ok "$T/out" "$REF_ACC" "$REF_ACC"
sq 0 eval "$T/m/fm_flat.onnx" --data "$FMNIST/t10k-images-idx3-ubyte.gz,$FMNIST/t10k-labels-idx1-ubyte.gz" --limit 500 --batch 7 --json
check "IMAGES,LABELS with an odd batch" json_ok "$T/out" 0 1 "$REF_ACC" "$REF_LOSS"
sq 0 eval "$T/m/fm_flat.onnx" --data fashion-mnist:train --limit 300 --json
check "train split" "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["images"]==300 and 0<=d["accuracy"]<=1' "$T/out"
# text output
sq 0 eval "$T/m/fm_flat.onnx" --data fashion-mnist --limit 200 --mean 0.5 --std 0.5
out_has '^accuracy: +0\.[0-9]+ \([0-9]+/200\)'; out_has '^loss: '; out_has 'images/s'

# errors
sq 66 eval "$T/m/fm_flat.onnx" --data "$T/none.idx,$T/none2.idx"; err_one_line; err_has 'none'
sq 66 eval "$T/absent.onnx" --data fashion-mnist; err_one_line
sq 65 eval "$T/m/dyn_batch.onnx" --data fashion-mnist --limit 10; err_one_line   # input (batch,4) cannot take 28x28
sq 65 eval "$T/m/cast_u8.onnx" --data fashion-mnist --limit 10; err_one_line     # u8 input
sq 2 eval "$T/m/fm_flat.onnx" --data fashion-mnist --mean 1,2; err_line          # 2 means for 1 channel
finish
