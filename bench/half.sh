#!/usr/bin/env bash
# Host fp32 <-> fp16 and bf16 conversion of 16M values (what the GPU
# backend's copies do on the host): lipstream's array conversions (F16C
# where the CPU has it) and its fp16 single-value loop against PyTorch's
# .half() / .bfloat16() / .float() on the CPU,
# one thread each, medians of REPS runs, and the ratio (lipstream's time over
# PyTorch's, as the other benchmarks print it: below 1, lipstream is faster).
# usage: bench/half.sh [REPS (default 9)]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
reps=${1:-9}
python=${LS_PYTHON:-/usr/bin/python3}
. "$root/bench/common.sh"
bench_build "$root/build/release" bench_half

torch=$("$python" "$root/bench/half_ref.py" "$reps")
ours=$("$build/bench/bench_half" "$reps")
printf '%s\n%s\n' "$torch" "$ours" | awk -v torch_lines="$(printf '%s\n' "$torch" | wc -l)" '
  NR <= torch_lines { ref[$1] = $2; next }
  { ours[$1] = $2; order[++n] = $1 }
  END {
    printf "  %-18s %12s %12s %8s\n", "16M values", "PyTorch s", "lipstream s", "ratio"
    for (i = 1; i <= n; i++) {
      c = order[i]; base = c; sub(/_single$/, "", base)
      printf "  %-18s %12.4f %12.4f %8.2f\n", c, ref[base], ours[c], ours[c] / ref[base]
    }
  }'
