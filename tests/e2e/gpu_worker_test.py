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
says the same. The client then leaves with batches still in flight: the
session must be seen closing (out of lipstream_sessions, in
lipstream_sessions_closing) while /metrics keeps answering within
CLOSING_SCRAPE_S seconds - its producer and engine stop off the main loop -
until it is gone from both. Last, a second session speaks and the server is
stopped (SIGINT) just as a batch of it has begun: shutting down, the server
must close that session and keep answering while its engine stops - /metrics
shows it closing, and an /offer then is refused with 503 "the server is
shutting down" - before it frees the models. serve.py's own SIGINT then
comes during that shutdown: the server must not die of it, and exit cleanly.

usage: gpu_worker_test.py URL SERVER_PID BATCH_SIZE [BATCHES]
"""
import asyncio
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aiortc_client as client  # noqa: E402
from metrics_test import fail, scrape, value, worker_figures  # noqa: E402

# The slowest /metrics answer allowed while the session closes; an emulated batch takes 16-19 s.
CLOSING_SCRAPE_S = 5


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


async def speak(url):
    """A new session speaking a short sentence (about 25 render calls at batch size 1)."""
    session = await client.connect(url)
    if not session.sid:
        fail(f"no session: {session.answer}")
    loop = asyncio.get_running_loop()
    reply = await loop.run_in_executor(None, client.post, url + "/human",
                                       {"sessionid": session.sid, "text": "Hello there.", "type": "echo"})
    if reply.get("code") != 0:
        fail(f"/human: {reply}")
    return session


async def wait_rendered(url, batches, timeout, poll_s=2):
    deadline = time.monotonic() + timeout
    while value(scrape(url)[0], "lipstream_worker_batches_total", worker="0") < batches:
        if time.monotonic() > deadline:
            fail(f"fewer than {batches} render calls in {timeout} s")
        await asyncio.sleep(poll_s)


def watch_close(url, timeout):
    """Scrapes /metrics every 0.1 s from the client's leaving until no session is open or closing.
    Returns the slowest scrape (s), whether one saw the session closing and the seconds it took."""
    start = time.monotonic()
    slowest, seen_closing = 0.0, False
    while True:
        before = time.monotonic()
        try:
            samples, _ = scrape(url)
        except OSError as e:   # urllib's timeout included
            fail(f"/metrics did not answer while the session closed ({e}): the main loop waited on it")
        slowest = max(slowest, time.monotonic() - before)
        open_now = value(samples, "lipstream_sessions")
        closing = value(samples, "lipstream_sessions_closing")
        seen_closing |= open_now == 0 and closing == 1
        if open_now == 0 and closing == 0:
            return slowest, seen_closing, time.monotonic() - start
        if time.monotonic() - start > timeout:
            fail(f"{open_now} sessions open and {closing} closing {timeout} s after the client left")
        time.sleep(0.1)


async def wait_batch_at_worker(url, sid, timeout):
    """Until the session has a batch at the worker (lipstream_session_engine_batches)."""
    deadline = time.monotonic() + timeout
    while (value(scrape(url)[0], "lipstream_session_engine_batches", session=sid) or 0) < 1:
        if time.monotonic() > deadline:
            fail(f"session {sid} sent no batch to the worker in {timeout} s")
        await asyncio.sleep(0.1)


async def stop_while_closing(url, server_pid, rendered, sid):
    """Stops the server while a batch of the speaking session renders: render call `rendered` + 1 was
    counted (a call is counted when it ends) and the session has a batch at the worker, which is idle
    otherwise, so that batch is in flight for an emulated batch's 16-19 s (the session's next batch
    waits for its whisper features, so the count alone does not say one is in flight). Shutdown
    closes the session at once; until its engine has stopped the server must answer: /metrics with
    the session closing, /offer with a 503. An offer made beforehand is sent as soon as the closing
    is seen."""
    pc = client.RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    offer = {"sdp": pc.localDescription.sdp, "type": "offer"}
    await wait_rendered(url, rendered + 1, 120, poll_s=0.1)
    await wait_batch_at_worker(url, sid, 120)
    os.kill(server_pid, signal.SIGINT)
    deadline = time.monotonic() + 10
    while True:
        try:
            samples, _ = scrape(url)
        except OSError as e:
            fail(f"the server stopped answering with its session's engine still stopping ({e})")
        if value(samples, "lipstream_sessions") == 0 and value(samples, "lipstream_sessions_closing") == 1:
            break
        if time.monotonic() > deadline:
            fail("the speaking session was not closed within 10 s of SIGINT")
        time.sleep(0.05)
    answer = client.post(url + "/offer", offer)
    print({"offer while shutting down": answer})
    if answer.get("http_status") != 503 or "shutting down" not in answer.get("msg", ""):
        fail(f"an /offer during shutdown was not refused with 503 naming the shutdown: {answer}")


async def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    url, server_pid, batch_size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    batches = int(sys.argv[4]) if len(sys.argv) == 5 else 2
    start = worker_figures(scrape(url)[0])
    print({"at start-up": start})
    check_started(start, batch_size)

    session = await speak(url)
    await wait_rendered(url, batches, 240)
    end = worker_figures(scrape(url)[0])
    admin_worker = client.admin_session(url, session.sid)[1]["workers"][0]
    await session.close()
    slowest, seen_closing, closed_s = watch_close(url, 120)
    print({"close": {"slowest /metrics": round(slowest, 2), "seen closing": seen_closing,
                     "seconds until stopped": round(closed_s, 1)}})
    if not seen_closing or slowest > CLOSING_SCRAPE_S:
        fail(f"the main loop waited on the closing session's batch in flight: seen closing {seen_closing}, "
             f"slowest /metrics {slowest:.2f} s (bound {CLOSING_SCRAPE_S} s)")
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

    second = await speak(url)
    await stop_while_closing(url, server_pid, end["batches"], second.sid)
    print("ok; the server stopping, for serve.py to see it exit cleanly")
    client.exit_now(0)   # leaving the session as it is


if __name__ == "__main__":
    asyncio.run(main())
