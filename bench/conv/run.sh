#!/usr/bin/env bash
# bench/conv/run.sh - builds libsqz (Release) in its own folder and the convolution bench against it
# and oneDNN (libdnnl-dev, C API), then runs it. oneDNN is linked into the bench only, never into
# libsqz. Prints a markdown table: sqz vs oneDNN fp32 convolution, 1 .. max_threads threads.
# Usage: bench/conv/run.sh [reps] [max_threads]     (env SQZ_ISA=avx2 etc. picks a level)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${SQZ_BENCH_BUILD:-$src/build-bench-conv}
if [ ! -e /usr/include/dnnl.h ] && [ ! -e /usr/include/oneapi/dnnl/dnnl.h ]; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y libdnnl-dev >/dev/null
  else echo "libdnnl-dev is missing; install it (apt-get install libdnnl-dev)" >&2; exit 1; fi
fi
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target sqz >/dev/null
cc -O2 -std=c11 -Wall -Wextra -fopenmp -I"$src/src" -I"$src/include" "$src/bench/conv/bench_conv.c" \
  -o "$build/bench_conv" "$build/libsqz.a" -ldnnl $(pkg-config --libs libprotobuf-c) -lz -lm
echo "# $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/bench_conv" "${1:-10}" "${2:-2}"
