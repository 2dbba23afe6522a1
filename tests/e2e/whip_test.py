#!/usr/bin/python3
"""Pushing over WHIP (--transport rtcpush --push_url http://.../whip/live).

The receiver is whip_receiver.py, a test receiver built on python3-aiortc
(not a media server), started by this test after the server, so the
server's first offers find nobody and are retried; the receiver also
refuses the first offer it gets (503), which must be retried too. With
--max_session 2 the server pushes sessions 0 and 1, to .../whip/live and
.../whip/live1 (the index appended for k > 0, as LiveTalking does). Both
streams must be decoded by the receiver at about 25 fps with audio, and the
admin view must show both outputs live. When the receiver ends stream
"live" on its side (a media server restarting: its connection closed, no
DELETE), the server must notice, POST a new offer and stream again within
10 s; when the receiver then falls silent (a crashed media server: no RTCP,
nothing closed), within 25 s (10 s of silence, then a retry). The
receiver requires a bearer
token, which the server reads from the environment variable named by
--push_token_env: no request may go without it. When the server stops
(SIGINT) it must DELETE both resources.

usage: whip_test.py --lipstream BIN --avatar-dir DIR
"""
import argparse
import json
import os
import signal
import sys
import time

from outputs_common import fail, free_port, output_status, rerun_under_serve, wait_until
from whip_receiver import WhipReceiver

SECONDS = 5.0
TOKEN_ENV = "LS_TEST_WHIP_TOKEN"
TOKEN = "test-token-7f3a"


def check(url, pid, port):
    receiver = WhipReceiver(port, refuse=1, token=TOKEN).start()
    result = {}
    t0 = time.monotonic()
    live = wait_until(lambda: all(output_status(url, s, "whip") == "live" for s in ("0", "1")), 60)
    result["live_after_s"] = round(time.monotonic() - t0, 2)
    if not live:
        result["status"] = [output_status(url, s, "whip") for s in ("0", "1")]
        result["receiver"] = receiver.stats()
        fail(result, "the WHIP pushes did not go live")
    start = {name: s.video_frames for name, s in receiver.streams.items()}
    time.sleep(SECONDS)
    stats = receiver.stats()
    result["receiver"] = stats
    for name in ("live", "live1"):
        s = stats.get(name)
        if not s:
            fail(result, f"no stream '{name}' reached the receiver")
        fps = (s["video_frames"] - start.get(name, 0)) / SECONDS
        result[name + "_fps"] = round(fps, 1)
        if fps < 20 or s["audio_samples"] < 48000 * 2:
            fail(result, f"stream '{name}': too few frames or too little audio")
    if stats["live"]["posts"] + stats["live1"]["posts"] < 3:
        fail(result, "the refused offer was not retried")
    if any(s["unauthorized"] for s in stats.values()):
        fail(result, "a request went without the bearer token")
    check_reconnect(url, receiver, result)

    os.kill(pid, signal.SIGINT)
    deleted = wait_until(lambda: all(s.deleted for s in receiver.streams.values()), 30)
    result["deleted"] = {name: s.deleted for name, s in receiver.streams.items()}
    if not deleted or any(s.unauthorized for s in receiver.streams.values()):
        fail(result, "the server did not DELETE its WHIP resources (with its token) when it stopped")
    # serve.py checks the exit: let the server finish (a second SIGINT would cut its shutdown short).
    wait_until(lambda: exited(pid), 60)
    print(json.dumps(result))


def check_reconnect(url, receiver, result):
    """The receiver drops stream "live", then freezes it: each time the server offers again and streams."""
    live = receiver.streams["live"]
    for how, end, limit in (("dropped", receiver.drop, 10), ("froze", receiver.freeze, 25)):
        posts = live.posts
        t0 = time.monotonic()
        end("live")
        back = wait_until(lambda: live.posts > posts and live.connected and
                          output_status(url, "0", "whip") == "live", limit)
        result[f"pushing_again_after_receiver_{how}_s"] = round(time.monotonic() - t0, 2)
        if not back:
            result["receiver"] = receiver.stats()
            result["status"] = output_status(url, "0", "whip")
            fail(result, f"the server did not push again within {limit} s after the receiver {how} its stream")
        frames = live.video_frames
        time.sleep(2)
        if live.video_frames - frames < 30:
            fail(result, f"after the receiver {how} the stream, {live.video_frames - frames} frames in 2 s")


def exited(pid):
    """True once `pid` is gone or a zombie (serve.py, its parent, reaps it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lipstream")
    ap.add_argument("--avatar-dir")
    ap.add_argument("--check", nargs=3, metavar=("URL", "PID", "PORT"))
    args = ap.parse_args()
    if args.check:
        check(args.check[0], int(args.check[1]), int(args.check[2]))
        return
    port = free_port()
    os.environ[TOKEN_ENV] = TOKEN   # the server started below inherits it
    push_url = f"http://127.0.0.1:{port}/whip/live"
    sys.exit(rerun_under_serve(args.lipstream, args.avatar_dir,
                               ["--transport", "rtcpush", "--push_url", push_url, "--max_session", "2",
                                "--push_token_env", TOKEN_ENV],
                               [str(port)]))


if __name__ == "__main__":
    main()
