#!/usr/bin/env bash
# scripts/demo.sh - a one-minute tour of the sqz command (`make demo`).
#   scripts/demo.sh [PATH/TO/sqz]     (default: build/sqz)
# Uses a Conv model from Debian's ONNX test data (libonnx-testdata) and, when present,
# Fashion-MNIST (dataset-fashion-mnist). Files go to a temporary folder that is removed.
set -euo pipefail
SQZ=${1:-build/sqz}
SQZ=$(realpath "$SQZ")
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=/usr/share/libonnx-testdata/data/pytorch-converted/test_Conv2d
FMNIST=/usr/share/datasets/fashion-mnist
T=$(mktemp -d "${TMPDIR:-/tmp}/sqz-demo.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"

if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m'; else B= N=; fi
say() { printf '\n%s== %s ==%s\n' "$B" "$*" "$N"; }
run() { printf '$ sqz'; printf ' %q' "${@}" | sed "s|$T/||g"; printf '\n'; "$SQZ" "$@"; }

if [ ! -f "$DATA/model.onnx" ]; then
    echo "demo: $DATA missing: install libonnx-testdata (scripts/setup.sh)" >&2
    exit 1
fi
cp "$DATA/model.onnx" conv.onnx
cp "$DATA/test_data_set_0/input_0.pb" input.pb
cp "$DATA/test_data_set_0/output_0.pb" expected.pb

say "what is in the model"
run info conv.onnx

say "its test input, as .npy"
run tensor input.pb --to input.npy

say "run it"
run run conv.onnx --input input.npy --output out_onnx.npy

say "compare with the output ONNX's test data expects"
run tensor out_onnx.npy --compare expected.pb

say "convert to sqz's native format and run again"
run convert conv.onnx conv.sqz
run run conv.sqz --input input.npy --output out_sqz.npy
printf '$ cmp out_onnx.npy out_sqz.npy\n'
cmp out_onnx.npy out_sqz.npy && echo "identical: same bits from .onnx and .sqz"

if [ -f "$FMNIST/t10k-images-idx3-ubyte.gz" ]; then
    say "the data set: Fashion-MNIST"
    run tensor "$FMNIST/t10k-images-idx3-ubyte.gz" --show 0
    run tensor "$FMNIST/t10k-labels-idx1-ubyte.gz" --show 12
    if /usr/bin/python3 -c 'import numpy, onnx' 2>/dev/null && [ -f "$HERE/../tests/cli/make_models.py" ]; then
        say "a tiny classifier on it (class means as weights), evaluated"
        /usr/bin/python3 "$HERE/../tests/cli/make_models.py" models >/dev/null
        run info models/fm_flat.onnx
        run eval models/fm_flat.onnx --data fashion-mnist --limit 2000
    fi
    if [ -f "$FMNIST/train-images-idx3-ubyte.gz" ]; then
        say "train a LeNet-5 from the zoo on 6,000 training images (2 epochs), then evaluate it"
        run zoo
        run train --arch lenet5 --data fashion-mnist --limit 6000 --test-limit 2000 --epochs 2 \
            --optimizer adam --lr 2e-3 --schedule cosine --checkpoint ckpt -o lenet5.onnx
        run eval lenet5.onnx --data fashion-mnist
        run info lenet5.onnx
    fi
fi
say "done"
