# bench/models/setup.sh - the set-up run.sh and run_int8.sh share (sourced, not run): an sqz
# binary in $SQZ (built Release in build-bench-models/ unless SQZ is given), onnxruntime-node in
# $out/ort (ORT_DIR, version in $ort_version), and the fp32 models in $out/models.
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
