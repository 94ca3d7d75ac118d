#!/bin/bash
# QDQ-format int8 models (tests/models/qdq_models.py: conv + Relu, depthwise + Clip, an MLP of
# Gemm and MatMul, a small CNN with MaxPool, a residual Add, GlobalAveragePool, Flatten, Gemm)
# through `sqz run`, which rewrites them to integer operators at load: checks that the rewrite
# happened (the nodes `sqz bench --per-op` reports) and that the outputs match the QDQ graph run
# literally by a numpy interpreter within the bound qdq_models.py states (one quantization step,
# two for models of several layers, at <= 2% of the elements).
# usage: run_qdq.sh SQZ SOURCE_DIR BUILD_DIR
# Needs /usr/bin/python3 with onnx and numpy (python3-onnx, python3-numpy; scripts/setup.sh
# installs them). Models go to BUILD_DIR/qdq.
set -u
SQZ=${1:?usage: run_qdq.sh SQZ SOURCE_DIR BUILD_DIR}
SRC=${2:?source dir}
BUILD=${3:?build dir}
PY=${SQZ_TEST_PYTHON:-/usr/bin/python3}
HERE="$SRC/tests/models"
OUT="$BUILD/qdq"

if ! "$PY" -c 'import onnx, numpy' 2>/dev/null; then
    echo "run_qdq.sh: $PY cannot import onnx and numpy; install python3-onnx python3-numpy (scripts/setup.sh)"
    echo "0 passed, 1 failed"
    exit 1
fi
rm -rf "$OUT" && mkdir -p "$OUT" || exit 1
if ! "$PY" "$HERE/qdq_models.py" build "$OUT" >"$OUT/build.log" 2>&1; then
    tail -n 20 "$OUT/build.log"
    echo "run_qdq.sh: building the models failed"
    echo "0 passed, 1 failed"
    exit 1
fi

pass=0
fail=0
for model in "$OUT"/*.onnx; do
    m=$(basename "$model" .onnx)
    if ! msg=$("$SQZ" run "$model" --input "$OUT/${m}_in.npy" --output "$OUT/${m}_got.npy" 2>&1); then
        printf 'FAIL %-22s sqz run: %s\n' "$m" "$(echo "$msg" | tail -n 1)"
        fail=$((fail + 1))
        continue
    fi
    if res=$("$PY" "$HERE/qdq_models.py" compare "$OUT/${m}_got.npy" "$OUT/${m}_out.npy" $(cat "$OUT/$m.check")); then
        printf 'PASS %-22s outputs: %s\n' "$m" "$res"
        pass=$((pass + 1))
    else
        printf 'FAIL %-22s outputs: %s\n' "$m" "$res"
        fail=$((fail + 1))
    fi
    if ! msg=$("$SQZ" bench "$model" --runs 1 --warmup 0 --per-op --json 2>&1 >"$OUT/$m.bench.json"); then
        printf 'FAIL %-22s sqz bench: %s\n' "$m" "$(echo "$msg" | tail -n 1)"
        fail=$((fail + 1))
    elif res=$("$PY" "$HERE/qdq_models.py" ops "$OUT/$m.bench.json" "$OUT/$m.ops"); then
        printf 'PASS %-22s %s\n' "$m" "$(echo "$res" | head -n 1)"
        pass=$((pass + 1))
    else
        printf 'FAIL %-22s %s\n' "$m" "$(echo "$res" | tr '\n' ';')"
        fail=$((fail + 1))
    fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
