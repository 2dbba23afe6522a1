#!/usr/bin/python3
"""What the output tests (record, RTMP, WHIP, virtual camera) share.

- HTTP: post() (from aiortc_client), get_json(), get_raw(), session_info()
  (one session's entry in /api/admin/sessions), wait_until().
- WebRTC: WebrtcViewer opens a session with python3-aiortc and consumes
  its tracks, on a background asyncio loop, so a test can drive the session
  over HTTP meanwhile.
- Servers: rerun_under_serve() runs this test again, in --check mode, as the
  command of serve.py (tests/e2e/serve.py: the Debug server, stopped with
  SIGINT and checked for a clean, sanitizer-quiet exit), with extra server
  options; start_server() starts one directly, for tests that kill it.
- fail(): print the measurements and exit 1.
"""
import asyncio
import json
import os
import shlex
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from aiortc_client import post  # noqa: F401  (re-exported)
from serve import free_port, wait_ready

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = sys.executable


def get_raw(url, timeout=30):
    """(status, headers, body bytes) of a GET, error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def get_json(url):
    status, _, body = get_raw(url)
    return dict(json.loads(body), http_status=status)


def session_info(url, sid):
    for s in get_json(url + "/api/admin/sessions").get("data", []):
        if s.get("sessionid") == sid:
            return s
    return None


def output_status(url, sid, kind):
    s = session_info(url, sid) or {}
    for o in s.get("outputs", []):
        if o.get("output") == kind:
            return o.get("status", "")
    return None


def wait_until(predicate, timeout, step=0.2):
    """predicate()'s first true value within `timeout` s, else None."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return None


def fail(result, why):
    result["fail"] = why
    print(json.dumps(result))
    sys.exit(1)


class WebrtcViewer:
    """A python3-aiortc peer watching one lipstream session."""

    def __init__(self, url):
        self.url = url
        self.video_frames = 0
        self.audio_samples = 0
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.pc = None
        self.sid = None

    def _run(self, coro, timeout=60):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _consume(self, track):
        try:
            while True:
                frame = await track.recv()
                if track.kind == "video":
                    self.video_frames += 1
                else:
                    self.audio_samples += frame.samples
        except MediaStreamError:
            pass

    async def _open(self):
        self.pc = RTCPeerConnection()
        self.pc.on("track", lambda track: asyncio.ensure_future(self._consume(track)))
        self.pc.addTransceiver("video", direction="recvonly")
        self.pc.addTransceiver("audio", direction="recvonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        body = {"sdp": self.pc.localDescription.sdp, "type": "offer"}
        answer = await self.loop.run_in_executor(None, post, self.url + "/offer", body)
        if "sdp" not in answer:
            raise RuntimeError(f"/offer: {answer}")
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        return answer["sessionid"]

    def open(self):
        """Opens the session; returns its id once frames arrive."""
        self.sid = self._run(self._open())
        if not wait_until(lambda: self.video_frames > 0, 30):
            raise RuntimeError("no video arrived over WebRTC")
        return self.sid

    def close(self):
        if self.pc:
            self._run(self.pc.close())
        self.loop.call_soon_threadsafe(self.loop.stop)


def rerun_under_serve(lipstream, avatar_dir, server_args, check_args):
    """Runs `this script --check {url} {pid} check_args...` under serve.py with
    `server_args`; returns its exit status."""
    cmd = [PYTHON, os.path.join(HERE, "serve.py"), "--lipstream", lipstream, "--avatar-dir", avatar_dir,
           "--server-args=" + " ".join(shlex.quote(a) for a in server_args), "--",
           PYTHON, os.path.abspath(sys.argv[0]), "--check", "{url}", "{pid}", *check_args]
    return subprocess.call(cmd)


def start_server(lipstream, avatar_dir, server_args, log_path):
    """Starts `lipstream serve` on a free port (the environment of serve.py);
    returns (process, url) once it answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS", "detect_leaks=1"),
                                                 "fast_unwind_on_malloc=0"]))
    env["LSAN_OPTIONS"] = "suppressions=" + os.path.join(HERE, "lsan.supp") + ":print_suppressions=0"
    log = open(log_path, "wb")
    proc = subprocess.Popen([lipstream, "serve", "--listenport", str(port), "--avatar_dir", avatar_dir,
                             *server_args], stdout=log, stderr=subprocess.STDOUT, env=env)
    log.close()
    if not wait_ready(url, proc):
        proc.kill()
        proc.wait()
        raise RuntimeError("the server did not start:\n" + open(log_path, errors="replace").read())
    return proc, url
