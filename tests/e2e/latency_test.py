#!/usr/bin/python3
"""Latency from /human to the first lip-synced frame at the client, by stage,
and the A/V offset at the client.

Run by serve.py against a server with --model musetalk (small random
models, so that a generated face differs visibly from the idle avatar) and
the loop test avatar (face box 64,40 - 128,120). An aiortc client keeps
the face region of every decoded frame and every audio sample with their
RTP times. For each of two utterances - /human echo text (espeak-ng) and
an uploaded WAV that starts sharply - it finds:
 - the first speaking frame at the client: the first of two frames in a
   row after the request whose face region differs from every frame of an
   idle stretch before the first request by more than SPEAKING_LEVELS grey
   levels on average (idle frames after coding differ from each other by
   about 1, up to 7 when the encoder is short of CPU; a generated face by
   13 or more);
 - the speech start in the received audio: the first sample above
   ONSET_LEVEL after the request;
 - the A/V offset: the first speaking frame's time minus the speech
   start's, both from their RTP times placed on one clock. Each stream's
   RTP clock is related to this process's clock by the packets of an idle
   stretch (arrival minus RTP time, median), where the server sends on
   time and a frame and its audio leave together; a stretch where these
   spread over 30 ms is not on time and is not used. The relation stays
   valid later: both streams skip the same frame times when inference
   lags. (The server's RTCP sender reports are not used: while inference
   lagged they placed the two streams hundreds of ms apart.) Frame n
   carries audio frames 2n and 2n + 1, so a frame starts with its speech or
   20 ms before it; the check is |offset| <= 40 ms (one video frame): a
   content measurement, independent of how fast the machine is;
 - the stages, from the server's timestamps (/api/admin/sessions
   last_utterance and the worker's recent render calls; CLOCK_MONOTONIC,
   shared with this process on the same machine) and the client's arrival
   time: TTS first audio, feature window (audio of the batch and the 200 ms
   right context coming in at real-time pace, then the whisper encoder),
   queue, inference, waiting for the frame's time, compose, encode +
   network (to the first packet's arrival), the client's jitter buffer and
   decoder. Reported, not asserted (the machine may be loaded).

usage: latency_test.py URL
"""
import asyncio
import json
import os
import sys
import time

import numpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aiortc_client as client  # noqa: E402
from http_client import pcm_wav_bytes, speech_like  # noqa: E402

FACE_BOX = (64, 40, 128, 120)
SPEAKING_LEVELS = 9.0
ONSET_LEVEL = 64        # of 32768 (-54 dBFS): the idle audio is digital silence
MAX_OFFSET_MS = 40.0
SETTLE_S = 3.0          # after connecting: start-up over, frames on time
IDLE_S = 2.0            # the idle stretch: reference pictures, stream clocks
MAX_SPREAD_S = 0.03     # of the packets' arrival against their RTP time in it
MAX_FRAME_GAP_MS = 80   # between the first speaking frame and the one before it (two frame times)
RETRIES = 3


def fail(why):
    sys.exit("FAIL: " + why)


def first_speaking_frame(pictures, idle, t_request):
    """(arrival, pts, face change, pts of the frame decoded before it) of the
    first of two frames in a row that differ from the idle ones."""
    previous = candidate = None
    for arrival, pts, p in pictures:
        if arrival >= t_request:
            diff = min(float(numpy.mean(numpy.abs(p.astype(numpy.int16) - ref))) for ref in idle)
            if diff <= SPEAKING_LEVELS:
                candidate = None
            elif candidate:
                return candidate
            else:
                candidate = (arrival, pts, diff, previous)
        previous = pts
    return None


def speech_onset(sounds, t_request):
    for arrival, pts, pcm in sounds:
        if arrival < t_request:
            continue
        loud = numpy.nonzero(numpy.abs(pcm.astype(numpy.int32)) > ONSET_LEVEL)[0]
        if len(loud):
            return arrival, pts, int(loud[0])
    return None


def breakdown(t_request, arrival, packet, utterance, batches):
    first = utterance["first_lipsynced"]
    batch = next((b for b in batches if b[0] >= utterance["features_begin_s"]), None)
    if not first or not batch:
        return {"incomplete": True}
    ms = lambda a, b: round((b - a) * 1000, 1)
    ready = max(first["pop_begin_s"], batch[1])
    return {
        "tts_first_audio": ms(t_request, utterance["audio_in_s"]),
        "feature_window": ms(utterance["audio_in_s"], utterance["features_end_s"]),
        "of_which_whisper_encoder": ms(utterance["features_begin_s"], utterance["features_end_s"]),
        "queue_at_worker": ms(utterance["features_end_s"], batch[0]),
        "inference": ms(batch[0], batch[1]),
        "inference_frames": batch[2],
        "wait_for_frame_time": ms(batch[1], first["pop_begin_s"]) if first["pop_begin_s"] > batch[1] else 0.0,
        "compose": ms(ready, first["pop_end_s"]),
        "to_encoder": ms(first["pop_end_s"], first["pushed_s"]),
        "encode_network": ms(first["pushed_s"], packet),
        "client_buffer_decode": ms(packet, arrival),
        "total": ms(t_request, arrival),
    }


