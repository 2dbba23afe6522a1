#!/usr/bin/env bash
# bundle.sh - a relocatable lipstream with the CUDA backend, for a GPU machine
# that has the NVIDIA driver, CUDA's runtime, cuBLAS and cuDNN (a CUDA or
# PyTorch image) but none of the libraries lipstream builds against
# (GStreamer, libsoup, OpenBLAS, espeak-ng, ...) and no package archive.
#
# usage: scripts/bundle.sh [OUT.tar.xz]        (default build/bundle.tar.xz)
#
# Builds a Release tree with the CUDA backend in bundle-tree/ beside OUT: portable
# x86-64-v3 host code (the GPU machine's processor is not this one), device
# code for LS_CUDA_ARCHS (default 90: H100, H200). Then lays out in bundle/
# beside OUT, as in a build tree (so that the benchmarks take it as LS_BUILD):
#   lipstream  bench/gpu_musetalk  bench/webrtc_clients  tests/test_cuda_ops  tests/npy_close
#   lib/                  every shared library those and the plugins need, but the host's
#   lib/gstreamer-1.0/    the plugins of the serving and viewing pipelines (PLUGIN_ELEMENTS)
#   libexec/gst-plugin-scanner, share/espeak-ng-data (English and Mandarin), the face
#   detector's cascade (share/haarcascade_frontalface_default.xml, opencv-data's)
#   env.sh                sourced to use the bundle (scripts/bundle_env.sh)
#   host-cuda-libs        the CUDA libraries the host must provide (env.sh finds them)
# The host provides glibc, libstdc++ and libgcc_s, the driver (libcuda), and
# CUDA's runtime, cuBLAS and cuDNN (HOST_LIBS). Recording and RTMP (AAC
# from gstreamer1.0-libav) and H.264 viewers are not in the bundle.
#
# Checks, before packing: every ELF file of the bundle resolves each library
# it needs inside the bundle or to a host library; then, with only the
# bundle's plugins, the bundled server streams to two bundled viewers
# (tests/e2e/webrtc_clients_test.py, VP8) and speaks with espeak-ng, and
# the dynamic linker's log of those runs must show no library loaded from
# outside the bundle but the host's (dlopen included: ldd cannot see those).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$root/build/bundle.tar.xz}")
archs=${LS_CUDA_ARCHS:-90}
tree=$(dirname "$out")/bundle-tree
dir=$(dirname "$out")/bundle
python=${LS_PYTHON:-/usr/bin/python3}
"$root/scripts/deps.sh" test   # gst-inspect-1.0, python3-numpy for the check

# the elements whose plugins are bundled: sessions (WebRTC with VP8 or H.264 and Opus),
# uploads (WAV, MP3, Ogg through decodebin), the WHIP push and the benchmark's viewers
PLUGIN_ELEMENTS="capsfilter queue fakesink typefind appsrc appsink videoconvert audioconvert audioresample
  vp8enc vp8dec x264enc h264parse rtpvp8pay rtpvp8depay rtph264pay rtpopuspay rtpopusdepay opusenc opusdec
  webrtcbin nicesrc dtlssrtpenc srtpenc rtpbin decodebin wavparse mpegaudioparse oggdemux vorbisdec"
# libraries the host provides (regular expressions on their file names)
HOST_LIBS='^(linux-vdso|ld-linux-x86-64|libc|libm|libdl|libpthread|librt|libresolv|libutil|libstdc\+\+|libgcc_s|libcuda|libcudart|libcublas|libcublasLt|libcudnn[a-z_]*)\.so'

echo "building (CUDA architectures $archs)..." >&2
cmake -S "$root" -B "$tree" -DCMAKE_BUILD_TYPE=Release -DLS_MARCH=x86-64-v3 -DLS_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES="$archs" >/dev/null
cmake --build "$tree" -j"$(nproc)" --target lipstream gpu_musetalk webrtc_clients test_cuda_ops npy_close >/dev/null

rm -rf "$dir"
mkdir -p "$dir"/{bench,tests,lib/gstreamer-1.0,lib/gio-modules,libexec,share/espeak-ng-data}
cp "$tree/lipstream" "$dir/"
cp "$tree/bench/gpu_musetalk" "$tree/bench/webrtc_clients" "$dir/bench/"
cp "$tree/tests/test_cuda_ops" "$tree/tests/npy_close" "$dir/tests/"
cp "$root/scripts/bundle_env.sh" "$dir/env.sh"
for element in $PLUGIN_ELEMENTS; do
  plugin=$(gst-inspect-1.0 "$element" 2>/dev/null | sed -n 's/^ *Filename *//p')
  [ -n "$plugin" ] || { echo "bundle.sh: no GStreamer element $element here" >&2; exit 1; }
  cp -n "$plugin" "$dir/lib/gstreamer-1.0/"
