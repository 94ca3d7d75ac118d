#!/bin/bash
# Regenerates docs/onnx-support.md: the operators sqz registers and the result of
# the ONNX conformance suite (Debian's libonnx-testdata) with every skipped test
# grouped by reason.
# usage: scripts/gen_onnx_support.sh [BUILD_DIR] [DATA_DIR]
#   BUILD_DIR defaults to ./build (must hold tests/sqz_conformance),
#   DATA_DIR to /usr/share/libonnx-testdata/data.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
DATA=${2:-/usr/share/libonnx-testdata/data}
RUNNER="$BUILD/tests/sqz_conformance"
DOC="$ROOT/docs/onnx-support.md"
[ -x "$RUNNER" ] || { echo "gen_onnx_support.sh: $RUNNER not built" >&2; exit 1; }
[ -d "$DATA" ] || { echo "gen_onnx_support.sh: $DATA missing (install libonnx-testdata)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$RUNNER" --list-ops >"$tmp/ops"
set +e
"$RUNNER" "$DATA" --list-skipped "$tmp/skipped" >"$tmp/log" 2>&1
rc=$?
set -e
tail -n 1 "$tmp/log" | grep -Eq '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' ||
    { echo "gen_onnx_support.sh: conformance run did not finish (exit $rc):" >&2; tail -n 5 "$tmp/log" >&2; exit 1; }

# Reason classes: drop the stage ("load: ", "prepare: ", "test_data_set_0: run: "),
# file paths and node names, so that one missing feature is one group.
sed -E -e 's/\t(load|prepare|session|test data|test_data_set_[0-9]+: run): /\t/' \
       -e 's#[A-Za-z0-9_./-]*(model\.onnx|\.pb)(: )?##g' \
       -e "s/node '[^']*'( \([^)]*\))?:? ?//g" \
       -e 's/^([^\t]*)\t *:? */\1\t/' \
       -e "s/\tuses operator '([^']*)' \(domain 'ai\.onnx'\) that sqz does not support\$/\toperator \1 is not supported/" \
       -e "s/\tuses operator '([^']*)' \(domain '([^']*)'\) that sqz does not support\$/\toperator \1 (domain \2) is not supported/" \
       -e "s/graph (input|output) '[^']*'/graph \1/; s/tensor '[^']*'/a tensor/" \
       -e "s/\tinconsistent test data: .*/\tinconsistent test data: an input contradicts the shape its model declares/" \
       "$tmp/skipped" | sort -t$'\t' -k2,2 -k1,1 >"$tmp/classes"

# What the load-time QDQ rewrite (src/graph/qdq.c) does; static text, kept here so that
# regenerating the page keeps it.
qdq_section() {
    cat <<'MD'
## QDQ int8 models: rewritten to integer operators at load

ONNX int8 models are usually written in QDQ form: `DequantizeLinear` (DQ) in front of an
ordinary fp32 operator, `QuantizeLinear` (Q) after it. When sqz loads a model for `run`, `eval`
or `bench` (never for `convert`), it rewrites these patterns to its integer operators, which run
the u8/s8 GEMM and convolution kernels (VNNI where the CPU has it) instead of dequantize, fp32
compute, quantize (`src/graph/qdq.c`, called from `sqz_graph_optimize`):

| pattern | becomes |
|---|---|
| DQ(x) -> Conv(DQ(w), [bias]) [-> Relu / Clip] -> Q | `QLinearConv` |
| DQ(a) -> MatMul(DQ(b)) [-> Relu / Clip] -> Q | `QLinearMatMul` |
| DQ(a) -> Gemm(DQ(b), [C]) [-> Relu / Clip] -> Q | `QLinearMatMul` (+ an i32 bias input, a sqz extension) |
| DQ(a), DQ(b) -> Add [-> Relu / Clip] -> Q | `com.microsoft:QLinearAdd` |
| DQ(x) -> GlobalAveragePool -> Q | `com.microsoft:QLinearGlobalAveragePool` |
| DQ(x) -> MaxPool / Reshape / Flatten / Squeeze / Unsqueeze / Transpose -> Q, same scale and zero point on both sides | the same operator on the int8 tensor (exact) |

Every condition must hold, or the pattern runs as written:

- scales are constant f32 initializers, finite, normal and > 0; zero points constant u8/i8
  initializers (or absent: 0); activations and outputs are quantized per tensor;
- weights are constant u8/i8 initializers quantized per tensor or per output channel (Conv: DQ
  axis 0; MatMul and Gemm with transB = 0: axis 1; Gemm with transB = 1: axis 0); u8 and s8
  activations and weights in any combination;
- a bias given as DQ(i32 initializer) with zero point 0 and scale x_scale * w_scale is used as
  is; a f32 initializer (or a DQ(i32) of another scale) is quantized to i32 with scale
  x_scale * w_scale, rounding half to even; a bias beyond +-2^30 of that scale blocks the
  rewrite (int32 accumulation could then wrap where fp32 does not);
- Gemm: transA = 0, alpha = 1, beta = 1, a bias of N values (`[N]` or `[1, N]`) or one;
  Conv: 1-D or 2-D, with the groups, strides, pads, dilations and auto_pad QLinearConv takes;
  Add and GlobalAveragePool: one dtype for inputs and output. The rewritten node must pass its
  operator's shape inference;
- a Relu, or a Clip with constant bounds a <= b (not NaN), before Q is absorbed exactly: since
  quantization is monotone, Q(clip(v, a, b)) = clip(Q(v), Q(a), Q(b)) and Q(relu(v)) =
  max(Q(v), y_zero_point). The clamp is kept in the internal attributes `sqz_y_min` /
  `sqz_y_max` (none when it is the output dtype's range anyway, e.g. Relu before a u8 Q with
  zero point 0). A Clip with a non-constant bound or with a > b blocks the rewrite;
- the fp32 tensors inside the pattern (the operator's output, the Relu/Clip output) are read
  by nothing else and are no graph outputs. A DQ output that other nodes read too does not
  block: the DQ stays for them (ONNX Runtime duplicates such DQ nodes for the same purpose).

The QDQ graph rounds an fp32 result once, at Q; the integer operators round the exact integer
accumulator times a float multiplier. Outputs therefore agree except where the fp32 result lies
within float rounding of a rounding boundary, and there by one quantization step.
`tests/unit/test_qdq.c` asserts at most one step at under 2% of the elements (and that graphs
which break a condition stay as they are); on the models of `tests/models/qdq_models.py`
(`ctest -R run_qdq`), sqz, ONNX Runtime 1.30 (`tests/models/check_qdq_ort.sh`) and the QDQ
graph run literally agree exactly.

MD
}

ver=$(dpkg-query -W -f '${Version}' libonnx-testdata 2>/dev/null || echo unknown)
{
    echo "# ONNX support"
    echo
    echo "Generated by \`scripts/gen_onnx_support.sh\` from a run of the conformance suite"
    echo "(\`tests/conformance/conformance.c\`, ctest \`conformance.onnx\`) over Debian's"
    echo "libonnx-testdata $ver. Do not edit by hand: rerun the script after changing ops."
    echo
    echo "A test is run when sqz loads and prepares its model; it is *skipped* when sqz says"
    echo "the model uses something it does not support (an operator, a data type, an attribute"
    echo "value, sequence/optional/string values), and it must then pass: outputs equal in dtype"
    echo "and shape, floats within rtol 1e-3 / atol 1e-5 (bfloat16: rtol 1/128, one bf16 step, as"
    echo "ONNX's data truncates where sqz rounds to nearest even), NaN equal to NaN, integers and"
    echo "booleans exact. ONNX stores bfloat16 test data as uint16; the runner reads those bits as"
    echo "bfloat16 where the model says bfloat16. The 'real' suite (downloaded models) is not run."
    echo
    echo "## Results"
    echo
    echo "| suite | passed | failed | skipped |"
    echo "|---|---:|---:|---:|"
    grep -E '^[a-z-]+: [0-9]+ passed' "$tmp/log" |
        sed -E 's/^([a-z-]+): ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped.*/| \1 | \2 | \3 | \4 |/'
    tail -n 1 "$tmp/log" |
        sed -E 's/^([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped/| **total** | **\1** | **\2** | **\3** |/'
    echo
    if grep -q '^FAIL ' "$tmp/log"; then
        echo "### Failing tests"
        echo
        grep '^FAIL ' "$tmp/log" | sed -E 's/^FAIL (.*)/- `\1`/'
        echo
    fi
    echo "## Supported operators ($(wc -l <"$tmp/ops"))"
    echo
    echo "As registered in \`src/ops/\`; names without a prefix are in the default ONNX domain (\`\"\"\` / \`ai.onnx\`), others are \`domain:Op\`:"
    echo
    awk '{ printf "%s`%s`", (NR > 1 ? ", " : ""), $0 } END { print "" }' "$tmp/ops"
    echo
    qdq_section
    echo "## Skipped tests by reason"
    echo
    awk -F'\t' '
        { n[$2]++; list[$2] = list[$2] (n[$2] > 1 ? ", " : "") "`" $1 "`"; if (!seen[$2]++) order[++k] = $2 }
        END {
            for (i = 1; i <= k; i++) { r = order[i]; printf "%d\t%s\n", n[r], r }
        }' "$tmp/classes" | sort -t$'\t' -k1,1nr -k2,2 | while IFS=$'\t' read -r count reason; do
        echo "### $reason ($count)"
        echo
        awk -F'\t' -v r="$reason" '$2 == r { printf "%s`%s`", (c++ ? ", " : ""), $1 } END { print "" }' "$tmp/classes"
        echo
    done
} >"$DOC.tmp"
mv "$DOC.tmp" "$DOC"
echo "wrote $DOC ($(tail -n 1 "$tmp/log"))"
