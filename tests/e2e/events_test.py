#!/usr/bin/python3
"""Speech events fire when their audio leaves the server, not when it is queued.

Run by serve.py (--model none, espeak-ng). An aiortc client keeps every
received audio frame with its RTP time and notes when each RTP packet
arrived; a thread reads /sse and notes when each event arrived. The client
queues, back to back: an echo sentence (about 2 s of espeak-ng speech), then
two uploaded WAVs, each LEAD_S of digital silence, a 440 Hz tone of TONE_S
and TRAIL_S of silence. The WAVs wait in the queue behind the sentence, so
an event fired at queueing time would come seconds early. For each WAV the
tone's onset and end are found in the received audio (first and last
sample above ONSET_LEVEL in packets that arrived after the sentence's
`end` event), their packets'
arrival times taken, and:
  start event arrival - (onset packet arrival - LEAD_S)
  end event arrival - (last tone packet arrival + TRAIL_S)
must each be within MAX_SKEW_S: the event and the audio frame it belongs
to leave the server together; what separates them at the client is the
Opus encoder's buffering on one side and the HTTP stream on the other
(tens of ms), plus the scheduling noise of a loaded test machine. The
order of events must be start/end per chunk, the sentence's first.

usage: events_test.py URL
"""
import asyncio
import os
import sys
import time

import numpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aiortc_client as client  # noqa: E402
from http_client import EventReader, pcm_wav_bytes  # noqa: E402

RATE = 16000
LEAD_S, TONE_S, TRAIL_S = 0.3, 0.5, 0.3
ONSET_LEVEL = 3000      # of 32768; the tone peaks at 12000, silence is digital zero
MAX_SKEW_S = 0.12       # three video frames
SENTENCE = "One, two, three, four, five, six. The tones come after this sentence."


def tone_wav():
    lead, tone, trail = (numpy.zeros(int(LEAD_S * RATE)), numpy.arange(int(TONE_S * RATE)),
                         numpy.zeros(int(TRAIL_S * RATE)))
    samples = numpy.concatenate([lead, 12000 * numpy.sin(2 * numpy.pi * 440 * tone / RATE), trail])
    return pcm_wav_bytes(numpy.round(samples).astype(numpy.int16))


def tone_spans(receiver, after):
    """(onset packet arrival, last loud packet arrival) of each tone whose
    packets arrived after `after` (monotonic), tones being runs of loud
    frames separated by at least 0.2 s of quiet ones."""
    spans, current, quiet_since = [], None, None
    for _, pts, samples in receiver.sounds:
        packet = client.packet_arrival("audio", pts)
        if packet is None or packet < after:
            continue
        loud = numpy.abs(samples.astype(numpy.int32)).max() > ONSET_LEVEL
        if loud:
            if current is None:
                current = [packet, packet]
            current[1] = packet
            quiet_since = None
        elif current is not None:
            quiet_since = quiet_since or packet
            if packet - quiet_since >= 0.2:
                spans.append(tuple(current))
                current = None
    if current is not None:
        spans.append(tuple(current))
    return spans


async def run(url):
    receiver = client.Receiver(keep_audio=True)
    session = await client.connect(url, receiver=receiver)
    if not session.sid:
        sys.exit(f"FAIL offer: {session.answer}")
    events = EventReader(url, session.sid)
    events.start()
    await asyncio.sleep(2.0)
    loop = asyncio.get_running_loop()
    call = lambda f, *a: loop.run_in_executor(None, f, *a)
    r = await call(client.post, url + "/human", {"sessionid": session.sid, "text": SENTENCE, "type": "echo"})
    uploads = [await call(client.post_wav, url, session.sid, tone_wav(), f"tone{k}.wav") for k in range(2)]
    if r.get("code") != 0 or any(u.get("code") != 0 for u in uploads):
        sys.exit(f"FAIL requests: {r} {uploads}")
    queued_at = time.monotonic()
    deadline = queued_at + 30
    tone_ends = lambda: [e for _, e in events.timed() if e.get("status") == "end" and e.get("text", "").endswith(".wav")]
    while time.monotonic() < deadline and len(tone_ends()) < 2:
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    await session.close()

    timed = events.timed()
    order = [(e.get("status"), e.get("text", "")) for _, e in timed]
    print("events:", order)
    is_tone = [text.endswith(".wav") for _, text in order]
    first_tone = is_tone.index(True) if True in is_tone else len(order)
    if len(tone_ends()) < 2 or first_tone == 0 or not all(is_tone[first_tone:]) or order[0][0] != "start":
        sys.exit(f"FAIL: expected the sentence's events, then both tones', got {order}")
    sentence_end = max(t for t, e in timed if e.get("status") == "end" and not e.get("text", "").endswith(".wav"))
    wav_events = [(t, e) for t, e in timed if e.get("text", "").endswith(".wav")]
    # the sentence's last audio leaves with its end event; each WAV begins with LEAD_S of silence
    spans = tone_spans(receiver, sentence_end + LEAD_S / 3)
    print(f"tones received: {len(spans)}; first WAV event {wav_events[0][0] - queued_at:.2f} s after queueing")
    if len(spans) != 2 or len(wav_events) != 4:
        sys.exit(f"FAIL: {len(spans)} tones heard, {len(wav_events)} tone events")
    skews = []
    for k, (onset, last) in enumerate(spans):
        (t_start, e_start), (t_end, e_end) = wav_events[2 * k], wav_events[2 * k + 1]
        if e_start.get("status") != "start" or e_end.get("status") != "end":
            sys.exit(f"FAIL: tone {k} events out of order: {e_start} {e_end}")
        skews.append(("start", k, t_start - (onset - LEAD_S)))
        skews.append(("end", k, t_end - (last + TRAIL_S)))
    for kind, k, skew in skews:
        print(f"tone {k} {kind}: event arrived {skew * 1000:+.1f} ms from its audio at the client")
    worst = max(abs(s) for _, _, s in skews)
    if worst > MAX_SKEW_S:
        sys.exit(f"FAIL: an event was {worst * 1000:.0f} ms away from its audio (bound {MAX_SKEW_S * 1000:.0f} ms)")
    print(f"ok: events within {worst * 1000:.0f} ms of their audio")


if __name__ == "__main__":
    asyncio.run(run(sys.argv[1]))
