#!/usr/bin/python3
"""Outputs that fail are reported clearly and stop nothing else.

1. --transport rtmp to a loopback port where nothing listens, with
   --record into a folder that cannot be written: session 0 still exists
   and speaks (/human, /is_speaking), its RTMP push is "retrying in N s:
   ... Connection refused", its recording "failed: ..." naming the folder,
   a start_record into that folder is answered with the reason and the
   same error reaches the session's /sse stream.
2. --transport virtualcam with a device that does not exist: session 0
   speaks, and its camera output is "retrying in N s: ... No such file or
   directory".
(An unreachable WHIP endpoint is covered in process: test_push_outputs.)

usage: failures_test.py --lipstream BIN --avatar-dir DIR
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import urllib.request

from outputs_common import fail, free_port, output_status, post, rerun_under_serve, session_info, wait_until


def retrying(url, kind):
    """Session 0's `kind` output status when it is "retrying ...", else None."""
    status = output_status(url, "0", kind) or ""
    return status if status.startswith("retrying") else None


def speaks(url, sid):
    """/human is accepted and the session starts and stops speaking."""
    reply = post(url + "/human", {"sessionid": sid, "type": "echo", "text": "Still speaking."})
    if reply.get("code") != 0:
        return False
    started = wait_until(lambda: post(url + "/is_speaking", {"sessionid": sid}).get("data"), 10)
    ended = started and wait_until(lambda: not post(url + "/is_speaking", {"sessionid": sid}).get("data"), 20)
    return bool(ended)


def read_sse(url, sid, events, stop, connected):
    with urllib.request.urlopen(f"{url}/sse?sessionid={sid}", timeout=30) as r:
        connected.set()   # the server answered: the stream is registered
        for line in r:
            if line.startswith(b"data: "):
                events.append(json.loads(line[6:]))
            if stop.is_set():
                return


def check_rtmp_and_record(url, record_dir):
    result = {}
    info = wait_until(lambda: session_info(url, "0"), 10)
    result["session"] = info
    if not info:
        fail(result, "no session 0")
    rtmp = wait_until(lambda: retrying(url, "rtmp"), 10)
    record = output_status(url, "0", "record") or ""
    result.update(rtmp=rtmp, record=record)
    if not rtmp or "Connection refused" not in rtmp:
        fail(result, "the unreachable RTMP server is not reported")
    if not record.startswith("failed: ") or record_dir not in record:
        fail(result, "the recording folder's failure is not reported")

    events, stop, connected = [], threading.Event(), threading.Event()
    threading.Thread(target=read_sse, args=(url, "0", events, stop, connected), daemon=True).start()
    if not connected.wait(10):
        fail(result, "/sse did not answer")
    reply = post(url + "/record", {"sessionid": "0", "type": "start_record"})
    result["start_record"] = reply
    if reply.get("code") == 0 or record_dir not in reply.get("msg", ""):
        fail(result, "start_record into a folder that cannot be written must say why")
    error = wait_until(lambda: [e for e in events if e.get("status") == "error" and e.get("source") == "record"], 10)
    stop.set()
    result["sse"] = error
    if not error:
        fail(result, "the recording error did not reach /sse")
    if not speaks(url, "0"):
        fail(result, "the session stopped speaking")
    print(json.dumps(result))


def check_vcam(url):
    result = {}
    status = wait_until(lambda: retrying(url, "virtualcam"), 10)
    result["virtualcam"] = status
    if not status or "No such file or directory" not in status:
        fail(result, "the missing camera device is not reported")
    if not speaks(url, "0"):
        fail(result, "the session stopped speaking")
    print(json.dumps(result))


def unwritable_folder(work):
    """A folder this process cannot write: a read-only one, or (for root,
    who writes anywhere) one that cannot be made under /sys."""
    path = os.path.join(work, "read_only")
    os.mkdir(path, 0o555)
    try:
        open(os.path.join(path, "probe"), "w").close()
    except OSError:
        return path
    return "/sys/lipstream-records"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lipstream")
    ap.add_argument("--avatar-dir")
    ap.add_argument("--check", nargs=4, metavar=("URL", "PID", "PART", "ARG"))
    args = ap.parse_args()
    if args.check:
        url, _, part, arg = args.check
        check_rtmp_and_record(url, arg) if part == "rtmp" else check_vcam(url)
        return
    work = tempfile.mkdtemp(prefix="lipstream_failures_")
    try:
        folder = unwritable_folder(work)
        closed = f"rtmp://127.0.0.1:{free_port()}/live/lipstream"
        status = rerun_under_serve(args.lipstream, args.avatar_dir,
                                   ["--transport", "rtmp", "--push_url", closed, "--record", folder],
                                   ["rtmp", folder])
        if status == 0:
            status = rerun_under_serve(args.lipstream, args.avatar_dir,
                                       ["--transport", "virtualcam", "--vcam_device", "/dev/video-lipstream-none",
                                        "--vcam_audio", "none"], ["vcam", "-"])
    finally:
        os.chmod(os.path.join(work, "read_only"), 0o755)
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(status)


if __name__ == "__main__":
    main()
