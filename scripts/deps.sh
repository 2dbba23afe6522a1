#!/usr/bin/env bash
# Installs the Debian packages lipstream needs, once: packages already
# present are skipped, so running it again is cheap. Usage:
#   scripts/deps.sh build    what building and serving need
#   scripts/deps.sh test     build + what the test suite needs (PyTorch references, clang for fuzzing)
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config libopenblas-openmp-dev zlib1g-dev espeak-ng
            libpng-dev libjpeg62-turbo-dev opencv-data
            libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
            gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
            gstreamer1.0-plugins-ugly gstreamer1.0-nice gstreamer1.0-libav
            libsoup-3.0-dev libespeak-ng-dev libyaml-dev)
test_pkgs=(python3-torch python3-numpy clang libclang-rt-14-dev python3-opencv python3-pil gstreamer1.0-tools
           chromium nodejs python3-aiortc
           nginx libnginx-mod-rtmp gstreamer1.0-plugins-base-apps python3-gi gir1.2-gstreamer-1.0)
# nodejs from NodeSource ships npm itself (and conflicts with Debian's npm package).
command -v npm >/dev/null || test_pkgs+=(npm)

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
