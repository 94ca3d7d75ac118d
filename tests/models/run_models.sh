#!/bin/bash
# Runs real models exported from PyTorch through `sqz run` and compares with
# PyTorch's own outputs (max abs error <= 1e-4), at batch 2 and batch 1 (the
# exported batch axis is dynamic).
# usage: run_models.sh SQZ SOURCE_DIR BUILD_DIR [MODEL ...]
# Needs /usr/bin/python3 with torch and torchvision (python3-torch,
# python3-torchvision; scripts/setup.sh installs them). Exports go to
# BUILD_DIR/models and are reused while export_models.py is unchanged.
set -u
SQZ=${1:?usage: run_models.sh SQZ SOURCE_DIR BUILD_DIR [MODEL ...]}
SRC=${2:?source dir}
BUILD=${3:?build dir}
shift 3
PY=${SQZ_TEST_PYTHON:-/usr/bin/python3} # Debian's Python, where python3-torch installs
TOL=1e-4
OUT="$BUILD/models"
HERE="$SRC/tests/models"

if ! "$PY" -c 'import torch, torchvision, numpy' 2>/dev/null; then
    echo "run_models.sh: $PY cannot import torch, torchvision and numpy;" \
         "install python3-torch python3-torchvision python3-numpy (scripts/setup.sh)"
    echo "0 passed, 1 failed"
    exit 1
fi

MODELS=("$@")
if [ ${#MODELS[@]} -eq 0 ]; then
    MODELS=(resnet18 mobilenet_v2 mobilenet_v3_small efficientnet_b0 squeezenet1_1
            shufflenet_v2_x0_5 tiny_transformer upnet flatnet)
fi

mkdir -p "$OUT" || exit 1
want_stamp="$(sha256sum "$HERE/export_models.py" | cut -d' ' -f1) $("$PY" -c 'import torch, torchvision; print(torch.__version__, torchvision.__version__)')"
missing=()
for m in "${MODELS[@]}"; do
    if [ "$(cat "$OUT/$m.stamp" 2>/dev/null)" != "$want_stamp" ] || [ ! -f "$OUT/$m.onnx" ] ||
       [ ! -f "$OUT/${m}_out1.npy" ]; then
        missing+=("$m")
        rm -f "$OUT/$m.stamp"
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "exporting ${missing[*]} with PyTorch ..."
    if ! "$PY" "$HERE/export_models.py" "$OUT" "${missing[@]}" >"$OUT/export.log" 2>&1; then
        tail -n 20 "$OUT/export.log"
        echo "run_models.sh: export failed"
        echo "0 passed, 1 failed"
        exit 1
    fi
    for m in "${missing[@]}"; do echo "$want_stamp" > "$OUT/$m.stamp"; done
fi

pass=0
fail=0
for m in "${MODELS[@]}"; do
    for b in 2 1; do
        got="$OUT/${m}_got$b.npy"
        rm -f "$got"
        t0=$(date +%s%N)
        timeout 300 "$SQZ" run "$OUT/$m.onnx" --input "$OUT/${m}_in$b.npy" --output "$got" \
            >"$OUT/${m}_run$b.log" 2>&1
        rc=$?
        ms=$(( ($(date +%s%N) - t0) / 1000000 ))
        t="$((ms / 1000)).$(( (ms % 1000) / 100 ))s"
        if [ $rc -ne 0 ]; then
            printf 'FAIL %-20s batch %d: sqz run exit %d: %s\n' "$m" "$b" $rc \
                "$(tail -n 1 "$OUT/${m}_run$b.log")"
            fail=$((fail + 1))
            continue
        fi
        res=$("$PY" "$HERE/compare_npy.py" "$got" "$OUT/${m}_out$b.npy" $TOL)
        if [ $? -eq 0 ]; then
            printf 'PASS %-20s batch %d: %s (%s)\n' "$m" "$b" "$res" "$t"
            pass=$((pass + 1))
        else
            printf 'FAIL %-20s batch %d: %s (%s)\n' "$m" "$b" "$res" "$t"
            fail=$((fail + 1))
        fi
    done
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
