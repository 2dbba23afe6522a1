#!/usr/bin/env bash
# One, two and four sessions speaking at once on one lipstream server with the
# small random test models (tests/ref/loop_ref.py): per-session frame rates,
# the shared worker's merged render calls, and throughput against one session.
#
# usage: bench/sessions.sh [SPEECH_SECONDS] [BATCH_SIZE]     (defaults: 4 s, batch 4)
# Builds the Release tree in build/release (or uses LS_BUILD). The models and
# the avatar are made in a temporary folder, deleted at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-4}
batch=${2:-4}
python=${LS_PYTHON:-/usr/bin/python3}
. "$root/bench/common.sh"
bench_build "$root/build/release" lipstream
lipstream="$build/lipstream"
[ -x "$lipstream" ] || { echo "no $lipstream: build a Release tree first" >&2; exit 1; }
bench_scratch sessions-bench
echo "making the small models and the avatar..." >&2
"$python" "$root/tests/ref/loop_ref.py" "$work/ref" >/dev/null
"$lipstream" avatar create --input "$work/ref/avatar_frames" --out "$work/avatars/bench" --bbox 64,40,128,120 \
  --version v15 --weights_dir "$work/ref/models" --id bench >/dev/null 2>&1

for n in 1 2 4; do
  echo "$n session(s) speaking ${seconds} s each..." >&2
  "$python" "$root/tests/e2e/serve.py" --lipstream "$lipstream" --avatar-dir "$work/avatars" \
    "--server-args=--avatar_id bench --model musetalk --weights_dir $work/ref/models --batch_size $batch --max_session 4" \
    -- "$python" "$root/bench/sessions.py" {url} "$n" --seconds "$seconds" > "$work/run$n.txt" 2>&1 ||
    { cat "$work/run$n.txt" >&2; exit 1; }
  grep '^{"sessions"' "$work/run$n.txt" > "$work/result$n.json"
done

"$python" - "$work" <<'PY'
import json, sys
rows = [json.load(open(f"{sys.argv[1]}/result{n}.json")) for n in (1, 2, 4)]
base = rows[0]["worker"]["throughput_fps"] or 1
print("sessions  output fps/session  lip-sync fps/session  worker frames/s  vs 1  calls  merged  frames/call  busy")
for r in rows:
    w, ps = r["worker"], r["per_session"]
    out = sum(p["output_fps"] for p in ps) / len(ps)
    lip = sum(p["lipsync_fps"] for p in ps) / len(ps)
    print(f"{r['sessions']:8d}  {out:18.1f}  {lip:20.1f}  {w['throughput_fps']:15.1f}  {w['throughput_fps'] / base:4.2f}"
          f"  {w['batches']:5d}  {w['merged']:6d}  {w['frames_per_call']:11.2f}  {w['busy_fraction']:4.2f}")
for r in rows:
    print(json.dumps(r))
PY
