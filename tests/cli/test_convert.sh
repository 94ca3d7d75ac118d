#!/bin/bash
# CLI: sqz convert .onnx <-> .sqz; outputs stay bit-identical through every direction.
. "$(dirname "$0")/lib.sh"

D=$TESTDATA/pytorch-converted/test_Conv2d
if [ ! -f "$D/model.onnx" ]; then
    skip "libonnx-testdata missing"
    finish; exit $?
fi
IN=$D/test_data_set_0/input_0.pb
sq 0 convert "$D/model.onnx" "$T/a.sqz";   out_has 'a.sqz'
sq 0 convert "$T/a.sqz" "$T/b.onnx"
sq 0 convert "$T/b.onnx" "$T/c.sqz"
sq 0 convert "$T/c.sqz" "$T/d.sqz"
sq 0 convert "$D/model.onnx" "$T/e.onnx"
for m in "$D/model.onnx" "$T/a.sqz" "$T/b.onnx" "$T/c.sqz" "$T/d.sqz" "$T/e.onnx"; do
    sq 0 run "$m" --input "$IN" --output "$T/out_$(basename "$m").npy"
done
for m in a.sqz b.onnx c.sqz d.sqz e.onnx; do
    check "outputs of $m bit-identical to the original's" cmp -s "$T/out_model.onnx.npy" "$T/out_$m.npy"
done
check ".sqz -> .sqz is byte-identical" cmp -s "$T/c.sqz" "$T/d.sqz"
# info agrees across formats
sq 0 info "$D/model.onnx" --json; grep -v '"model"' "$T/out" >"$T/info1"
sq 0 info "$T/a.sqz" --json;      grep -v '"model"' "$T/out" >"$T/info2"
check "info identical for .onnx and .sqz" cmp -s "$T/info1" "$T/info2"

if have_py; then
    "$PY" "$SRC/tests/cli/make_models.py" "$T/m" || bad "make_models.py"
    for m in two_outputs dyn_batch cast_i64; do
        sq 0 convert "$T/m/$m.onnx" "$T/$m.sqz"
        sq 0 convert "$T/$m.sqz" "$T/${m}_rt.onnx"
    done
    sq 0 run "$T/dyn_batch.sqz" --input "$T/m/x_b3.npy" --output "$T/db.npy"
    sq 0 run "$T/m/dyn_batch.onnx" --input "$T/m/x_b3.npy" --output "$T/db0.npy"
    check "dynamic batch through .sqz" cmp -s "$T/db.npy" "$T/db0.npy"
    sq 0 info "$T/dyn_batch.sqz";       out_has '\[batch,4\]'
    sq 0 run "$T/two_outputs_rt.onnx" --input "$T/m/x23.npy" --output "neg=$T/neg.npy"
fi

# errors: existing OUT untouched when IN is bad
echo "old" >"$T/keep.sqz"
echo "junk" >"$T/junk.onnx"
sq 65 convert "$T/junk.onnx" "$T/keep.sqz"; err_one_line; err_has 'junk.onnx'
check "existing OUT untouched" grep -qx old "$T/keep.sqz"
sq 73 convert "$D/model.onnx" "$T/missing/dir/x.sqz"; err_one_line
check "no temporaries left" test -z "$(ls -A "$T" | grep -E '\.sqz-|\.tmp$')"
finish
