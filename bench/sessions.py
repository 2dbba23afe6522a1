#!/usr/bin/python3
"""Several sessions speaking at once on one server: what the shared inference
worker does with them, and what their viewers receive.

Opens as many WebRTC sessions as the largest count with bench/webrtc_clients
(viewers in one C process that decode and count what arrives) and lets them
idle; then, for each count N in turn, uploads the same speech-like WAV to
the first N at once (/humanaudio) and follows /api/admin/sessions until
every one of them has finished speaking (the others stay idle, streaming).
Prints one JSON line per count: per speaking session the output and
lip-sync frame rates while speaking (the server's 2-s figures, averaged over
the polls), the frames per second its viewer decoded over the same time,
its lip-synced frames and the first one's latency; for the worker the
frames rendered, render calls, merged calls (frames of several sessions in
one call), mean frames per call, busy fraction, and the throughput: frames
rendered per second of wall time from the uploads to the last frame.

usage: sessions.py URL COUNTS CLIENTS [--seconds S]   (run by bench/sessions.sh;
       COUNTS like 1,4,8; CLIENTS is the webrtc_clients program)
"""
import argparse
import concurrent.futures
import json
import os
import queue
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
from http_client import multipart, pcm_wav_bytes, request, speech_like  # noqa: E402

OPEN_TIMEOUT_S = 60


class Viewers:
    """The webrtc_clients process: its JSON lines, each with the monotonic
    time it arrived, on a queue filled by a reader thread."""

    def __init__(self, program, url, n):
        self.proc = subprocess.Popen([program, url, str(n)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.totals = []   # (arrival time, frames per viewer)
        self.sids = None   # the sessions, once every viewer has opened one

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put((time.monotonic(), json.loads(line)))
        self.lines.put((time.monotonic(), None))

    def next(self, timeout):
        """The next line (totals are kept); None when the process ended."""
        at, line = self.lines.get(timeout=timeout)
        if line and "frames" in line:
            self.totals.append((at, line["frames"]))
        return line

    def wait_opened(self):
        deadline = time.monotonic() + OPEN_TIMEOUT_S
        while time.monotonic() < deadline:
            line = self.next(deadline - time.monotonic())
            if line is None:
                sys.exit(f"the viewers failed (exit status {self.proc.wait()})")
            if "opened" in line:
                self.sids = line["opened"]
                return
        sys.exit(f"the viewers did not open within {OPEN_TIMEOUT_S} s")

    def drain(self):
        while not self.lines.empty():
            self.next(0)

    def close(self):
        self.proc.stdin.close()
        while self.next(30) is not None:
            pass
        self.proc.wait(timeout=30)

    def fps_between(self, t0, t1):
        """Frames per second each viewer decoded between t0 and t1, from the totals nearest them."""
        first = min(self.totals, key=lambda e: abs(e[0] - t0))
        last = min(self.totals, key=lambda e: abs(e[0] - t1))
        span = last[0] - first[0]
        return [round((b - a) / span, 1) if span > 0 else 0.0 for a, b in zip(first[1], last[1])]


def post_wav(url, sid, wav):
    body, headers = multipart({"sessionid": (None, sid), "file": ("speech.wav", wav)})
    return request(url, "POST", "/humanaudio", body, headers)[2]


def admin(url):
    return request(url, "GET", "/api/admin/sessions")[2]


def first_frame_ms(utterance):
    """From the utterance's first audio frame leaving the session's speech queue to its
    first lip-synced frame handed to the encoders (the server's clock); None when no
    frame was lip-synced."""
    if not utterance or not utterance.get("first_lipsynced"):
        return None
    return round((utterance["first_lipsynced"]["pushed_s"] - utterance["audio_in_s"]) * 1000, 1)


def speak(url, sids, viewers, seconds):
    """One round: the sessions `sids` speak at once; its JSON row."""
    viewers.drain()
    before = admin(url)
    lipsynced0 = {s["sessionid"]: s["lipsynced"] for s in before["data"]}
    wav = pcm_wav_bytes(speech_like(seconds))
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(len(sids)) as pool:
        replies = list(pool.map(lambda sid: post_wav(url, sid, wav), sids))
    if any(r.get("code") != 0 for r in replies):
        sys.exit(f"upload failed: {replies}")
    polls = {sid: [] for sid in sids}
    done_at = None
    while time.monotonic() < t0 + 30 * seconds + 60:
        time.sleep(0.5)
        viewers.drain()
        now = admin(url)
        speaking = [s for s in now["data"] if s["speaking"] and s["sessionid"] in polls]
        for s in speaking:
            polls[s["sessionid"]].append((s["output_fps"], s["infer_fps"]))
        if not speaking and all(polls.values()):   # every session spoke, and is done
            done_at = time.monotonic()
            break
    if done_at is None:
        sys.exit("the sessions did not finish speaking")
    after = admin(url)
    time.sleep(1.1)   # the viewers' next totals, after the last frame
    viewers.drain()
    viewer_fps = dict(zip(viewers.sids, viewers.fps_between(t0, done_at)))
    wall = done_at - t0
    w0, w1 = before["workers"][0], after["workers"][0]
    frames = w1["frames"] - w0["frames"]
    batches = w1["batches"] - w0["batches"]
    per_session = []
    for s in after["data"]:
        if s["sessionid"] not in polls:
            continue
        p = polls[s["sessionid"]]
        per_session.append({"output_fps": round(sum(x for x, _ in p) / len(p), 1),
                            "lipsync_fps": round(sum(y for _, y in p) / len(p), 1),
                            "viewer_fps": viewer_fps.get(s["sessionid"]),
                            "lipsynced": s["lipsynced"] - lipsynced0.get(s["sessionid"], 0),
                            "max_lag_ms": (s["last_utterance"] or {}).get("max_lag_ms"),
                            "first_frame_ms": first_frame_ms(s["last_utterance"])})
    return {"sessions": len(sids), "speech_s": seconds, "wall_s": round(wall, 2), "per_session": per_session,
            "worker": {"frames": frames, "batches": batches,
                       "merged": w1["merged_batches"] - w0["merged_batches"],
                       "frames_per_call": round(frames / batches, 2) if batches else 0,
                       "busy_fraction": round((w1["busy_s"] - w0["busy_s"]) / wall, 2),
                       "throughput_fps": round(frames / wall, 1)}}


def run(url, counts, clients, seconds):
    viewers = Viewers(clients, url, max(counts))
    viewers.wait_opened()
    time.sleep(3)
    for n in counts:
        print(f"{n} session(s) speaking {seconds} s each...", file=sys.stderr, flush=True)
        print(json.dumps(speak(url, viewers.sids[:n], viewers, seconds)), flush=True)
        time.sleep(1)
    viewers.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("counts")
    ap.add_argument("clients")
    ap.add_argument("--seconds", type=float, default=4.0)
    args = ap.parse_args()
    run(args.url, [int(n) for n in args.counts.split(",")], args.clients, args.seconds)


if __name__ == "__main__":
    main()
