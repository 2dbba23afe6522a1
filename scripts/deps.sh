#!/usr/bin/env bash
# Installs the Debian packages lipstream needs, once: packages already
# present are skipped, so running it again is cheap. Usage:
#   scripts/deps.sh build    what building and serving need
#   scripts/deps.sh test     build + what the test suite needs (PyTorch references, clang for fuzzing)
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config libopenblas-openmp-dev zlib1g-dev espeak-ng)
test_pkgs=(python3-torch python3-numpy clang libclang-rt-14-dev)

case "${1:-build}" in
  build) want=("${build_pkgs[@]}") ;;
  test) want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  *) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
