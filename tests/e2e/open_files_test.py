#!/usr/bin/python3
"""The open-file limit: raised at start-up; when it runs out, sessions are refused, the server lives on.

A process out of file descriptors does not fail politely: GLib aborts when it cannot make a new main
context's wake-up pipe, and every session makes some. Runs `lipstream serve` twice through
serve.Server:
 1. soft limit 256, hard 4096 (or less, as this process's): the server raises its soft limit to the
    hard one (/proc/PID/limits).
 2. soft and hard limit 100 with --max_session 8 (room for one session: it takes about 31
    descriptors beside the server's 6): the log warns at start-up that the limit leaves room for
    fewer sessions than --max_session; the first session streams; a second is refused with 503
    naming the descriptors, instead of killing the server; the first session's event streams stop
    at eight, the ninth refused with 429; connections that hold a descriptor without finishing a
    request (none of it, half a request line, headers announcing a body that never comes) are
    closed after the server's idle timeout, while the event streams, idle between their keepalives,
    stay open; once the first session's client has left, a new session opens and streams.
Both runs must stop cleanly.

usage: open_files_test.py LIPSTREAM AVATAR_DIR
"""
import asyncio
import os
import resource
import socket
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aiortc_client as client  # noqa: E402
from serve import Server  # noqa: E402

MAX_STREAMS = 8   # server/sse.c
IDLE_TIMEOUT_S = 20   # server/http.c


class Failure(Exception):
    pass


def fail(why):
    """Stops the test; the server it runs in is stopped on the way out (serve.Server)."""
    raise Failure(why)


def open_files_limit(pid):
    """The server's (soft, hard) limit of open files, from /proc/PID/limits."""
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), int(hard)
    fail("no 'Max open files' in /proc/PID/limits")


def open_event_stream(url, sid):
    """A connection to the session's /sse, its status line read and the connection kept; (status, socket)."""
    u = urllib.parse.urlparse(url)
    s = socket.create_connection((u.hostname, u.port), timeout=10)
    s.sendall(f"GET /sse?sessionid={sid} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    line = b""
    while not line.endswith(b"\r\n"):
        chunk = s.recv(1)
        if not chunk:
            break
        line += chunk
    return int(line.split()[1]), s


async def streaming_session(url, what):
    session = await client.connect(url)
    if not session.sid:
        fail(f"{what} was refused: {session.answer}")
    deadline = time.monotonic() + 20
    while session.receiver.video_frames == 0:
        if time.monotonic() > deadline:
            fail(f"{what} streamed no video in 20 s")
        await asyncio.sleep(0.05)
    return session


def idle_connections(url):
    """Connections that never finish a request: nothing sent, half a request line, a body short of its length."""
    u = urllib.parse.urlparse(url)
    sent = [b"", b"GET /metr", b"POST /human HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\""]
    socks = []
    for data in sent:
        s = socket.create_connection((u.hostname, u.port), timeout=1)
        s.sendall(data)
        socks.append(s)
    return socks


def seconds_until_closed(socks, limit):
    """Seconds until the server closed each socket (None: open after `limit` s)."""
    start, closed = time.monotonic(), {}
    while len(closed) < len(socks) and time.monotonic() - start < limit:
        for i, s in enumerate(socks):
            if i in closed:
                continue
            try:
                if not s.recv(4096):
                    closed[i] = time.monotonic() - start
            except socket.timeout:
                pass
            except OSError:
                closed[i] = time.monotonic() - start
    return [closed.get(i) for i in range(len(socks))]


def still_open(s):
    """Whether the server has kept a connection open (reading what it sent meanwhile)."""
    s.setblocking(False)
    try:
        while True:
            if not s.recv(65536):
                return False
    except BlockingIOError:
        return True
    except OSError:
        return False


def log_text(server):
    with open(server.log_path, errors="replace") as f:
        return f.read()


def raised_at_start(lipstream, avatar_dir):
    hard = min(4096, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    with Server(lipstream, avatar_dir, open_files=(256, hard)) as server:
        if not server.ready:
            fail("the server did not start")
        limits = open_files_limit(server.proc.pid)
        print({"started with": (256, hard), "server's limit": limits})
        if limits != (hard, hard):
            fail(f"the server kept the soft limit {limits[0]} under the hard limit {hard}")
    return server.clean


async def exhausted(lipstream, avatar_dir):
    with Server(lipstream, avatar_dir, ["--max_session", "8"], open_files=(100, 100)) as server:
        if not server.ready:
            fail("the server did not start")
        url = server.url
        if "leaves room for about 0 of --max_session 8 sessions" not in log_text(server):
            fail("no warning at start-up that the open-file limit leaves no room for --max_session")
        first = await streaming_session(url, "the first session")
        second = await client.connect(url)
        answer = second.answer
        print({"second session": answer})
        if second.sid or answer.get("http_status") != 503 or "file descriptors" not in answer.get("msg", ""):
            fail(f"a session beyond the open-file limit was not refused with 503 naming it: {answer}")
        streams = []
        for i in range(MAX_STREAMS + 1):
            status, s = open_event_stream(url, first.sid)
            streams.append(s)
            if status != (200 if i < MAX_STREAMS else 429):
                fail(f"event stream {i + 1} of one session answered {status}")
        print({"event streams": f"{MAX_STREAMS} opened, the next refused with 429"})
        idle = idle_connections(url)
        closed_after = await asyncio.get_running_loop().run_in_executor(
            None, seconds_until_closed, idle, IDLE_TIMEOUT_S + 10)
        print({"idle connections closed after (s)": closed_after})
        if any(t is None or t < IDLE_TIMEOUT_S - 1 for t in closed_after):
            fail(f"connections without a whole request were not closed after {IDLE_TIMEOUT_S} s: {closed_after}")
        if not all(still_open(s) for s in streams[:MAX_STREAMS]):
            fail("event streams were closed with the idle connections")
        for s in streams + idle:
            s.close()
        frames = first.receiver.video_frames
        await asyncio.sleep(1)
        if first.receiver.video_frames <= frames:
            fail("the first session stopped streaming after the refusals")
        await first.close()
        if client.seconds_until_closed(url, first.sid, 10) is None:
            fail("the first session was not closed 10 s after its client left")
        third = await streaming_session(url, "a session after the first closed")
        await third.close()
        client.seconds_until_closed(url, third.sid, 10)
    return server.clean


def main():
    lipstream, avatar_dir = sys.argv[1:3]
    try:
        clean = raised_at_start(lipstream, avatar_dir)
        clean = asyncio.run(exhausted(lipstream, avatar_dir)) and clean
    except Failure as e:
        print("FAIL:", e)
        clean = False
    client.exit_now(0 if clean else 1)


if __name__ == "__main__":
    main()
