#!/usr/bin/python3
"""HTTP helpers the end-to-end tests and benchmarks share: a request that
returns the status, headers and parsed JSON, the check of a documented error
(failed checks are collected in `failures`), WAV bodies (a tone, or 16 kHz
speech-like audio) and multipart bodies, and a reader of a session's /sse
stream. Standard library and numpy only.
"""
import http.client
import io
import json
import struct
import threading
import time
import urllib.parse
import wave

import numpy

failures = []


def request(url, method, path, body=None, headers=None):
    """Returns (status, headers, parsed JSON or raw bytes)."""
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    try:
        data = json.loads(data)
    except ValueError:
        pass
    return r.status, dict(r.getheaders()), data


def expect(url, what, method, path, body, status, msg_part, headers=None):
    got, hdrs, data = request(url, method, path, body, headers)
    ok = got == status and isinstance(data, dict) and data.get("code") == -1 and msg_part in data.get("msg", "")
    follow = request(url, "GET", "/api/admin/config")[0]
    print(f"{'ok  ' if ok and follow == 200 else 'FAIL'} {what}: {got} {data if isinstance(data, dict) else data[:80]}")
    if not ok or follow != 200:
        failures.append(what)
    return hdrs


def wav_bytes(seconds=0.5, rate=22050):
    t = numpy.arange(int(seconds * rate)) / rate
    pcm = (numpy.sin(2 * numpy.pi * 440 * t) * 8000).astype("<i2").tobytes()
    return (b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVEfmt " +
            struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) + b"data" + struct.pack("<I", len(pcm)) + pcm)


SPEECH_RATE = 16000
SPEECH_FRAME = 320       # samples of one 20 ms audio frame


def speech_like(seconds, seed=7):
    """A voiced, modulated 16 kHz signal that is never digital silence, in
    whole video frames (two audio frames each)."""
    n = int(seconds * SPEECH_RATE)
    n -= n % (2 * SPEECH_FRAME)
    t = numpy.arange(n) / SPEECH_RATE
    rng = numpy.random.default_rng(seed)
    pitch = 140 + 30 * numpy.sin(2 * numpy.pi * 1.7 * t)
    phase = 2 * numpy.pi * numpy.cumsum(pitch) / SPEECH_RATE
    voiced = sum(numpy.sin(k * phase) / k for k in range(1, 6))
    envelope = 0.35 + 0.25 * numpy.sin(2 * numpy.pi * 3.1 * t)
    x = 0.25 * envelope * voiced + 0.02 * rng.standard_normal(n)
    return numpy.round(x * 32767).astype(numpy.int16)


def pcm_wav_bytes(samples, path=None):
    """16 kHz mono 16-bit int16 `samples` as a WAV file's bytes (also written to `path`)."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SPEECH_RATE)
        w.writeframes(samples.tobytes())
    if path:
        with open(path, "wb") as f:
            f.write(buf.getvalue())
    return buf.getvalue()


def multipart(fields):
    boundary = "lipstreamtestboundary"
    out = io.BytesIO()
    for name, (filename, content) in fields.items():
        out.write(f"--{boundary}\r\n".encode())
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out.write(f"Content-Disposition: {disp}\r\n\r\n".encode())
        out.write(content if isinstance(content, bytes) else content.encode())
        out.write(b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


class EventReader(threading.Thread):
    """Reads an /sse stream, keeping its data lines and when each arrived
    (time.monotonic(), in `times`)."""

    def __init__(self, url, sid):
        super().__init__(daemon=True)
        u = urllib.parse.urlparse(url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        self.conn.request("GET", "/sse?sessionid=" + sid)
        self.response = self.conn.getresponse()
        self.events = []
        self.times = []
        self.lock = threading.Lock()

    def run(self):
        try:
            for line in self.response:
                if line.startswith(b"data: "):
                    with self.lock:
                        self.events.append(json.loads(line[6:]))
                        self.times.append(time.monotonic())
        except (OSError, ValueError):
            pass

    def timed(self):
        """[(arrival, event)] so far."""
        with self.lock:
            return list(zip(self.times, self.events))
