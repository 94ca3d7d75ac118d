#!/bin/bash
# CLI: sqz tensor - inspect .pb / .npy / IDX, convert to .npy, compare.
. "$(dirname "$0")/lib.sh"

D=$TESTDATA/pytorch-converted/test_Conv2d/test_data_set_0
if [ -f "$D/input_0.pb" ]; then
    sq 0 tensor "$D/input_0.pb";                   out_has 'f32 \[2,3,7,5\]'
    sq 0 tensor "$D/input_0.pb" --to "$T/in.npy";  out_has 'in.npy'
    sq 0 tensor "$T/in.npy" --compare "$D/input_0.pb"; out_has 'max abs diff 0'
    sq 0 tensor "$T/in.npy" --json
    if have_py; then
        check "tensor --json" "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["tensor"]["shape"]==[2,3,7,5]' "$T/out"
        check "--to writes the same values" "$PY" -c '
import sys, numpy as np, onnx
from onnx import numpy_helper
t = onnx.TensorProto(); t.ParseFromString(open(sys.argv[1], "rb").read())
assert (numpy_helper.to_array(t) == np.load(sys.argv[2])).all()' "$D/input_0.pb" "$T/in.npy"
    fi
    sq 1 tensor "$D/output_0.pb" --compare "$D/input_0.pb"; err_one_line; err_has 'differ'
else
    skip "libonnx-testdata missing"
fi
if [ -f "$FMNIST/t10k-labels-idx1-ubyte.gz" ]; then
    sq 0 tensor "$FMNIST/t10k-labels-idx1-ubyte.gz"; out_has 'u8 \[10000\]'; out_has 'max 9'
    sq 0 tensor "$FMNIST/t10k-images-idx3-ubyte.gz" --show 0; out_has 'u8 \[10000,28,28\]'
fi
sq 2 tensor x.npy --to out.txt; err_line
finish
