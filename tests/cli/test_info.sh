#!/bin/bash
# CLI: sqz info (text and --json), --ops, malformed and unsupported models.
. "$(dirname "$0")/lib.sh"

CONV=$TESTDATA/pytorch-converted/test_Conv2d/model.onnx
if [ -f "$CONV" ]; then
    sq 0 info "$CONV"
    out_has 'Conv'
    out_has 'parameters +76$'          # weight 4x3x3x2 + bias 4
    out_has 'MACs +2,880'              # output 2x4x5x4 = 160 values x 18
    out_has '\[2,3,7,5\],\[4,3,3,2\],\[4\] -> \[2,4,5,4\]'
    out_has '^inputs:'
    out_has 'f32 304 B'
    check "info writes nothing on stderr" test ! -s "$T/err"
    sq 0 info "$CONV" --json
    if have_py; then
        check "info --json parses and matches" "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
t = d["totals"]
assert t["nodes"] == 1 and t["parameters"] == 76 and t["macs"] == 2880, t
assert t["bytes_by_dtype"] == {"f32": 304}, t
assert d["nodes"][0]["op"] == "Conv" and d["nodes"][0]["params"] == 76
assert d["nodes"][0]["outputs"][0]["shape"] == [2, 4, 5, 4]
assert [i["name"] for i in d["inputs"]] == ["0"] and d["inputs"][0]["shape"] == [2, 3, 7, 5]
assert d["prepared"] is True and d["error"] is None
' "$T/out"
    else
        skip "python3 numpy/onnx missing: --json not parsed"
    fi
else
    skip "libonnx-testdata missing"
fi

sq 0 info --ops;                  out_has '^Conv$'; out_has '^Relu$'
sq 0 info --ops --json;           out_has '"Conv"'

M=$SRC/tests/malformed
if [ -f "$M/truncated.onnx" ]; then
    sq 65 info "$M/truncated.onnx"; err_one_line; err_has 'truncated.onnx'
fi
if [ -f "$M/unsupported_op.onnx" ]; then
    # the graph is still listed, and the exit code says it cannot run
    sq 65 info "$M/unsupported_op.onnx"; err_one_line; err_has 'unsupported'
    check "unsupported model still listed" test -s "$T/out"
fi
echo "not a model" >"$T/garbage.onnx"
sq 65 info "$T/garbage.onnx"; err_one_line; err_has 'garbage.onnx'

if have_py; then
    "$PY" "$SRC/tests/cli/make_models.py" "$T/m" || bad "make_models.py"
    sq 0 info "$T/m/dyn_batch.onnx" --json
    check "dynamic dims by name" "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["inputs"][0]["shape"] == ["batch", 4], d["inputs"]
assert d["outputs"][0]["shape"] == ["batch", 3], d["outputs"]
' "$T/out"
    sq 0 info "$T/m/dyn_batch.onnx"; out_has '\[batch,4\]'
    sq 0 info "$T/m/weird_names.onnx" --json
    check "names escaped in JSON" "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
assert d["inputs"][0]["name"] == "in \"quoted\" \\ back\tslash", d["inputs"]
assert d["outputs"][0]["name"] == "out\u00e9\n", d["outputs"]
assert d["nodes"][0]["name"] == "node \"n\"\x01", d["nodes"]
' "$T/out"
fi
finish