async def utterance(url, session, name, request, idle, clocks):
    loop = asyncio.get_running_loop()
    t_request = time.monotonic()
    reply = await loop.run_in_executor(None, request)
    if reply.get("code") != 0:
        raise Failure(f"{name}: {reply}")
    seen, ended = await client.wait_speech_done(url, session.sid, 120)
    if not (seen and ended):
        raise Failure(f"{name}: not spoken")
    await asyncio.sleep(1.5)
    rx = session.receiver
    video = first_speaking_frame(rx.pictures, idle, t_request)
    audio = speech_onset(rx.sounds, t_request)
    if not video or not audio:
        raise Failure(f"{name}: no speaking frame ({video}) or no speech ({audio}) at the client")
    v_time = video[1] / client.CLOCK_RATES["video"] + clocks["video"]
    a_time = (audio[1] + audio[2]) / client.CLOCK_RATES["audio"] + clocks["audio"]
    mine, admin = client.admin_session(url, session.sid)
    u = mine["last_utterance"]
    result = {"utterance": name, "av_offset_ms": round((v_time - a_time) * 1000, 1),
              "speech_at_audio_frame": u["first_audio_frame"], "face_change_levels": round(video[2], 1),
              "frame_before_ms": round((video[1] - video[3]) / 90, 1) if video[3] is not None else None,
              "latency_ms": breakdown(t_request, video[0], client.packet_arrival("video", video[1]), u,
                                          admin["workers"][0]["recent_batches"])}
    print(json.dumps(result))
    return result


class Failure(Exception):
    pass


async def idle_stretch(session):
    """Reference pictures and stream clocks from IDLE_S seconds in which both
    streams arrived on time (packets within MAX_SPREAD_S of their clock)."""
    await asyncio.sleep(SETTLE_S)
    for _ in range(5):
        t_idle = time.monotonic()
        await asyncio.sleep(IDLE_S)
        t_end = time.monotonic()
        idle = [p.astype(numpy.int16) for t, _, p in session.receiver.pictures if t_idle <= t < t_end]
        clocks = {kind: client.stream_clock(kind, t_idle, t_end) for kind in ("audio", "video")}
        if idle and None not in clocks.values() and all(c[1] < MAX_SPREAD_S for c in clocks.values()):
            return idle, {kind: c[0] for kind, c in clocks.items()}
    raise Failure(f"no idle stretch with the streams on time: {clocks}")


async def measured(url, session, name, request, idle, clocks):
    """An utterance whose first speaking frame arrived right after the frame
    before it. When the client received no video for a while just before it
    (frames dropped on the way: a starved encoder on a loaded machine, or
    the client's decoder falling behind), the picture at the speech onset is
    not there to compare; the utterance is spoken again, up to RETRIES times."""
    for attempt in range(RETRIES):
        r = await utterance(url, session, name, request, idle, clocks)
        gap = r["frame_before_ms"]
        if gap is not None and gap <= MAX_FRAME_GAP_MS:
            return r
        print(f"{name}: no video for {gap} ms before the first speaking frame: spoken again", flush=True)
        await asyncio.sleep(1.0)
    raise Failure(f"{name}: video frames missing around the speech onset in {RETRIES} tries")


async def measure(url, session):
    idle, clocks = await idle_stretch(session)
    return [
        await measured(url, session, "echo", lambda: client.post(
            url + "/human", {"sessionid": session.sid, "text": "Hello there.", "type": "echo"}), idle, clocks),
        await measured(url, session, "upload", lambda: client.post_wav(
            url, session.sid, pcm_wav_bytes(speech_like(0.8))), idle, clocks),
    ]


async def main():
    url = sys.argv[1]
    session = await client.connect(url, receiver=client.Receiver(keep_region=FACE_BOX, keep_audio=True))
    if not session.sid:
        fail(f"no session: {session.answer}")
    try:
        results = await measure(url, session)
    except Failure as e:
        results = None
        why = str(e)
    await session.close()
    if results is None:
        fail(why)
    for r in results:
        if abs(r["av_offset_ms"]) > MAX_OFFSET_MS:
            fail(f"{r['utterance']}: A/V offset {r['av_offset_ms']} ms")
    print("ok")


if __name__ == "__main__":
    asyncio.run(main())
