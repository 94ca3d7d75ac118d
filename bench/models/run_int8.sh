#!/usr/bin/env bash
# bench/models/run_int8.sh - int8 (static QDQ) versions of the bench/models models in sqz and
# ONNX Runtime (node), against their fp32 originals, one thread each, in one run.
#
# usage: bench/models/run_int8.sh [MODEL ...]   (default: lenet5 mlp resnet18 mobilenet_v2)
# env:   SQZ=path/to/sqz   use this binary (default: build one in build-bench-models/, Release)
#        BIG_BATCH=64      the large batch for resnet18 / mobilenet_v2 (LeNet / MLP use 256)
#        RUNS_SCALE=1      multiply every run count (e.g. 0.1 for a smoke test)
#        ROUNDS=2          rounds of sqz fp32, sqz int8, ORT fp32, ORT int8; best median kept
#        CALIB_N           calibration samples (default 512 for lenet5 / mlp, 256 otherwise)
#        CHECK_N=64        samples of the accuracy check batch
#        REQUANTIZE=1      rebuild the int8 models even when they are up to date
#
# What it does, per model:
#  1. bench/out/models/NAME.onnx (fp32, make_models.py, as run.sh) is quantized by
#     quantize_qdq.py to bench/out/models/NAME_int8.onnx: static QDQ as ONNX Runtime's
#     quantize_static writes it (s8 symmetric per-channel weights, i32 biases, u8 per-tensor
#     activations from min / max calibration: Fashion-MNIST training images for lenet5 / mlp when
#     /usr/share/datasets/fashion-mnist is there, uniform [0,1) random inputs otherwise; Relu /
#     Clip kept before the Q so both engines fold them in; residual Adds quantized). What stays
#     fp32 is in NAME_int8.json. Rebuilt when missing or older than NAME.onnx or the quantizer.
#  2. Checks that the integer operators run: `sqz bench NAME_int8.onnx --per-op --json` lists
#     the node types sqz runs after its load-time QDQ rewrite (QLinearConv, QLinearMatMul,
#     QLinearAdd, ...); ONNX Runtime's optimized graph (graph optimization 'all') likewise.
#     The second table counts QLinear* nodes and what is left: Conv / MatMul / Gemm (fp32
#     compute) and DequantizeLinear / QuantizeLinear (the input's Q and the output's DQ are
#     expected; more mean a pattern was not rewritten).
#  3. Accuracy: one batch of CHECK_N inputs (Fashion-MNIST test images for lenet5 / mlp, seeded
#     uniform [0,1) otherwise) through `sqz run` fp32 and int8 and ONNX Runtime int8: max abs
#     difference of the outputs (also in steps of the output's quantization scale) and top-1
#     agreement (argmax of the output row). The models have random weights, so their top-1 is
#     often the same class for every input and agreement says little; the steps say more. sqz
#     int8 and ORT int8 run the same integer graph and should be within about one step.
#  4. Latency, 1 thread, batch 1 and the big batch, uniform [0,1) random inputs: sqz fp32, sqz
#     int8, ORT fp32, ORT int8 alternate (ROUNDS rounds), each one's best median is kept (same run
#     counts as run.sh). sqz fp32/int8 > 1: the int8 model is faster in sqz; ORT int8/sqz int8 >
#     1: sqz's int8 run is faster than ONNX Runtime's.
# Output: two markdown tables on stdout (progress on stderr). Needs what run.sh needs
# (/usr/bin/python3 with torch, torchvision, onnx, numpy; node, npm); no python onnxruntime.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
here=$src/bench/models
out=$src/bench/out
PY=/usr/bin/python3
BIG_BATCH=${BIG_BATCH:-64}
RUNS_SCALE=${RUNS_SCALE:-1}
ROUNDS=${ROUNDS:-2}
CHECK_N=${CHECK_N:-64}
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(lenet5 mlp resnet18 mobilenet_v2)
Q="$PY $here/quantize_qdq.py"

. "$here/setup.sh" run_int8.sh

# 1. the int8 models
for m in "${models[@]}"; do
    f=$out/models/$m.onnx
    q=$out/models/${m}_int8.onnx
    if [ -n "${REQUANTIZE:-}" ] || [ ! -f "$q" ] || [ ! -f "${q%.onnx}.json" ] || [ "$q" -ot "$f" ] ||
        [ "$q" -ot "$here/quantize_qdq.py" ]; then
        case $m in lenet5 | mlp) n=${CALIB_N:-512} chunk=64 ;; *) n=${CALIB_N:-256} chunk=8 ;; esac
        $Q quantize "$f" "$q" --calib "$n" --chunk "$chunk" >&2
    fi
done

jops() { "$PY" -c "import json, sys; j = json.loads(sys.argv[1]); print(j['qlinear'], j['fp'], j['dq'], j['q'])" "$1"; }

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
isa=$("$SQZ" bench "$out/models/${models[0]}.onnx" --runs 1 --warmup 0 --json | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["isa"])')
ck=$out/check
echo "# $(date -u +%Y-%m-%dT%H:%MZ), $cpu, $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# sqz $(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo '?') (isa $isa), onnxruntime-node $ort_version; 1 thread each;"
echo "# int8 = static QDQ (bench/models/quantize_qdq.py): s8 per-channel weights, u8 per-tensor activations"
echo "# runs = timed runs per measurement; $ROUNDS alternating rounds per engine, best median kept"
echo "# accuracy on $CHECK_N inputs: max abs diff of the outputs (in output quantization steps), top-1 agreement"
echo

