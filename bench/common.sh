# common.sh - sourced by the benchmark scripts (bash): the Release build of a
# target and a scratch folder with random MuseTalk weights.
#
#   bench_build DIR TARGETS [CMAKE_ARGS...]
#       builds TARGETS (space-separated) in DIR (a Release tree) unless LS_BUILD names a tree
#       that is already built; sets $build to the tree used.
#   bench_scratch NAME
#       makes $work, a temporary folder removed at exit.
#   bench_weights
#       sets $weights: LS_BENCH_WEIGHTS (kept) or $work, holding random
#       weights at the published sizes (bench/musetalk_ref.py; 3.7 GB),
#       written when the folder has none.
# $root and $python are the caller's.

bench_build() {
  local dir=$1 targets=$2
  shift 2
  build=${LS_BUILD:-$dir}
  if [ -z "${LS_BUILD:-}" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
    cmake --build "$build" -j"$(nproc)" --target $targets >/dev/null
  fi
}

bench_scratch() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/lipstream-$1.XXXXXX")
  trap 'rm -rf "$work"' EXIT
}

bench_weights() {
  weights=${LS_BENCH_WEIGHTS:-$work}
  mkdir -p "$weights"
  if [ ! -f "$weights/sd-vae/diffusion_pytorch_model.bin" ]; then
    echo "writing random weights at the published sizes..." >&2
    "$python" "$root/bench/musetalk_ref.py" weights "$weights"
  fi
}
