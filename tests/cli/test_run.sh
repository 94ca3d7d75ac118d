#!/bin/bash
# CLI: sqz run - ONNX test models vs their expected outputs, .pb inputs, dynamic batch,
# several outputs, dtypes, and the no-partial-output guarantees.
. "$(dirname "$0")/lib.sh"

if ! have_py; then
    skip "python3 with numpy and onnx missing (python3-numpy python3-onnx)"
    finish; exit $?
fi
"$PY" "$SRC/tests/cli/make_models.py" "$T/m" || bad "make_models.py"
pb2npy() { "$PY" -c '
import sys, numpy as np, onnx
from onnx import numpy_helper
t = onnx.TensorProto(); t.ParseFromString(open(sys.argv[1], "rb").read())
np.save(sys.argv[2], numpy_helper.to_array(t))' "$1" "$2"; }
close() { # close A.npy B.(npy|pb) [TOL]
    "$PY" -c '
import sys, numpy as np, onnx
from onnx import numpy_helper
def load(p):
    if p.endswith(".pb"):
        t = onnx.TensorProto(); t.ParseFromString(open(p, "rb").read()); return numpy_helper.to_array(t)
    return np.load(p)
a, b = load(sys.argv[1]), load(sys.argv[2])
tol = float(sys.argv[3])
assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
err = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0
assert err <= tol, "max abs error %g > %g" % (err, tol)' "$1" "$2" "${3:-1e-4}"; }

# ONNX test models: run, compare with the expected output
for name in pytorch-converted/test_Conv2d pytorch-converted/test_Linear pytorch-converted/test_Conv2d_groups; do
    d=$TESTDATA/$name
    [ -f "$d/model.onnx" ] || { skip "$name missing"; continue; }
    pb2npy "$d/test_data_set_0/input_0.pb" "$T/in.npy" || bad "pb2npy $name"
    rm -f "$T/y.npy"
    sq 0 run "$d/model.onnx" --input "$T/in.npy" --output "$T/y.npy" &&
        check "$name matches expected output" close "$T/y.npy" "$d/test_data_set_0/output_0.pb"
    # .pb input directly, and NAME=FILE
    sq 0 run "$d/model.onnx" --input "0=$d/test_data_set_0/input_0.pb" --output "$T/y2.npy" &&
        check "$name .pb input gives the same bits" cmp -s "$T/y.npy" "$T/y2.npy"
done

# summary without --output; --json
sq 0 run "$T/m/relu.onnx" --input "$T/m/x23.npy"; out_has '^y: f32 \[2,3\]'; out_has 'ran in'
sq 0 run "$T/m/relu.onnx" --input "$T/m/x23.npy" --json
check "run --json parses" "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["outputs"][0]["shape"]==[2,3]' "$T/out"

# dynamic batch: batch 1 and 3 through one model; --threads
sq 0 run "$T/m/dyn_batch.onnx" --input "$T/m/x_b1.npy" --output "$T/b1.npy" && check "batch 1" close "$T/b1.npy" "$T/m/y_b1.npy"
sq 0 run "$T/m/dyn_batch.onnx" --input "$T/m/x_b3.npy" --output "$T/b3.npy" --threads 2 && check "batch 3" close "$T/b3.npy" "$T/m/y_b3.npy"

# several outputs: NAME= for each; one unnamed --output is a usage error
sq 0 run "$T/m/two_outputs.onnx" --input "$T/m/x23.npy" --output "relu=$T/r.npy" --output "neg=$T/n.npy"
check "relu output" "$PY" -c 'import numpy as np,sys; x=np.load(sys.argv[1]); assert (np.load(sys.argv[2])==np.maximum(x,0)).all() and (np.load(sys.argv[3])==-x).all()' "$T/m/x23.npy" "$T/r.npy" "$T/n.npy"
sq 0 run "$T/m/two_outputs.onnx" --input "$T/m/x23.npy" --output "neg=$T/only_neg.npy"
check "only the named output written" test -f "$T/only_neg.npy"
sq 2 run "$T/m/two_outputs.onnx" --input "$T/m/x23.npy" --output "$T/one.npy"; err_line; err_has 'relu'
check "no file after usage error" test ! -e "$T/one.npy"
sq 2 run "$T/m/two_outputs.onnx" --input "$T/m/x23.npy" --output "bogus=$T/z.npy"; err_line
sq 2 run "$T/m/relu.onnx";                                       err_line; err_has "no --input for model input 'x'"
sq 2 run "$T/m/relu.onnx" --input "$T/m/x23.npy" --input "$T/m/x23.npy"; err_line

# dtypes: u8 and i64 inputs where the model wants them; a mismatch is 65 naming the file
sq 0 run "$T/m/cast_u8.onnx" --input "$T/m/u8.npy" --output "$T/u8f.npy" &&
    check "u8 -> f32" "$PY" -c 'import numpy as np,sys; assert (np.load(sys.argv[1])==np.array([[0,1],[200,255]],np.float32)).all()' "$T/u8f.npy"
sq 0 run "$T/m/cast_i64.onnx" --input "$T/m/i64.npy" --output "$T/i64f.npy" &&
    check "i64 -> f32" "$PY" -c 'import numpy as np,sys; assert (np.load(sys.argv[1])==np.array([-5,0,2.0**40],np.float32)).all()' "$T/i64f.npy"
sq 65 run "$T/m/relu.onnx" --input "$T/m/u8.npy" --output "$T/never.npy"; err_one_line; err_has 'u8.npy'; err_has 'f32'
check "no output after dtype error" test ! -e "$T/never.npy"
sq 65 run "$T/m/relu.onnx" --input "$T/m/x_b3.npy"; err_one_line; err_has 'x_b3.npy'

# missing input file: 66
sq 66 run "$T/m/relu.onnx" --input "$T/absent.npy" --output "$T/never.npy"; err_one_line; err_has 'absent.npy'
check "no output after missing input" test ! -e "$T/never.npy"

# unwritable / missing output folder: 73, no partial file, nothing else written
mkdir -p "$T/ro"
chmod 555 "$T/ro"
if [ "$(id -u)" -ne 0 ]; then
    sq 73 run "$T/m/relu.onnx" --input "$T/m/x23.npy" --output "$T/ro/y.npy"; err_one_line; err_has 'ro/y.npy'
    check "no file in the read-only folder" test -z "$(ls -A "$T/ro")"
else
    skip "running as root: a read-only folder is writable"
fi
chmod 755 "$T/ro"
sq 73 run "$T/m/relu.onnx" --input "$T/m/x23.npy" --output "$T/no/such/dir/y.npy"; err_one_line
rm -f "$T/first.npy"
sq 73 run "$T/m/two_outputs.onnx" --input "$T/m/x23.npy" --output "relu=$T/first.npy" --output "neg=$T/no/dir/n.npy"
check "first output not written when the second cannot be" test ! -e "$T/first.npy"
# a folder nobody may create files in (even root): /proc
sq 73 run "$T/m/relu.onnx" --input "$T/m/x23.npy" --output "/proc/sqz-test-$$.npy"; err_one_line
sq 73 run "$T/m/two_outputs.onnx" --input "$T/m/x23.npy" --output "relu=$T/first.npy" --output "neg=/proc/sqz-test-$$.npy"
check "first output rolled back when the second cannot be written" test ! -e "$T/first.npy"
mkdir -p "$T/isdir.npy"
sq 73 run "$T/m/relu.onnx" --input "$T/m/x23.npy" --output "$T/isdir.npy"; err_one_line

# a file that existed before is untouched when the command fails
echo "precious" >"$T/keep.npy"
cp "$T/keep.npy" "$T/keep.orig"
sq 65 run "$T/m/relu.onnx" --input "$T/m/u8.npy" --output "$T/keep.npy"
check "existing output untouched after a failed run" cmp -s "$T/keep.npy" "$T/keep.orig"
sq 73 run "$T/m/two_outputs.onnx" --input "$T/m/x23.npy" --output "relu=$T/keep.npy" --output "neg=$T/no/dir/n.npy"
check "existing output untouched after a failed write" cmp -s "$T/keep.npy" "$T/keep.orig"
check "no temporary files left" test -z "$(ls -A "$T" | grep -E '\.sqz-|\.tmp$')"
# ...and replaced when it succeeds
sq 0 run "$T/m/relu.onnx" --input "$T/m/x23.npy" --output "$T/keep.npy"
check "existing output replaced after success" "$PY" -c 'import numpy as np,sys; np.load(sys.argv[1])' "$T/keep.npy"
finish
