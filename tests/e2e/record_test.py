#!/usr/bin/python3
"""Recording a session to MP4 (POST /record, GET /record/{id}, --record).

1. Over the HTTP API (the server under serve.py, --record_dir a temp dir):
   an aiortc viewer opens a session; start_record; speech is queued; after
   10 s end_record. The download (GET /record/{id}) must equal the file,
   gst-discoverer-1.0 must see H.264 + AAC lasting 10 s (within 0.7 s: the
   requests' own latency), and decoding it must give 25 frames a second and
   audio as long as the video, loud where the speech was. end_record twice,
   and a download for an unknown id, are clear errors.
2. A recording whose server is killed (SIGKILL) mid-way: `--record DIR`
   records every session from its start; after 5 s the server is killed and
   the file must still decode, up to about its last second.

usage: record_test.py --lipstream BIN --avatar-dir DIR
Prints one JSON line of measurements per part; exits non-zero on failure.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import media_probe
from outputs_common import WebrtcViewer, fail, get_json, get_raw, post, rerun_under_serve, session_info, \
    start_server, wait_until

SECONDS = 10.0


def check_api(url, record_dir):
    result = {"part": "record over the API"}
    viewer = WebrtcViewer(url)
    sid = viewer.open()
    reply = post(url + "/record", {"sessionid": sid, "type": "start_record"})
    t_start = time.monotonic()
    if reply.get("code") != 0:
        fail(result, f"start_record: {reply}")
    post(url + "/human", {"sessionid": sid, "type": "echo", "text": "This sentence is recorded."})
    live = wait_until(lambda: (session_info(url, sid) or {}).get("recording"), 5)
    result["admin"] = session_info(url, sid)
    if not live:
        fail(result, "/api/admin/sessions does not show the recording")
    time.sleep(max(0.0, t_start + SECONDS - time.monotonic()))
    reply = post(url + "/record", {"sessionid": sid, "type": "end_record"})
    result["recorded_s"] = round(time.monotonic() - t_start, 2)
    if reply.get("code") != 0:
        fail(result, f"end_record: {reply}")
    again = post(url + "/record", {"sessionid": sid, "type": "end_record"})
    result["end_twice"] = again
    if again.get("code") == 0 or again.get("http_status") != 409:
        fail(result, "end_record without a recording must be refused (409)")

    status, headers, body = get_raw(url + "/record/" + sid)
    path = os.path.join(record_dir, sid + ".mp4")
    if status != 200 or headers.get("Content-Type") != "video/mp4":
        fail(result, f"GET /record/{{id}}: {status} {headers.get('Content-Type')}")
    if not os.path.exists(path) or body != open(path, "rb").read():
        fail(result, f"the download differs from {path}")
    missing = get_json(url + "/record/0123456789abcdef0123456789abcdef")
    result["unknown_download"] = missing
    if missing.get("http_status") != 404 or missing.get("code") != -1:
        fail(result, "a download for an unknown session must be 404 JSON")
    viewer.close()

    result["discoverer"] = media_probe.discover(path)
    result["decoded"] = decoded = media_probe.probe(path)
    duration = result["discoverer"]["duration"] or 0
    kinds = " ".join(result["discoverer"]["streams"])
    if abs(duration - SECONDS) > 0.7 or "H.264" not in kinds or "AAC" not in kinds:
        fail(result, "gst-discoverer-1.0: not 10 s of H.264 and AAC")
    # 25 fps; the frame count follows the duration to within a frame or two at each end.
    if abs(decoded["video_frames"] - 25 * duration) > 3 or decoded["end"] != "eos":
        fail(result, "decoded frames do not make 25 fps over the duration")
    if abs(decoded["audio_seconds"] - duration) > 0.2:
        fail(result, "the audio is not as long as the video")
    if decoded["audio_rms"] < 200:
        fail(result, "the recorded audio holds no speech")
    print(json.dumps(result))


def check_killed(lipstream, avatar_dir, work):
    result = {"part": "recording of a killed server"}
    record_dir = os.path.join(work, "killed")
    log_path = os.path.join(work, "killed_server.log")
    proc, url = start_server(lipstream, avatar_dir, ["--record", record_dir], log_path)
    try:
        viewer = WebrtcViewer(url)
        sid = viewer.open()
        t_open = time.monotonic()
        time.sleep(5)
        proc.kill()
        proc.wait()
        result["killed_after_s"] = round(time.monotonic() - t_open, 2)
        viewer.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    path = os.path.join(record_dir, sid + ".mp4")
    if not os.path.exists(path):
        print(open(log_path, errors="replace").read())
        fail(result, f"no recording {path}")
    result["bytes"] = os.path.getsize(path)
    result["decoded"] = decoded = media_probe.probe(path)
    # Fragments are whole seconds: all but the last second (and the second it
    # took the viewer to connect) must be there.
    if decoded["video_frames"] < 25 * 3 or decoded["audio_seconds"] < 3:
        print(open(log_path, errors="replace").read())
        fail(result, "the killed server's recording does not play its first seconds")
    print(json.dumps(result))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lipstream")
    ap.add_argument("--avatar-dir")
    ap.add_argument("--check", nargs=3, metavar=("URL", "PID", "RECORD_DIR"))
    args = ap.parse_args()
    if args.check:
        check_api(args.check[0], args.check[2])
        return
    work = tempfile.mkdtemp(prefix="lipstream_record_")
    try:
        status = rerun_under_serve(args.lipstream, args.avatar_dir, ["--record_dir", work], [work])
        if status != 0:
            sys.exit(status)
        check_killed(args.lipstream, args.avatar_dir, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
