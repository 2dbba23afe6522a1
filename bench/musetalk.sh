#!/usr/bin/env bash
# MuseTalk per-frame cost, lipstream against the PyTorch reference on this
# machine, same random weights at the published sizes, same thread count:
# UNet and VAE decode at batch 1 and 4 (medians), and the peak RSS of each.
#
# usage: bench/musetalk.sh [THREADS] [REPS]     (defaults: 2 threads, 3 runs)
# Needs a Release build in build/release (or set LS_BUILD). The weights
# (3.7 GB) go to a temporary folder under $TMPDIR and are deleted at the end.
# LS_PROFILE=1 also prints lipstream's time per operator shape.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
threads=${1:-2}
reps=${2:-3}
build=${LS_BUILD:-$root/build/release}
python=${LS_PYTHON:-/usr/bin/python3}
bench="$build/bench/bench_musetalk"
[ -x "$bench" ] || { echo "no $bench: build a Release tree first" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/lipstream-musetalk-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "writing random weights at the published sizes..." >&2
"$python" "$root/bench/musetalk_ref.py" weights "$work"
echo "PyTorch ($threads threads)..." >&2
"$python" "$root/bench/musetalk_ref.py" time "$work" "$threads" "$reps" | tee "$work/torch.txt" >&2
echo "lipstream ($threads threads)..." >&2
"$bench" "$work" --threads "$threads" --reps "$reps" | tee "$work/lipstream.txt" >&2
if [ "${LS_PROFILE:-0}" = 1 ]; then
  "$bench" "$work" --threads "$threads" --profile
fi

# One table: per-frame seconds of each case, the UNet + decode sum, memory.
awk '
  function field(name,   i, kv) {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == name) return kv[2] }
  }
  /peak_rss_mib/ { rss[$1] = field("peak_rss_mib"); inf[$1] = field("inference_peak_rss_mib"); next }
  { split($3, b, "="); t[$1, $2, b[2]] = field("per_frame_s"); batches[b[2]] = 1 }
  END {
    printf "\nMuseTalk per frame (s), %s threads          PyTorch  lipstream  lipstream/PyTorch\n", threads
    n = split("unet vae_decode", nets, " ")
    for (bb = 1; bb <= 4; bb *= 4) {
      st = 0; sl = 0
      for (k = 1; k <= n; k++) {
        x = t["torch", nets[k], bb]; y = t["lipstream", nets[k], bb]; st += x; sl += y
        printf "  %-12s batch %d                      %8.3f  %9.3f  %17.2f\n", nets[k], bb, x, y, y / x
      }
      printf "  unet + vae_decode batch %d                 %8.3f  %9.3f  %17.2f\n", bb, st, sl, sl / st
    }
    printf "  peak RSS, whole process (MiB)             %8.0f  %9.0f  %17.2f\n", \
      rss["torch"], rss["lipstream"], rss["lipstream"] / rss["torch"]
    printf "  peak RSS after loading (MiB)              %8.0f  %9.0f  %17.2f\n", \
      inf["torch"], inf["lipstream"], inf["lipstream"] / inf["torch"]
  }' threads="$threads" "$work/torch.txt" "$work/lipstream.txt"
