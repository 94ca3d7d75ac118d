# tests/cli/lib.sh - shared helpers for the CLI test scripts (sourced, not a test itself).
# Each test_*.sh gets $1 = sqz binary, $2 = source dir, $3 = build dir and ends with
# "N passed, M failed[, K skipped]" and a non-zero exit on failure.
SQZ=${1:?usage: test_X.sh SQZ SOURCE_DIR BUILD_DIR}
SRC=${2:?source dir}
BUILD=${3:?build dir}
if [ ! -x "$SQZ" ]; then
    echo "FAIL: sqz binary $SQZ missing or not executable (did the build fail?)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
PY=/usr/bin/python3
TESTDATA=/usr/share/libonnx-testdata/data
FMNIST=/usr/share/datasets/fashion-mnist
PASSED=0
FAILED=0
SKIPPED=0
T=$(mktemp -d "${TMPDIR:-/tmp}/sqz-cli-test.XXXXXX")
trap 'chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT

ok() { PASSED=$((PASSED + 1)); }
bad() { FAILED=$((FAILED + 1)); echo "FAIL: $*" >&2; }
skip() { SKIPPED=$((SKIPPED + 1)); echo "skip: $*"; }
check() { # check DESCRIPTION COMMAND... : passes when the command succeeds
    local what=$1; shift
    if "$@"; then ok; else bad "$what"; fi
}

# sq EXPECTED_RC ARGS... : runs sqz with stdout -> $T/out, stderr -> $T/err and checks the exit code.
sq() {
    local want=$1; shift
    "$SQZ" "$@" >"$T/out" 2>"$T/err" </dev/null
    local rc=$?
    if [ "$rc" -eq "$want" ]; then
        ok
        return 0
    fi
    bad "sqz $* -> exit $rc, wanted $want; stderr: $(head -c 600 "$T/err")"
    return 1
}

# has FILE PATTERN : grep -E
out_has() { if grep -Eq -- "$1" "$T/out"; then ok; else bad "stdout lacks /$1/: $(head -c 400 "$T/out")"; fi; }
err_has() { if grep -Eq -- "$1" "$T/err"; then ok; else bad "stderr lacks /$1/: $(head -c 400 "$T/err")"; fi; }
# The error is one line "sqz: ..." (usage errors may add usage lines after it).
err_line() {
    if head -1 "$T/err" | grep -q '^sqz: '; then ok; else bad "stderr does not start with 'sqz: ': $(head -c 300 "$T/err")"; fi
}
err_one_line() {
    if [ "$(wc -l <"$T/err")" -eq 1 ] && head -1 "$T/err" | grep -q '^sqz: '; then ok
    else bad "stderr is not one 'sqz: ' line: $(head -c 400 "$T/err")"; fi
}

have_py() { "$PY" -c 'import numpy, onnx' 2>/dev/null; }

finish() {
    if [ "$SKIPPED" -gt 0 ]; then
        echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
    else
        echo "$PASSED passed, $FAILED failed"
    fi
    [ "$FAILED" -eq 0 ]
}
