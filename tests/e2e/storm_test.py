#!/usr/bin/python3
"""Many clients at once, well-behaved and not, for STORM_S seconds.

The test starts an LLM (tests/speech/llm_server.py, a local test server
speaking the OpenAI streaming protocol, each request answered by a
scenario picked at random: a reply, a slow one, a stall, a broken stream,
an error), then runs itself (--client) under serve.py against `lipstream
serve` with the server arguments given (in the suite: --model musetalk with
the small random models, --max_session 3, the lag policy "wait" and action
clips) and --llm_base_url at that LLM, so that inference, speech, chat
replies, uploads, recordings and event streams of several sessions
overlap with sessions opening and closing:
 - CHURNERS clients (one more than --max_session) open aiortc sessions in
   turn; a refused one must be the session limit's 503. An open session
   does, for 1-4 s, requests picked at random: speak (/human echo or
   chat, interrupting or not), /interrupt_talk, /is_speaking,
   /set_audiotype, start and end a recording and fetch it, upload a WAV or
   random bytes to /humanaudio, read its /sse stream for a moment; then
   its client leaves (DTLS close). One churner's last session takes its
   answer and goes without connecting (the server's 30 s connection limit
   closes it).
 - POKERS threads send bad requests at random: malformed JSON, wrong
   types, unknown and live session ids with bad fields, garbage SDP,
   oversized bodies, wrong methods, and raw sockets that lie about their
   Content-Length, hang up mid-body or send no valid request line.
 - One thread scrapes /metrics and /api/admin/sessions every 0.2 s.
LS_STORM_S sets the storm's seconds (a soak run). Every answer must have a status that request documents and a JSON body
(code -1 with a message for errors): a 500 is a failure, as is a scrape
slower than SCRAPE_S. Afterwards every session must close (open and
closing both 0 within CLOSE_S), and the server's threads and file
descriptors must be back to what they were after a warm-up session that
used each feature once. serve.py then checks that it stops cleanly, with
no sanitizer report.

usage: storm_test.py --lipstream BIN --avatar-dir DIR [--server-args="ARGS"]
       storm_test.py --client URL PID   (run by the first form, under serve.py)
"""
import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "speech"))
import aiortc_client as client  # noqa: E402
import llm_server  # noqa: E402
import local_server  # noqa: E402
from http_client import multipart, request, wav_bytes  # noqa: E402
from metrics_test import scrape, value  # noqa: E402
from sessions_test import figures  # noqa: E402

STORM_S = float(os.environ.get("LS_STORM_S", 30))   # longer for a soak run
CHURNERS = 4
POKERS = 2
SCRAPE_S = 5
CLOSE_S = 50      # the session left unconnected is closed at 30 s
STUCK_S = 60      # a churner still busy this long after the storm has hung
SEED = 20261125


def fail_now(why):
    """Fails, ending the process at once: with aiortc's sessions about, Python's finalisation can hang."""
    print("FAIL: " + why)
    client.exit_now(1)


