#!/usr/bin/env bash
# Whisper-tiny encoder, one 30 s window: lipstream (Release build in
# build/release, built here) against the PyTorch reference on the same random
# weights and the same log-mel, with the same thread count.
# usage: bench/whisper.sh [THREADS (default 2)] [REPS (default 7)]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
reps=${2:-7}
python=${LS_PYTHON:-/usr/bin/python3}
build=build/release
data=$build/bench_whisper_data

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target bench_whisper >/dev/null

torch_s=$("$python" bench/whisper_ref.py "$data" "$threads" "$reps")
ours_s=$("$build/bench/bench_whisper" "$data/tiny.pt" "$data/mel.npy" "$threads" "$reps")
awk -v ours="$ours_s" -v torch="$torch_s" -v t="$threads" 'BEGIN {
  printf "whisper-tiny encoder, 30 s window, %d threads: lipstream %.3f s, pytorch %.3f s, ratio %.2f\n",
         t, ours, torch, ours / torch }'
