#!/usr/bin/env bash
# gpu_check.sh - the GPU checks of the CUDA backend in one run, on a GPU
# machine that has PyTorch (the references) and a bundle made elsewhere by
# scripts/bundle.sh: nothing is built or installed there.
#
# usage: scripts/gpu_check.sh [OUT_DIR] [BUNDLE.tar.xz]
#        (defaults: build/gpu-check, build/bundle.tar.xz; run from anywhere)
#
# Steps (LS_CHECK_STEPS, default all four, in this order), each with a time
# limit (seconds, LS_CHECK_LIMIT_<STEP>) and its output in OUT_DIR/<step>.log:
#   machine   nvidia-smi, the CUDA libraries the bundle's env.sh found,
#             PyTorch's versions                                            (30)
#   parity    test_cuda_ops gpu and gpu-bf16: every operator and network on
#             the GPU against the CPU backend, on the small random-weight
#             checkpoints tests/ref writes with this machine's PyTorch       (150)
#   gpu       bench/gpu.sh: UNet + VAE decode frames per second against
#             PyTorch at the published sizes, batches LS_CHECK_BATCHES
#             (1,4,16,32), LS_CHECK_REPS runs (5)                           (180)
#   sessions  bench/sessions.sh on the GPU at the published sizes: sessions
#             speaking at once (LS_CHECK_SESSIONS, 1,4,8,16,24: one server, the
#             sessions of the largest count open, each count speaking in turn), batch
#             LS_CHECK_BATCH (16),
#             LS_CHECK_SPEECH_S seconds of speech (4)                        (200)
#             (LS_CHECK_DEVICE=cpu LS_CHECK_SIZE=small run this step without
#             a GPU, on the small test models: a check of the plumbing)
# The limits add up to 560 s, so that one command of 10 minutes runs them all.
# The random weights at the published sizes (3.7 GB) are written once, to
# LS_BENCH_WEIGHTS (default a folder under TMPDIR), for both benchmarks.
# OUT_DIR/summary.txt gets each step's status and time, then the benchmark
# tables. Exit status: 0 when every step passed or was skipped, 77 when
# the machine step finds no GPU (the others are then skipped), else 1.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$root/build/gpu-check}" && cd "${1:-$root/build/gpu-check}" && pwd)
tarball=${2:-$root/build/bundle.tar.xz}
steps=${LS_CHECK_STEPS:-machine parity gpu sessions}
export LS_PYTHON=${LS_PYTHON:-$(command -v python3)}
export LS_BENCH_WEIGHTS=${LS_BENCH_WEIGHTS:-${TMPDIR:-/tmp}/lipstream-weights}
summary=$out/summary.txt

[ -f "$tarball" ] || { echo "gpu_check.sh: no bundle at $tarball (make one with scripts/bundle.sh)" >&2; exit 1; }
scratch=$(mktemp -d "${TMPDIR:-/tmp}/lipstream-gpu-check.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
if command -v xz >/dev/null; then
  tar -C "$scratch" -xJf "$tarball"
else   # images without xz-utils: Python reads .tar.xz itself
  "$LS_PYTHON" - "$tarball" "$scratch" <<'PY' || exit 1
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    try:
        t.extractall(sys.argv[2], filter="data")
    except TypeError:   # a Python without extraction filters
        t.extractall(sys.argv[2])
PY
fi
bundle=$scratch/bundle
. "$bundle/env.sh"
export LS_BUILD=$bundle

# Fails only without a GPU (nvidia-smi); the rest is information for the log.
step_machine() {
  nvidia-smi || return 1
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  for lib in $(cat "$bundle/host-cuda-libs"); do
    echo "$lib: $(ldd "$bundle/lipstream" | awk -v l="$lib" '$1 == l { print $3 }')"
  done
  "$LS_PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn",
torch.backends.cudnn.version(), torch.cuda.get_device_name(0))' || echo "torch: not usable here"
  return 0
}

step_parity() {
  local fixtures=$scratch/fixtures
  mkdir -p "$fixtures"
  "$LS_PYTHON" "$root/tests/ref/musetalk_ref.py" small "$fixtures/musetalk_small" >/dev/null &&
    "$LS_PYTHON" "$root/tests/ref/whisper_ref.py" "$fixtures/whisper_ref" >/dev/null || return 1
  local mode rc=0 status
  for mode in gpu gpu-bf16; do
    echo "--- test_cuda_ops $mode"
    "$bundle/tests/test_cuda_ops" "$mode" "$fixtures/musetalk_small" "$fixtures/whisper_ref"
    status=$?
    [ $status -eq 0 ] || [ $rc -ne 0 ] || rc=$status   # the first failure; 77: skipped, no GPU
  done
  return $rc
}

step_gpu() {
  "$root/bench/gpu.sh" "${LS_CHECK_REPS:-5}" "${LS_CHECK_BATCHES:-1,4,16,32}"
}

step_sessions() {
  LS_DEVICE=${LS_CHECK_DEVICE:-cuda} LS_BENCH_SIZE=${LS_CHECK_SIZE:-published} \
    "$root/bench/sessions.sh" "${LS_CHECK_SPEECH_S:-4}" "${LS_CHECK_BATCH:-16}" "${LS_CHECK_SESSIONS:-1,4,8,16,24}"
}

declare -A limits=([machine]=30 [parity]=150 [gpu]=180 [sessions]=200)
export -f step_machine step_parity step_gpu step_sessions
export root bundle scratch
: > "$summary"
status=0
for step in $steps; do
  [ -n "${limits[$step]:-}" ] || { echo "gpu_check.sh: unknown step '$step'" >&2; exit 2; }
  limit_var=LS_CHECK_LIMIT_${step^^}
  limit=${!limit_var:-${limits[$step]}}
  echo "== $step (at most $limit s)" >&2
  start=$SECONDS
  timeout --kill-after=10 "$limit" bash -c "step_$step" > "$out/$step.log" 2>&1
  rc=$?
  case $rc in
    0) result=passed ;;
    77) result="skipped (no GPU)" ;;
    124|137) result="stopped at its limit of $limit s" ;;
    *) result="failed (status $rc)" ;;
  esac
  echo "$step: $result in $((SECONDS - start)) s" | tee -a "$summary" >&2
  if [ "$step" = machine ] && [ $rc -ne 0 ]; then
    echo "no usable GPU: the other steps are skipped" | tee -a "$summary" >&2
    exit 77
  fi
  [ $rc -eq 0 ] || [ $rc -eq 77 ] || status=1
done
for step in gpu sessions; do   # the benchmarks' tables
  [ -f "$out/$step.log" ] && { echo; echo "--- $step"; sed -n '/frames per second\|^sessions /,$p' "$out/$step.log"; } >> "$summary"
done
cat "$summary"
exit $status
