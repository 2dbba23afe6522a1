#!/usr/bin/python3
"""A WebRTC client for lipstream built on aiortc (the stack LiveTalking uses).

Offers to receive video and audio (non-trickle: aiortc gathers every
candidate before the offer is read), POSTs the offer to /offer, then counts
decoded video frames and received audio samples for a while. With --speak it
also POSTs /human echo text after a quiet period and checks that audio energy
rises (reporting how long after the POST the first loud audio arrived) and
that /is_speaking turns true then false. Prints one JSON line of
measurements and exits non-zero when a check fails. With --vanish it plays a
client whose machine dies: it sends no RTCP, prints its session id at its
first video frame and exits at once, closing nothing (no DTLS close_notify).

The other end-to-end scripts import it: connect() opens a session and
returns a Receiver, which can also keep the pictures (a region of each) and
the audio samples with their RTP times (pts). Every RTP packet's arrival is
noted too; stream_clock() relates each stream's RTP time to this process's
clock over a stretch where the server sends on time, so that a video frame
and an audio sample can be placed on one time line.

usage: aiortc_client.py URL [--seconds S] [--speak TEXT] [--min-fps F] [--avatar ID] [--min-lipsynced N]
                         [--vanish]
"""
import argparse
import asyncio
import json
import os
import sys
import time
import urllib.error
import urllib.request

import numpy
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpreceiver import RTCRtpReceiver

CLOCK_RATES = {"audio": 48000, "video": 90000}
PACKETS = {"audio": [], "video": []}   # kind -> [(arrival (monotonic), RTP timestamp)] of every RTP packet
RECEIVERS = {}                         # kind -> its RTCRtpReceiver


def _record_packets():
    """Wraps aiortc's RTP handling to note when each packet arrived (before
    any jitter buffer or decoder)."""
    original = RTCRtpReceiver._handle_rtp_packet

    async def handle(self, packet, arrival_time_ms):
        kind = self._RTCRtpReceiver__kind
        RECEIVERS[kind] = self
        PACKETS[kind].append((time.monotonic(), packet.timestamp))
        await original(self, packet, arrival_time_ms)

    RTCRtpReceiver._handle_rtp_packet = handle


_record_packets()


def _since_origin(kind, rtp):
    """An RTP timestamp as aiortc's frame pts (counted from the stream's first frame)."""
    origin = RECEIVERS[kind]._RTCRtpReceiver__timestamp_mapper._origin
    return (rtp - origin) % (1 << 32)


def packet_arrival(kind, pts):
    """When the first packet of the frame with this pts arrived, or None."""
    return next((t for t, ts in PACKETS[kind] if _since_origin(kind, ts) == pts), None)


def stream_clock(kind, t0, t1):
    """Arrival time minus media time over the packets that arrived between t0
    and t1 (monotonic): (median, spread from the 10th to the 90th
    percentile), or None. With the stream going out on time (a small
    spread), the median turns a frame's pts into the time it was due, on
    this process's clock."""
    rate = CLOCK_RATES[kind]
    lags = [t - _since_origin(kind, ts) / rate for t, ts in PACKETS[kind] if t0 <= t < t1]
    if not lags:
        return None
    p10, p50, p90 = numpy.percentile(lags, [10, 50, 90])
    return float(p50), float(p90 - p10)


