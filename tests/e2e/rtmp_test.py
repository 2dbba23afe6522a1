#!/usr/bin/python3
"""Pushing over RTMP into a loopback nginx (--transport rtmp --push_url ...).

The server starts first, pushing session 0 to a port where nothing listens
yet (so it is retrying); then the test starts nginx with libnginx-mod-rtmp
as its own child (its nginx.conf written to a temp dir, `daemon off;`,
started with -p), waits for the push to go live, and pulls the stream back
with rtmp2src: it must decode video at about 25 fps and AAC audio. Then
nginx is killed (SIGKILL) and restarted: the server must report the broken
push, reconnect by itself (back-off) and the pulled stream must play again.
Reconnection time is measured from nginx's restart to the push being live.

usage: rtmp_test.py --lipstream BIN --avatar-dir DIR
Exits 77 (skipped) when nginx or its RTMP module is not installed.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import media_probe
from outputs_common import fail, free_port, output_status, post, rerun_under_serve, wait_until

RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"
NGINX_CONF = """load_module {module};
daemon off;
master_process off;
worker_processes 1;
error_log {dir}/error.log info;
pid {dir}/nginx.pid;
events {{ worker_connections 64; }}
rtmp {{
    server {{
        listen 127.0.0.1:{port};
        application live {{ live on; }}
    }}
}}
"""


def start_nginx(work, port):
    with open(os.path.join(work, "nginx.conf"), "w") as f:
        f.write(NGINX_CONF.format(module=RTMP_MODULE, dir=work, port=port))
    return subprocess.Popen(["nginx", "-p", work, "-c", os.path.join(work, "nginx.conf"), "-e",
                             os.path.join(work, "error.log")], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def pull(stream_url, seconds=4.0):
    """Decodes the stream for `seconds`: frames and audio that arrived."""
    return media_probe.probe(stream_url, seconds)


def check(url, port):
    result = {}
    stream_url = f"rtmp://127.0.0.1:{port}/live/lipstream"
    work = tempfile.mkdtemp(prefix="lipstream_nginx_")
    nginx = start_nginx(work, port)
    try:
        result["before_nginx"] = output_status(url, "0", "rtmp")
        if not (result["before_nginx"] or "").startswith("retrying"):
            fail(result, "the push to an absent server must be retrying")
        t0 = time.monotonic()
        if not wait_until(lambda: output_status(url, "0", "rtmp") == "live", 40):
            fail(result, "the push did not go live once nginx ran")
        result["live_after_s"] = round(time.monotonic() - t0, 2)
        result["first_pull"] = first = pull(stream_url)
        # A viewer joins at a keyframe (every 2 s): at least 2 s of 4 arrive.
        if first["video_frames"] < 50 or first["audio_seconds"] < 2 or first["width"] == 0:
            fail(result, "too little came back from nginx")

        nginx.send_signal(signal.SIGKILL)
        nginx.wait()
        broken = wait_until(lambda: (output_status(url, "0", "rtmp") or "").startswith("retrying"), 10)
        result["after_kill"] = broken
        if not broken:
            fail(result, "the server did not notice that nginx died")
        speak = post(url + "/human", {"sessionid": "0", "type": "echo", "text": "Still here."})
        if speak.get("code") != 0:
            fail(result, f"the session stopped working: {speak}")
        time.sleep(1)
        nginx = start_nginx(work, port)
        t_restart = time.monotonic()
        if not wait_until(lambda: output_status(url, "0", "rtmp") == "live", 40):
            fail(result, "the push did not resume after nginx came back")
        result["reconnect_s"] = round(time.monotonic() - t_restart, 2)
        result["second_pull"] = second = pull(stream_url)
        if second["video_frames"] < 50 or second["audio_seconds"] < 2:
            fail(result, "too little came back after the reconnection")
        print(json.dumps(result))
    finally:
        if nginx.poll() is None:
            nginx.send_signal(signal.SIGKILL)
            nginx.wait()
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lipstream")
    ap.add_argument("--avatar-dir")
    ap.add_argument("--check", nargs=3, metavar=("URL", "PID", "PORT"))
    args = ap.parse_args()
    if args.check:
        check(args.check[0], int(args.check[2]))
        return
    if not shutil.which("nginx") or not os.path.exists(RTMP_MODULE):
        print("nginx with libnginx-mod-rtmp is not installed: skipped")
        sys.exit(77)
    port = free_port()
    push_url = f"rtmp://127.0.0.1:{port}/live/lipstream"
    sys.exit(rerun_under_serve(args.lipstream, args.avatar_dir, ["--transport", "rtmp", "--push_url", push_url],
                               [str(port)]))


if __name__ == "__main__":
    main()
