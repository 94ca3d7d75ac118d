#!/bin/bash
# CLI: help, usage errors, --version and exit codes that need no model.
. "$(dirname "$0")/lib.sh"

sq 0 --version;                   out_has '^sqz [0-9]+\.[0-9]+\.[0-9]+$'
sq 0 help;                        out_has 'info'; out_has 'run'; out_has 'eval'; out_has 'convert'
sq 0 --help;                      out_has 'usage: sqz COMMAND'
for c in info run eval convert tensor; do
    sq 0 help "$c";               out_has "^usage: sqz $c"
    sq 0 "$c" --help;             out_has "^usage: sqz $c"
    sq 0 "$c" -h;                 out_has "^usage: sqz $c"
done
# usage errors: message on stderr, nothing on stdout, exit 2
sq 2;                             err_line
sq 2 frobnicate;                  err_line; err_has "unknown command 'frobnicate'"
check "no stdout on usage error" test ! -s "$T/out"
sq 2 help frobnicate;             err_line
sq 2 --frob;                      err_line
sq 2 info;                        err_line; err_has 'missing MODEL'; err_has '^usage: sqz info'
sq 2 info a.onnx b.onnx;          err_line
sq 2 info --bogus x.onnx;         err_line; err_has "unknown option '--bogus'"
sq 2 info --json=1 x.onnx;        err_line
sq 2 run;                         err_line
sq 2 run m.onnx --threads;        err_line; err_has 'needs a value'
sq 2 run m.onnx --threads 0;      err_line
sq 2 run m.onnx --threads abc;    err_line
sq 2 eval m.onnx;                 err_line; err_has 'missing --data'
sq 2 eval m.onnx --data fashion-mnist --batch 0; err_line
sq 2 eval m.onnx --data fashion-mnist --layout nwhc; err_line
sq 2 eval m.onnx --data fashion-mnist --mean 0.5,x; err_line
sq 2 convert a.onnx;              err_line
sq 2 convert a.onnx b.txt;        err_line; err_has 'b.txt'
sq 2 tensor;                      err_line
# missing files: 66 with the file named, one line
sq 66 info "$T/nope.onnx";        err_one_line; err_has 'nope.onnx'
sq 66 run "$T/nope.onnx" --input x.npy; err_one_line
sq 66 convert "$T/nope.onnx" "$T/out.sqz"; err_one_line
check "no output after failed convert" test ! -e "$T/out.sqz"
sq 66 tensor "$T/nope.npy";       err_one_line; err_has 'nope.npy'
finish
