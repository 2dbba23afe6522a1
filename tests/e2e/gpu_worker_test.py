#!/usr/bin/python3
"""The live server's inference worker on a GPU: ready before the first session.

Run by serve.py against `lipstream serve --device cuda --model musetalk
--batch_size N` (in the suite: the tests' CUDA emulator, tests/cuda.cmake,
with small random models). Before any session, /metrics must show the
start-up work a GPU server does:
 - a warm-up that took time, and per batch size 1..N one recording (a CUDA
   graph) made and replayed once, with N or N + 1 passes run directly (the
   first full batch, then the first pass of each other size, and of the full
   size again when merging the memory moved it); none failed;
 - activation memory held, and a per-session reservation for the whisper
   encoder measured (lipstream_session_reserved_bytes > 0).
Then an aiortc session speaks until the worker has rendered BATCHES render
calls, and /metrics must show that every one of them was replayed from a
recording (no direct pass, no recording made) and none grew the activation
memory (no device allocation inside a render call); /api/admin/sessions
says the same.

usage: gpu_worker_test.py URL BATCH_SIZE [BATCHES]
"""
import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aiortc_client as client  # noqa: E402
from metrics_test import fail, scrape, value, worker_figures  # noqa: E402


def check_started(start, batch_size):
    want = {"replayed": batch_size, "direct": start["passes"]["direct"], "recorded": batch_size, "failed": 0}
    if start["passes"] != want or want["direct"] not in (batch_size, batch_size + 1):
        fail(f"start-up passes {start['passes']}, want {want}")
    if not start["warm_up_s"] or start["warm_up_s"] <= 0:
        fail(f"no warm-up: {start}")
    if not start["reserved"] or start["reserved"] <= 0:
        fail(f"no memory reserved per session: {start}")
    if not start["activation_bytes"] or start["growths"] != 0 or start["batches"] != 0:
        fail(f"activation memory or batches before any session: {start}")


async def speak_until_rendered(url, batches, timeout):
    session = await client.connect(url)
    if not session.sid:
        fail(f"no session: {session.answer}")
    loop = asyncio.get_running_loop()
    reply = await loop.run_in_executor(None, client.post, url + "/human",
                                       {"sessionid": session.sid, "text": "Hello there.", "type": "echo"})
    if reply.get("code") != 0:
        fail(f"/human: {reply}")
    deadline = time.monotonic() + timeout
    while True:
        samples, _ = scrape(url)
        if value(samples, "lipstream_worker_batches_total", worker="0") >= batches:
            break
        if time.monotonic() > deadline:
            fail(f"fewer than {batches} render calls in {timeout} s")
        await asyncio.sleep(2)
    # read before the client leaves: closing the session waits for its batch in flight, which the
    # emulator takes seconds to render, on the server's main loop
    end = worker_figures(scrape(url)[0])
    _, admin = client.admin_session(url, session.sid)
    await session.close()
    return end, admin["workers"][0]


async def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    url, batch_size = sys.argv[1], int(sys.argv[2])
    batches = int(sys.argv[3]) if len(sys.argv) == 4 else 2
    start = worker_figures(scrape(url)[0])
    print({"at start-up": start})
    check_started(start, batch_size)

    end, admin_worker = await speak_until_rendered(url, batches, 600)
    print({"after speaking": end, "admin": {k: admin_worker.get(k) for k in
                                            ("batches", "activation_growths", "passes", "warm_up_s")}})
    rendered = end["batches"]
    want = dict(start["passes"], replayed=start["passes"]["replayed"] + rendered)
    if end["passes"] != want:
        fail(f"passes {end['passes']} after {rendered} render calls, want {want}: every one replayed")
    if end["growths"] != 0 or end["activation_bytes"] != start["activation_bytes"]:
        fail(f"render calls grew the activation memory: {end}")
    admin_passes = admin_worker.get("passes", {})
    if (admin_worker.get("activation_growths") != 0 or admin_passes.get("direct") != want["direct"]
            or admin_passes.get("recorded") != want["recorded"] or admin_passes.get("failed") != 0):
        fail(f"/api/admin/sessions disagrees: {admin_worker}")
    print("ok")


if __name__ == "__main__":
    asyncio.run(main())
