#!/usr/bin/env bash
# MuseTalk on a GPU, lipstream's CUDA backend against a PyTorch reference of
# the same networks in the same precision (fp16, or LS_PRECISION=bf16) (random weights at the published sizes,
# musetalk.json and sd-vae-ft-mse configs): frames per second of the UNet,
# the VAE decoder and both in turn, at batch 1, 4, 16 and 32, and the ratio;
# lipstream's "unet+vae_decode_graph" row is both as the renderer queues them
# (one CUDA graph), against PyTorch's both-in-turn.
#
# usage: [LS_PRECISION=bf16] bench/gpu.sh [REPS] [BATCHES]   (10 runs, 1,4,16,32)
# Needs an NVIDIA GPU, a CUDA build of lipstream and torch with CUDA. Builds
# the Release tree in build/gpu (or uses LS_BUILD). The weights (3.7 GB) go
# to a temporary folder under $TMPDIR and are deleted at the end, unless
# LS_BENCH_WEIGHTS names a folder to keep them in (written when empty,
# reused after). LS_DEVICE picks the GPU (cuda:N) for lipstream;
# CUDA_VISIBLE_DEVICES does it for both sides.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
reps=${1:-10}
batches=${2:-1,4,16,32}
precision=${LS_PRECISION:-fp16}
case "$precision" in fp16|bf16) ;; *) echo "LS_PRECISION: '$precision' (fp16 or bf16)" >&2; exit 2;; esac
python=${LS_PYTHON:-/usr/bin/python3}
. "$root/bench/common.sh"

command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >&2 ||
  echo "nvidia-smi not found" >&2
"$python" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' || {
  echo "torch at $python has no usable CUDA device: nothing to compare with" >&2
  exit 1
}
bench_build "$root/build/gpu" gpu_musetalk -DLS_CUDA=ON
bench="$build/bench/gpu_musetalk"
[ -x "$bench" ] || { echo "no $bench: build a Release tree with -DLS_CUDA=ON first" >&2; exit 1; }
bench_scratch gpu-bench
bench_weights

echo "PyTorch $precision..." >&2
"$python" "$root/bench/gpu_ref.py" time "$weights" "$reps" "$batches" "$precision" |
  tee "$work/torch.txt" >&2
echo "lipstream (${LS_DEVICE:-cuda}, $precision)..." >&2
"$bench" "$weights" --device "${LS_DEVICE:-cuda}" --precision "$precision" --reps "$reps" \
  --batches "$batches" | tee "$work/lipstream.txt" >&2

# One table: frames per second of each network and of both in turn, per batch.
awk '
  function field(name,   i, kv) {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == name) return kv[2] }
  }
  / device=/ { ran = $0; next }
  {
    split($3, b, "="); fps[$1, $2, b[2]] = field("fps"); seen[b[2]] = 1
  }
  END {
    print "\n  " ran
    printf "  %-28s %12s %14s %8s\n", "frames per second", "PyTorch " precision, "lipstream", "ratio"
    n = split("unet vae_decode unet+vae_decode unet+vae_decode_graph", nets, " ")
    m = split(batches, bs, ",")
    for (j = 1; j <= m; j++)
      for (k = 1; k <= n; k++) {
        ref = nets[k] == "unet+vae_decode_graph" ? "unet+vae_decode" : nets[k]
        t = fps["torch", ref, bs[j]]; l = fps["lipstream", nets[k], bs[j]]
        printf "  %-28s %12.1f %14.1f %8.2f\n", nets[k] " batch " bs[j], t, l, (t > 0 ? l / t : 0)
      }
  }' batches="$batches" precision="$precision" "$work/torch.txt" "$work/lipstream.txt"
