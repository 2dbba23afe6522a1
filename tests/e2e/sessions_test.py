#!/usr/bin/python3
"""Ten sessions opened and closed in a row must leave no threads, file
descriptors or memory behind, and a session must not outlive its client.

Run by serve.py (which gives the server's URL and pid). One warm-up session
first (plugins load, thread pools start), then the baseline is read from
/proc/PID; then ten aiortc sessions in a row, each receiving video for two
seconds; then, once the server has closed them all (it notices a peer gone
when its RTCP stops), the same figures again. Then two clients that leave as their first video frame
arrives: one closes its connection (the server sees the DTLS close_notify:
the session must be gone within CLOSE_LIMIT_S), one vanishes having sent no
RTCP at all (a machine that died; the server's 10 s of silence count from
the connection, checked every 2 s: gone within SILENCE_LIMIT_S). Bounds: threads and file
descriptors back to the baseline exactly (a leaked pipeline keeps at least
a thread and sockets); resident memory within 48 MiB of it (AddressSanitizer's
quarantine alone holds freed blocks; one session's pipeline, encoder and
buffers take about 30 MiB, so leaking each of ten would add far more).

usage: sessions_test.py URL PID
"""
import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import aiortc_client as client  # noqa: E402

MEMORY_BOUND_MIB = 48
CLOSE_LIMIT_S = 5
SILENCE_LIMIT_S = 20


def open_sessions(url):
    with urllib.request.urlopen(url + "/api/admin/sessions", timeout=5) as r:
        return len(json.loads(r.read())["data"])


def wait_all_closed(url, timeout=40):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if open_sessions(url) == 0:
            return True
        time.sleep(0.5)
    return False


def figures(pid):
    status = open(f"/proc/{pid}/status").read()
    field = lambda name: int(next(l for l in status.splitlines() if l.startswith(name + ":")).split()[1])
    return {"threads": field("Threads"), "fds": len(os.listdir(f"/proc/{pid}/fd")), "rss_mib": field("VmRSS") / 1024}


def one_session(url):
    out = subprocess.run([sys.executable, os.path.join(HERE, "aiortc_client.py"), url, "--seconds", "2",
                          "--min-fps", "15"], capture_output=True, text=True, timeout=60)
    print(out.stdout.strip())
    if out.returncode != 0:
        print(out.stderr[-2000:])
        sys.exit("FAIL: a session did not stream")


async def close_at_first_frame(url):
    session = await client.connect(url)
    if not session.sid:
        sys.exit(f"FAIL: a session was refused: {session.answer}")
    while session.receiver.video_frames == 0:
        await asyncio.sleep(0.02)
    await session.close()
    return session.sid


def vanish_at_first_frame(url):
    out = subprocess.run([sys.executable, os.path.join(HERE, "aiortc_client.py"), url, "--vanish"],
                         capture_output=True, text=True, timeout=60)
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])["sessionid"]
    except (IndexError, KeyError, ValueError):
        sys.exit(f"FAIL: the vanishing client did not connect: {out.stdout[-500:]} {out.stderr[-1500:]}")


def check_leaving(url):
    for how, leave, limit in (("closed its connection", lambda: asyncio.run(close_at_first_frame(url)),
                               CLOSE_LIMIT_S),
                              ("vanished without RTCP", lambda: vanish_at_first_frame(url), SILENCE_LIMIT_S)):
        gone_after = client.seconds_until_closed(url, leave(), 2 * limit)
        print(json.dumps({f"session gone after its client {how} at its first frame (s)": gone_after}))
        if gone_after is None or gone_after > limit:
            sys.exit(f"FAIL: a client that {how} at its first frame kept its session over {limit} s")


def main():
    url, pid = sys.argv[1], int(sys.argv[2])
    one_session(url)
    if not wait_all_closed(url):
        sys.exit("FAIL: the warm-up session was not closed")
    time.sleep(1)
    before = figures(pid)
    for _ in range(10):
        one_session(url)
    if not wait_all_closed(url):
        sys.exit("FAIL: sessions still open 40 s after their peers left")
    time.sleep(1)
    after = figures(pid)
    print(json.dumps({"before": before, "after": after, "memory_bound_mib": MEMORY_BOUND_MIB}))
    ok = (after["threads"] <= before["threads"] and after["fds"] <= before["fds"]
          and after["rss_mib"] <= before["rss_mib"] + MEMORY_BOUND_MIB)
    if not ok:
        sys.exit("FAIL: resources grew over ten sessions")
    check_leaving(url)
    print("ok")
    client.exit_now(0)


if __name__ == "__main__":
    main()
