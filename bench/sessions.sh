#!/usr/bin/env bash
# Sessions speaking at once on one lipstream server: per-session frame rates
# (the server's, and what its WebRTC viewer decoded), the first lip-synced
# frame's latency, the shared worker's merged render calls, and throughput
# against one session. One server, with as many sessions open as the
# largest count, each watched by a viewer of bench/webrtc_clients (C,
# GStreamer); for each count, that many speak at once while the rest idle.
#
# usage: bench/sessions.sh [SPEECH_SECONDS] [BATCH_SIZE] [COUNTS]
#        (defaults: 4 s, batch 4, counts 1,2,4)
# Models: the small random test models (tests/ref/loop_ref.py) by default;
# with LS_BENCH_SIZE=published, random weights at the published sizes
# (bench/common.sh's, plus a whisper-tiny from tests/ref/whisper_ref.py) and
# an avatar made from data/astronaut.png. LS_DEVICE (cpu, cuda, cuda:N) is
# the server's --device, LS_PRECISION (fp16, bf16) its --precision. Builds the Release tree in build/release, or
# build/gpu with LS_DEVICE=cuda* (or uses LS_BUILD). Everything made goes to
# a temporary folder, deleted at the end (LS_BENCH_WEIGHTS keeps the weights).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-4}
batch=${2:-4}
counts=${3:-1,2,4}
python=${LS_PYTHON:-/usr/bin/python3}
device=${LS_DEVICE:-}
. "$root/bench/common.sh"
case "$device" in
  cuda*) bench_build "$root/build/gpu" "lipstream webrtc_clients" -DLS_CUDA=ON ;;
  *) bench_build "$root/build/release" "lipstream webrtc_clients" ;;
esac
lipstream="$build/lipstream"
clients="$build/bench/webrtc_clients"
for program in "$lipstream" "$clients"; do
  [ -x "$program" ] || { echo "no $program: build a Release tree first" >&2; exit 1; }
done
bench_scratch sessions-bench
if [ "${LS_BENCH_SIZE:-small}" = published ]; then
  bench_weights
  if [ ! -f "$weights/whisper/tiny.pt" ]; then
    echo "writing a random whisper-tiny..." >&2
    "$python" "$root/tests/ref/whisper_ref.py" "$work/whisper_ref" >/dev/null
    mkdir -p "$weights/whisper" && cp "$work/whisper_ref/tiny.pt" "$weights/whisper/tiny.pt"
  fi
  models="$weights"
  echo "making the avatar..." >&2
  "$lipstream" avatar create --input "$root/data/astronaut.png" --out "$work/avatars/bench" --version v1 \
    --weights_dir "$models" --id bench >/dev/null 2>&1
else
  echo "making the small models and the avatar..." >&2
  "$python" "$root/tests/ref/loop_ref.py" "$work/ref" >/dev/null
  models="$work/ref/models"
  "$lipstream" avatar create --input "$work/ref/avatar_frames" --out "$work/avatars/bench" --bbox 64,40,128,120 \
    --version v15 --weights_dir "$models" --id bench >/dev/null 2>&1
fi
most=$(tr ',' '\n' <<< "$counts" | sort -n | tail -1)
server_args="--avatar_id bench --model musetalk --weights_dir $models --batch_size $batch --max_session $most"
[ -n "$device" ] && server_args+=" --device $device"
[ -n "${LS_PRECISION:-}" ] && server_args+=" --precision $LS_PRECISION"

echo "sessions open: $most; speaking at once: $counts" >&2
"$python" "$root/tests/e2e/serve.py" --lipstream "$lipstream" --avatar-dir "$work/avatars" \
  "--server-args=$server_args" \
  -- "$python" "$root/bench/sessions.py" {url} "$counts" "$clients" --seconds "$seconds" > "$work/run.txt" ||
  { cat "$work/run.txt" >&2; exit 1; }
grep '^{"sessions"' "$work/run.txt" > "$work/results.json"

"$python" - "$work/results.json" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
base = rows[0]["worker"]["throughput_fps"] or 1
print("sessions  output fps/session (lowest)  viewer fps (lowest)  lip-sync fps/session"
      "  first frame ms (median, worst)  worker frames/s  vs 1  calls  merged  frames/call  busy")
for r in rows:
    w, ps = r["worker"], r["per_session"]
    out = sum(p["output_fps"] for p in ps) / len(ps)
    low = min(p["output_fps"] for p in ps)
    seen = sum(p["viewer_fps"] for p in ps) / len(ps)
    seen_low = min(p["viewer_fps"] for p in ps)
    lip = sum(p["lipsync_fps"] for p in ps) / len(ps)
    first = [p["first_frame_ms"] for p in ps if p["first_frame_ms"] is not None]
    first_text = f"{statistics.median(first):8.0f} {max(first):6.0f}" if first else f"{'-':>15}"
    print(f"{r['sessions']:8d}  {out:18.1f} ({low:5.1f})  {seen:11.1f} ({seen_low:5.1f})  {lip:20.1f}"
          f"  {first_text:>30}"
          f"  {w['throughput_fps']:15.1f}  {w['throughput_fps'] / base:4.2f}"
          f"  {w['batches']:5d}  {w['merged']:6d}  {w['frames_per_call']:11.2f}  {w['busy_fraction']:4.2f}")
for r in rows:
    print(json.dumps(r))
PY
