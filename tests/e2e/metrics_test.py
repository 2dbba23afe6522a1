#!/usr/bin/python3
"""GET /metrics while a session speaks, read as a strict Prometheus scraper would.

Run by serve.py against a server with --model musetalk (small random models).
Scrapes with no session, then opens an aiortc session, sends /human echo
text and scrapes several times while it is spoken, then closes the session
and scrapes again. Each scrape must parse under the text exposition format
0.0.4 rules (parse() below: content type, HELP/TYPE once per family and
before its samples, families contiguous, valid metric and label names,
escaped label values, every value a number, counters named *_total). And:
 - lipstream_sessions is 0, 1, 0; the session's label appears on the
   session families while it is open and is gone once it is closed;
 - counters never decrease from one scrape to the next (server-wide
   lipstream_frames_total keeps the closed session's frames) and they grow:
   lip-synced and idle frames, the worker's frames, batches, busy seconds;
 - /api/admin/sessions carries the same figures (output_fps, infer_fps,
   lag_ms, engine_frames, engine_batches, speech_queue_ms, last_utterance, workers);
 - the CPU's worker: no warm-up, no recorded passes, no memory reserved per
   session; its activation memory grew in its first batches (no warm-up
   readied it). The GPU's are checked by gpu_worker_test.py.

usage: metrics_test.py URL
"""
import asyncio
import math
import os
import re
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aiortc_client as client  # noqa: E402

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"')
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}
SESSION_FAMILIES = ["lipstream_session_output_fps", "lipstream_session_lipsync_fps", "lipstream_session_lag_seconds",
                    "lipstream_session_engine_frames", "lipstream_session_engine_batches",
                    "lipstream_session_speech_queue_seconds", "lipstream_session_frames_total"]


def fail(why):
    sys.exit("FAIL: " + why)


def parse_labels(text, line):
    labels, pos = {}, 0
    while pos < len(text):
        m = LABEL.match(text, pos)
        if not m:
            fail(f"bad label set in {line!r}")
        if m.group(1) in labels:
            fail(f"label repeated in {line!r}")
        labels[m.group(1)] = m.group(2).replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
        pos = m.end()
        if pos < len(text):
            if text[pos] != ",":
                fail(f"bad label separator in {line!r}")
            pos += 1
    return labels


def parse(text):
    """{(name, frozenset(labels)): value}, checking the format strictly."""
    samples, types, helps, closed, current = {}, {}, set(), set(), None
    if not text.endswith("\n"):
        fail("the exposition does not end with a newline")
    for line in text[:-1].split("\n"):
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) < 3 or parts[1] not in ("HELP", "TYPE") or not NAME.match(parts[2]):
                fail(f"bad comment line {line!r}")
            name = parts[2]
            if name in closed or (current and name != current and name in types):
                fail(f"family {name} reopened")
            if current and current != name:
                closed.add(current)
            current = name
            if parts[1] == "HELP":
                if name in helps or len(parts) < 4:
                    fail(f"HELP of {name} repeated or empty")
                helps.add(name)
            else:
                if name in types or len(parts) != 4 or parts[3] not in TYPES:
                    fail(f"bad TYPE line {line!r}")
                if name in samples_of_family(samples, name):
                    fail(f"TYPE of {name} after its samples")
                types[name] = parts[3]
                if parts[3] == "counter" and not name.endswith("_total"):
                    fail(f"counter {name} does not end in _total")
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$", line)
        if not m:
            fail(f"bad sample line {line!r}")
        name = m.group(1)
        if name not in types:
            fail(f"sample {name} has no TYPE")
        if name != current:
            fail(f"sample {name} outside its family")
        try:
            value = float(m.group(3))
        except ValueError:
            fail(f"value of {line!r} is not a number")
        if math.isnan(value):
            fail(f"NaN in {line!r}")
        key = (name, frozenset(parse_labels(m.group(2) or "", line).items()))
        if key in samples:
            fail(f"sample repeated: {line!r}")
        samples[key] = value
    return samples, types


def samples_of_family(samples, name):
    return {n for n, _ in samples if n == name}


def scrape(url):
    with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
        ctype = r.headers.get("Content-Type", "")
        text = r.read().decode()
    if not ctype.startswith("text/plain") or "version=0.0.4" not in ctype:
        fail(f"content type {ctype!r}")
    return parse(text)


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def check_counters_monotonic(before, after, types):
    for key, v in before.items():
        if types.get(key[0]) == "counter" and key in after and after[key] < v:
            fail(f"counter {key} went down: {v} -> {after[key]}")


def sessions_labelled(samples):
    return {dict(labels).get("session") for name, labels in samples if name in SESSION_FAMILIES}


