#!/usr/bin/env bash
# scripts/setup.sh - installs the Debian packages sqz needs, only those missing.
#
#   scripts/setup.sh --build   build dependencies (compiler, CMake, protobuf-c, ONNX proto,
#                              zlib, cJSON, libyaml, OpenMP) and the data sqz works on
#   scripts/setup.sh [--test]  the above plus what the tests use (PyTorch, NumPy, ONNX for Python)
#
# As root it runs `apt-get update` once and `apt-get install -y` the missing packages; as
# another user it prints the exact sudo command to run and exits 1.
set -euo pipefail

build_pkgs=(cmake gcc make pkg-config protobuf-c-compiler libprotobuf-c-dev libonnx-dev zlib1g-dev
            libcjson-dev libyaml-dev libomp-dev dataset-fashion-mnist libonnx-testdata)
test_pkgs=(python3-torch python3-torchvision python3-numpy python3-onnx)

mode=${1:---test}
case "$mode" in
  --build) wanted=("${build_pkgs[@]}") ;;
  --test)  wanted=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "setup.sh: unknown option '$mode' (use --build or --test)" >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "setup.sh: dpkg-query not found: sqz's setup expects Debian (bookworm) or a derivative." >&2
  echo "setup.sh: install these packages by hand: ${wanted[*]}" >&2
  exit 1
fi

missing=()
for p in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup: all ${#wanted[@]} packages present"
  exit 0
fi

echo "setup: missing packages: ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "setup: not root; install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y "${missing[@]}"
echo "setup: installed ${missing[*]}"
