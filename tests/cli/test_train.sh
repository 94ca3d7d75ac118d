#!/bin/bash
# CLI: sqz zoo (listing, writing a model) and sqz train (quick runs on a Fashion-MNIST subset,
# --json lines, checkpoint + resume equal to a straight run, evaluation with sqz eval).
. "$(dirname "$0")/lib.sh"

# --- zoo ---
sq 0 zoo
for a in mlp300 lenet5 lenet5-caffe resnet8 resnet20 mobilenetv2; do out_has "^  $a "; done
out_has '266,610'
out_has '61,706'
sq 0 zoo --input 3x32x32 --json
if have_py; then
    check "zoo --json parses" "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["architectures"]) == 6 and d["input"] == "3x32x32", d' "$T/out"
fi
sq 2 zoo nosuchnet
err_line
sq 2 zoo --input 3x32
sq 0 zoo resnet8 --input 3x32x32 --classes 5 -o "$T/r8.onnx"
sq 0 info "$T/r8.onnx"
out_has 'logits'
if have_py; then
    check "zoo export passes onnx.checker" "$PY" -c 'import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)' "$T/r8.onnx"
fi

# --- train: usage errors ---
sq 2 train --data fashion-mnist -o "$T/x.onnx"
err_line
sq 2 train --arch nope --data fashion-mnist -o "$T/x.onnx"
sq 2 train --arch lenet5 -o "$T/x.onnx"
sq 2 train --arch lenet5 --data fashion-mnist
sq 2 train --arch lenet5 --data fashion-mnist --resume -o "$T/x.onnx"
sq 2 train --arch lenet5 --data fashion-mnist --optimizer rmsprop -o "$T/x.onnx"
sq 2 train --arch lenet5 --data fashion-mnist --optimizer adam --nesterov -o "$T/x.onnx"
sq 66 train --arch lenet5 --data "$T/none.idx,$T/none2.idx" -o "$T/x.onnx"
err_one_line
sq 2 train --arch lenet5 --data fashion-mnist -o "$T/x.txt"
err_line
# an output that cannot be written is refused before any training (exit 73, nothing left)
sq 73 train --arch lenet5 --data fashion-mnist -o "$T/nodir/x.onnx"
err_one_line
[ ! -e "$T/nodir" ] && ok || bad "train created $T/nodir"
sq 0 train --help
out_has '--checkpoint'

if [ ! -f "$FMNIST/train-images-idx3-ubyte.gz" ]; then skip "dataset-fashion-mnist missing"; finish; exit $?; fi

# --- a quick run, then sqz eval on the same test images gives the same accuracy ---
sq 0 train --arch lenet5 --data fashion-mnist --limit 600 --test-limit 300 --epochs 1 --json -o "$T/x.onnx"
cp "$T/out" "$T/train.json"
[ "$(wc -l <"$T/train.json")" -eq 1 ] && ok || bad "train --json: one line per epoch: $(cat "$T/train.json")"
[ -s "$T/x.onnx" ] && ok || bad "no model written"
sq 0 eval "$T/x.onnx" --data fashion-mnist --limit 300 --json
if have_py; then
    check "eval accuracy equals the trainer's test accuracy" "$PY" -c '
import json, sys
t = json.loads(open(sys.argv[1]).read().splitlines()[-1]); e = json.load(open(sys.argv[2]))
assert t["epoch"] == 1 and t["train_loss"] > 0 and 0 <= t["train_accuracy"] <= 1, t
assert abs(t["test_accuracy"] - e["accuracy"]) < 1e-9, (t, e)
assert abs(t["test_loss"] - e["loss"]) < 1e-4, (t, e)
assert e["accuracy"] > 0.4, e' "$T/train.json" "$T/out"
fi

# --- plain lines in a pipe; --init continues from a model file ---
sq 0 zoo mlp300 -o "$T/m.onnx"
sq 0 train --init "$T/m.onnx" --data fashion-mnist --limit 500 --test-limit 200 --epochs 2 --optimizer sgd --momentum 0.9 --schedule step --val-split 0.2 -o "$T/m2.sqz"
out_has '^epoch 1/2  train loss [0-9.]+ acc [0-9.]+%  val loss .* test loss'
out_has '^epoch 2/2 '
out_has '^wrote '
sq 0 eval "$T/m2.sqz" --data fashion-mnist --limit 200

# --- checkpoint + resume equals a straight run ---
common=(--arch lenet5 --data fashion-mnist --limit 256 --test-data none --batch 32 --optimizer sgd --momentum 0.9
        --schedule cosine --warmup 0.5 --augment --label-smoothing 0.1 --clip-grad 5 --seed 4)
sq 0 train "${common[@]}" --epochs 2 -o "$T/straight.onnx"
sq 0 train "${common[@]}" --epochs 2 --checkpoint "$T/ck" -o "$T/first.onnx" --stop-after 1
sq 0 train "${common[@]}" --epochs 2 --checkpoint "$T/ck" --resume -o "$T/resumed.onnx"
out_has 'resumed after epoch 1'
[ -f "$T/ck/state.bin" ] && [ -f "$T/ck/model-e0002.sqz" ] && ok || bad "checkpoint files: $(ls "$T/ck")"
sq 0 eval "$T/straight.onnx" --data fashion-mnist --limit 500 --json
cp "$T/out" "$T/e1.json"
sq 0 eval "$T/resumed.onnx" --data fashion-mnist --limit 500 --json
if have_py; then
    check "resumed run equals the straight run" "$PY" -c '
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
assert a["loss"] == b["loss"] and a["correct"] == b["correct"], (a, b)' "$T/e1.json" "$T/out"
fi
# a damaged checkpoint is refused with a one-line error
printf 'x' | dd of="$T/ck/state.bin" bs=1 seek=30 conv=notrunc 2>/dev/null
sq 65 train "${common[@]}" --epochs 3 --checkpoint "$T/ck" --resume -o "$T/z.onnx"
err_one_line
finish
