#!/bin/bash
# Runs the QDQ int8 models of qdq_models.py in ONNX Runtime (which, like sqz, fuses them into
# QLinearConv / QLinearMatMul / ... at load) and through `sqz run`, and compares the outputs in
# units of the output's quantization step (the bounds of qdq_models.py: one step, two for models
# of several layers, at <= 2% of the elements). Also prints how far ONNX Runtime is from the
# QDQ graph run literally (numpy), for reference.
#
# usage: check_qdq_ort.sh SQZ BUILD_DIR
#
# onnxruntime-node is taken from $SQZ_ORT_DIR, BUILD_DIR/ort or bench/out/ort (a folder holding
# node_modules/onnxruntime-node), as check_zoo_ort.sh finds or installs it; without it this
# prints "skipped: ..." and exits 0. Needs /usr/bin/python3 with onnx and numpy. Not registered
# with ctest (onnxruntime-node may need the network); run it by hand.
set -u
SQZ=${1:?usage: check_qdq_ort.sh SQZ BUILD_DIR}
BUILD=${2:?usage: check_qdq_ort.sh SQZ BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
PY=${SQZ_TEST_PYTHON:-/usr/bin/python3}
OUT="$BUILD/qdq_ort"

skip() {
    echo "skipped: $*"
    exit 0
}

command -v node >/dev/null 2>&1 || skip "node is not installed"
"$PY" -c 'import onnx, numpy' 2>/dev/null || skip "$PY cannot import onnx and numpy"
ORT=""
for d in ${SQZ_ORT_DIR:-} "$BUILD/ort" "$SRC/bench/out/ort"; do
    if [ -n "$d" ] && [ -f "$d/node_modules/onnxruntime-node/package.json" ]; then
        ORT=$(cd "$d" && pwd)
        break
    fi
done
[ -n "$ORT" ] || skip "no onnxruntime-node (run tests/models/check_zoo_ort.sh once to install it)"
export NODE_PATH="$ORT/node_modules"
node -e "require('onnxruntime-node')" >/dev/null 2>&1 || skip "onnxruntime-node in $ORT does not load"
echo "onnxruntime-node $(node -p "require('onnxruntime-node/package.json').version") from $ORT"

rm -rf "$OUT" && mkdir -p "$OUT" || exit 1
"$PY" "$HERE/qdq_models.py" build "$OUT" || { echo "0 passed, 1 failed"; exit 1; }
pass=0
fail=0
for model in "$OUT"/*.onnx; do
    m=$(basename "$model" .onnx)
    if ! msg=$("$SQZ" run "$model" --input "$OUT/${m}_in.npy" --output "$OUT/${m}_sqz.npy" 2>&1); then
        printf 'FAIL %-22s sqz run: %s\n' "$m" "$(echo "$msg" | tail -n 1)"
        fail=$((fail + 1))
        continue
    fi
    if ! msg=$(node "$HERE/zoo_ort.js" run "$model" "$OUT/${m}_in.npy" "$OUT/${m}_ort.npy" 2>&1); then
        printf 'FAIL %-22s onnxruntime: %s\n' "$m" "$(echo "$msg" | tail -n 1)"
        fail=$((fail + 1))
        continue
    fi
    lit=$("$PY" "$HERE/qdq_models.py" compare "$OUT/${m}_ort.npy" "$OUT/${m}_out.npy" $(cat "$OUT/$m.check"))
    if res=$("$PY" "$HERE/qdq_models.py" compare "$OUT/${m}_sqz.npy" "$OUT/${m}_ort.npy" $(cat "$OUT/$m.check")); then
        printf 'PASS %-22s sqz vs onnxruntime: %s (onnxruntime vs literal QDQ: %s)\n' "$m" "$res" "$lit"
        pass=$((pass + 1))
    else
        printf 'FAIL %-22s sqz vs onnxruntime: %s (onnxruntime vs literal QDQ: %s)\n' "$m" "$res" "$lit"
        fail=$((fail + 1))
    fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
