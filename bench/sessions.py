#!/usr/bin/python3
"""Several sessions speaking at once on one server: what the shared inference
worker does with them.

Opens N aiortc sessions, lets them idle, then uploads the same speech-like
WAV to all of them at once (/humanaudio) and follows /api/admin/sessions
until every one has finished speaking. Prints one JSON line: per session the
output and lip-sync frame rates while speaking (the server's 2-s figures,
averaged over the polls), its lip-synced frames and the first one's latency; for the worker the
frames rendered, render calls, merged calls (frames of several sessions in
one call), mean frames per call, busy fraction, and the throughput: frames
rendered per second of wall time from the uploads to the last frame.

usage: sessions.py URL N [--seconds S]     (run by bench/sessions.sh)
"""
import argparse
import asyncio
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
import aiortc_client as client  # noqa: E402
from live_offline_test import speech_like, wav_bytes  # noqa: E402


def first_frame_ms(utterance):
    """From the utterance's first audio frame leaving the session's speech queue to its
    first lip-synced frame handed to the encoders (the server's clock); None when no
    frame was lip-synced."""
    if not utterance or not utterance.get("first_lipsynced"):
        return None
    return round((utterance["first_lipsynced"]["pushed_s"] - utterance["audio_in_s"]) * 1000, 1)


def worker(admin):
    return admin["workers"][0]


async def run(url, n, seconds):
    sessions = [await client.connect(url) for _ in range(n)]
    if not all(s.sid for s in sessions):
        sys.exit(f"cannot open {n} sessions: {[s.answer for s in sessions if not s.sid]}")
    await asyncio.sleep(3)
    before = client.get_json(url + "/api/admin/sessions")
    lipsynced0 = {s["sessionid"]: s["lipsynced"] for s in before["data"]}
    wav = wav_bytes(speech_like(seconds))
    loop = asyncio.get_running_loop()
    t0 = time.monotonic()
    replies = await asyncio.gather(*[loop.run_in_executor(None, client.post_wav, url, s.sid, wav) for s in sessions])
    if any(r.get("code") != 0 for r in replies):
        sys.exit(f"upload failed: {replies}")
    polls = {s.sid: [] for s in sessions}
    done_at = None
    while time.monotonic() < t0 + 30 * seconds + 60:
        await asyncio.sleep(0.5)
        admin = client.get_json(url + "/api/admin/sessions")
        speaking = [s for s in admin["data"] if s["speaking"]]
        for s in speaking:
            polls[s["sessionid"]].append((s["output_fps"], s["infer_fps"]))
        if not speaking and time.monotonic() > t0 + 1:
            done_at = time.monotonic()
            break
    after = client.get_json(url + "/api/admin/sessions")
    for s in sessions:
        await s.close()
    if done_at is None:
        sys.exit("the sessions did not finish speaking")
    wall = done_at - t0
    w0, w1 = worker(before), worker(after)
    frames = w1["frames"] - w0["frames"]
    batches = w1["batches"] - w0["batches"]
    per_session = []
    for s in after["data"]:
        p = polls.get(s["sessionid"]) or [(0, 0)]
        per_session.append({"output_fps": round(sum(x for x, _ in p) / len(p), 1),
                            "lipsync_fps": round(sum(y for _, y in p) / len(p), 1),
                            "lipsynced": s["lipsynced"] - lipsynced0.get(s["sessionid"], 0),
                            "max_lag_ms": (s["last_utterance"] or {}).get("max_lag_ms"),
                            "first_frame_ms": first_frame_ms(s["last_utterance"])})
    print(json.dumps({"sessions": n, "speech_s": seconds, "wall_s": round(wall, 2), "per_session": per_session,
                      "worker": {"frames": frames, "batches": batches,
                                 "merged": w1["merged_batches"] - w0["merged_batches"],
                                 "frames_per_call": round(frames / batches, 2) if batches else 0,
                                 "busy_fraction": round((w1["busy_s"] - w0["busy_s"]) / wall, 2),
                                 "throughput_fps": round(frames / wall, 1)}}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("n", type=int)
    ap.add_argument("--seconds", type=float, default=4.0)
    args = ap.parse_args()
    asyncio.run(run(args.url, args.n, args.seconds))


if __name__ == "__main__":
    main()
