#!/usr/bin/python3
"""A WebRTC client for lipstream built on aiortc (the stack LiveTalking uses).

Offers to receive video and audio (non-trickle: aiortc gathers every
candidate before the offer is read), POSTs the offer to /offer, then counts
decoded video frames and received audio samples for a while. With --speak it
also POSTs /human echo text after a quiet period and checks that audio energy
rises (reporting how long after the POST the first loud audio arrived) and
that /is_speaking turns true then false. Prints one JSON line of
measurements and exits non-zero when a check fails.

usage: aiortc_client.py URL [--seconds S] [--speak TEXT] [--min-fps F] [--avatar ID] [--min-lipsynced N]
"""
import argparse
import asyncio
import json
import sys
import time
import urllib.error
import urllib.request

import numpy
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError


def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:  # error answers are JSON too
        return dict(json.loads(e.read()), http_status=e.code)


class Counter:
    def __init__(self):
        self.video_frames = 0
        self.first_video = None
        self.last_video = None
        self.width = 0
        self.audio_samples = 0
        self.audio_energy = []  # (time, rms) per received audio frame

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
        except MediaStreamError:
            pass

    async def audio(self, track):
        try:
            while True:
                frame = await track.recv()
                pcm = frame.to_ndarray().astype(numpy.float64)
                self.audio_samples += frame.samples
                self.audio_energy.append((time.monotonic(), float(numpy.sqrt(numpy.mean(pcm ** 2)))))
        except MediaStreamError:
            pass

    def fps(self):
        if not self.first_video or self.last_video <= self.first_video:
            return 0.0
        return (self.video_frames - 1) / (self.last_video - self.first_video)

    def rms_between(self, t0, t1):
        values = [e for t, e in self.audio_energy if t0 <= t < t1]
        return max(values) if values else 0.0


async def run(args):
    pc = RTCPeerConnection()
    counter = Counter()
    tasks = []

    @pc.on("track")
    def on_track(track):
        tasks.append(asyncio.ensure_future(counter.video(track) if track.kind == "video" else counter.audio(track)))

    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    body = {"sdp": pc.localDescription.sdp, "type": "offer"}
    if args.avatar:
        body["avatar"] = args.avatar
    answer = await asyncio.get_running_loop().run_in_executor(None, post, args.url + "/offer", body)
    if "sdp" not in answer:
        print(json.dumps({"error": answer}))
        await pc.close()
        return 1
    sid = answer["sessionid"]
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))

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
        speaking_seen = False
        silent_again = False
        deadline = t_speak + args.speak_timeout
        while time.monotonic() < deadline:
            s = await loop.run_in_executor(None, post, args.url + "/is_speaking", {"sessionid": sid})
            if s.get("data"):
                speaking_seen = True
            elif speaking_seen:
                silent_again = True
                break
            await asyncio.sleep(0.1)
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
        with urllib.request.urlopen(args.url + "/api/admin/sessions", timeout=5) as r:
            sessions = json.load(r)["data"]
        mine = next((s for s in sessions if s["sessionid"] == sid), {})
        result["lipsynced"] = mine.get("lipsynced")
        if (mine.get("lipsynced") or 0) < args.min_lipsynced:
            ok = False
            result["fail"] = "fewer than %d lip-synced frames" % args.min_lipsynced

    await pc.close()
    for t in tasks:
        t.cancel()
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
    args = ap.parse_args()
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
