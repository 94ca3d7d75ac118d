#!/usr/bin/env bash
# bench/gemm/run.sh - builds libsqz (Release) in its own folder and the GEMM bench against it and
# OpenBLAS (cblas), then runs it. OpenBLAS is linked into the bench only, never into libsqz.
# Usage: bench/gemm/run.sh [reps] [max_threads]     (env SQZ_ISA=avx2 etc. picks a level)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${SQZ_BENCH_BUILD:-$src/build-bench-gemm}
if [ ! -e /usr/include/x86_64-linux-gnu/cblas.h ] && [ ! -e /usr/include/cblas.h ] && ! ls /usr/include/*/openblas*/cblas.h >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y libopenblas-dev >/dev/null
  else echo "libopenblas-dev is missing; install it (apt-get install libopenblas-dev)" >&2; exit 1; fi
fi
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target sqz >/dev/null
cc -O2 -fopenmp -I"$src/src" -I"$src/include" "$src/bench/gemm/bench_gemm.c" -o "$build/bench_gemm" \
  "$build/libsqz.a" -lopenblas $(pkg-config --libs libprotobuf-c) -lz -lm
echo "# $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/bench_gemm" "${1:-10}" "${2:-2}"