# 2. and 3. integer operators and accuracy, before any timing
declare -A acc ops
for m in "${models[@]}"; do
    f=$out/models/$m.onnx
    q=$out/models/${m}_int8.onnx
    "$SQZ" bench "$q" --per-op --json --runs 1 --warmup 0 >"$ck/${m}_int8_ops.json"
    read -r s_ql s_fp s_dq s_q <<<"$(jops "$($Q sqz-ops "$ck/${m}_int8_ops.json")")"
    node "$here/ort_calib.js" ops "$q" "$ck/${m}_int8_ort_opt.onnx"
    read -r o_ql o_fp o_dq o_q <<<"$(jops "$($Q ort-ops "$ck/${m}_int8_ort_opt.onnx")")"
    calib=$("$PY" -c "import json, sys; print(json.load(open(sys.argv[1]))['calibration'])" "${q%.onnx}.json")
    left=$("$PY" -c "
import json, sys
r = json.load(open(sys.argv[1]))
print('; '.join('%s %s (%s)' % (op, name, why) for name, op, why in r['fp32']) or 'nothing')" "${q%.onnx}.json")

    check_in=$($Q input "$f" "$CHECK_N" 7 "$ck/${m}_int8_in.npy")
    "$SQZ" run "$f" --input "$ck/${m}_int8_in.npy" --output "$ck/${m}_fp32_sqz.npy" >/dev/null
    "$SQZ" run "$q" --input "$ck/${m}_int8_in.npy" --output "$ck/${m}_int8_sqz.npy" >/dev/null
    node "$here/ort_bench.js" "$q" --input "$ck/${m}_int8_in.npy" --output "$ck/${m}_int8_ort.npy"
    step=$($Q step "$q")
    read -r d1 t1 s1 <<<"$($Q compare "$ck/${m}_int8_sqz.npy" "$ck/${m}_fp32_sqz.npy" "$step")"
    read -r d2 t2 s2 <<<"$($Q compare "$ck/${m}_int8_sqz.npy" "$ck/${m}_int8_ort.npy" "$step")"
    acc[$m]=$("$PY" -c "import sys; d1, t1, s1, d2, t2, s2 = sys.argv[1:]; print('%s (%s), %.1f%% | %s (%s), %.1f%%' % (d1, s1, 100 * float(t1), d2, s2, 100 * float(t2)))" \
        "$d1" "$t1" "$s1" "$d2" "$t2" "$s2")
    ops[$m]="| $m | $s_ql | $s_fp | $s_dq / $s_q | $o_ql | $o_fp | $o_dq / $o_q | $calib | $check_in | $left |"
done

echo "| model | sqz int8: QLinear* | Conv/MatMul/Gemm left | DQ / Q left | ORT int8: QLinear*/QGemm | Conv/MatMul/Gemm left | DQ / Q left | calibration | accuracy check on | stays fp32 |"
echo "|---|---:|---:|---:|---:|---:|---:|---|---|---|"
for m in "${models[@]}"; do echo "${ops[$m]}"; done
echo

# 4. latency
echo "| model | batch | runs | sqz fp32 ms | sqz int8 ms | sqz fp32/int8 | ORT fp32 ms | ORT int8 ms | ORT fp32/int8 | ORT int8/sqz int8 | sqz int8 vs fp32: max abs diff (steps), top-1 | sqz int8 vs ORT int8: max abs diff (steps), top-1 |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
for m in "${models[@]}"; do
    f=$out/models/$m.onnx
    q=$out/models/${m}_int8.onnx
    case $m in lenet5 | mlp) big=256 ;; *) big=$BIG_BATCH ;; esac
    for b in 1 "$big"; do
        read -r warm runs <<<"$(plan "$m" "$b")"
        warm=$(scale "$warm")
        runs=$(scale "$runs")
        sf=1e30 si=1e30 of=1e30 oi=1e30
        for ((round = 0; round < ROUNDS; round++)); do # alternate the four; keep each one's best median
            echo "$m batch $b round $((round + 1))/$ROUNDS ..." >&2
            "$SQZ" bench "$f" --batch "$b" --threads 1 --runs "$runs" --warmup "$warm" --json >"$ck/sqz.json"
            sf=$(fmin "$sf" "$(jget "$ck/sqz.json" median_ms)")
            "$SQZ" bench "$q" --batch "$b" --threads 1 --runs "$runs" --warmup "$warm" --json >"$ck/sqz.json"
            si=$(fmin "$si" "$(jget "$ck/sqz.json" median_ms)")
            node "$here/ort_bench.js" "$f" --batch "$b" --runs "$runs" --warmup "$warm" >"$ck/ort.json"
            of=$(fmin "$of" "$(jget "$ck/ort.json" median_ms)")
            node "$here/ort_bench.js" "$q" --batch "$b" --runs "$runs" --warmup "$warm" >"$ck/ort.json"
            oi=$(fmin "$oi" "$(jget "$ck/ort.json" median_ms)")
        done
        "$PY" -c "
import sys
m, b, r, sf, si, of, oi, acc = sys.argv[1:]
sf, si, of, oi = map(float, (sf, si, of, oi))
print('| %s | %s | %s | %.3f | %.3f | %.2f | %.3f | %.3f | %.2f | %.2f | %s |' % (m, b, r, sf, si, sf / si, of, oi, of / oi, oi / si, acc))" \
            "$m" "$b" "$runs" "$sf" "$si" "$of" "$oi" "${acc[$m]}"
    done
done
echo
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
