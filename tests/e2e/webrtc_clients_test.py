#!/usr/bin/python3
"""bench/webrtc_clients, the C viewers of the sessions benchmark, against the
server: two VP8 viewers, then one H.264 viewer. Their offers come from
webrtcbin with max-bundle (the audio m-line bundle-only, port 0), which the
server must accept. Each viewer must open a session the server lists, then
decode about 25 frames and 1000 ms of audio per second; closing standard
input must end the program with its totals. With --speak, the first
session of each codec speaks that text (/human echo) while it is watched,
and must be seen speaking.

usage: webrtc_clients_test.py URL WEBRTC_CLIENTS [--codecs vp8,h264] [--speak TEXT]
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from http_client import request  # noqa: E402

WATCH_S = 4
MIN_FPS = 20
MIN_AUDIO_MS_PER_S = 800


def lines_of(proc, deadline):
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            return
        yield json.loads(line)


def speaking_seen(url, sid, within_s):
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if request(url, "POST", "/is_speaking", {"sessionid": sid})[2].get("data"):
            return True
        time.sleep(0.1)
    return False


def check_viewers(url, program, n, codec, speak):
    """The failures of n viewers of `codec`, as text lines."""
    proc = subprocess.Popen([program, url, str(n), "--codec", codec], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    failures, sids, totals = [], None, []
    deadline = time.monotonic() + 60
    for line in lines_of(proc, deadline):
        if "opened" in line:
            sids = line["opened"]
            deadline = time.monotonic() + WATCH_S
            if speak:
                reply = request(url, "POST", "/human", {"sessionid": sids[0], "type": "echo", "text": speak})[2]
                if reply.get("code") != 0 or not speaking_seen(url, sids[0], WATCH_S):
                    failures.append(f"{codec}: /human answered {reply}, or the session was not seen speaking")
        elif sids and "frames" in line:
            totals.append((line["t"], line["frames"], line["audio_ms"]))   # the viewers' clock
        if sids and time.monotonic() >= deadline:
            break
    if not sids:
        proc.kill()
        return [f"{codec}: no 'opened' line within 60 s (exit status {proc.wait()})"]
    listed = {s["sessionid"] for s in request(url, "GET", "/api/admin/sessions")[2]["data"]}
    if len(set(sids)) != n or not set(sids) <= listed:
        failures.append(f"{codec}: sessions {sids}, the server lists {sorted(listed)}")
    proc.stdin.close()
    closed = [line for line in lines_of(proc, time.monotonic() + 30) if line.get("closed")]
    status = proc.wait(timeout=30)
    if status != 0 or len(closed) != 1:
        failures.append(f"{codec}: exit status {status}, {len(closed)} 'closed' lines")
    if len(totals) < 2:
        return failures + [f"{codec}: {len(totals)} totals lines in {WATCH_S} s"]
    (t0, f0, a0), (t1, f1, a1) = totals[0], totals[-1]
    for i in range(n):
        fps, audio = (f1[i] - f0[i]) / (t1 - t0), (a1[i] - a0[i]) / (t1 - t0)
        print(f"{codec} viewer {i} ({sids[i][:8]}): {fps:.1f} frames/s, {audio:.0f} ms of audio/s")
        if fps < MIN_FPS or audio < MIN_AUDIO_MS_PER_S:
            failures.append(f"{codec} viewer {i}: {fps:.1f} frames/s (>= {MIN_FPS}), "
                            f"{audio:.0f} ms audio/s (>= {MIN_AUDIO_MS_PER_S})")
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("program")
    ap.add_argument("--codecs", default="vp8,h264")
    ap.add_argument("--speak")
    args = ap.parse_args()
    viewers = {"vp8": 2, "h264": 1}
    failures = []
    for codec in args.codecs.split(","):
        failures += check_viewers(args.url, args.program, viewers[codec], codec, args.speak)
    for f in failures:
        print("FAIL", f)
    print("ok" if not failures else f"{len(failures)} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