class Tally:
    """Answers counted by request, the failures and the live sessions' ids, shared by every task and
    thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts, self.failures, self.live = {}, [], set()

    def check(self, what, status, data, allowed):
        with self.lock:
            key = f"{what} {status}"
            self.counts[key] = self.counts.get(key, 0) + 1
            well_formed = isinstance(data, dict) and (status == 200 or (data.get("code") == -1 and data.get("msg")))
            if status not in allowed or not well_formed:
                self.failures.append(f"{what}: {status} {str(data)[:200]} (allowed {sorted(allowed)})")

    def fail(self, why):
        with self.lock:
            self.failures.append(why)

    def set_live(self, sid, live):
        with self.lock:
            (self.live.add if live else self.live.discard)(sid)

    def some_live(self, rng):
        with self.lock:
            return rng.choice(sorted(self.live)) if self.live else "nobody"


def json_call(url, tally, what, path, body, allowed, method="POST"):
    status, _, data = request(url, method, path, body)
    tally.check(what, status, data, allowed)
    return data


# --- a session's requests --------------------------------------------------------------------------

def read_sse_briefly(url, sid):
    """Opens the session's /sse stream, holds it for 0.3 s after its status line, hangs up; the status."""
    u = urllib.parse.urlparse(url)
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        s.sendall(f"GET /sse?sessionid={sid} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        head = b""
        while b"\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                break
            head += chunk
        time.sleep(0.3)
    parts = head.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


SESSION_REQUESTS = 11


def session_request(url, tally, rng, pick, sid, clip_wav):
    """Request number `pick` (of SESSION_REQUESTS) on a live session, checked."""
    if pick == 0:
        json_call(url, tally, "/human echo", "/human",
                  {"sessionid": sid, "text": rng.choice(["Hello.", "A longer sentence, spoken in two parts."]),
                   "type": "echo", "interrupt": rng.random() < 0.3}, {200})
    elif pick == 1:   # 409: a reply still streaming; 502: the LLM failed before its reply started
        json_call(url, tally, "/human chat", "/human",
                  {"sessionid": sid, "text": "hi", "type": "chat", "interrupt": rng.random() < 0.5}, {200, 409, 502})
    elif pick == 2:
        json_call(url, tally, "/interrupt_talk", "/interrupt_talk", {"sessionid": sid}, {200})
    elif pick == 3:
        json_call(url, tally, "/is_speaking", "/is_speaking", {"sessionid": sid}, {200})
    elif pick == 4:
        audiotype = rng.choice([2, 2, 1, 7])   # 2 is the clip of clips.json
        json_call(url, tally, f"/set_audiotype {audiotype}", "/set_audiotype",
                  {"sessionid": sid, "audiotype": audiotype}, {200} if audiotype == 2 else {400})
    elif pick in (5, 6):
        kind = "start_record" if pick == 5 else "end_record"
        json_call(url, tally, f"/record {kind}", "/record", {"sessionid": sid, "type": kind}, {200, 409})
    elif pick == 7:
        status, _, data = request(url, "GET", f"/record/{sid}")
        tally.check("GET /record", status, data if status != 200 else {}, {200, 404})
    elif pick in (8, 9):
        good = pick == 8
        body, headers = multipart({"sessionid": (None, sid),
                                   "file": ("speech.wav" if good else "noise.bin",
                                            clip_wav if good else rng.randbytes(rng.randrange(1, 4000)))})
        status, _, data = request(url, "POST", "/humanaudio", body, headers)
        tally.check(f"/humanaudio {'WAV' if good else 'random bytes'}", status, data, {200} if good else {400})
    else:
        status = read_sse_briefly(url, sid)
        tally.check("GET /sse", status, {}, {200})


async def leave_unconnected(url, tally):
    """An offer whose answer is taken but never applied: no ICE, no DTLS."""
    pc = client.RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    body = {"sdp": pc.localDescription.sdp, "type": "offer"}
    answer = await asyncio.get_running_loop().run_in_executor(None, client.post, url + "/offer", body)
    tally.check("/offer left unconnected", answer.get("http_status", 200), answer, {200, 503})
    await pc.close()


async def churn(url, tally, rng, stop_at, clip_wav, last_unconnected, steps, me):
    """Sessions in turn until stop_at; steps[me] says what it is doing (for a hang's report)."""
    loop = asyncio.get_running_loop()
    while time.monotonic() < stop_at:
        steps[me] = "opening a session"
        session = await client.connect(url)
        if not session.sid:
            refused = session.answer
            ok = refused.get("http_status") == 503 and "session limit" in refused.get("msg", "")
            tally.check("/offer refused", refused.get("http_status"), refused, {503} if ok else set())
            await asyncio.sleep(rng.uniform(0.2, 1.0))
            continue
        tally.check("/offer", 200, {}, {200})
        tally.set_live(session.sid, True)
        until = time.monotonic() + rng.uniform(1, 4)
        while time.monotonic() < until:
            pick = rng.randrange(SESSION_REQUESTS)
            steps[me] = f"request {pick} on session {session.sid[:8]}"
            await loop.run_in_executor(None, session_request, url, tally, rng, pick, session.sid, clip_wav)
            await asyncio.sleep(rng.uniform(0.05, 0.4))
        tally.set_live(session.sid, False)
        steps[me] = f"closing session {session.sid[:8]}"
        await session.close()
    if last_unconnected:
        steps[me] = "leaving a session unconnected"
        await leave_unconnected(url, tally)
    steps[me] = "done"


# --- bad requests ----------------------------------------------------------------------------------

def raw_exchange(url, data, hold_s=0.0):
    """Sends raw bytes, waits hold_s, reads what comes back within 2 s, hangs up."""
    u = urllib.parse.urlparse(url)
    with socket.create_connection((u.hostname, u.port), timeout=2) as s:
        s.sendall(data)
        time.sleep(hold_s)
        try:
            s.recv(4096)
        except OSError:
            pass


def poke(url, tally, rng):
    routes = ["/human", "/interrupt_talk", "/is_speaking", "/set_audiotype", "/record", "/offer"]
    sid = tally.some_live(rng)
    pick = rng.randrange(9)
    if pick == 0:
        json_call(url, tally, "malformed JSON", rng.choice(routes), rng.choice(["{bad", "[1,", "\"x\"", "{}}"]),
                  {400})
    elif pick == 1:
        json_call(url, tally, "wrong types", rng.choice(routes[:5]), {"sessionid": [1], "text": 5}, {400, 404})
    elif pick == 2:
        json_call(url, tally, "unknown session", rng.choice(routes[:5]),
                  {"sessionid": "%08x" % rng.getrandbits(32), "text": "hi", "type": "start_record"}, {404})
    elif pick == 3:   # a live session (or one closing meanwhile) with a bad field
        path, body = rng.choice([("/human", {"sessionid": sid}), ("/human", {"sessionid": sid, "text": "hi",
                                                                            "type": "sing"}),
                                 ("/set_audiotype", {"sessionid": sid, "audiotype": "loud"}),
                                 ("/record", {"sessionid": sid, "type": "pause"})])
        json_call(url, tally, f"bad field {path}", path, body, {400, 404})
    elif pick == 4:
        json_call(url, tally, "garbage SDP", "/offer", {"sdp": rng.choice(["garbage", "v=0\r\n", "m=\r\n" * 50]),
                                                        "type": "offer"}, {400, 503})
    elif pick == 5:
        json_call(url, tally, "oversized body", "/human", b"x" * (2 << 20), {413})
    elif pick == 6:
        json_call(url, tally, "wrong method", "/human", None, {405}, method="GET")
    elif pick == 7:   # a body shorter than announced, then a hang-up
        raw_exchange(url, b"POST /human HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          b"Content-Length: 1000\r\n\r\n{\"sessionid\": \"", hold_s=rng.uniform(0, 0.5))
    else:             # no valid request line
        raw_exchange(url, rng.choice([b"BLAH\r\n\r\n", b"\x00\xff" * 64 + b"\r\n\r\n", b"GET / HTTP/9.9\r\n"]))


def poker(url, tally, seed, stop_at):
    rng = random.Random(seed)
    while time.monotonic() < stop_at:
        try:
            poke(url, tally, rng)
        except OSError as e:   # a refused connection or a reset: the server is in trouble
            tally.fail(f"a bad request met {e!r}")
        time.sleep(rng.uniform(0.01, 0.1))


def scraper(url, tally, stop_at, slowest):
    while time.monotonic() < stop_at:
        for path in ("/metrics", "/api/admin/sessions"):
            before = time.monotonic()
            try:
                status, _, data = request(url, "GET", path)
            except OSError as e:
                tally.fail(f"{path} did not answer: {e!r}")
                return
            slowest[0] = max(slowest[0], time.monotonic() - before)
            if status != 200:
                tally.fail(f"{path}: {status}")
        time.sleep(0.2)


# --- the run ---------------------------------------------------------------------------------------

async def warm_up(url, tally, clip_wav):
    """One session that uses each feature once, so that the baseline holds their thread pools."""
    session = await client.connect(url)
    if not session.sid:
        fail_now(f"the warm-up session was refused: {session.answer}")
    loop = asyncio.get_running_loop()
    for pick in range(SESSION_REQUESTS):
        await loop.run_in_executor(None, session_request, url, tally, random.Random(pick), pick, session.sid,
                                   clip_wav)
    await asyncio.sleep(1)
    await session.close()


def wait_closed(url, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        samples, _ = scrape(url)
        if value(samples, "lipstream_sessions") == 0 and value(samples, "lipstream_sessions_closing") == 0:
            return True
        time.sleep(0.5)
    return False


def fd_kinds(pid):
    """The server's open file descriptors counted by what they are (socket, pipe, anon_inode:[eventfd], a path)."""
    kinds = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        kind = target.split(":[")[0] if ":[" in target and not target.startswith("anon_inode") else target
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def settled_figures(pid, want, timeout=10):
    """The server's figures once back to `want` (threads end a moment after their session), or at timeout."""
    deadline = time.monotonic() + timeout
    while True:
        now = figures(pid)
        if (now["threads"] <= want["threads"] and now["fds"] <= want["fds"]) or time.monotonic() > deadline:
            return now
        time.sleep(0.5)


async def storm(url, pid):
    tally = Tally()
    clip_wav = wav_bytes(0.4)
    await warm_up(url, tally, clip_wav)
    if not wait_closed(url, 20):
        fail_now("the warm-up session was not closed")
    time.sleep(1)   # the warm-up session's threads end a moment after it
    before = figures(pid)
    tally.counts.clear()

    stop_at = time.monotonic() + STORM_S
    slowest = [0.0]
    threads = [threading.Thread(target=poker, args=(url, tally, SEED + i, stop_at), daemon=True)
               for i in range(POKERS)]
    threads.append(threading.Thread(target=scraper, args=(url, tally, stop_at, slowest), daemon=True))
    for t in threads:
        t.start()
    steps = ["starting"] * CHURNERS
    try:
        await asyncio.wait_for(asyncio.gather(*(churn(url, tally, random.Random(SEED * 10 + i), stop_at, clip_wav,
                                                      i == 0, steps, i) for i in range(CHURNERS))),
                               STORM_S + STUCK_S)
    except asyncio.TimeoutError:
        print(json.dumps(tally.counts, indent=1), tally.failures[:20])
        fail_now(f"churners stuck {STUCK_S} s after the storm: {steps}")
    for t in threads:
        t.join(STUCK_S)
    closed = wait_closed(url, CLOSE_S)
    after = settled_figures(pid, before)

    print(json.dumps({"answers": dict(sorted(tally.counts.items())), "slowest scrape (s)": round(slowest[0], 2),
                      "all closed": closed, "before": before, "after": after}, indent=1))
    if slowest[0] > SCRAPE_S:
        tally.fail(f"a scrape took {slowest[0]:.1f} s (bound {SCRAPE_S} s)")
    if not closed:
        tally.fail(f"sessions still open or closing {CLOSE_S} s after the storm")
    if after["threads"] > before["threads"] or after["fds"] > before["fds"]:
        tally.fail(f"threads or file descriptors left behind: {fd_kinds(pid)}")
    for f in tally.failures[:40]:
        print("FAIL", f)
    if tally.failures:
        fail_now(f"{len(tally.failures)} failures")
    print("ok")
    client.exit_now(0)


async def client_or_report(url, pid):
    try:
        await storm(url, pid)
    except Exception:
        traceback.print_exc()
        fail_now("an exception in the test")


class RandomScenario(llm_server.Handler):
    """The test LLM, each request answered by a scenario of llm_server.py picked at random."""
    SCENARIOS = ["ok", "slow", "stall", "eof", "error500", "malformed", "errorevent"]

    def do_POST(self):
        self.path = "/" + random.choice(self.SCENARIOS) + self.path
        super().do_POST()


def run_parent(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--lipstream", required=True)
    ap.add_argument("--avatar-dir", required=True)
    ap.add_argument("--server-args", default="", help='one string, given as --server-args="--opt value"')
    args = ap.parse_args(argv)
    llm = local_server.QuietServer(("127.0.0.1", 0), RandomScenario)
    threading.Thread(target=llm.serve_forever, daemon=True).start()
    server_args = f"{args.server_args} --llm_base_url http://127.0.0.1:{llm.server_address[1]}/v1 --llm_model test-model"
    return subprocess.call([sys.executable, os.path.join(HERE, "serve.py"), "--lipstream", args.lipstream,
                            "--avatar-dir", args.avatar_dir, "--server-args=" + server_args, "--",
                            sys.executable, os.path.abspath(__file__), "--client", "{url}", "{pid}"])


if __name__ == "__main__":
    if sys.argv[1:2] == ["--client"] and len(sys.argv) == 4:
        asyncio.run(client_or_report(sys.argv[2], int(sys.argv[3])))
    else:
        sys.exit(run_parent(sys.argv[1:]))
