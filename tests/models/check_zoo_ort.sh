#!/bin/bash
# Checks that the zoo architectures sqz exports run in ONNX Runtime with the same outputs
# as in sqz: for every arch in `sqz zoo`, the freshly initialized model (sqz zoo NAME -o),
# and any trained model TRAINED_DIR/NAME.onnx or TRAINED_DIR/NAME-*.onnx, runs a fixed
# random input (batch 2 and batch 1) through `sqz run` and through onnxruntime-node and
# compares the logits (max abs error <= 1e-4).
#
# usage: check_zoo_ort.sh SQZ BUILD_DIR [TRAINED_DIR]
#
# onnxruntime-node is taken from $SQZ_ORT_DIR, BUILD_DIR/ort or bench/out/ort (a folder
# holding node_modules/onnxruntime-node); when none has it, it is installed into
# BUILD_DIR/ort with `ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node`.
# Without node/npm, or when the install fails (offline), it prints "skipped: ..." and
# exits 0. Not registered with ctest (it may need the network); run it by hand.
set -u
SQZ=${1:?usage: check_zoo_ort.sh SQZ BUILD_DIR [TRAINED_DIR]}
BUILD=${2:?usage: check_zoo_ort.sh SQZ BUILD_DIR [TRAINED_DIR]}
TRAINED=${3:-}
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
TOL=1e-4
OUT="$BUILD/zoo_ort"

skip() {
    echo "skipped: $*"
    exit 0
}

command -v node >/dev/null 2>&1 || skip "node is not installed"
ORT=""
for d in ${SQZ_ORT_DIR:-} "$BUILD/ort" "$SRC/bench/out/ort"; do
    if [ -n "$d" ] && [ -f "$d/node_modules/onnxruntime-node/package.json" ]; then
        ORT=$(cd "$d" && pwd)
        break
    fi
done
if [ -z "$ORT" ]; then
    command -v npm >/dev/null 2>&1 || skip "npm is not installed (needed for onnxruntime-node)"
    mkdir -p "$BUILD/ort" || exit 1
    echo "installing onnxruntime-node into $BUILD/ort ..."
    [ -f "$BUILD/ort/package.json" ] || echo '{"name":"sqz-zoo-ort","private":true}' > "$BUILD/ort/package.json"
    if ! (cd "$BUILD/ort" && ONNXRUNTIME_NODE_INSTALL=skip timeout 600 npm install --no-audit --no-fund \
              onnxruntime-node >npm.log 2>&1); then
        skip "npm install onnxruntime-node failed (offline?); see $BUILD/ort/npm.log"
    fi
    ORT=$(cd "$BUILD/ort" && pwd)
fi
export NODE_PATH="$ORT/node_modules"
node -e "require('onnxruntime-node')" >/dev/null 2>&1 || skip "onnxruntime-node in $ORT does not load"
echo "onnxruntime-node $(node -p "require('onnxruntime-node/package.json').version") from $ORT"

mkdir -p "$OUT" || exit 1
ARCHS=$("$SQZ" zoo --json | sed -n 's/.*"name": *"\([^"]*\)".*/\1/p')
[ -n "$ARCHS" ] || { echo "cannot list architectures with $SQZ zoo --json"; echo "0 passed, 1 failed"; exit 1; }
for b in 2 1; do
    node "$HERE/zoo_ort.js" input "$OUT/in$b.npy" $b 1 28 28 7 || { echo "0 passed, 1 failed"; exit 1; }
done

pass=0
fail=0
check() { # NAME MODEL
    local name=$1 model=$2 b msg
    for b in 2 1; do
        local got="$OUT/${name}_sqz$b.npy"
        rm -f "$got"
        if ! msg=$("$SQZ" run "$model" --input "$OUT/in$b.npy" --output "$got" 2>&1); then
            printf '%-28s batch %d  FAIL (sqz run: %s)\n' "$name" $b "$(echo "$msg" | tail -n 1)"
            fail=$((fail + 1))
            continue
        fi
        if msg=$(node "$HERE/zoo_ort.js" compare "$model" "$OUT/in$b.npy" "$got" $TOL 2>&1); then
            printf '%-28s batch %d  ok    %s\n' "$name" $b "$msg"
            pass=$((pass + 1))
        else
            printf '%-28s batch %d  FAIL  %s\n' "$name" $b "$(echo "$msg" | tail -n 1)"
            fail=$((fail + 1))
        fi
    done
}

for a in $ARCHS; do
    if ! msg=$("$SQZ" zoo "$a" -o "$OUT/$a.onnx" 2>&1); then
        printf '%-28s FAIL (sqz zoo: %s)\n' "$a" "$(echo "$msg" | tail -n 1)"
        fail=$((fail + 1))
        continue
    fi
    check "$a (untrained)" "$OUT/$a.onnx"
    if [ -n "$TRAINED" ]; then
        for m in "$TRAINED/$a.onnx" "$TRAINED/$a"-*.onnx; do
            [ -f "$m" ] || continue
            # "lenet5-*" also matches lenet5-caffe's files: skip those that name a longer arch
            local_name=$(basename "$m" .onnx)
            other=0
            for o in $ARCHS; do
                if [ "$o" != "$a" ] && [ ${#o} -gt ${#a} ] && { [ "$local_name" = "$o" ] || [[ "$local_name" == "$o"-* ]]; }; then
                    other=1
                fi
            done
            [ $other -eq 1 ] && continue
            check "$local_name (trained)" "$m"
        done
    fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