done
scanner=$(pkg-config --variable=pluginscannerdir gstreamer-1.0)/gst-plugin-scanner
cp "$scanner" "$dir/libexec/"
espeak=$(dirname "$(find /usr/lib /usr/share -type d -name espeak-ng-data -print -quit)")/espeak-ng-data
find "$espeak" -maxdepth 1 ! -name '*_dict' ! -path "$espeak" -exec cp -r {} "$dir/share/espeak-ng-data/" \;
cp "$espeak/en_dict" "$espeak/cmn_dict" "$dir/share/espeak-ng-data/"
cp /usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml "$dir/share/"   # avatar create's detector
# loaded at run time, unseen by ldd: NSS's soft token and freebl (libsrtp2's ciphers are NSS's)
nss=$(dirname "$(/sbin/ldconfig -p | awk '$1 == "libnss3.so" { print $NF; exit }')")
cp "$nss/libsoftokn3.so" "$nss/libfreebl3.so" "$nss/libfreeblpriv3.so" "$dir/lib/"

# The libraries: ldd's answer is the whole closure of each file.
elf_files() {
  find "$dir" -type f \( -name '*.so*' -o -perm -u+x \) ! -name '*.sh' -exec sh -c \
    'head -c 4 "$1" | grep -q "ELF" && echo "$1"' _ {} \;
}
: > "$dir/host-cuda-libs"
for file in $(elf_files); do
  ldd "$file" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }'
done | sort -u | while read -r name path; do
  if [[ $name =~ $HOST_LIBS ]]; then
    [[ $name =~ ^lib(cudart|cublas|cublasLt|cudnn)\.so ]] && echo "$name" >> "$dir/host-cuda-libs"
  else
    cp -nL "$path" "$dir/lib/$name"
  fi
done
sort -u -o "$dir/host-cuda-libs" "$dir/host-cuda-libs"

echo "checking that every library resolves inside the bundle or to the host's..." >&2
missing=0
for file in $(elf_files); do
  while read -r name path; do
    if [[ ! $name =~ $HOST_LIBS && $path != "$dir"/* ]]; then
      echo "bundle.sh: ${file#"$dir"/} needs $name from $path, outside the bundle" >&2
      missing=1
    fi
  done < <(LD_LIBRARY_PATH=$dir/lib ldd "$file" | awk '$2 == "=>" { print $1, $3 }')
done
[ "$missing" = 0 ] || exit 1

echo "checking the bundle: its server, two of its viewers, espeak-ng..." >&2
check=$(mktemp -d "${TMPDIR:-/tmp}/lipstream-bundle-check.XXXXXX")
trap 'rm -rf "$check"' EXIT
# the bundle's programs run with the dynamic linker's log of every library they load, dlopen included
mkdir -p "$check/traced/bench"
for program in lipstream bench/webrtc_clients; do
  printf '#!/bin/sh\nLD_DEBUG=libs LD_DEBUG_OUTPUT=%s/ld exec %s "$@"\n' "$check" "$dir/$program" \
    > "$check/traced/$program"
  chmod +x "$check/traced/$program"
done
(
  unset GST_PLUGIN_PATH GST_PLUGIN_SYSTEM_PATH GST_PLUGIN_PATH_1_0 GST_PLUGIN_SYSTEM_PATH_1_0
  . "$dir/env.sh" 2>/dev/null
  "$check/traced/lipstream" avatar create --input "$root/data/astronaut.png" --out "$check/avatars/demo" \
    --weights_dir "$check/no_models" >/dev/null 2>&1
  "$python" "$root/tests/e2e/serve.py" --lipstream "$check/traced/lipstream" --avatar-dir "$check/avatars" \
    "--server-args=--max_session 2 --device cpu" \
    -- "$python" "$root/tests/e2e/webrtc_clients_test.py" {url} "$check/traced/bench/webrtc_clients" \
    --codecs vp8 --speak "The bundle speaks." >&2
)
loaded_outside=$(sed -n 's/.*calling init: //p' "$check"/ld.* | sort -u | while read -r path; do
  [[ $path == "$dir"/* || $(basename "$path") =~ $HOST_LIBS ]] || echo "$path"
done)
if [ -n "$loaded_outside" ]; then
  echo "bundle.sh: the bundle's programs loaded libraries from outside it:" $loaded_outside >&2
  exit 1
fi
rm -f "$dir/registry.bin"
tar -C "$(dirname "$dir")" -cJf "$out" "$(basename "$dir")"
echo "$out: $(du -h "$out" | cut -f1) (unpacked $(du -sh "$dir" | cut -f1)); host CUDA libraries:" \
  "$(tr '\n' ' ' < "$dir/host-cuda-libs")" >&2
