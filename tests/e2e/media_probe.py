#!/usr/bin/python3
"""Decodes a media file or stream with GStreamer and says what is in it.

probe(uri, seconds=None) plays `uri` (file:///..., rtmp://...) through
uridecodebin as fast as it decodes (a live stream: for `seconds`), and
counts decoded video frames (with the first and last timestamp and the frame
size) and decoded audio samples (converted to 16 kHz mono, with their RMS).
A decoding error ends the count: what was decoded before it is reported with
the error, which is how a file cut short (a killed recording) is judged.
discover(path) runs gst-discoverer-1.0 and returns its duration and stream
kinds.

usage: media_probe.py URI_OR_PATH [SECONDS]   (prints the JSON result)
"""
import json
import math
import os
import re
import subprocess
import sys
import threading

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

Gst.init(None)


class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.video_frames = 0
        self.first_pts = None
        self.last_pts = None
        self.width = self.height = 0
        self.audio_samples = 0
        self.sum_squares = 0.0

    def result(self):
        return dict(video_frames=self.video_frames, width=self.width, height=self.height,
                    first_video_s=None if self.first_pts is None else round(self.first_pts / 1e9, 3),
                    last_video_s=None if self.last_pts is None else round(self.last_pts / 1e9, 3),
                    audio_samples=self.audio_samples, audio_seconds=round(self.audio_samples / 16000, 3),
                    audio_rms=round(math.sqrt(self.sum_squares / self.audio_samples), 1) if self.audio_samples else 0)


def _video_branch(counts):
    bin_ = Gst.parse_bin_from_description("queue ! videoconvert ! fakesink name=s signal-handoffs=true sync=false",
                                          True)

    def handoff(sink, buf, pad):
        caps = pad.get_current_caps().get_structure(0)
        with counts.lock:
            counts.video_frames += 1
            counts.width, counts.height = caps.get_value("width"), caps.get_value("height")
            if buf.pts != Gst.CLOCK_TIME_NONE:
                counts.first_pts = buf.pts if counts.first_pts is None else min(counts.first_pts, buf.pts)
                counts.last_pts = buf.pts if counts.last_pts is None else max(counts.last_pts, buf.pts)

    bin_.get_by_name("s").connect("handoff", handoff)
    return bin_


def _audio_branch(counts):
    bin_ = Gst.parse_bin_from_description(
        "queue ! audioconvert ! audioresample ! audio/x-raw,format=S16LE,rate=16000,channels=1 ! "
        "fakesink name=s signal-handoffs=true sync=false", True)

    def handoff(sink, buf, pad):
        ok, info = buf.map(Gst.MapFlags.READ)
        if not ok:
            return
        data = memoryview(info.data).cast("h")
        squares = sum(float(v) * v for v in data)
        buf.unmap(info)
        with counts.lock:
            counts.audio_samples += len(data)
            counts.sum_squares += squares

    bin_.get_by_name("s").connect("handoff", handoff)
    return bin_


def probe(uri, seconds=None):
    """Counts what `uri` holds (for a live stream: what arrives in `seconds`)."""
    if "://" not in uri:
        uri = Gst.filename_to_uri(os.path.abspath(uri))
    counts = Counts()
    pipeline = Gst.Pipeline.new("probe")
    decode = Gst.ElementFactory.make("uridecodebin", None)
    decode.set_property("uri", uri)
    pipeline.add(decode)

    def pad_added(element, pad):
        kind = pad.query_caps(None).get_structure(0).get_name()
        branch = _video_branch(counts) if kind.startswith("video/") else \
            _audio_branch(counts) if kind.startswith("audio/") else None
        if branch is None:
            return
        pipeline.add(branch)
        branch.sync_state_with_parent()
        pad.link(branch.get_static_pad("sink"))

    decode.connect("pad-added", pad_added)
    pipeline.set_state(Gst.State.PLAYING)
    bus = pipeline.get_bus()
    timeout = (seconds if seconds else 60) * Gst.SECOND
    msg = bus.timed_pop_filtered(timeout, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    result = counts.result()
    if msg is None:
        result["end"] = "timeout" if not seconds else "time up"
    elif msg.type == Gst.MessageType.EOS:
        result["end"] = "eos"
    else:
        err, _ = msg.parse_error()
        result["end"] = "error"
        result["error"] = err.message
    pipeline.set_state(Gst.State.NULL)
    return result


def discover(path):
    """gst-discoverer-1.0's view: duration (s) and the kinds of streams."""
    out = subprocess.run(["gst-discoverer-1.0", path], capture_output=True, text=True, timeout=60).stdout
    m = re.search(r"Duration: (\d+):(\d+):([\d.]+)", out)
    duration = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)) if m else None
    streams = re.findall(r"^\s+(video|audio) #\d+: (.*)$", out, re.M)
    return dict(duration=duration, streams=[f"{k}: {v}" for k, v in streams])


def main():
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else None
    print(json.dumps(probe(sys.argv[1], seconds)))


if __name__ == "__main__":
    main()