def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:  # error answers are JSON too
        return dict(json.loads(e.read()), http_status=e.code)


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def post_wav(url, sid, wav_bytes, name="speech.wav"):
    """POST /humanaudio as a multipart form."""
    boundary = "lipstreamboundary7"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"sessionid\"\r\n\r\n{sid}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: audio/wav\r\n\r\n").encode() + wav_bytes + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(url + "/humanaudio", data=body, method="POST",
                                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        return dict(json.loads(e.read()), http_status=e.code)


class Receiver:
    """Counts (and optionally keeps) what the tracks deliver.

    keep_region: (x1, y1, x2, y2) of each video frame to keep as BGR, with
    its arrival time and pts; keep_audio: keep the mono samples of each
    audio frame with its arrival time and pts."""

    def __init__(self, keep_region=None, keep_audio=False):
        self.video_frames = 0
        self.first_video = None
        self.last_video = None
        self.width = 0
        self.audio_samples = 0
        self.audio_energy = []  # (time, rms) per received audio frame
        self.keep_region = keep_region
        self.keep_audio = keep_audio
        self.pictures = []      # (arrival, pts, region BGR uint8)
        self.sounds = []        # (arrival, pts, mono int16 samples at 48 kHz)

    async def video(self, track):
        try:
            while True:
                frame = await track.recv()
                now = time.monotonic()
                if self.first_video is None:
                    self.first_video = now
                self.last_video = now
                self.video_frames += 1
                self.width = frame.width
                if self.keep_region:
                    x1, y1, x2, y2 = self.keep_region
                    self.pictures.append((now, frame.pts, frame.to_ndarray(format="bgr24")[y1:y2, x1:x2].copy()))
        except MediaStreamError:
            pass

    async def audio(self, track):
        try:
            while True:
                frame = await track.recv()
                now = time.monotonic()
                pcm = frame.to_ndarray()
                self.audio_samples += frame.samples
                self.audio_energy.append((now, float(numpy.sqrt(numpy.mean(pcm.astype(numpy.float64) ** 2)))))
                if self.keep_audio:   # packed stereo s16: take the left channel
                    self.sounds.append((now, frame.pts, pcm.reshape(-1)[::len(frame.layout.channels)].copy()))
        except MediaStreamError:
            pass

    def fps(self):
        if not self.first_video or self.last_video <= self.first_video:
            return 0.0
        return (self.video_frames - 1) / (self.last_video - self.first_video)

    def rms_between(self, t0, t1):
        values = [e for t, e in self.audio_energy if t0 <= t < t1]
        return max(values) if values else 0.0


class Session:
    def __init__(self, pc, receiver, sid, tasks, answer):
        self.pc, self.receiver, self.sid, self.tasks, self.answer = pc, receiver, sid, tasks, answer

    async def close(self):
        await self.pc.close()
        for t in self.tasks:
            t.cancel()


async def connect(url, offer_fields=None, receiver=None):
    """Opens a session; returns a Session, or one with sid None and the error answer."""
    pc = RTCPeerConnection()
    receiver = receiver or Receiver()
    tasks = []

    @pc.on("track")
    def on_track(track):
        tasks.append(asyncio.ensure_future(receiver.video(track) if track.kind == "video" else receiver.audio(track)))

    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    body = dict({"sdp": pc.localDescription.sdp, "type": "offer"}, **(offer_fields or {}))
    answer = await asyncio.get_running_loop().run_in_executor(None, post, url + "/offer", body)
    if "sdp" not in answer:
        await pc.close()
        return Session(None, receiver, None, tasks, answer)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
    return Session(pc, receiver, answer["sessionid"], tasks, answer)


async def wait_speech_done(url, sid, timeout):
    """Polls /is_speaking until it turned true then false; (seen, ended)."""
    loop = asyncio.get_running_loop()
    seen = ended = False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = await loop.run_in_executor(None, post, url + "/is_speaking", {"sessionid": sid})
        if s.get("data"):
            seen = True
        elif seen:
            ended = True
            break
        await asyncio.sleep(0.1)
    return seen, ended


def admin_session(url, sid):
    data = get_json(url + "/api/admin/sessions")
    return next((s for s in data["data"] if s["sessionid"] == sid), {}), data


def seconds_until_closed(url, sid, timeout):
    """Seconds until the server has closed session `sid` (None: still open after `timeout`)."""
    start = time.monotonic()
    while admin_session(url, sid)[0]:
        if time.monotonic() - start > timeout:
            return None
        time.sleep(0.2)
    return time.monotonic() - start


def exit_now(status=0):
    """Ends a test process at once, its output flushed, without Python's finalisation: with sessions
    (their video decoders' threads, aiortc's tasks) still about, that has hung after a test's last line."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


async def vanish(session):
    while session.receiver.video_frames == 0:
        await asyncio.sleep(0.02)
    print(json.dumps({"sessionid": session.sid, "vanished": True}))
    exit_now(0)


async def run(args):
    if args.vanish:
        async def silent(self, packet):
            pass
        RTCRtpReceiver._send_rtcp = silent
    offer = {"avatar": args.avatar} if args.avatar else {}
    session = await connect(args.url, offer)
    if not session.sid:
        print(json.dumps({"error": session.answer}))
        return 1
    if args.vanish:
        await vanish(session)
    sid, counter = session.sid, session.receiver

    result = {"sessionid": sid}
    ok = True
    start = time.monotonic()
    await asyncio.sleep(args.seconds)
    result["fps"] = round(counter.fps(), 2)
    result["video_frames"] = counter.video_frames
    result["width"] = counter.width
    result["audio_seconds"] = round(counter.audio_samples / 48000.0, 2)
    if counter.fps() < args.min_fps:
        ok = False
        result["fail"] = "video fps below %.1f" % args.min_fps
    if counter.audio_samples < 48000 * (args.seconds - 2):
        ok = False
        result["fail"] = "too little audio"

    if args.speak:
        loop = asyncio.get_running_loop()
        quiet = counter.rms_between(start + args.seconds - 2, time.monotonic())
        t_speak = time.monotonic()
        reply = await loop.run_in_executor(None, post, args.url + "/human",
                                           {"sessionid": sid, "text": args.speak, "type": "echo"})
        speaking_seen, silent_again = await wait_speech_done(args.url, sid, args.speak_timeout)
        await asyncio.sleep(0.5)
        loud = counter.rms_between(t_speak, time.monotonic())
        first_loud = next((t for t, e in counter.audio_energy if t >= t_speak and e > max(10 * quiet, 300)), None)
        if first_loud:
            result["speech_latency_ms"] = round((first_loud - t_speak) * 1000)
        result.update(human=reply, quiet_rms=round(quiet, 1), speech_rms=round(loud, 1),
                      speaking_seen=speaking_seen, speaking_ended=silent_again)
        if reply.get("code") != 0 or not speaking_seen or not silent_again or loud < max(10 * quiet, 300):
            ok = False
            result["fail"] = "speech not received as expected"

    if args.audiotype is not None:
        loop = asyncio.get_running_loop()
        reply = await loop.run_in_executor(None, post, args.url + "/set_audiotype",
                                           {"sessionid": sid, "audiotype": args.audiotype})
        unknown = await loop.run_in_executor(None, post, args.url + "/set_audiotype",
                                             {"sessionid": sid, "audiotype": 999})
        result.update(set_audiotype=reply, unknown_audiotype=unknown)
        if reply.get("code") != 0 or unknown.get("code") == 0:
            ok = False
            result["fail"] = "action clip not played as asked"

    if args.min_lipsynced:
        mine, _ = admin_session(args.url, sid)
        result["lipsynced"] = mine.get("lipsynced")
        if (mine.get("lipsynced") or 0) < args.min_lipsynced:
            ok = False
            result["fail"] = "fewer than %d lip-synced frames" % args.min_lipsynced

    await session.close()
    result["ok"] = ok
    print(json.dumps(result))
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--seconds", type=float, default=6)
    ap.add_argument("--speak")
    ap.add_argument("--min-fps", type=float, default=24)
    ap.add_argument("--avatar")
    ap.add_argument("--audiotype", type=int, help="after the run, play this action clip (/set_audiotype)")
    ap.add_argument("--speak-timeout", type=float, default=20,
                    help="seconds the spoken text may take to start and end")
    ap.add_argument("--min-lipsynced", type=int, default=0,
                    help="after the run, /api/admin/sessions must count this many lip-synced frames")
    ap.add_argument("--vanish", action="store_true",
                    help="send no RTCP and exit abruptly at the first video frame, closing nothing")
    args = ap.parse_args()
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
