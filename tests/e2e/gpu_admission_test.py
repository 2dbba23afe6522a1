#!/usr/bin/python3
"""Sessions on a GPU whose memory runs out: refused at /offer, the server unharmed.

Runs `lipstream serve --device cuda` (in the suite: the tests' CUDA
emulator, whose device holds LS_CUDA_EMU_MEMORY bytes) twice, through
serve.Server, with aiortc clients that open sessions and do not speak:
 1. with room to spare: /metrics' lipstream_device_memory_bytes{kind="used"}
    before a session (U0), with one open (U1; the session takes at least
    the reservation /metrics announces for its whisper encoder), and once it
    is closed: back to U0 (a closed session gives all its device memory back);
 2. on a device of U1 + (U1 - U0) / 2 bytes (total in /metrics): the first
    session opens, a second is refused with HTTP 503 (the server is full:
    try later or elsewhere) and an error naming the device's memory, and
    takes nothing; the first still runs, streams video, and once its client
    has left, the device is back to U0. The server stops cleanly after each
    run.
The first run's session is left before its connection is up, the second
run's after it streamed; the server sees each client close (its DTLS
close_notify, or the failed connection).

usage: gpu_admission_test.py LIPSTREAM AVATAR_DIR SERVER_ARG...
"""
import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aiortc_client as client  # noqa: E402
from metrics_test import fail, scrape, value  # noqa: E402
from serve import Server  # noqa: E402

START_TIMEOUT = 300
ASAN_OPTIONS = "protect_shadow_gap=0"


def device_memory(url):
    """Bytes of the device in use, in all, and reserved per session (None: not in /metrics)."""
    samples, _ = scrape(url)
    figures = (value(samples, "lipstream_device_memory_bytes", kind="used"),
               value(samples, "lipstream_device_memory_bytes", kind="total"),
               value(samples, "lipstream_session_reserved_bytes"))
    return tuple(None if f is None else int(f) for f in figures)


async def open_session(url):
    session = await client.connect(url)
    if not session.sid:
        fail(f"a session was refused: {session.answer}")
    return session


async def close_session(url, session):
    await session.close()
    if await asyncio.get_running_loop().run_in_executor(None, client.seconds_until_closed, url, session.sid,
                                                        60) is None:
        fail(f"session {session.sid} still open 60 s after its client left")
    deadline = time.monotonic() + 60
    while value(scrape(url)[0], "lipstream_sessions_closing") != 0:   # its engine stopping
        if time.monotonic() > deadline:
            fail(f"session {session.sid} still closing 60 s after its client left")
        await asyncio.sleep(0.2)


async def measure(url):
    """U0, U1 and the reservation; checks that closing gives the memory back."""
    before, total, reserved = device_memory(url)
    if before is None or not reserved:
        fail(f"no device memory or no session reservation in /metrics: {before}, {reserved}")
    session = await open_session(url)
    with_one = device_memory(url)[0]
    await close_session(url, session)
    after = device_memory(url)[0]
    print({"used before a session": before, "with one": with_one, "after it closed": after,
           "reserved per session": reserved, "total": total})
    if with_one - before < reserved:
        fail(f"a session took {with_one - before} bytes, under its reservation {reserved}")
    if after != before:
        fail(f"a closed session kept {after - before} bytes of device memory")
    return before, with_one


async def wait_video(session, timeout=60):
    deadline = time.monotonic() + timeout
    while session.receiver.video_frames == 0:
        if time.monotonic() > deadline:
            fail(f"session {session.sid} streamed no video in {timeout} s")
        await asyncio.sleep(0.2)


async def refuse(url, limit, with_one):
    before, total, _ = device_memory(url)
    if total != limit:
        fail(f"the device's total is {total}, want {limit}")
    first = await open_session(url)
    refused = await client.connect(url)
    if refused.sid:
        fail(f"a second session opened on a device of {limit} bytes")
    answer = refused.answer
    print({"refused": answer})
    if answer.get("http_status") != 503 or answer.get("code") == 0 or "memory" not in answer.get("msg", ""):
        fail(f"the refusal is not a 503 naming the device's memory: {answer}")
    if device_memory(url)[0] != with_one:
        fail("the refused session kept device memory")
    if not client.admin_session(url, first.sid)[0]:
        fail("the first session is gone after the refusal")
    await wait_video(first)
    await close_session(url, first)
    after = device_memory(url)[0]
    print({"used before the first session": before, "after it streamed and closed": after})
    if after != before:
        fail(f"a session closed after streaming kept {after - before} bytes of device memory")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    lipstream, avatar_dir, server_args = sys.argv[1], sys.argv[2], sys.argv[3:]
    with Server(lipstream, avatar_dir, server_args, ASAN_OPTIONS, START_TIMEOUT) as server:
        if not server.ready:
            fail("the server did not start")
        before, with_one = asyncio.run(measure(server.url))
    if not server.clean:
        fail("the first server did not stop cleanly")
    limit = with_one + (with_one - before) // 2
    with Server(lipstream, avatar_dir, server_args, ASAN_OPTIONS, START_TIMEOUT,
                env={"LS_CUDA_EMU_MEMORY": str(limit)}) as server:
        if not server.ready:
            fail(f"the server did not start on a device of {limit} bytes")
        asyncio.run(refuse(server.url, limit, with_one))
    if not server.clean:
        fail("the second server did not stop cleanly")
    print("ok")


if __name__ == "__main__":
    main()
