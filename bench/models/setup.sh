# bench/models/setup.sh - the set-up run.sh and run_int8.sh share (sourced, not run): an sqz
# binary in $SQZ (built Release in build-bench-models/ unless SQZ is given), onnxruntime-node in
# $out/ort (ORT_DIR, version in $ort_version), and the fp32 models in $out/models; and the helpers
# both use (plan: warm-up and timed runs per model and batch, scaled by RUNS_SCALE).
# Expects src, here, out and PY to be set; $1 names the calling script in errors.
if [ -z "${SQZ:-}" ]; then
    build=${SQZ_BENCH_BUILD:-$src/build-bench-models}
    cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build" -j2 --target sqz_cli >/dev/null
    SQZ=$build/sqz
fi
[ -x "$SQZ" ] || { echo "$1: no sqz binary at $SQZ" >&2; exit 1; }

mkdir -p "$out/ort" "$out/models" "$out/check"
if [ ! -f "$out/ort/node_modules/onnxruntime-node/package.json" ]; then
    echo "installing onnxruntime-node into $out/ort ..." >&2
    [ -f "$out/ort/package.json" ] || echo '{"name": "sqz-ort-bench", "private": true}' >"$out/ort/package.json"
    (cd "$out/ort" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund onnxruntime-node >/dev/null 2>&1)
fi
export ORT_DIR=$out/ort
ort_version=$(node -p "require('$out/ort/node_modules/onnxruntime-node/package.json').version")

"$PY" "$here/make_models.py" "$out/models" 2> >(grep -v -i warn >&2)

# runs per (model, batch): "warmup runs"
plan() {
    case "$1:$2" in
        lenet5:1 | mlp:1) echo "20 300" ;;
        lenet5:* | mlp:*) echo "3 40" ;;
        *:1) echo "3 20" ;;
        *) echo "1 5" ;;
    esac
}
scale() { "$PY" -c "import sys; print(max(1, round(int(sys.argv[1]) * float(sys.argv[2]))))" "$1" "$RUNS_SCALE"; }
fmin() { "$PY" -c "import sys; print(min(float(sys.argv[1]), float(sys.argv[2])))" "$1" "$2"; }
jget() { "$PY" -c "import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