async def main():
    url = sys.argv[1]
    first, types = scrape(url)
    if value(first, "lipstream_sessions") != 0 or sessions_labelled(first):
        fail("sessions before any was opened")
    session = await client.connect(url)
    if not session.sid:
        fail(f"no session: {session.answer}")
    sid = session.sid
    await asyncio.sleep(3)
    loop = asyncio.get_running_loop()
    reply = await loop.run_in_executor(None, client.post, url + "/human",
                                       {"sessionid": sid, "text": "One, two, three.",
                                        "type": "echo"})
    if reply.get("code") != 0:
        fail(f"/human: {reply}")
    scrapes, previous = [], first
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        samples, types = scrape(url)
        check_counters_monotonic(previous, samples, types)
        previous = samples
        scrapes.append(samples)
        if value(samples, "lipstream_sessions") != 1 or sid not in sessions_labelled(samples):
            fail("the open session is missing from /metrics")
        speaking = (await loop.run_in_executor(None, client.post, url + "/is_speaking", {"sessionid": sid}))["data"]
        if len(scrapes) >= 3 and not speaking:
            break
    await asyncio.sleep(1.0)
    mine, admin = client.admin_session(url, sid)
    open_samples, types = scrape(url)
    check_counters_monotonic(previous, open_samples, types)
    await session.close()

    end = time.monotonic() + 40
    while time.monotonic() < end and client.get_json(url + "/api/admin/sessions")["data"]:
        await asyncio.sleep(0.5)
    last, types = scrape(url)
    check_counters_monotonic(open_samples, last, types)
    if value(last, "lipstream_sessions") != 0 or sessions_labelled(last):
        fail("the closed session is still in /metrics")

    grew = {}
    for kind in ("lipsynced", "idle"):
        grew[kind] = value(last, "lipstream_frames_total", kind=kind) - value(first, "lipstream_frames_total", kind=kind)
    for name in ("lipstream_worker_frames_total", "lipstream_worker_batches_total",
                 "lipstream_worker_busy_seconds_total"):
        grew[name] = value(last, name, worker="0") - value(first, name, worker="0")
    fps = value(open_samples, "lipstream_session_output_fps", session=sid)
    print({"grew": grew, "output_fps": fps, "scrapes": len(scrapes) + 3,
           "admin": {k: mine.get(k) for k in ("output_fps", "infer_fps", "lag_ms", "engine_frames", "lipsynced")},
           "last_utterance": mine.get("last_utterance"), "workers": admin.get("workers")})
    if any(v <= 0 for v in grew.values()):
        fail(f"counters did not grow: {grew}")
    if not fps or fps <= 0:
        fail("no output frame rate while the session was open")
    for field in ("output_fps", "infer_fps", "lag_ms", "engine_frames", "engine_batches", "speech_queue_ms",
                  "last_utterance"):
        if field not in mine:
            fail(f"/api/admin/sessions has no {field}")
    if not admin.get("workers") or admin["workers"][0]["batches"] <= 0 or mine["last_utterance"] is None:
        fail("/api/admin/sessions has no worker figures or no utterance")
    check_cpu_worker(last, admin["workers"][0])
    print("ok")


def worker_figures(samples):
    """The worker's start-up and memory figures from one scrape."""
    return {"warm_up_s": value(samples, "lipstream_worker_warm_up_seconds", worker="0"),
            "reserved": value(samples, "lipstream_session_reserved_bytes"),
            "activation_bytes": value(samples, "lipstream_worker_activation_bytes", worker="0"),
            "growths": value(samples, "lipstream_worker_activation_growths_total", worker="0"),
            "batches": value(samples, "lipstream_worker_batches_total", worker="0"),
            "passes": {kind: value(samples, "lipstream_worker_passes_total", worker="0", kind=kind)
                       for kind in ("replayed", "direct", "recorded", "failed")}}


def check_cpu_worker(samples, admin_worker):
    figures = worker_figures(samples)
    print({"cpu worker": figures})
    if figures["warm_up_s"] != 0 or figures["reserved"] != 0 or any(figures["passes"].values()):
        fail(f"a warm-up, a reservation or recorded passes on the CPU: {figures}")
    if not figures["activation_bytes"] or not figures["growths"] or figures["growths"] < 1:
        fail(f"no activation memory, or its growth uncounted: {figures}")
    if (admin_worker.get("activation_growths") != figures["growths"]
            or admin_worker.get("passes", {}).get("direct") != 0):
        fail(f"/api/admin/sessions disagrees with /metrics: {admin_worker}")


if __name__ == "__main__":
    asyncio.run(main())
