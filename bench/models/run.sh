#!/usr/bin/env bash
# bench/models/run.sh - end-to-end latency of ONNX models in sqz and ONNX Runtime (node), one
# thread each, on the same files, in one run; and whether both give the same outputs.
#
# usage: bench/models/run.sh [MODEL ...]        (default: lenet5 mlp resnet18 mobilenet_v2)
# env:   SQZ=path/to/sqz      use this binary (default: build one in build-bench-models/, Release)
#        BIG_BATCH=64         the large batch for resnet18 / mobilenet_v2 (LeNet / MLP use 256)
#        RUNS_SCALE=1         multiply every run count (e.g. 0.2 for a quick look, 3 for steadier figures)
#        ROUNDS=2             measure sqz, ORT, sqz, ORT, ...; each engine's best median is reported
# Needs /usr/bin/python3 with torch, torchvision and numpy (python3-torch python3-torchvision), node
# and npm; onnxruntime-node is installed into bench/out/ort. Models and outputs go to bench/out/.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
here=$src/bench/models
out=$src/bench/out
PY=/usr/bin/python3
BIG_BATCH=${BIG_BATCH:-64}
RUNS_SCALE=${RUNS_SCALE:-1}
ROUNDS=${ROUNDS:-2}
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(lenet5 mlp resnet18 mobilenet_v2)

. "$here/setup.sh" run.sh


cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
isa=$("$SQZ" bench "$out/models/${models[0]}.onnx" --runs 1 --warmup 0 --json | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["isa"])')
echo "# $(date -u +%Y-%m-%dT%H:%MZ), $cpu, $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# sqz $(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo '?') (isa $isa), onnxruntime-node $ort_version; 1 thread each;"
echo "# runs = timed runs per measurement; $ROUNDS alternating rounds per engine, best median kept"
echo
echo "| model | batch | runs | sqz median ms | ORT median ms | ORT/sqz | max abs diff |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for m in "${models[@]}"; do
    f=$out/models/$m.onnx
    # same outputs? one random batch of 2 through both
    "$PY" - "$f" "$out/check/${m}_in.npy" <<'EOF'
import sys
import numpy as np
import onnx
shape = [d.dim_value or 2 for d in onnx.load(sys.argv[1], load_external_data=False).graph.input[0].type.tensor_type.shape.dim]
shape[0] = 2
np.save(sys.argv[2], np.random.default_rng(7).random(shape, dtype=np.float32))
EOF
    "$SQZ" run "$f" --input "$out/check/${m}_in.npy" --output "$out/check/${m}_sqz.npy" >/dev/null
    node "$here/ort_bench.js" "$f" --input "$out/check/${m}_in.npy" --output "$out/check/${m}_ort.npy"
    diff=$("$PY" -c "import numpy as np, sys; a, b = np.load(sys.argv[1]), np.load(sys.argv[2]); assert a.shape == b.shape; print('%.2g' % float(np.abs(a.astype(np.float64) - b).max()))" \
        "$out/check/${m}_sqz.npy" "$out/check/${m}_ort.npy")
    case $m in lenet5 | mlp) big=256 ;; *) big=$BIG_BATCH ;; esac
    for b in 1 "$big"; do
        read -r warm runs <<<"$(plan "$m" "$b")"
        warm=$(scale "$warm")
        runs=$(scale "$runs")
        s=1e30
        o=1e30
        for ((round = 0; round < ROUNDS; round++)); do # alternate the engines; keep the best median
            "$SQZ" bench "$f" --batch "$b" --threads 1 --runs "$runs" --warmup "$warm" --json >"$out/check/sqz.json"
            node "$here/ort_bench.js" "$f" --batch "$b" --runs "$runs" --warmup "$warm" >"$out/check/ort.json"
            s=$(fmin "$s" "$(jget "$out/check/sqz.json" median_ms)")
            o=$(fmin "$o" "$(jget "$out/check/ort.json" median_ms)")
        done
        "$PY" -c "import sys; m, b, r, s, o, d = sys.argv[1:]; s, o = float(s), float(o); print('| %s | %s | %s | %.3f | %.3f | %.2f | %s |' % (m, b, r, s, o, o / s, d))" \
            "$m" "$b" "$runs" "$s" "$o" "$diff"
    done
done
echo
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
