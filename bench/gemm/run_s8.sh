#!/usr/bin/env bash
# bench/gemm/run_s8.sh - builds libsqz (Release) in its own folder and the int8 GEMM bench against
# it and oneDNN (libdnnl-dev), then runs it. oneDNN is linked into the bench only, never into libsqz.
# Usage: bench/gemm/run_s8.sh [reps] [max_threads]     (env SQZ_ISA=avx2 etc. picks a level)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${SQZ_BENCH_BUILD:-$src/build-bench-gemm-s8}
if [ ! -e /usr/include/oneapi/dnnl/dnnl.h ]; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y libdnnl-dev >/dev/null
  else echo "libdnnl-dev is missing; install it (apt-get install libdnnl-dev)" >&2; exit 1; fi
fi
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target sqz >/dev/null
cc -O2 -fopenmp -I"$src/src" -I"$src/include" "$src/bench/gemm/bench_gemm_s8.c" -o "$build/bench_gemm_s8" \
  "$build/libsqz.a" -ldnnl $(pkg-config --libs libprotobuf-c) -lz -lm
echo "# $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/bench_gemm_s8" "${1:-5}" "${2:-2}"
