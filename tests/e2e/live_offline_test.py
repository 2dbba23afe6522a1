#!/usr/bin/python3
"""The server's frames for an utterance equal `lipstream render`'s frames for
the same audio and avatar: the live path and the offline path are one
computation.

Run by serve.py against a server with --model musetalk (small random models,
--lag_policy wait, no action clips). An aiortc session opens with
"frame_log" in its offer, so the server records every frame it pushes (the
engine's frame number, kinds, audio types, hashes of the BGR picture and of
the audio: live/frame_log.h). A speech-like WAV (16 kHz 16-bit, whole video
frames, no digital silence, so that render types every frame of it as
speech, as the live speech queue does) is uploaded with /humanaudio. The
live session's engine saw silence (zeros) from its start, the WAV from
audio frame a0 (where the log's first speech type is), then silence again.
`lipstream render --frame_log` renders exactly that stream (a0 x 20 ms of
zeros, the WAV, 0.4 s of zeros) with the same models, avatar and batch
size, and the same CPU threads (all cores, as the server: the CPU backend
splits its GEMMs by thread, and another split rounds differently), and
every frame both runs made is compared: picture and audio hashes, kinds,
types, lip sync. Equality is exact: same code, same inputs, same threads and
the same batches. A render call could merge two batches of a session (their
frames then come from a different GEMM shape, which may move a value by
one grey level, see test_lipsync.c) only when a batch is submitted before
the worker took the previous one; the server's worker and the render report
such calls ("multi_job_batches"), and the test requires there were none
(it prints them when there were, which explains any difference).

usage: live_offline_test.py URL LIPSTREAM AVATAR_DIR WEIGHTS_DIR WORK_DIR
"""
import asyncio
import json
import os
import re
import subprocess
import sys
import time

import numpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aiortc_client as client  # noqa: E402
from http_client import pcm_wav_bytes, speech_like  # noqa: E402

AUDIO_FRAME = 320
BATCH = 4
SPEECH_S = 0.64          # 16 video frames: four batches
TAIL_FRAMES = 20         # audio frames of silence rendered after the speech


def frame_log(url, sid):
    return client.get_json(f"{url}/api/admin/sessions?frames={sid}")["data"]["frames"]


async def live_frames(url, speech):
    session = await client.connect(url, {"frame_log": 3000})
    if not session.sid:
        sys.exit(f"FAIL: no session: {session.answer}")
    await asyncio.sleep(1.5)
    loop = asyncio.get_running_loop()
    reply = await loop.run_in_executor(None, client.post_wav, url, session.sid, pcm_wav_bytes(speech))
    if reply.get("code") != 0:
        sys.exit(f"FAIL: /humanaudio: {reply}")
    seen, ended = await client.wait_speech_done(url, session.sid, 120)
    if not (seen and ended):
        sys.exit("FAIL: the upload was not spoken")
    # the frames of the speech and the tail of silence must all be out
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        frames = frame_log(url, session.sid)
        speech = [f for f in frames if 0 in f["types"]]
        if speech and frames[-1]["n"] >= speech[-1]["n"] + TAIL_FRAMES // 2:
            break
        await asyncio.sleep(0.5)
    _, admin = client.admin_session(url, session.sid)
    await session.close()
    return frames, admin["workers"][0]


def render_frames(lipstream, avatar, weights, work, audio):
    os.makedirs(work, exist_ok=True)
    wav_path = os.path.join(work, "live_offline.wav")
    log_path = os.path.join(work, "live_offline.jsonl")
    pcm_wav_bytes(audio, wav_path)
    out = subprocess.run([lipstream, "render", "--avatar", avatar, "--audio", wav_path, "--weights_dir", weights,
                          "--batch_size", str(BATCH), "--out", os.path.join(work, "live_offline.mp4"),
                          "--frame_log", log_path], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"FAIL: render: {out.stderr[-3000:]}")
    m = re.search(r"(\d+) render calls, (\d+) of them holding frames of several batches", out.stderr)
    with open(log_path) as f:
        return [json.loads(line) for line in f], int(m.group(2)) if m else -1


def main():
    url, lipstream, avatar, weights, work = sys.argv[1:6]
    speech = speech_like(SPEECH_S)
    live, worker = asyncio.run(live_frames(url, speech))
    if not live or live[0]["n"] != 0:
        sys.exit("FAIL: the frame log does not start at the session's first frame")
    first = next(f for f in live if 0 in f["types"])
    a0 = 2 * first["n"] + (0 if first["types"][0] == 0 else 1)
    audio = numpy.concatenate([numpy.zeros(a0 * AUDIO_FRAME, numpy.int16), speech,
                               numpy.zeros(TAIL_FRAMES * AUDIO_FRAME, numpy.int16)])
    offline, render_multi = render_frames(lipstream, avatar, weights, work, audio)

    by_n = {f["n"]: f for f in live}
    compared = speaking = lipsynced = 0
    differ = []
    for r in offline:
        l = by_n.get(r["n"])
        if l is None:
            continue
        compared += 1
        speaking += r["kind"] == "speak"
        lipsynced += r["lipsynced"]
        if l != r:
            differ.append({"live": l, "render": r})
    report = {"speech_starts_at_audio_frame": a0, "frames_compared": compared, "speaking": speaking,
              "lipsynced": lipsynced, "different": len(differ), "live_multi_job_batches": worker["multi_job_batches"],
              "render_multi_job_batches": render_multi}
    print(json.dumps(report))
    for d in differ[:5]:
        print(json.dumps(d))
    speech_frames = len(speech) // (2 * AUDIO_FRAME)
    if compared < len(offline) - 1 or speaking < speech_frames or lipsynced < speech_frames:
        sys.exit("FAIL: the runs do not cover the utterance")
    if worker["multi_job_batches"] or render_multi:
        sys.exit("FAIL: batches were merged in a render call, so frames may differ by rounding")
    if differ:
        sys.exit("FAIL: the live frames differ from the rendered ones")
    print("ok")


if __name__ == "__main__":
    main()
