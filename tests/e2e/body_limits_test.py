#!/usr/bin/python3
"""Request bodies cannot fill the server's memory (server/http_bodies.h).

libsoup keeps a whole request body in memory, and goes on reading it after the server has refused it.
Against a running server (serve.py, ASan's quarantine kept small so that freed memory leaves RSS):
 1. a chunked body of 300 MiB to /human (limit 1 MiB) is answered 413, and the server's RSS, read once
    the answer has come (after the whole body was read), grew by less than 64 MiB;
 2. the same with a Content-Length of 300 MiB, sent whole;
 3. four uploads announcing 64 MiB each (their bodies not sent yet) take the memory budget of bodies
    in flight: a fifth request with a body is answered 503 naming it, a request without one is served;
    once the four connections close, bodies are taken again.

usage: body_limits_test.py URL PID
"""
import os
import socket
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from http_client import request  # noqa: E402
from sessions_test import figures  # noqa: E402

MIB = 1 << 20
GROWTH_LIMIT_MIB = 64


def fail(why):
    sys.exit("FAIL: " + why)


def connect(url):
    u = urllib.parse.urlparse(url)
    return socket.create_connection((u.hostname, u.port), timeout=30)


def answer_of(s):
    """The status and body of the answer on socket s."""
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode(errors="replace")


def send_big(url, pid, chunked):
    s = connect(url)
    framing = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % (300 * MIB)
    s.sendall(b"POST /human HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + framing + b"\r\n\r\n")
    before = figures(pid)["rss_mib"]
    block = b"x" * MIB
    for _ in range(300):
        s.sendall(b"%x\r\n" % MIB + block + b"\r\n" if chunked else block)
    if chunked:
        s.sendall(b"0\r\n\r\n")
    status, body = answer_of(s)   # libsoup answers once it has read the whole body
    grown = figures(pid)["rss_mib"] - before
    s.close()
    what = "chunked" if chunked else "Content-Length"
    print({f"300 MiB body, {what}": status, "answer": body[:90], "server RSS grew (MiB)": round(grown, 1)})
    if status != 413 or "request body too large" not in body:
        fail(f"a {what} body over the limit was answered {status}: {body[:200]}")
    if grown > GROWTH_LIMIT_MIB:
        fail(f"the server kept a refused {what} body: its RSS grew by {grown:.0f} MiB")


def budget(url):
    held = []
    for _ in range(4):
        s = connect(url)
        s.sendall(b"POST /humanaudio HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                  b"Content-Length: %d\r\n\r\n" % (64 * MIB))
        held.append(s)
    time.sleep(0.5)
    status, _, data = request(url, "POST", "/human", {"sessionid": "none", "text": "hi"})
    print({"a body while 256 MiB are announced": status, "answer": data})
    if status != 503 or "too many request bodies" not in data.get("msg", ""):
        fail(f"a body beyond the budget of bodies in flight was answered {status}: {data}")
    status, _, _ = request(url, "GET", "/api/admin/config")
    if status != 200:
        fail(f"a request without a body was answered {status} while the budget was taken")
    for s in held:
        s.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status, _, data = request(url, "POST", "/human", {"sessionid": "none", "text": "hi"})
        if status != 503:
            break
        time.sleep(0.2)
    print({"a body once the uploads closed": status})
    if status != 404:
        fail(f"bodies were not taken again after the uploads closed: {status} {data}")


def main():
    url, pid = sys.argv[1], int(sys.argv[2])
    send_big(url, pid, chunked=True)
    send_big(url, pid, chunked=False)
    budget(url)
    print("request bodies stay within their limits")


if __name__ == "__main__":
    main()
