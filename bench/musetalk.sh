#!/usr/bin/env bash
# MuseTalk per-frame cost, lipstream against the PyTorch reference on this
# machine, same random weights at the published sizes, same thread count:
# UNet and VAE decode at batch 1 and 4 (medians), and the peak RSS of each.
#
# usage: bench/musetalk.sh [THREADS] [REPS]     (defaults: 2 threads, 3 runs)
# Builds the Release tree in build/release (or uses LS_BUILD). The weights
# (3.7 GB) go to a temporary folder under $TMPDIR and are deleted at the end,
# unless LS_BENCH_WEIGHTS names a folder to keep them in (written when empty,
# reused after). LS_PROFILE=1 also prints lipstream's time per operator shape.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
threads=${1:-2}
reps=${2:-3}
python=${LS_PYTHON:-/usr/bin/python3}
. "$root/bench/common.sh"
bench_build "$root/build/release" bench_musetalk
bench="$build/bench/bench_musetalk"
[ -x "$bench" ] || { echo "no $bench: build a Release tree first" >&2; exit 1; }
bench_scratch musetalk-bench
bench_weights
echo "PyTorch ($threads threads)..." >&2
"$python" "$root/bench/musetalk_ref.py" time "$weights" "$threads" "$reps" | tee "$work/torch.txt" >&2
echo "lipstream ($threads threads)..." >&2
"$bench" "$weights" --threads "$threads" --reps "$reps" | tee "$work/lipstream.txt" >&2
if [ "${LS_PROFILE:-0}" = 1 ]; then
  "$bench" "$weights" --threads "$threads" --profile
fi

# One table: per-frame seconds of each case (median and fastest run: the
# fastest is the steadier figure on a machine shared with other work), the
# UNet + decode sum, memory.
awk '
  function field(name,   i, kv) {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == name) return kv[2] }
  }
  /peak_rss_mib/ { rss[$1] = field("peak_rss_mib"); inf[$1] = field("inference_peak_rss_mib"); next }
  {
    split($3, b, "=")
    t[$1, $2, b[2]] = field("per_frame_s")
    m[$1, $2, b[2]] = field("min_per_frame_s")
  }
  function row(name, x, y, p, q) {
    printf "  %-29s %8.3f %9.3f %6.2f   %8.3f %9.3f %6.2f\n", name, x, y, y / x, p, q, q / p
  }
  END {
    printf "\n  %-29s %26s   %26s\n", "", "median of the runs", "fastest run"
    printf "  %-29s %8s %9s %6s   %8s %9s %6s\n", "seconds per frame, " threads " threads", \
           "PyTorch", "lipstream", "ratio", "PyTorch", "lipstream", "ratio"
    n = split("unet vae_decode", nets, " ")
    for (bb = 1; bb <= 4; bb *= 4) {
      st = sl = mt = ml = 0
      for (k = 1; k <= n; k++) {
        x = t["torch", nets[k], bb]; y = t["lipstream", nets[k], bb]
        p = m["torch", nets[k], bb]; q = m["lipstream", nets[k], bb]
        st += x; sl += y; mt += p; ml += q
        row(nets[k] " batch " bb, x, y, p, q)
      }
      row("unet + vae_decode batch " bb, st, sl, mt, ml)
    }
    printf "  %-29s %8.0f %9.0f %6.2f\n", "peak RSS of the process (MiB)", \
      rss["torch"], rss["lipstream"], rss["lipstream"] / rss["torch"]
    printf "  %-29s %8.0f %9.0f %6.2f\n", "peak RSS after load (MiB)", \
      inf["torch"], inf["lipstream"], inf["lipstream"] / inf["torch"]
  }' threads="$threads" "$work/torch.txt" "$work/lipstream.txt"
